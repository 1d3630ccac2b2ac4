// rotary/detail/json_cron.hpp: nlohmann/json conversions for the cron and schedule types.
// Included by rotary/json.hpp. Keys are camelCase, instants ISO-8601 UTC strings, durations
// whole seconds.
//
//     cron_expr        "30 2 * * 1-5"                 (from_json parses; throws parse_error)
//     dst_mode         "cronie" | "wallclock"         (from_json throws std::invalid_argument)
//     fire             {"at": "...Z", "runs": 1}
//     lint_finding     {"column": 3, "code": "uneven-step", "message": "..."}
//     cron_schedule    {"expression": "...", "tz": "Europe/Berlin", "dst": "cronie"}
//     interval_schedule {"everySeconds": 43200, "anchor": "...Z"}
//     gap              {"seconds": 3600, "from": "...Z", "to": "...Z"}
//     gap_report       {"from", "until", "count", "first", "last", "smallestGap", "largestGap",
//                       "periodSeconds", "toleratedFailures", "toleranceLimitedByHorizon"}
//                      (absent values are null)
#pragma once

#include <rotary/cron.hpp>
#include <rotary/schedule.hpp>
#include <rotary/time.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>

namespace rotary {

namespace detail {
inline nlohmann::json json_time(const std::optional<sys_seconds>& t) {
  return t ? nlohmann::json(format_time(*t)) : nlohmann::json(nullptr);
}
inline sys_seconds json_to_time(const nlohmann::json& j) { return parse_time(j.get<std::string>()).value(); }
}  // namespace detail

inline void to_json(nlohmann::json& j, const cron_expr& e) { j = std::string(e.text()); }
inline void from_json(const nlohmann::json& j, cron_expr& e) { e = parse_cron(j.get<std::string>()).value(); }

inline void to_json(nlohmann::json& j, dst_mode m) { j = std::string(to_string(m)); }
inline void from_json(const nlohmann::json& j, dst_mode& m) {
  const auto text = j.get<std::string>();
  const auto parsed = parse_dst_mode(text);
  if (!parsed) throw std::invalid_argument("unknown DST mode '" + text + "': expected cronie or wallclock");
  m = *parsed;
}

inline void to_json(nlohmann::json& j, const fire& f) { j = {{"at", format_time(f.at)}, {"runs", f.runs}}; }
inline void from_json(const nlohmann::json& j, fire& f) {
  f.at = detail::json_to_time(j.at("at"));
  f.runs = j.value("runs", 1);
}

inline void to_json(nlohmann::json& j, const lint_finding& f) {
  j = {{"column", f.column}, {"code", f.code}, {"message", f.message}};
}

inline void to_json(nlohmann::json& j, const cron_schedule& s) {
  j = {{"expression", s.expr()}, {"tz", std::string(s.zone_name())}, {"dst", s.mode()}};
}

inline void to_json(nlohmann::json& j, const interval_schedule& s) {
  j = {{"everySeconds", s.every().count()}, {"anchor", format_time(s.anchor())}};
}

inline void to_json(nlohmann::json& j, const gap& g) {
  j = {{"seconds", g.length.count()}, {"from", format_time(g.from)}, {"to", format_time(g.to)}};
}
inline void from_json(const nlohmann::json& j, gap& g) {
  g.length = seconds{j.at("seconds").get<std::int64_t>()};
  g.from = detail::json_to_time(j.at("from"));
  g.to = detail::json_to_time(j.at("to"));
}

inline void to_json(nlohmann::json& j, const gap_report& r) {
  const auto opt_gap = [](const std::optional<gap>& g) {
    return g ? nlohmann::json(*g) : nlohmann::json(nullptr);
  };
  j = {{"from", format_time(r.from)},
       {"until", format_time(r.until)},
       {"count", r.count},
       {"first", detail::json_time(r.first)},
       {"last", detail::json_time(r.last)},
       {"smallestGap", opt_gap(r.smallest)},
       {"largestGap", opt_gap(r.largest)},
       {"periodSeconds", r.period ? nlohmann::json(r.period->count()) : nlohmann::json(nullptr)},
       {"toleratedFailures",
        r.tolerated_failures ? nlohmann::json(*r.tolerated_failures) : nlohmann::json(nullptr)},
       {"toleranceLimitedByHorizon", r.tolerance_limited_by_horizon}};
}

}  // namespace rotary
