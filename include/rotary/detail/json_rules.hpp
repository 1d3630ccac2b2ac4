// rotary/detail/json_rules.hpp: JSON for token_state and the policy's answers (see json.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <rotary/detail/json_read.hpp>
#include <rotary/policy.hpp>
#include <rotary/token.hpp>

#include <string>

namespace rotary {

// {"createdAt": 1798761600, "rotationPeriodMinutes": 3600, "expiresAt": ..., "rotatedAt": ...};
// absent optionals are left out. Reading accepts null for an absent field and ignores unknown
// keys; a wrong type or range throws json_error naming the field.
inline void to_json(nlohmann::json& j, const token_state& t) {
  j = nlohmann::json::object();
  j["createdAt"] = to_unix(t.created_at);
  if (t.rotation_period) j["rotationPeriodMinutes"] = t.rotation_period->count();
  if (t.expires_at) j["expiresAt"] = to_unix(*t.expires_at);
  if (t.rotated_at) j["rotatedAt"] = to_unix(*t.rotated_at);
}

inline void from_json(const nlohmann::json& j, token_state& t) {
  detail::json_object(j, "token");
  token_state out;
  out.created_at = detail::json_time(j, "createdAt");
  if (const auto* p = detail::json_find(j, "rotationPeriodMinutes"))
    out.rotation_period =
        minutes{detail::json_integer(*p, "rotationPeriodMinutes", 1, 100'000'000, "minutes")};
  out.expires_at = detail::json_optional_time(j, "expiresAt");
  out.rotated_at = detail::json_optional_time(j, "rotatedAt");
  t = out;
}

NLOHMANN_JSON_SERIALIZE_ENUM(rerotation, {{rerotation::reject, "reject"},
                                          {rerotation::fork, "fork"},
                                          {rerotation::idempotent, "idempotent"}})

// {"usable": false, "endedBy": "buffer", "until": 1798763400}
inline void to_json(nlohmann::json& j, const usability& u) {
  j = nlohmann::json::object();  // key by key: see json_wire.hpp
  j["usable"] = u.usable;
  j["endedBy"] = u.ended_by.empty() ? nlohmann::json() : nlohmann::json(std::string(u.ended_by));
  j["until"] = u.until ? nlohmann::json(to_unix(*u.until)) : nlohmann::json();
}

inline void to_json(nlohmann::json& j, const rotation& r) {
  j = nlohmann::json::object();
  j["parent"] = r.parent;
  j["child"] = r.child;
  j["replayed"] = r.replayed;
}

inline void to_json(nlohmann::json& j, const refusal& r) {
  j = nlohmann::json::object();
  j["error"] = std::string(r.code());
  if (!r.ended_by.empty()) j["endedBy"] = std::string(r.ended_by);
}

inline void to_json(nlohmann::json& j, const creation_error& e) {
  j = nlohmann::json::object();
  j["error"] = std::string(e.code());
}

}  // namespace rotary
