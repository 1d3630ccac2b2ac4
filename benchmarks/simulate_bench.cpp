// The simulator's speed (docs/design.md, "How good is good enough"): a year of `*/5 * * * *`
// checked deterministically (< 5 ms), its exact lapse probability with a 24-hour period
// (< 50 ms), and Monte Carlo in simulated runs per second (> 1,000,000 per core). And the path
// `rotary check` takes, whole: the scenario, prepare (the cron walk), analyse, the report's
// JSON (a minutely year < 5 ms, a year of `*/5` < 2 ms, docs/simulator.md "At scale").
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <rotary/json.hpp>
#include <rotary/report.hpp>
#include <rotary/scenario.hpp>
#include <rotary/simulate.hpp>

using namespace rotary;
using namespace std::chrono_literals;

namespace {

simulation_plan every_five_minutes_for_a_year(minutes period) {
  simulation_plan p;
  const sys_seconds t0 = from_unix(1798761600);
  p.initial = token_state{t0, period, t0 + days{365}, std::nullopt};
  p.from = t0;
  p.until = t0 + days{365};
  for (auto t = t0; t < p.until; t += 5min) p.fires.push_back(t);
  return p;
}

void BM_nominal_run_year_every_5_minutes(benchmark::State& state) {
  const auto plan = every_five_minutes_for_a_year(1440min);
  for (auto _ : state) benchmark::DoNotOptimize(simulate_run(plan));
  state.counters["runs/s"] = benchmark::Counter(static_cast<double>(plan.fires.size()),
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_nominal_run_year_every_5_minutes)->Unit(benchmark::kMillisecond);

// The same run watched (every event to a sink that counts them): fire by fire, nothing crossed.
void BM_watched_run_year_every_5_minutes(benchmark::State& state) {
  const auto plan = every_five_minutes_for_a_year(1440min);
  std::size_t events = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(
        simulate_run<detail::xoshiro256>(plan, nullptr, [&](const sim_event&) { ++events; }));
  benchmark::DoNotOptimize(events);
  state.counters["runs/s"] = benchmark::Counter(static_cast<double>(plan.fires.size()),
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_watched_run_year_every_5_minutes)->Unit(benchmark::kMillisecond);

void BM_full_check_year_every_5_minutes(benchmark::State& state) {
  const auto plan = every_five_minutes_for_a_year(1440min);
  for (auto _ : state) benchmark::DoNotOptimize(analyse(plan, {.keep_events = state.range(0) != 0}));
}
BENCHMARK(BM_full_check_year_every_5_minutes)
    ->ArgName("events")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

void BM_exact_probability_year_every_5_minutes_24h_period(benchmark::State& state) {
  auto plan = every_five_minutes_for_a_year(1440min);
  plan.fail_rate = 0.5;
  plan.retries = static_cast<int>(state.range(0));
  plan.retry_delay = 1min;
  for (auto _ : state) benchmark::DoNotOptimize(exact_lapse_probability(plan));
}
BENCHMARK(BM_exact_probability_year_every_5_minutes_24h_period)
    ->Arg(0)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond);

void BM_exact_probability_when_due(benchmark::State& state) {
  auto plan = every_five_minutes_for_a_year(1440min);
  plan.fail_rate = 0.3;
  plan.strategy = {job_strategy::when_due, 2h};
  for (auto _ : state) benchmark::DoNotOptimize(exact_lapse_probability(plan));
}
BENCHMARK(BM_exact_probability_when_due)->Unit(benchmark::kMillisecond);

void BM_monte_carlo_runs_per_second(benchmark::State& state) {
  auto plan = every_five_minutes_for_a_year(1440min);
  plan.fail_rate = 0.05;
  plan.lost_rate = 0.0001;
  plan.semantics = rerotation::fork;
  std::uint64_t seed = 1;
  std::int64_t runs = 0;
  for (auto _ : state) {
    detail::xoshiro256 rng(seed++);
    const auto out = simulate_run(plan, &rng);
    runs += out.runs + out.skipped;
    benchmark::DoNotOptimize(out);
  }
  state.counters["runs/s"] = benchmark::Counter(static_cast<double>(runs), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_monte_carlo_runs_per_second)->Unit(benchmark::kMillisecond);

// What `rotary check --cron EXPR --period 1440 --from 2027-01-01T00:00:00Z [--tz ZONE] --json`
// does after reading its flags: a fresh token at --from, a year, the report as JSON.
void BM_check_command_path(benchmark::State& state, const char* expression, const char* zone) {
  scenario s = example_scenario();
  s.rotation_period = 1440min;
  s.created_at.reset();
  s.from = from_unix(1798761600);
  s.expires_at = *s.from + days{365};
  s.schedule = cron_spec{expression, zone};
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto plan = prepare(s);
    const auto r = analyse(*plan, options_of(s));
    bytes += nlohmann::ordered_json(r).dump(2).size();
  }
  benchmark::DoNotOptimize(bytes);
  state.counters["fires"] = static_cast<double>(prepare(s)->fires.size());
}
BENCHMARK_CAPTURE(BM_check_command_path, minutely_year, "* * * * *", "UTC")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_check_command_path, every_5_minutes_year, "*/5 * * * *", "UTC")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_check_command_path, minutely_year_berlin, "* * * * *", "Europe/Berlin")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_check_command_path, daily_year_berlin, "17 3 * * *", "Europe/Berlin")
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
