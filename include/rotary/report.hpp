// rotary/report.hpp: what `rotary check` says about a schedule, for people and for programs.
//
//     rotary::analysis_options opts{.seed = 1, .trials = 0, .max_risk = 0.01};
//     rotary::report r = rotary::analyse(plan, opts);
//     r.holds;                   // false when the nominal run lapses or the risk exceeds max_risk
//     r.margin;                  // period minus the worst gap between successful rotations
//     std::cout << rotary::format_text(r);
//     std::ofstream("timeline.svg") << rotary::render_svg(plan, r);
//
// How the report is made:
// - The *nominal* run: every attempt succeeds except inside an outage. It gives the worst gap
//   and the margin; if it lapses, the schedule lapses whatever the failure rate.
// - The *sample* run, seeded: `rotations`, `failedRuns` and `firstLapse` come from it (with no
//   random faults it is the nominal run).
// - `toleratedFailures` is a property of the schedule (simulate.hpp).
// - The lapse probability is exact (dynamic programme) when the model allows, else the Monte
//   Carlo estimate; `null` when nothing random is configured.
// - The verdict holds when the nominal run does not lapse and the probability is at most
//   `max_risk` (0 by default: any risk of a lapse fails the check).
#pragma once

#include <rotary/simulate.hpp>
#include <rotary/time.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rotary {

// Readers of the secret that reload it from the store every `reload`, spread evenly over one
// reload interval from the horizon's start.
struct consumer_config {
  int count = 0;
  seconds reload{0};
  friend constexpr bool operator==(const consumer_config&, const consumer_config&) = default;
};

struct consumer_report {
  int count = 0;
  seconds reload{0};
  std::int64_t stale = 0;               // (consumer, rotation) pairs that held the old secret after it died
  seconds worst_stale{0};               // the longest such time
  std::optional<sys_seconds> worst_at;  // when that old secret died
  friend constexpr bool operator==(const consumer_report&, const consumer_report&) = default;
};

struct analysis_options {
  std::uint64_t seed = 1;
  std::int64_t trials = 0;  // Monte Carlo trials; 0: only when the exact model does not apply
  double max_risk = 0;
  consumer_config consumers{};
  std::int64_t default_trials = 10'000;  // used when Monte Carlo is needed and trials == 0
  bool keep_events = false;              // keep the sample run's events in the report (the drill)
  // Called as Monte Carlo trials complete (done, total), about a thousand times: a progress bar.
  std::function<void(std::int64_t, std::int64_t)> progress{};
};

struct report {
  bool holds = true;
  sys_seconds from{};
  sys_seconds until{};
  bool clamped_to_hard_expiry = false;
  sys_seconds created_at{};  // when the first token was created (at or before `from`)
  std::int64_t runs = 0;
  std::int64_t rotations = 0;
  std::int64_t failed_runs = 0;
  std::int64_t lost_responses = 0;
  std::int64_t fires = 0;
  std::optional<gap_window> worst_gap;
  std::optional<seconds> margin;
  std::optional<std::int64_t> tolerated_failures;
  std::optional<lapse_point> first_lapse;
  bool nominal_lapses = false;
  std::optional<double> lapse_probability;
  std::string_view probability_method;  // "exact", "monte-carlo" or ""
  std::optional<monte_carlo_result> monte_carlo;
  std::optional<sys_seconds> hard_expiry;
  std::optional<double> days_left;  // from the horizon's start to the hard expiry
  std::optional<consumer_report> consumers;
  std::uint64_t seed = 1;
  double max_risk = 0;
  std::vector<sim_event> events;  // the sample run, for pictures and the drill
};

[[nodiscard]] report analyse(const simulation_plan& plan, const analysis_options& options = {});

// Several lines for a terminal; `title` (may be empty) goes first.
[[nodiscard]] std::string format_text(const report& r, std::string_view title = {});

// A timeline of the report's sample run (simulated again from the plan and `r.seed`; `r.events`
// is not needed): the slack at each run aggregated to pixel columns (the minimum kept), the
// deadline, the worst gap, failed runs and the lapse in red, the hard expiry; per-token bars and
// per-run ticks when they are few enough to read. Small at any horizon (detail/report_svg.hpp;
// an overload there takes svg_options: the zone of the time axis and of the DST marks).
[[nodiscard]] std::string render_svg(const simulation_plan& plan, const report& r);

