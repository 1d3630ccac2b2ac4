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
  bool keep_events = true;               // keep the sample run's events in the report (pictures, the drill)
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

// A timeline: token lifetimes as bars, fires as ticks (failed runs in red), the deadlines, the
// hard expiry and the first lapse. Readable for a week and for a year.
[[nodiscard]] std::string render_svg(const simulation_plan& plan, const report& r);

// Consumers that reload every `reload` and the rotations of a run (events of kind `rotated`).
[[nodiscard]] consumer_report analyse_consumers(const std::vector<sim_event>& events, sys_seconds from,
                                                consumer_config consumers);

// ---------------------------------------------------------------------------------------------

inline consumer_report analyse_consumers(const std::vector<sim_event>& events, sys_seconds from,
                                         consumer_config consumers) {
  consumer_report out{consumers.count, consumers.reload, 0, seconds{0}, std::nullopt};
  if (consumers.count <= 0 || consumers.reload <= seconds{0}) return out;
  for (const auto& e : events) {
    if (e.kind != sim_event::rotated || !e.until) continue;
    const sys_seconds rotated = e.at, dies = *e.until;
    for (int c = 0; c < consumers.count; ++c) {
      const sys_seconds phase = from + consumers.reload * c / consumers.count;
      // The first reload at or after the rotation: it reads the new secret.
      sys_seconds next = phase;
      if (rotated > phase)
        next =
            phase + consumers.reload * ((rotated - phase + consumers.reload - seconds{1}) / consumers.reload);
      if (next > dies) {
        ++out.stale;
        if (next - dies > out.worst_stale) {
          out.worst_stale = next - dies;
          out.worst_at = dies;
        }
      }
    }
  }
  return out;
}

