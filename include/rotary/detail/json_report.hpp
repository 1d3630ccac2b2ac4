// rotary/detail/json_report.hpp: JSON for the simulator's scenario and report (see json.hpp).
//
// Report keys follow docs/design.md ("The command line"): times as ISO-8601 UTC strings, durations in
// seconds. Scenario files take instants as ISO strings or Unix seconds and durations as seconds or duration
// strings ("12h", "PT10M"); they are written back with ISO strings and seconds.
#pragma once

#include <nlohmann/json.hpp>
#include <rotary/detail/json_read.hpp>
#include <rotary/detail/json_rules.hpp>
#include <rotary/report.hpp>
#include <rotary/scenario.hpp>

#include <string>

namespace rotary {

namespace detail {

inline nlohmann::ordered_json iso_or_null(const std::optional<sys_seconds>& t) {
  return t ? nlohmann::ordered_json(format_time(*t)) : nlohmann::ordered_json();
}

// An instant from an ISO-8601 string or Unix seconds.
inline sys_seconds json_instant(const nlohmann::json& v, std::string_view field) {
  if (v.is_string()) {
    const auto t = parse_time(v.get<std::string>());
    if (!t) json_fail(field, t.error().message + " (column " + std::to_string(t.error().column) + ")");
    return *t;
  }
  if (v.is_number()) return from_unix(json_integer(v, field, 0, max_unix_seconds, "Unix seconds"));
  json_fail(field, "expected an ISO-8601 instant or Unix seconds, got " + json_kind(v));
}

// A duration from seconds or a duration string.
inline seconds json_duration(const nlohmann::json& v, std::string_view field, std::int64_t lo = 0) {
  if (v.is_string()) {
    const auto d = parse_duration(v.get<std::string>());
    if (!d) json_fail(field, d.error().message + " (column " + std::to_string(d.error().column) + ")");
    if (d->count() < lo) json_fail(field, "must be at least " + std::to_string(lo) + " seconds");
    return *d;
  }
  if (v.is_number()) return seconds{json_integer(v, field, lo, max_duration_seconds, "seconds")};
  json_fail(field, "expected seconds or a duration like \"12h\", got " + json_kind(v));
}

inline double json_probability(const nlohmann::json& v, std::string_view field) {
  if (!v.is_number()) json_fail(field, "expected a probability (a number from 0 to 1), got " + json_kind(v));
  const double p = v.get<double>();
  if (!(p >= 0 && p <= 1)) json_fail(field, "expected a probability from 0 to 1, got " + v.dump());
  return p;
}

inline std::string json_string(const nlohmann::json& v, std::string_view field) {
  if (!v.is_string()) json_fail(field, "expected a string, got " + json_kind(v));
  return v.get<std::string>();
}

inline void json_known_keys(const nlohmann::json& j, std::string_view what,
                            std::initializer_list<std::string_view> keys) {
  for (const auto& [key, value] : j.items()) {
    (void)value;
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      json_fail(std::string(what) + "." + key, "unknown key (a typo?)");
  }
}

}  // namespace detail

inline void to_json(nlohmann::ordered_json& j, const gap_window& g) {
  j = {{"seconds", g.length.count()}, {"from", format_time(g.from)}, {"to", format_time(g.to)}};
}

inline void to_json(nlohmann::ordered_json& j, const monte_carlo_result& m) {
  j = {
      {"trials", m.trials}, {"lapses", m.lapses}, {"estimate", m.estimate}, {"low", m.low}, {"high", m.high}};
}

inline void to_json(nlohmann::ordered_json& j, const consumer_report& c) {
  j = {{"count", c.count},
       {"reloadSeconds", c.reload.count()},
       {"staleReloads", c.stale},
       {"worstStaleSeconds", c.worst_stale.count()},
       {"worstStaleFrom", detail::iso_or_null(c.worst_at)}};
}

inline void to_json(nlohmann::ordered_json& j, const report& r) {
  using oj = nlohmann::ordered_json;
  j = oj::object();
  j["verdict"] = r.holds ? "holds" : "lapses";
  j["horizon"] = {{"from", format_time(r.from)},
                  {"until", format_time(r.until)},
                  {"clampedToHardExpiry", r.clamped_to_hard_expiry}};
  j["token"] = {{"createdAt", format_time(r.created_at)}};
  j["fires"] = r.fires;
  j["runs"] = r.runs;
  j["rotations"] = r.rotations;
  j["failedRuns"] = r.failed_runs;
  j["lostResponses"] = r.lost_responses;
  j["worstGap"] = r.worst_gap ? oj(*r.worst_gap) : oj();
  j["marginSeconds"] = r.margin ? oj(r.margin->count()) : oj();
  j["toleratedFailures"] = r.tolerated_failures ? oj(*r.tolerated_failures) : oj();
  j["nominalLapses"] = r.nominal_lapses;
  j["firstLapse"] =
      r.first_lapse ? oj{{"at", format_time(r.first_lapse->at)}, {"rule", std::string(r.first_lapse->rule)}}
                    : oj();
  j["lapseProbability"] = r.lapse_probability ? oj(*r.lapse_probability) : oj();
  j["probabilityMethod"] = r.probability_method.empty() ? oj() : oj(std::string(r.probability_method));
  j["maxRisk"] = r.max_risk;
  j["monteCarlo"] = r.monte_carlo ? oj(*r.monte_carlo) : oj();
  j["hardExpiry"] =
      r.hard_expiry ? oj{{"at", format_time(*r.hard_expiry)}, {"daysLeft", *r.days_left}} : oj();
  j["consumers"] = r.consumers ? oj(*r.consumers) : oj();
  j["seed"] = r.seed;
}

inline void to_json(nlohmann::ordered_json& j, const scenario& s) {
  using oj = nlohmann::ordered_json;
  j = oj::object();
  j["rotationPeriodMinutes"] = s.rotation_period.count();
  j["bufferSeconds"] = s.buffer.count();
  j["createdAt"] = detail::iso_or_null(s.created_at);
  j["expiresAt"] = detail::iso_or_null(s.expires_at);
  if (const auto* c = std::get_if<cron_spec>(&s.schedule))
    j["schedule"] = {{"cron", c->expression}, {"tz", c->tz}, {"dst", std::string(to_string(c->dst))}};
  else {
    const auto& i = std::get<interval_spec>(s.schedule);
    j["schedule"] = {{"everySeconds", i.every.count()}, {"anchor", detail::iso_or_null(i.anchor)}};
  }
  j["job"] = {{"strategy", s.strategy.kind == job_strategy::always ? "always" : "when-due"},
              {"marginSeconds", s.strategy.margin.count()},
              {"retries", s.retries},
              {"retryDelaySeconds", s.retry_delay.count()},
              {"durationSeconds", s.job_duration.count()}};
  oj outages = oj::array();
  for (const auto& o : s.outages)
    outages.push_back({{"from", format_time(o.from)}, {"seconds", (o.until - o.from).count()}});
  j["faults"] = {{"failRate", s.fail_rate},
                 {"lostRate", s.lost_rate},
                 {"clockSkewSeconds", s.clock_skew.count()},
                 {"outages", outages}};
  j["rerotation"] = s.semantics == rerotation::reject ? "reject"
                    : s.semantics == rerotation::fork ? "fork"
                                                      : "idempotent";
  j["consumers"] = {{"count", s.consumers.count}, {"reloadSeconds", s.consumers.reload.count()}};
  j["horizon"] = {{"from", detail::iso_or_null(s.from)},
                  {"until", detail::iso_or_null(s.until)},
                  {"seconds", s.horizon.count()}};
  j["seed"] = s.seed;
  j["trials"] = s.trials;
  j["maxRisk"] = s.max_risk;
}

// Reads a scenario; absent keys keep the defaults of `scenario{}`. Unknown keys are errors
// (a typo in a scenario file must not silently change nothing).
inline void from_json(const nlohmann::json& j, scenario& out) {
  using namespace detail;
  json_object(j, "scenario");
  json_known_keys(j, "scenario",
                  {"rotationPeriodMinutes", "bufferSeconds", "createdAt", "expiresAt", "schedule", "job",
                   "faults", "rerotation", "consumers", "horizon", "seed", "trials", "maxRisk"});
  scenario s;
  if (const auto* v = json_find(j, "rotationPeriodMinutes"))
    s.rotation_period = minutes{json_integer(*v, "rotationPeriodMinutes", 1, 100'000'000, "minutes")};
  if (const auto* v = json_find(j, "bufferSeconds")) s.buffer = json_duration(*v, "bufferSeconds");
  if (const auto* v = json_find(j, "createdAt")) s.created_at = json_instant(*v, "createdAt");
  if (const auto* v = json_find(j, "expiresAt")) s.expires_at = json_instant(*v, "expiresAt");
  if (const auto* v = json_find(j, "schedule")) {
    json_object(*v, "schedule");
    json_known_keys(*v, "schedule", {"cron", "tz", "dst", "every", "everySeconds", "anchor"});
    const auto* cron = json_find(*v, "cron");
    const auto* every = json_find(*v, "everySeconds");
    if (!every) every = json_find(*v, "every");
    if ((cron != nullptr) == (every != nullptr))
      json_fail("schedule", "expected exactly one of \"cron\" or \"everySeconds\"");
    if (cron) {
      cron_spec c{json_string(*cron, "schedule.cron")};
      if (const auto* tz = json_find(*v, "tz")) c.tz = json_string(*tz, "schedule.tz");
      if (const auto* dst = json_find(*v, "dst")) {
        const auto mode = json_string(*dst, "schedule.dst");
        const auto parsed = parse_dst_mode(mode);
        if (!parsed) json_fail("schedule.dst", "expected \"cronie\" or \"wallclock\", got \"" + mode + "\"");
        c.dst = *parsed;
      }
      s.schedule = c;
    } else {
      interval_spec i{json_duration(*every, "schedule.everySeconds", 1), std::nullopt};
      if (const auto* a = json_find(*v, "anchor")) i.anchor = json_instant(*a, "schedule.anchor");
      s.schedule = i;
    }
  }
  if (const auto* v = json_find(j, "job")) {
    json_object(*v, "job");
    json_known_keys(*v, "job",
                    {"strategy", "marginSeconds", "retries", "retryDelaySeconds", "durationSeconds"});
    if (const auto* st = json_find(*v, "strategy")) {
      const auto name = json_string(*st, "job.strategy");
      if (name == "always")
        s.strategy.kind = job_strategy::always;
      else if (name == "when-due")
        s.strategy.kind = job_strategy::when_due;
      else
        json_fail("job.strategy", "expected \"always\" or \"when-due\", got \"" + name + "\"");
    }
    if (const auto* m = json_find(*v, "marginSeconds"))
      s.strategy.margin = json_duration(*m, "job.marginSeconds");
    if (const auto* r = json_find(*v, "retries"))
      s.retries = static_cast<int>(json_integer(*r, "job.retries", 0, 1000, "a count"));
    if (const auto* d = json_find(*v, "retryDelaySeconds"))
      s.retry_delay = json_duration(*d, "job.retryDelaySeconds", 1);
    if (const auto* d = json_find(*v, "durationSeconds"))
      s.job_duration = json_duration(*d, "job.durationSeconds");
  }
  if (const auto* v = json_find(j, "faults")) {
    json_object(*v, "faults");
    json_known_keys(*v, "faults", {"failRate", "lostRate", "clockSkewSeconds", "outages"});
    if (const auto* p = json_find(*v, "failRate")) s.fail_rate = json_probability(*p, "faults.failRate");
    if (const auto* p = json_find(*v, "lostRate")) s.lost_rate = json_probability(*p, "faults.lostRate");
    if (const auto* k = json_find(*v, "clockSkewSeconds"))
      s.clock_skew =
          seconds{json_integer(*k, "faults.clockSkewSeconds", -86'400 * 365, 86'400 * 365, "seconds")};
    if (const auto* list = json_find(*v, "outages")) {
      if (!list->is_array()) json_fail("faults.outages", "expected an array, got " + json_kind(*list));
      for (const auto& o : *list) {
        json_object(o, "faults.outages[]");
        json_known_keys(o, "faults.outages[]", {"from", "seconds", "until"});
        const auto* from = json_find(o, "from");
        if (!from) json_fail("faults.outages[].from", "missing");
        const sys_seconds start = json_instant(*from, "faults.outages[].from");
        sys_seconds end;
        if (const auto* len = json_find(o, "seconds"))
          end = start + json_duration(*len, "faults.outages[].seconds", 1);
        else if (const auto* until = json_find(o, "until"))
          end = json_instant(*until, "faults.outages[].until");
        else
          json_fail("faults.outages[]", "expected \"seconds\" or \"until\"");
        s.outages.push_back({start, end});
      }
    }
  }
  if (const auto* v = json_find(j, "rerotation")) {
    const auto name = json_string(*v, "rerotation");
    if (name == "reject")
      s.semantics = rerotation::reject;
    else if (name == "fork")
      s.semantics = rerotation::fork;
    else if (name == "idempotent")
      s.semantics = rerotation::idempotent;
    else
      json_fail("rerotation", "expected \"reject\", \"fork\" or \"idempotent\", got \"" + name + "\"");
  }
  if (const auto* v = json_find(j, "consumers")) {
    json_object(*v, "consumers");
    json_known_keys(*v, "consumers", {"count", "reloadSeconds"});
    if (const auto* c = json_find(*v, "count"))
      s.consumers.count = static_cast<int>(json_integer(*c, "consumers.count", 0, 10'000, "a count"));
    if (const auto* r = json_find(*v, "reloadSeconds"))
      s.consumers.reload = json_duration(*r, "consumers.reloadSeconds");
  }
  if (const auto* v = json_find(j, "horizon")) {
    json_object(*v, "horizon");
    json_known_keys(*v, "horizon", {"from", "until", "seconds"});
    if (const auto* f = json_find(*v, "from")) s.from = json_instant(*f, "horizon.from");
    if (const auto* u = json_find(*v, "until")) s.until = json_instant(*u, "horizon.until");
    if (const auto* d = json_find(*v, "seconds")) s.horizon = json_duration(*d, "horizon.seconds", 1);
  }
  if (const auto* v = json_find(j, "seed"))
    s.seed = static_cast<std::uint64_t>(
        json_integer(*v, "seed", 0, std::numeric_limits<std::int64_t>::max(), "a seed"));
  if (const auto* v = json_find(j, "trials"))
    s.trials = json_integer(*v, "trials", 0, 100'000'000, "a count");
  if (const auto* v = json_find(j, "maxRisk")) s.max_risk = json_probability(*v, "maxRisk");
  out = s;
}

}  // namespace rotary
