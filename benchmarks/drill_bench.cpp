// The drill's speed: a simulated year of `*/15 * * * *` (35,040 runs, each a real HTTP rotation
// against the fake server and two atomic saves of the encrypted store) with the clock jumping
// from event to event. Target: under 30 seconds on this machine.
#include <benchmark/benchmark.h>
#include <rotary/drill.hpp>
#include <rotary/scenario.hpp>

namespace {

void BM_drill_year_every_15_minutes(benchmark::State& state) {
  rotary::scenario s;
  s.rotation_period = std::chrono::minutes{1440};
  s.created_at = rotary::parse_time("2027-01-01T00:00:00Z").value();
  s.schedule = rotary::cron_spec{"*/15 * * * *"};
  s.horizon = rotary::days{365};
  s.fail_rate = static_cast<double>(state.range(0)) / 100.0;
  s.retries = 1;
  s.retry_delay = std::chrono::minutes{5};
  const auto plan = rotary::prepare(s).value();
  double days_per_second = 0;
  std::int64_t requests = 0;
  for (auto _ : state) {
    const auto d = rotary::run_drill(plan);
    if (!d.agrees) state.SkipWithError(d.divergence_text.c_str());
    days_per_second = d.simulated_days_per_second;
    requests = d.rotate_requests;
  }
  state.counters["days/s"] = days_per_second;
  state.counters["requests"] = static_cast<double>(requests);
}
BENCHMARK(BM_drill_year_every_15_minutes)->Arg(0)->Arg(10)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
