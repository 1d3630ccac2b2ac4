// rotary/scenario.hpp: everything `rotary check` simulates, as one value that loads from JSON.
//
//     rotary::scenario s = rotary::example_scenario();   // the guide's 3600-minute token, daily cron
//     s.schedule = rotary::cron_spec{"0 */12 * * *", "Europe/Berlin"};
//     s.fail_rate = 0.05;
//     auto plan = rotary::prepare(s);                     // outcome<simulation_plan, scenario_error>
//     if (!plan) std::cerr << plan.error().message << "\n";
//     auto report = rotary::analyse(*plan, rotary::options_of(s));
//
// A scenario is: the policy (period, buffer, hard expiry), the initial token (created at an
// instant, or fresh at the horizon's start), the schedule (cron in a zone with a DST mode, or a
// fixed interval from an anchor), the job (strategy, retries, delay, duration), the faults
// (failure and lost-response rates, outage windows, client clock skew), the server's
// re-rotation semantics, consumers, and the horizon (clamped to the hard expiry).
//
// JSON (json.hpp; keys camelCase): instants as ISO-8601 strings (Unix seconds are accepted
// too), durations as seconds (duration strings like "12h" accepted too):
//
//     {"rotationPeriodMinutes": 3600, "bufferSeconds": 600,
//      "createdAt": "2027-01-01T00:00:00Z", "expiresAt": "2028-01-01T00:00:00Z",
//      "schedule": {"cron": "0 */12 * * *", "tz": "Europe/Berlin", "dst": "cronie"},
//      "job": {"strategy": "always", "marginSeconds": 0, "retries": 2, "retryDelaySeconds": 60,
//              "durationSeconds": 0},
//      "faults": {"failRate": 0.05, "lostRate": 0, "clockSkewSeconds": 0,
//                 "outages": [{"from": "2027-03-01T00:00:00Z", "seconds": 86400}]},
//      "rerotation": "reject", "consumers": {"count": 3, "reloadSeconds": 900},
//      "horizon": {"from": "2027-01-01T00:00:00Z", "until": "2028-01-01T00:00:00Z"},
//      "seed": 1, "trials": 0, "maxRisk": 0}
#pragma once

#include <rotary/outcome.hpp>
#include <rotary/policy.hpp>
#include <rotary/report.hpp>
#include <rotary/schedule.hpp>
#include <rotary/simulate.hpp>
#include <rotary/time.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rotary {

// A cron expression in an IANA zone, with the DST behaviour of a cron daemon.
struct cron_spec {
  std::string expression;
  std::string tz = "UTC";
  dst_mode dst = dst_mode::cronie;
  friend bool operator==(const cron_spec&, const cron_spec&) = default;
};

// A fixed interval (a systemd timer, a Kubernetes loop): fires at anchor + k * every. Without
// an anchor, the horizon's start.
struct interval_spec {
  seconds every{hours{24}};
  std::optional<sys_seconds> anchor;
  friend bool operator==(const interval_spec&, const interval_spec&) = default;
};

struct scenario {
  // The policy.
  minutes rotation_period{3600};
  seconds buffer = minutes{10};
  std::optional<sys_seconds> created_at;  // nullopt: a fresh token at the horizon's start
  std::optional<sys_seconds> expires_at;
  // When the job runs.
  std::variant<cron_spec, interval_spec> schedule = cron_spec{"17 3 * * *"};
  // What the job does.
  job_strategy strategy{};
  int retries = 0;
  seconds retry_delay{60};
  seconds job_duration{0};
  // Faults.
  double fail_rate = 0;
  double lost_rate = 0;
  std::vector<outage_window> outages;
  seconds clock_skew{0};
  rerotation semantics = rerotation::reject;
  consumer_config consumers{};
  // The horizon: from `from` (default: created_at) to `until` (default: from + horizon).
  std::optional<sys_seconds> from;
  std::optional<sys_seconds> until;
  seconds horizon = days{365};
  // Analysis.
  std::uint64_t seed = 1;
  std::int64_t trials = 0;
  double max_risk = 0;

  friend bool operator==(const scenario&, const scenario&) = default;
};

// Why a scenario cannot be simulated: `field` names the scenario field (the JSON key).
struct scenario_error {
  std::string field;
  std::string message;
  friend bool operator==(const scenario_error&, const scenario_error&) = default;
};

// The guide's 3600-minute token, created 2027-01-01, expiring a year later, rotated by a daily
// cron at 03:17 UTC: what `rotary check` checks with no flags.
[[nodiscard]] scenario example_scenario();

// The scenario made concrete: validated, the horizon clamped to the hard expiry, the fires
// listed.
[[nodiscard]] outcome<simulation_plan, scenario_error> prepare(const scenario& s);

[[nodiscard]] inline analysis_options options_of(const scenario& s) {
  analysis_options o;
  o.seed = s.seed;
  o.trials = s.trials;
  o.max_risk = s.max_risk;
  o.consumers = s.consumers;
  return o;
}

// ---------------------------------------------------------------------------------------------

inline scenario example_scenario() {
  scenario s;
  s.created_at = from_unix(1798761600);  // 2027-01-01T00:00:00Z
  s.expires_at = from_unix(1830297600);  // 2028-01-01T00:00:00Z
  s.schedule = cron_spec{"17 3 * * *"};
  return s;
}

