// rotary/detail/json_wire.hpp: JSON for the protocol types of wire.hpp (see json.hpp).
//
// Field names are the wire's camelCase; instants are Unix seconds (the admin requests also
// read ISO-8601 strings such as "2027-01-01T00:00:00Z"). Readers throw json_error
// naming the field. Requests the fake server reads (create_token_request, clock_request,
// fault_config) are strict: an unknown key is an error, so a typo such as "advanceSecond" is
// answered with 400 instead of being ignored. Responses (rotate_response, created_token, ...)
// ignore unknown keys, so a client keeps working when the vendor adds a field.
//
// Objects are built key by key (`j["id"] = ...`), not from braced lists (`{{"id", ...}}`), and
// arrays element by element: a braced key instantiates nlohmann's json_ref constructor once per
// distinct key length, a vector its container conversion, and fake_server.hpp includes this
// file (docs/compile-time.md).
#pragma once

#include <nlohmann/json.hpp>
#include <rotary/detail/json_read.hpp>
#include <rotary/detail/json_rules.hpp>
#include <rotary/time.hpp>
#include <rotary/wire.hpp>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace rotary {
namespace detail::wire_json {

// Throws json_error for the first key of `j` not in `allowed`.
inline void only_keys(const nlohmann::json& j, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (known) continue;
    std::string list;
    std::size_t n = 0;
    for (auto a : allowed) {
      if (n != 0) list += n + 1 == allowed.size() ? " or " : ", ";
      list += a;
      ++n;
    }
    json_fail(key, "unknown field (expected " + list + ")");
  }
}

inline std::string string_field(const nlohmann::json& j, std::string_view key) {
  const auto* v = json_find(j, key);
  if (!v) json_fail(key, "missing (a string)");
  if (!v->is_string()) json_fail(key, "expected a string, got " + json_kind(*v));
  return v->get<std::string>();
}

// json_integer, with the lower bound also enforced for values nlohmann stores as unsigned.
inline std::int64_t bounded_integer(const nlohmann::json& v, std::string_view field, std::int64_t lo,
                                    std::int64_t hi, std::string_view what) {
  const auto i = json_integer(v, field, lo, hi, what);
  if (i < lo)
    json_fail(field, "expected " + std::string(what) + " between " + std::to_string(lo) + " and " +
                         std::to_string(hi) + ", got " + std::to_string(i));
  return i;
}

inline std::optional<minutes> optional_minutes(const nlohmann::json& j, std::string_view key) {
  const auto* v = json_find(j, key);
  if (!v) return std::nullopt;
  return minutes{bounded_integer(*v, key, 1, 100'000'000, "minutes")};
}

inline double number_field(const nlohmann::json& v, std::string_view field, double lo, double hi) {
  if (!v.is_number()) json_fail(field, "expected a number, got " + json_kind(v));
  const double d = v.get<double>();
  if (!(d >= lo && d <= hi) || !std::isfinite(d))
    json_fail(field, "expected a number between " + nlohmann::json(lo).dump() + " and " +
                         nlohmann::json(hi).dump() + ", got " + v.dump());
  return d;
}

// An instant of an admin request: Unix seconds, or an ISO-8601 string as parse_time reads it
// (`2027-01-01T00:00:00Z`, `2027-01-01T05:30:00+05:30`, ...), up to 9999-12-31T23:59:59Z.
// Absent or null: nullopt. A bad string names the field, parse_time's message and column.
inline std::optional<sys_seconds> optional_instant(const nlohmann::json& j, std::string_view key) {
  const auto* v = json_find(j, key);
  if (!v || !v->is_string()) return json_optional_time(j, key);  // numbers, or "expected Unix seconds"
  const auto& text = v->get_ref<const std::string&>();
  // Five digits or more before the first '-': a year past 9999 (parse_time would read four).
  const auto digits = text.find_first_not_of("0123456789");
  if (digits != std::string::npos && digits > 4 && text[digits] == '-')
    json_fail(key, "the instant cannot be past 9999-12-31T23:59:59Z");
  const auto t = parse_time(text);
  if (!t) json_fail(key, t.error().message + " (column " + std::to_string(t.error().column) + ")");
  if (to_unix(*t) > max_unix_seconds) json_fail(key, "the instant cannot be past 9999-12-31T23:59:59Z");
  return *t;
}

}  // namespace detail::wire_json