inline report analyse(const simulation_plan& plan, const analysis_options& options) {
  report r;
  r.from = plan.from;
  r.until = plan.until;
  r.clamped_to_hard_expiry = plan.clamped_to_hard_expiry;
  r.created_at = plan.initial.created_at;
  r.seed = options.seed;
  r.max_risk = options.max_risk;
  r.fires = static_cast<std::int64_t>(plan.fires.size());

  // Without random faults the sample run is the nominal run: one pass serves both.
  const bool random = plan.fail_rate > 0 || plan.lost_rate > 0;
  const bool need_nominal_events = options.keep_events || options.consumers.count > 0;
  std::vector<sim_event> nominal_events;
  const auto nominal =
      simulate_run<detail::xoshiro256>(plan, nullptr, need_nominal_events ? &nominal_events : nullptr);
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
  if (trials > 0) r.monte_carlo = monte_carlo(plan, trials, options.seed);
  if (exact) {
    r.lapse_probability = exact;
    r.probability_method = "exact";
  } else if (random && r.monte_carlo) {
    r.lapse_probability = r.monte_carlo->estimate;
    r.probability_method = "monte-carlo";
  }

  r.hard_expiry = plan.initial.expires_at;
  if (r.hard_expiry) r.days_left = static_cast<double>((*r.hard_expiry - plan.from).count()) / 86'400.0;
  if (options.consumers.count > 0) {
    r.consumers = analyse_consumers(nominal_events, plan.from, options.consumers);
  }
  if (!random && options.keep_events) r.events = std::move(nominal_events);
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

inline std::string render_svg(const simulation_plan& plan, const report& r) {
  const double width = 1000, left = 70, right = 20, plot = width - left - right;
  const double span = static_cast<double>((r.until - r.from).count());
  auto x = [&](sys_seconds t) {
    const double f = span > 0 ? static_cast<double>((t - r.from).count()) / span : 0;
    return left + plot * std::clamp(f, 0.0, 1.0);
  };
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return std::string(buf);
  };
  const double lanes_top = 40, lane_h = 14, fires_y = lanes_top + 2 * lane_h + 24, axis_y = fires_y + 40;
  const double height = axis_y + 52;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" +
                    num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + num(left) + "\" y=\"18\" font-size=\"13\">" +
         std::string(r.holds ? "holds" : "lapses") + ": " +
         detail::plural(r.rotations, "rotation", "rotations") + ", " +
         detail::plural(r.failed_runs, "failed run", "failed runs") +
         (r.margin ? ", margin " + format_duration(*r.margin) : std::string()) + "</text>\n";
  svg += "<text x=\"4\" y=\"" + num(lanes_top + 10) + "\">tokens</text>\n";
  svg += "<text x=\"4\" y=\"" + num(fires_y + 4) + "\">runs</text>\n";

  // Token lifetimes: from creation to the instant the token stops working, alternating lanes.
  struct bar {
    sys_seconds from, to;
  };
  std::vector<bar> bars;
  sys_seconds created = plan.initial.created_at;
  auto death_of_child = [&](sys_seconds c) {
    return detail::death_of(
        plan, token_state{c, plan.initial.rotation_period, plan.initial.expires_at, std::nullopt});
  };
  for (const auto& e : r.events) {
    if (e.kind != sim_event::rotated) continue;
    bars.push_back({created, e.until.value_or(e.at)});
    created = e.created.value_or(e.at);
  }
  bars.push_back({created, std::min(death_of_child(created), r.until)});
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double x0 = x(std::max(bars[i].from, r.from)), x1 = std::max(x(bars[i].to), x0 + 0.5);
    svg += "<rect x=\"" + num(x0) + "\" y=\"" + num(lanes_top + static_cast<double>(i % 2) * lane_h) +
           "\" width=\"" + num(x1 - x0) + "\" height=\"" + num(lane_h - 3) + "\" fill=\"" +
           (i % 2 ? "#6a9fd8" : "#3f7cc0") + "\"/>\n";
  }
  // Each token's rotation deadline (created + period), when there are few enough to see.
  if (plan.initial.rotation_period && bars.size() <= 120) {
    std::string marks;
    for (std::size_t i = 0; i < bars.size(); ++i) {
      const sys_seconds deadline = bars[i].from + *plan.initial.rotation_period;
      if (deadline > r.until) continue;
      marks += "M" + num(x(deadline)) + " " + num(lanes_top + static_cast<double>(i % 2) * lane_h - 1) + "v" +
               num(lane_h - 1);
    }
    if (!marks.empty()) svg += "<path d=\"" + marks + "\" stroke=\"#e08a00\" stroke-width=\"2\"/>\n";
  }
  // Runs: grey ticks; failed runs red.
  std::string ticks_ok, ticks_bad;
  for (const auto& e : r.events) {
    const std::string xs = num(x(e.at));
    if (e.kind == sim_event::run || e.kind == sim_event::skipped)
      ticks_ok += "M" + xs + " " + num(fires_y - 6) + "v12";
    else if (e.kind == sim_event::run_failed || e.kind == sim_event::refused ||
             e.kind == sim_event::response_lost)
      ticks_bad += "M" + xs + " " + num(fires_y - 9) + "v18";
  }
  if (!ticks_ok.empty()) svg += "<path d=\"" + ticks_ok + "\" stroke=\"#999\" stroke-width=\"1\"/>\n";
  if (!ticks_bad.empty()) svg += "<path d=\"" + ticks_bad + "\" stroke=\"#d33\" stroke-width=\"2\"/>\n";
  // The hard expiry and the first lapse.
  auto vline = [&](sys_seconds t, std::string_view colour, std::string_view label) {
    const std::string xs = num(x(t));
    svg += "<line x1=\"" + xs + "\" y1=\"28\" x2=\"" + xs + "\" y2=\"" + num(axis_y) + "\" stroke=\"" +
           std::string(colour) + "\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>\n";
    const double xv = x(t);
    const char* anchor = xv > width - right - 80 ? "end" : xv < left + 80 ? "start" : "middle";
    svg += "<text x=\"" + xs + "\" y=\"" + num(axis_y + 26) + "\" fill=\"" + std::string(colour) +
           "\" text-anchor=\"" + anchor + "\">" + std::string(label) + "</text>\n";
  };
  if (r.hard_expiry && *r.hard_expiry <= r.until) vline(*r.hard_expiry, "#a0a", "hard expiry");
  if (r.first_lapse) vline(r.first_lapse->at, "#d33", "lapse " + format_time(r.first_lapse->at));
  // The axis: about eight labelled ticks at whole days (or hours for short horizons).
  svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(axis_y) + "\" x2=\"" + num(left + plot) + "\" y2=\"" +
         num(axis_y) + "\" stroke=\"#333\"/>\n";
  const std::int64_t total = (r.until - r.from).count();
  auto tick = [&](sys_seconds t, const std::string& label) {
    const std::string xs = num(x(t));
    svg += "<line x1=\"" + xs + "\" y1=\"" + num(axis_y) + "\" x2=\"" + xs + "\" y2=\"" + num(axis_y + 4) +
           "\" stroke=\"#333\"/>\n";
    svg +=
        "<text x=\"" + xs + "\" y=\"" + num(axis_y + 14) + "\" text-anchor=\"middle\">" + label + "</text>\n";
  };
  if (total > 60 * 86'400) {
    // Month starts, every month up to about 13 months, then every 3, 6 or 12.
    const std::string start = format_time(r.from);
    int year = std::stoi(start.substr(0, 4)), month = std::stoi(start.substr(5, 2));
    const std::int64_t months = total / (30 * 86'400);
    const int every = months <= 14   ? 1
                      : months <= 40 ? 3
                      : months <= 80 ? 6
                                     : 12 * static_cast<int>(1 + months / 160);
    for (;;) {
      if (++month > 12) month = 1, ++year;
      if ((month - 1) % every != 0) continue;
      const sys_seconds t =
          from_unix(detail::days_from_civil(year, static_cast<unsigned>(month), 1) * 86'400);
      if (t > r.until) break;
      tick(t, format_time(t).substr(0, 7));
    }
  } else {
    // Whole hours or days, about eight ticks.
    const std::int64_t steps[] = {3600, 3 * 3600, 6 * 3600, 86'400, 2 * 86'400, 7 * 86'400};
    std::int64_t step = steps[0];
    for (auto st : steps)
      if (total / st >= 6) step = st;
    const std::int64_t first = (to_unix(r.from) + step - 1) / step * step;
    for (std::int64_t t = first; t <= to_unix(r.until); t += step) {
      const std::string stamp = format_time(from_unix(t));
      tick(from_unix(t), step < 86'400 ? stamp.substr(5, 11) : stamp.substr(0, 10));
    }
  }
  svg += "<text x=\"4\" y=\"" + num(height - 6) +
         "\" fill=\"#555\">bars: each token from its creation to the second it stops working; orange: its "
         "rotation "
         "deadline; ticks: runs, red when a run failed</text>\n";
  svg += "</svg>\n";
  return svg;
}

}  // namespace rotary