inline outcome<simulation_plan, scenario_error> prepare(const scenario& s) {
  using err = scenario_error;
  if (s.rotation_period <= minutes{0})
    return err{"rotationPeriodMinutes", "the rotation period must be positive"};
  if (s.buffer < seconds{0}) return err{"bufferSeconds", "the buffer cannot be negative"};
  if (!(s.fail_rate >= 0 && s.fail_rate <= 1))
    return err{"failRate", "the failure rate must be between 0 and 1"};
  if (!(s.lost_rate >= 0 && s.lost_rate <= 1))
    return err{"lostRate", "the lost-response rate must be between 0 and 1"};
  if (!(s.max_risk >= 0 && s.max_risk <= 1))
    return err{"maxRisk", "the maximum risk must be between 0 and 1"};
  if (s.retries < 0 || s.retries > 1000) return err{"retries", "retries must be between 0 and 1000"};
  if (s.retries > 0 && s.retry_delay <= seconds{0})
    return err{"retryDelaySeconds", "the retry delay must be positive"};
  if (s.job_duration < seconds{0}) return err{"durationSeconds", "the job duration cannot be negative"};
  if (s.strategy.margin < seconds{0}) return err{"marginSeconds", "the margin cannot be negative"};
  if (s.trials < 0 || s.trials > 100'000'000) return err{"trials", "trials must be between 0 and 100000000"};
  if (s.consumers.count < 0 || s.consumers.count > 10'000)
    return err{"consumers", "consumers must be between 0 and 10000"};
  if (s.consumers.count > 0 && s.consumers.reload <= seconds{0})
    return err{"reloadSeconds", "consumers need a positive reload interval"};

  simulation_plan p;
  p.policy = standard_policy{fixed_period{}, buffer_period{s.buffer}, hard_expiry{}};
  if (!s.from && !s.created_at)
    return err{"horizon", "the scenario needs a start: a horizon start or a creation time"};
  p.from = s.from ? *s.from : *s.created_at;
  p.initial =
      token_state{s.created_at ? *s.created_at : p.from, s.rotation_period, s.expires_at, std::nullopt};
  if (p.initial.created_at > p.from) return err{"createdAt", "the token is created after the horizon starts"};
  if (s.expires_at && *s.expires_at <= p.initial.created_at)
    return err{"expiresAt", "the hard expiry is not after the token's creation"};
  if (!s.until && s.horizon <= seconds{0}) return err{"horizon", "the horizon must be positive"};
  p.until = s.until ? *s.until : p.from + s.horizon;
  if (p.until <= p.from) return err{"horizon", "the horizon ends before it starts"};
  if (p.until - p.from > days{366 * 100}) return err{"horizon", "the horizon is longer than 100 years"};
  if (s.expires_at && *s.expires_at < p.until) {
    p.until = std::max(*s.expires_at, p.from);
    p.clamped_to_hard_expiry = true;
    if (p.until <= p.from) return err{"expiresAt", "the hard expiry is before the horizon starts"};
  }
  p.strategy = s.strategy;
  p.retries = s.retries;
  p.retry_delay = s.retry_delay;
  p.job_duration = s.job_duration;
  p.clock_skew = s.clock_skew;
  p.fail_rate = s.fail_rate;
  p.lost_rate = s.lost_rate;
  p.semantics = s.semantics;

  // Outages: sorted and merged.
  auto outages = s.outages;
  for (const auto& o : outages)
    if (o.until <= o.from) return err{"outages", "an outage must end after it starts"};
  std::sort(outages.begin(), outages.end(), [](const auto& a, const auto& b) { return a.from < b.from; });
  for (const auto& o : outages) {
    if (!p.outages.empty() && o.from <= p.outages.back().until)
      p.outages.back().until = std::max(p.outages.back().until, o.until);
    else
      p.outages.push_back(o);
  }

  // Fires.
  if (const auto* every = std::get_if<interval_spec>(&s.schedule)) {
    if (every->every <= seconds{0}) return err{"schedule", "the interval must be positive"};
    const sys_seconds anchor = every->anchor ? *every->anchor : p.from;
    if ((p.until - p.from) / every->every > 20'000'000)
      return err{"schedule", "more than 20 million fires in the horizon"};
    for (const sys_seconds t : fires(interval_schedule{every->every, anchor}, p.from, p.until))
      p.fires.push_back(t);
  } else {
    const auto& c = std::get<cron_spec>(s.schedule);
    const auto expr = parse_cron(c.expression);
    if (!expr) return err{"schedule", "cron expression: " + expr.error().message};
    const time_zone* zone = nullptr;
    if (c.tz != "UTC" && c.tz != "Etc/UTC") {
      zone = find_zone(c.tz);
      if (!zone)
        return err{"tz", "unknown time zone \"" + c.tz + "\" (expected an IANA name like Europe/Berlin)"};
    }
    for (const sys_seconds t : fires(cron_schedule{*expr, zone, c.dst}, p.from, p.until)) {
      if (!p.fires.empty() && p.fires.back() == t) continue;  // catch-up duplicates are one run
      p.fires.push_back(t);
      if (p.fires.size() > 20'000'000) return err{"schedule", "more than 20 million fires in the horizon"};
    }
  }
  return p;
}

}  // namespace rotary