// Consumers that reload every `reload` and the rotations of a run (events of kind `rotated`).
[[nodiscard]] consumer_report analyse_consumers(const std::vector<sim_event>& events, sys_seconds from,
                                                consumer_config consumers);

// ---------------------------------------------------------------------------------------------

namespace detail {

// The consumer analysis as an event sink: it sees the rotations as the run makes them.
struct consumer_tally {
  sys_seconds from;
  consumer_report out;
  consumer_tally(sys_seconds start, consumer_config consumers)
      : from(start), out{consumers.count, consumers.reload, 0, seconds{0}, std::nullopt} {}
  void operator()(const sim_event& e) {
    if (out.count <= 0 || out.reload <= seconds{0} || e.kind != sim_event::rotated || !e.until) return;
    const sys_seconds rotated = e.at, dies = *e.until;
    for (int c = 0; c < out.count; ++c) {
      const sys_seconds phase = from + out.reload * c / out.count;
      // The first reload at or after the rotation: it reads the new secret.
      sys_seconds next = phase;
      if (rotated > phase)
        next = phase + out.reload * ((rotated - phase + out.reload - seconds{1}) / out.reload);
      if (next > dies) {
        ++out.stale;
        if (next - dies > out.worst_stale) {
          out.worst_stale = next - dies;
          out.worst_at = dies;
        }
      }
    }
  }
};

}  // namespace detail

inline consumer_report analyse_consumers(const std::vector<sim_event>& events, sys_seconds from,
                                         consumer_config consumers) {
  detail::consumer_tally tally(from, consumers);
  for (const auto& e : events) tally(e);
  return tally.out;
}

namespace detail {

// The sample run of `analyse` again, with its events handed to `sink`: the same seed gives the
// same run, so a picture needs no stored events.
template <event_sink S>
run_outcome sample_run(const simulation_plan& plan, std::uint64_t seed, S&& sink) {
  if (!(plan.fail_rate > 0 || plan.lost_rate > 0)) return simulate_run<xoshiro256>(plan, nullptr, sink);
  xoshiro256 rng(seed);
  return simulate_run(plan, &rng, sink);
}

}  // namespace detail

inline report analyse(const simulation_plan& plan, const analysis_options& options) {
  report r;
  r.from = plan.from;
  r.until = plan.until;
  r.clamped_to_hard_expiry = plan.clamped_to_hard_expiry;
  r.created_at = plan.initial.created_at;
  r.seed = options.seed;
  r.max_risk = options.max_risk;
  r.fires = static_cast<std::int64_t>(plan.fires.size());

  // Without random faults the sample run is the nominal run: one pass serves both. Events are
  // made only for what needs them: the consumers see the nominal run's rotations as they
  // happen, and the report keeps the sample run's events only when asked to.
  const bool random = plan.fail_rate > 0 || plan.lost_rate > 0;
  const bool keep_nominal = options.keep_events && !random;
  detail::consumer_tally consumers(plan.from, options.consumers);
  auto nominal_sink = [&](const sim_event& e) {
    consumers(e);
    if (keep_nominal) r.events.push_back(e);
  };
  const auto nominal = options.consumers.count > 0 || keep_nominal
                           ? simulate_run<detail::xoshiro256>(plan, nullptr, nominal_sink)
                           : simulate_run<detail::xoshiro256>(plan);
  r.nominal_lapses = nominal.lapsed();
  detail::xoshiro256 rng(options.seed);
  const auto sample = random ? simulate_run(plan, &rng, options.keep_events ? &r.events : nullptr) : nominal;
  r.runs = sample.runs;
  r.rotations = sample.rotations;
  r.failed_runs = sample.failed_runs;
  r.lost_responses = sample.lost_responses;
  r.first_lapse = sample.first_lapse;

  r.worst_gap = nominal_worst_gap(plan);
  if (r.worst_gap && plan.initial.rotation_period)
    r.margin = seconds{*plan.initial.rotation_period} - r.worst_gap->length;
  r.tolerated_failures = tolerated_failures(plan);

  const auto exact = random ? exact_lapse_probability(plan) : std::optional<double>{};
  const std::int64_t trials =
      options.trials > 0 ? options.trials : (random && !exact ? options.default_trials : 0);
  if (trials > 0)
    r.monte_carlo = options.progress ? monte_carlo(plan, trials, options.seed, options.progress)
                                     : monte_carlo(plan, trials, options.seed);
  if (exact) {
    r.lapse_probability = exact;
    r.probability_method = "exact";
  } else if (random && r.monte_carlo) {
    r.lapse_probability = r.monte_carlo->estimate;
    r.probability_method = "monte-carlo";
  }

  r.hard_expiry = plan.initial.expires_at;
  if (r.hard_expiry) r.days_left = static_cast<double>((*r.hard_expiry - plan.from).count()) / 86'400.0;
  if (options.consumers.count > 0) r.consumers = consumers.out;
  r.holds = !r.nominal_lapses && (!r.lapse_probability || *r.lapse_probability <= options.max_risk);
  return r;
}

