// How long `rotary check` and `rotary sweep` will take, said before they start, and a progress
// bar while they run.
//
// The work of a scenario is counted in simulated fire-steps: the fires of its plan
// (`plan.fires.size()`) times the passes `analyse` makes over them, about four fixed passes
// (the nominal run, the sample run, the worst gap, the tolerance) plus one per Monte Carlo
// trial. The estimate is a count, turned into time at a fixed rate: never measured on the
// machine, so the same command is refused or run the same way everywhere.
#pragma once

#include "command.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <rotary/report.hpp>
#include <rotary/scenario.hpp>
#include <rotary/simulate.hpp>
#include <string>
#include <string_view>

namespace rotary::cli {

// Simulated fire-steps a second on one core: the Monte Carlo figure of
// build/benchmarks/simulate_bench (BM_monte_carlo_runs_per_second: 20-30 million simulated runs
// a second on the 2-core build machine; docs/simulator.md, "Speed").
inline constexpr double fire_steps_per_second = 25'000'000;
// Work estimated at more than this is refused without --long.
inline constexpr double long_work_seconds = 3600;
// Work estimated at more than this shows a progress bar on a terminal.
inline constexpr double progress_work_seconds = 2;
// The passes of `analyse` over the fires besides Monte Carlo.
inline constexpr std::int64_t fixed_passes = 4;

inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<std::int64_t>::max() : r;
}
inline std::int64_t saturating_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<std::int64_t>::max() : r;
}

// The Monte Carlo trials `analyse(plan, options)` runs: `options.trials`, or else
// `options.default_trials` when random faults are configured and the exact model does not apply
// (lost responses under fork or idempotent: the case where `exact_lapse_probability` answers
// nullopt, without running it).
inline std::int64_t monte_carlo_trials(const simulation_plan& plan, const analysis_options& options) {
  if (options.trials > 0) return options.trials;
  const bool random = plan.fail_rate > 0 || plan.lost_rate > 0;
  const bool exact = exact_model_applies(plan);
  return random && !exact ? options.default_trials : 0;
}

// The fire-steps of `analyse(plan, options)`.
// The exact lapse probability (random faults, exact model) walks every attempt slot: one more
// pass per attempt a run may make.
inline std::int64_t fire_steps(const simulation_plan& plan, const analysis_options& options) {
  const bool random = plan.fail_rate > 0 || plan.lost_rate > 0;
  const std::int64_t exact_passes = random && exact_model_applies(plan) ? 1 + plan.retries : 0;
  return saturating_mul(static_cast<std::int64_t>(plan.fires.size()),
                        saturating_add(fixed_passes + exact_passes, monte_carlo_trials(plan, options)));
}

// 1234567 -> "1,234,567".
inline std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

struct work_estimate {
  std::int64_t scenarios = 0;
  std::int64_t fire_steps = 0;  // saturating at the largest int64
  unsigned threads = 1;
  std::int64_t sampled = 0;  // > 0: fire_steps extrapolated from this many of the scenarios

  [[nodiscard]] double seconds() const {
    return static_cast<double>(fire_steps) / (fire_steps_per_second * static_cast<double>(threads));
  }

  // "3 scenarios, 12,000,000 fire-steps at 25,000,000 a second on 2 threads"
  [[nodiscard]] std::string describe() const {
    std::string s = grouped(scenarios) + (scenarios == 1 ? " scenario, " : " scenarios, ");
    s += sampled > 0 ? "about " : "";
    s += grouped(fire_steps) + " fire-steps";
    if (sampled > 0) s += " (extrapolated from " + grouped(sampled) + " of them)";
    s += " at " + grouped(static_cast<std::int64_t>(fire_steps_per_second)) + " a second on " +
         std::to_string(threads) + (threads == 1 ? " thread" : " threads");
    return s;
  }
};

// Throws the usage error (exit 2) of work estimated at over an hour, unless `go_on` (--long):
// "check: the work is estimated at 5.8 hours (1 scenario, ...); --long runs it anyway".
inline void refuse_long_work(std::string_view command, const work_estimate& w, bool go_on) {
  if (go_on || !(w.seconds() > long_work_seconds)) return;
  char hours[32];
  std::snprintf(hours, sizeof hours, "%.1f", w.seconds() / 3600);
  throw usage_error{std::string(command) + ": the work is estimated at " + hours + " hours (" + w.describe() +
                    "); --long runs it anyway"};
}

// Whether to draw the bar: always with --progress; on a terminal when the work is long enough
// to matter (estimated over progress_work_seconds, or --long given).
inline bool show_progress(bool progress_flag, bool long_flag, const work_estimate& w) {
  if (progress_flag) return true;
  return isatty(STDERR_FILENO) != 0 && (long_flag || w.seconds() > progress_work_seconds);
}

// "1h02m", "3m05s", "12s".
inline std::string short_duration(double seconds) {
  const auto s = static_cast<std::int64_t>(std::llround(std::max(0.0, seconds)));
  char buf[48];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  return buf;
}

// A one-line bar on stderr, redrawn in place (at most ten times a second, and at the end):
//     sweep: 120/1,000 scenarios [###                           ]  12% ETA 1m05s
// The ETA is the elapsed time scaled by what is left: for display only (stdout never has it).
class progress_bar {
 public:
  progress_bar(std::string label, std::string unit, bool on)
      : label_(std::move(label)), unit_(std::move(unit)), on_(on), start_(clock::now()) {}
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;
  ~progress_bar() { finish(); }

  void update(std::int64_t done, std::int64_t total) {
    if (!on_ || total <= 0) return;
    const auto now = clock::now();
    if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    constexpr int width = 30;
    const auto filled = static_cast<std::size_t>(width * done / total);
    std::string line = "\r" + label_ + ": " + grouped(done) + "/" + grouped(total) + " " + unit_ + " [" +
                       std::string(filled, '#') + std::string(width - filled, ' ') + "] ";
    char percent[8];
    std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(100 * done / total));
    line += percent;
    if (done >= total)
      line += " in " + short_duration(elapsed);
    else if (done > 0)
      line +=
          " ETA " + short_duration(elapsed * static_cast<double>(total - done) / static_cast<double>(done));
    const std::size_t length = line.size();
    if (length < last_length_) line.append(last_length_ - length, ' ');
    last_length_ = length;
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

  // Ends the line (once), if anything was drawn.
  void finish() {
    if (!drawn_) return;
    drawn_ = false;
    std::fputs("\n", stderr);
    std::fflush(stderr);
  }

 private:
  using clock = std::chrono::steady_clock;
  std::string label_, unit_;
  bool on_ = false, drawn_ = false;
  clock::time_point start_, last_{};
  std::size_t last_length_ = 0;
};

}  // namespace rotary::cli
