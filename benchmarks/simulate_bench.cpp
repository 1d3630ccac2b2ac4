// The simulator's speed (docs/design.md, "How good is good enough"): a year of `*/5 * * * *`
// checked deterministically (< 5 ms), its exact lapse probability with a 24-hour period
// (< 50 ms), and Monte Carlo in simulated runs per second (> 1,000,000 per core).
#include <benchmark/benchmark.h>
#include <rotary/report.hpp>
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

}  // namespace

BENCHMARK_MAIN();
