// Cron engine speed: parse, next in UTC and in America/New_York, gap analysis of a year.
// Targets (docs/design.md, "How good is good enough"): next < 50 ns in UTC (leap day < 500 ns),
// < 200 ns in a zone; a year of `* * * * *` analysed in < 5 ms. Peers on this machine: croncpp
// 420-30,000 ns, croniter 10-50 us per next (docs/cron.md, "Speed of the peers").
#include <benchmark/benchmark.h>
#include <rotary/cron.hpp>
#include <rotary/schedule.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace {

const char* const expressions[] = {"*/5 * * * *", "0 */12 * * *",           "30 2 * * 1-5",
                                   "0 0 29 2 *",  "15,45 9-17 * * MON-FRI", "0 0 1 * *"};

// 1024 instants spread over 2025-2035 (splitmix64, fixed seed), so the branch predictor
// does not learn a single answer.
const std::vector<rotary::sys_seconds>& instants() {
  static const std::vector<rotary::sys_seconds> v = [] {
    std::vector<rotary::sys_seconds> out;
    std::uint64_t state = 42;
    for (int i = 0; i < 1024; ++i) {
      std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      out.push_back(rotary::from_unix(1'735'689'600 + static_cast<std::int64_t>(z % (10ull * 365 * 86'400))));
    }
    return out;
  }();
  return v;
}

void parse(benchmark::State& state) {
  const char* text = expressions[state.range(0)];
  for (auto _ : state) benchmark::DoNotOptimize(rotary::parse_cron(text));
  state.SetLabel(text);
}

void next_utc(benchmark::State& state) {
  const auto e = rotary::parse_cron(expressions[state.range(0)]).value();
  const auto& ts = instants();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(rotary::next(e, ts[i++ & 1023]));
  state.SetLabel(expressions[state.range(0)]);
}

void prev_utc(benchmark::State& state) {
  const auto e = rotary::parse_cron(expressions[state.range(0)]).value();
  const auto& ts = instants();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(rotary::prev(e, ts[i++ & 1023]));
  state.SetLabel(expressions[state.range(0)]);
}

void next_new_york(benchmark::State& state) {
  const rotary::cron_schedule s{rotary::parse_cron(expressions[state.range(0)]).value(), "America/New_York"};
  const auto& ts = instants();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(s.next(ts[i++ & 1023]));
  state.SetLabel(expressions[state.range(0)]);
}

// Chained: each next starts from the previous fire, as a simulation walks a horizon.
void next_new_york_chained(benchmark::State& state) {
  const rotary::cron_schedule s{rotary::parse_cron(expressions[state.range(0)]).value(), "America/New_York"};
  const auto start = rotary::parse_time("2027-01-01T00:00:00Z").value();
  auto t = start;
  for (auto _ : state) {
    const auto n = s.next(t);
    t = n && *n < start + std::chrono::hours{24 * 365 * 8} ? *n : start;
    benchmark::DoNotOptimize(t);
  }
  state.SetLabel(expressions[state.range(0)]);
}

void gaps_year_every_minute(benchmark::State& state) {
  const rotary::cron_schedule s{rotary::parse_cron("* * * * *").value()};
  const auto from = rotary::parse_time("2027-01-01T00:00:00Z").value();
  const auto until = rotary::parse_time("2028-01-01T00:00:00Z").value();
  const bool with_period = state.range(0) != 0;
  for (auto _ : state) {
    auto r = rotary::analyse_gaps(
        s, from, until, with_period ? std::optional<rotary::seconds>{std::chrono::hours{24}} : std::nullopt);
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(with_period ? "* * * * *, 2027, period 24h" : "* * * * *, 2027, no period");
}

void gaps_year_every_minute_new_york(benchmark::State& state) {
  const rotary::cron_schedule s{rotary::parse_cron("* * * * *").value(), "America/New_York"};
  const auto from = rotary::parse_time("2027-01-01T00:00:00Z").value();
  const auto until = rotary::parse_time("2028-01-01T00:00:00Z").value();
  for (auto _ : state) benchmark::DoNotOptimize(rotary::analyse_gaps(s, from, until, std::chrono::hours{24}));
  state.SetLabel("* * * * *, 2027, America/New_York, period 24h");
}

}  // namespace

BENCHMARK(parse)->DenseRange(0, 5);
BENCHMARK(next_utc)->DenseRange(0, 5);
BENCHMARK(prev_utc)->DenseRange(0, 5);
BENCHMARK(next_new_york)->DenseRange(0, 5);
BENCHMARK(next_new_york_chained)->DenseRange(0, 5);
BENCHMARK(gaps_year_every_minute)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(gaps_year_every_minute_new_york)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