namespace wire {

// {"rawSecret": "...", "createdAt": 1798763400, "rotationPeriodMinutes": 3600}
inline void to_json(nlohmann::json& j, const rotate_response& r) {
  j = nlohmann::json::object();
  j["rawSecret"] = r.raw_secret;
  j["createdAt"] = to_unix(r.created_at);
  j["rotationPeriodMinutes"] = r.rotation_period.count();
}
inline void from_json(const nlohmann::json& j, rotate_response& r) {
  detail::json_object(j, "rotate response");
  rotate_response out;
  out.raw_secret = detail::wire_json::string_field(j, "rawSecret");
  if (out.raw_secret.empty()) detail::json_fail("rawSecret", "empty");
  out.created_at = detail::json_time(j, "createdAt");
  const auto period = detail::wire_json::optional_minutes(j, "rotationPeriodMinutes");
  if (!period) detail::json_fail("rotationPeriodMinutes", "missing (minutes)");
  out.rotation_period = *period;
  r = std::move(out);
}

// {"error": "already-rotated", "message": "..."}
inline void to_json(nlohmann::json& j, const error_body& e) {
  j = nlohmann::json::object();
  j["error"] = e.error;
  j["message"] = e.message;
}
inline void from_json(const nlohmann::json& j, error_body& e) {
  detail::json_object(j, "error body");
  e = error_body{detail::wire_json::string_field(j, "error"), detail::wire_json::string_field(j, "message")};
}

// {"rotationPeriodMinutes": 3600, "expiresAt": 1830297600}; both optional, nothing else allowed.
// expiresAt may also be an ISO-8601 string ("2028-01-01T00:00:00Z").
inline void to_json(nlohmann::json& j, const create_token_request& r) {
  j = nlohmann::json::object();
  if (r.rotation_period) j["rotationPeriodMinutes"] = r.rotation_period->count();
  if (r.expires_at) j["expiresAt"] = to_unix(*r.expires_at);
}
inline void from_json(const nlohmann::json& j, create_token_request& r) {
  detail::json_object(j, "request body");
  detail::wire_json::only_keys(j, {"rotationPeriodMinutes", "expiresAt"});
  r = create_token_request{detail::wire_json::optional_minutes(j, "rotationPeriodMinutes"),
                           detail::wire_json::optional_instant(j, "expiresAt")};
}

// {"id": "tok_1", "rawSecret": "...", "createdAt": ..., "rotationPeriodMinutes": ..., "expiresAt": ...}
// (absent optionals are null).
inline void to_json(nlohmann::json& j, const created_token& t) {
  j = nlohmann::json::object();
  j["id"] = t.id;
  j["rawSecret"] = t.raw_secret;
  j["createdAt"] = to_unix(t.created_at);
  j["rotationPeriodMinutes"] =
      t.rotation_period ? nlohmann::json(t.rotation_period->count()) : nlohmann::json();
  j["expiresAt"] = t.expires_at ? nlohmann::json(to_unix(*t.expires_at)) : nlohmann::json();
}
inline void from_json(const nlohmann::json& j, created_token& t) {
  detail::json_object(j, "created token");
  created_token out;
  out.id = detail::wire_json::string_field(j, "id");
  out.raw_secret = detail::wire_json::string_field(j, "rawSecret");
  out.created_at = detail::json_time(j, "createdAt");
  out.rotation_period = detail::wire_json::optional_minutes(j, "rotationPeriodMinutes");
  out.expires_at = detail::json_optional_time(j, "expiresAt");
  t = std::move(out);
}

// {"id", "parentId", "childIds", "createdAt", "rotationPeriodMinutes", "expiresAt", "rotatedAt",
//  "revoked", "status", "usable", "endedBy", "usableUntil"}: absent optionals are null.
inline void to_json(nlohmann::json& j, const token_view& t) {
  auto opt_time = [](const std::optional<sys_seconds>& s) {
    return s ? nlohmann::json(to_unix(*s)) : nlohmann::json();
  };
  j = nlohmann::json::object();
  j["id"] = t.id;
  j["parentId"] = t.parent_id ? nlohmann::json(*t.parent_id) : nlohmann::json();
  auto& children = j["childIds"] = nlohmann::json::array();
  for (const auto& id : t.child_ids) children.push_back(id);
  j["createdAt"] = to_unix(t.state.created_at);
  j["rotationPeriodMinutes"] =
      t.state.rotation_period ? nlohmann::json(t.state.rotation_period->count()) : nlohmann::json();
  j["expiresAt"] = opt_time(t.state.expires_at);
  j["rotatedAt"] = opt_time(t.state.rotated_at);
  j["revoked"] = t.revoked;
  j["status"] = t.status;
  j["usable"] = t.usable;
  j["endedBy"] = t.ended_by.empty() ? nlohmann::json() : nlohmann::json(t.ended_by);
  j["usableUntil"] = opt_time(t.usable_until);
}
inline void from_json(const nlohmann::json& j, token_view& t) {
  detail::json_object(j, "token");
  token_view out;
  out.id = detail::wire_json::string_field(j, "id");
  if (detail::json_find(j, "parentId")) out.parent_id = detail::wire_json::string_field(j, "parentId");
  if (const auto* c = detail::json_find(j, "childIds")) {
    if (!c->is_array()) detail::json_fail("childIds", "expected an array, got " + detail::json_kind(*c));
    for (const auto& id : *c) {
      if (!id.is_string()) detail::json_fail("childIds", "expected strings, got " + detail::json_kind(id));
      out.child_ids.push_back(id.get<std::string>());
    }
  }
  out.state = j.get<token_state>();
  auto boolean = [&](std::string_view key) {
    const auto* v = detail::json_find(j, key);
    if (!v || !v->is_boolean()) detail::json_fail(key, "expected true or false");
    return v->get<bool>();
  };
  out.revoked = boolean("revoked");
  out.status = detail::wire_json::string_field(j, "status");
  out.usable = boolean("usable");
  if (detail::json_find(j, "endedBy")) out.ended_by = detail::wire_json::string_field(j, "endedBy");
  out.usable_until = detail::json_optional_time(j, "usableUntil");
  t = std::move(out);
}

// {"now": 1798761600, "warp": 0}
inline void to_json(nlohmann::json& j, const clock_view& c) {
  j = nlohmann::json::object();
  j["now"] = to_unix(c.now);
  j["warp"] = c.warp;
}
inline void from_json(const nlohmann::json& j, clock_view& c) {
  detail::json_object(j, "clock");
  const auto* w = detail::json_find(j, "warp");
  if (!w) detail::json_fail("warp", "missing (a number)");
  c = clock_view{detail::json_time(j, "now"), detail::wire_json::number_field(*w, "warp", 0, 1e9)};
}

// {"advanceSeconds": 600} | {"set": 1798761600} | {"warp": 3600}; warp may go with either.
// set may also be an ISO-8601 string ("2027-01-01T00:00:00Z").
inline void to_json(nlohmann::json& j, const clock_request& r) {
  j = nlohmann::json::object();
  if (r.advance) j["advanceSeconds"] = r.advance->count();
  if (r.set) j["set"] = to_unix(*r.set);
  if (r.warp) j["warp"] = *r.warp;
}
inline void from_json(const nlohmann::json& j, clock_request& r) {
  detail::json_object(j, "request body");
  detail::wire_json::only_keys(j, {"advanceSeconds", "set", "warp"});
  clock_request out;
  if (const auto* a = detail::json_find(j, "advanceSeconds"))
    out.advance = seconds{
        detail::wire_json::bounded_integer(*a, "advanceSeconds", 0, detail::max_unix_seconds, "seconds")};
  out.set = detail::wire_json::optional_instant(j, "set");
  if (const auto* w = detail::json_find(j, "warp"))
    out.warp = detail::wire_json::number_field(*w, "warp", 0, 1e9);
  if (out.advance && out.set) detail::json_fail("set", "give advanceSeconds or set, not both");
  if (!out.advance && !out.set && !out.warp)
    throw json_error("request body: expected advanceSeconds, set or warp");
  r = out;
}

NLOHMANN_JSON_SERIALIZE_ENUM(fault_scope, {{fault_scope::rotate, "rotate"}, {fault_scope::api, "api"}})

// {"kind": "status", "status": 429, "retryAfterSeconds": 30, "probability": 0.5, "count": 2,
//  "scope": "rotate"} | {"kind": "latency", "latencyMs": 200} | {"kind": "reset"} | ...
inline void to_json(nlohmann::json& j, const fault& f) {
  j = nlohmann::json::object();
  j["kind"] = std::string(to_string(f.kind));
  j["probability"] = f.probability;
  j["scope"] = std::string(f.scope == fault_scope::api ? "api" : "rotate");
  if (f.count) j["count"] = *f.count;
  if (f.kind == fault_kind::status) {
    j["status"] = f.status;
    if (f.retry_after) j["retryAfterSeconds"] = f.retry_after->count();
  }
  if (f.kind == fault_kind::latency) j["latencyMs"] = f.latency.count();
}
inline void from_json(const nlohmann::json& j, fault& f) {
  detail::json_object(j, "fault");
  detail::wire_json::only_keys(
      j, {"kind", "probability", "count", "status", "retryAfterSeconds", "latencyMs", "scope"});
  fault out;
  const auto kind = detail::wire_json::string_field(j, "kind");
  const auto k = parse_fault_kind(kind);
  if (!k)
    detail::json_fail(
        "kind", "expected status, latency, reset, empty, malformed or commit-drop, got \"" + kind + "\"");
  out.kind = *k;
  if (const auto* p = detail::json_find(j, "probability"))
    out.probability = detail::wire_json::number_field(*p, "probability", 0, 1);
  if (const auto* c = detail::json_find(j, "count"))
    out.count = static_cast<std::uint64_t>(
        detail::wire_json::bounded_integer(*c, "count", 1, 1'000'000'000'000, "a request count"));
  const auto* status = detail::json_find(j, "status");
  const auto* retry = detail::json_find(j, "retryAfterSeconds");
  const auto* latency = detail::json_find(j, "latencyMs");
  if (out.kind == fault_kind::status) {
    if (status) {
      out.status =
          static_cast<int>(detail::wire_json::bounded_integer(*status, "status", 100, 599, "an HTTP status"));
      if (out.status != 500 && out.status != 502 && out.status != 503 && out.status != 429)
        detail::json_fail("status", "expected 500, 502, 503 or 429, got " + std::to_string(out.status));
    }
    if (retry)
      out.retry_after =
          seconds{detail::wire_json::bounded_integer(*retry, "retryAfterSeconds", 0, 86'400, "seconds")};
  } else if (status || retry) {
    detail::json_fail(status ? "status" : "retryAfterSeconds", "only for kind \"status\"");
  }
  if (out.kind == fault_kind::latency) {
    if (!latency) detail::json_fail("latencyMs", "missing (milliseconds, for kind \"latency\")");
    out.latency = std::chrono::milliseconds{
        detail::wire_json::bounded_integer(*latency, "latencyMs", 0, 60'000, "milliseconds")};
  } else if (latency) {
    detail::json_fail("latencyMs", "only for kind \"latency\"");
  }
  if (const auto* s = detail::json_find(j, "scope")) {
    const auto* name = s->is_string() ? &s->get_ref<const std::string&>() : nullptr;
    if (!name || (*name != "rotate" && *name != "api"))
      detail::json_fail("scope", "expected \"rotate\" or \"api\", got " + s->dump());
    out.scope = *name == "api" ? fault_scope::api : fault_scope::rotate;
  }
  f = out;
}

// {"faults": [...], "seed": 42}: "faults" is required (an empty array clears them).
inline void to_json(nlohmann::json& j, const fault_config& c) {
  j = nlohmann::json::object();
  auto& faults = j["faults"] = nlohmann::json::array();
  for (const auto& f : c.faults) faults.push_back(f);
  if (c.seed) j["seed"] = *c.seed;
}
inline void from_json(const nlohmann::json& j, fault_config& c) {
  detail::json_object(j, "request body");
  detail::wire_json::only_keys(j, {"faults", "seed"});
  const auto* list = detail::json_find(j, "faults");
  if (!list) detail::json_fail("faults", "missing (an array of faults; [] clears them)");
  if (!list->is_array()) detail::json_fail("faults", "expected an array, got " + detail::json_kind(*list));
  fault_config out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    try {
      out.faults.push_back((*list)[i].get<fault>());
    } catch (const json_error& e) {
      throw json_error("faults[" + std::to_string(i) + "]." + e.what());
    }
  }
  if (const auto* s = detail::json_find(j, "seed")) {
    if (!s->is_number_unsigned() && !(s->is_number_integer() && s->get<std::int64_t>() >= 0))
      detail::json_fail("seed", "expected a non-negative integer, got " + detail::json_kind(*s));
    out.seed = s->get<std::uint64_t>();
  }
  c = std::move(out);
}

// {"seq": 3, "at": ..., "kind": "rotation", "method": "POST", "path": "...", "status": 200,
//  "tokenId": "tok_1", "childId": "tok_2"}; empty strings are left out.
inline void to_json(nlohmann::json& j, const event& e) {
  j = nlohmann::json::object();
  j["seq"] = e.seq;
  j["at"] = to_unix(e.at);
  j["kind"] = e.kind;
  j["status"] = e.status;
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  put("method", e.method);
  put("path", e.path);
  put("tokenId", e.token_id);
  put("childId", e.child_id);
  put("error", e.error);
  put("fault", e.fault);
}
inline void from_json(const nlohmann::json& j, event& e) {
  detail::json_object(j, "event");
  event out;
  out.seq = static_cast<std::uint64_t>(
      detail::wire_json::bounded_integer(detail::json_find(j, "seq") ? j.at("seq") : nlohmann::json(), "seq",
                                         0, INT64_MAX, "a sequence number"));
  out.at = detail::json_time(j, "at");
  out.kind = detail::wire_json::string_field(j, "kind");
  if (const auto* s = detail::json_find(j, "status"))
    out.status = static_cast<int>(detail::wire_json::bounded_integer(*s, "status", 0, 599, "an HTTP status"));
  auto opt = [&](std::string_view key, std::string& into) {
    if (detail::json_find(j, key)) into = detail::wire_json::string_field(j, key);
  };
  opt("method", out.method);
  opt("path", out.path);
  opt("tokenId", out.token_id);
  opt("childId", out.child_id);
  opt("error", out.error);
  opt("fault", out.fault);
  e = std::move(out);
}

}  // namespace wire
}  // namespace rotary