namespace detail {

inline std::string format_probability(double p) {
  if (p == 0) return "0";
  if (p == 1) return "1";
  char buf[32];
  if (p >= 0.001)
    std::snprintf(buf, sizeof buf, "%.4f", p);
  else
    std::snprintf(buf, sizeof buf, "%.3g", p);
  return buf;
}

inline std::string plural(std::int64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace detail

inline std::string format_text(const report& r, std::string_view title) {
  std::string out;
  auto line = [&](std::string_view label, const std::string& text) {
    out.append(label).append(12 - std::min<std::size_t>(label.size(), 11), ' ').append(text).push_back('\n');
  };
  if (!title.empty()) out.append(title).push_back('\n');
  line("horizon", format_time(r.from) + " .. " + format_time(r.until) + " (" +
                      format_duration(r.until - r.from) +
                      (r.clamped_to_hard_expiry ? ", cut at the hard expiry)" : ")"));
  line("token",
       "created " + format_time(r.created_at) +
           (r.created_at < r.from ? " (" + format_duration(r.from - r.created_at) + " before the horizon)"
                                  : ""));
  line("verdict", std::string(r.holds ? "HOLDS" : "LAPSES") +
                      (r.nominal_lapses ? ": the schedule lapses even when every run succeeds"
                       : !r.holds && r.lapse_probability
                           ? ": the lapse risk is above --max-risk " + detail::format_probability(r.max_risk)
                           : ""));
  line("runs",
       detail::plural(r.runs, "run", "runs") + ": " + detail::plural(r.rotations, "rotation", "rotations") +
           ", " + detail::plural(r.failed_runs, "failed", "failed") +
           (r.lost_responses ? ", " + detail::plural(r.lost_responses, "lost response", "lost responses")
                             : ""));
  if (r.worst_gap) {
    line("worst gap", format_duration(r.worst_gap->length) + " (" + format_time(r.worst_gap->from) + " .. " +
                          format_time(r.worst_gap->to) + ")");
  }
  if (r.margin) line("margin", (*r.margin > seconds{0} ? "" : "none: ") + format_duration(*r.margin));
  if (r.tolerated_failures)
    line("tolerates",
         detail::plural(*r.tolerated_failures, "consecutive failed run", "consecutive failed runs"));
  else
    line("tolerates", "any number of failed runs (no token dies inside the horizon)");
  if (r.first_lapse)
    line("lapse", format_time(r.first_lapse->at) + " (" + std::string(r.first_lapse->rule) + ")" +
                      (r.nominal_lapses ? "" : " in the sample run, seed " + std::to_string(r.seed)));
  if (r.lapse_probability)
    line("risk",
         detail::format_probability(*r.lapse_probability) + " (" + std::string(r.probability_method) + ")");
  if (r.monte_carlo) {
    const auto& mc = *r.monte_carlo;
    line("monte carlo",
         detail::plural(mc.trials, "trial", "trials") + ", " + detail::plural(mc.lapses, "lapse", "lapses") +
             ": " + detail::format_probability(mc.estimate) + " [" + detail::format_probability(mc.low) +
             ", " + detail::format_probability(mc.high) + "] at 95%");
  }
  if (r.hard_expiry) {
    char days_text[32];
    std::snprintf(days_text, sizeof days_text, "%.1f", *r.days_left);
    line("hard expiry", format_time(*r.hard_expiry) + ": " + days_text +
                            " days after the start; then a person must create a new token");
  }
  if (r.consumers) {
    const auto& c = *r.consumers;
    line("consumers",
         detail::plural(c.count, "consumer", "consumers") + " reloading every " + format_duration(c.reload) +
             (c.stale == 0 ? ": never hold a dead secret"
                           : ": " + detail::plural(c.stale, "stale reload", "stale reloads") +
                                 ", a dead secret held up to " + format_duration(c.worst_stale)));
  }
  return out;
}

}  // namespace rotary

#include <rotary/detail/report_svg.hpp>
