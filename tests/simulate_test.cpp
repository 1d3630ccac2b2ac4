#define BOOST_TEST_MODULE simulate
#include <boost/test/unit_test.hpp>

#include "plans.hpp"
#include "print.hpp"

#include <rotary/simulate.hpp>

#include <functional>

using namespace rotary;
using namespace std::chrono_literals;
using rotary::test::every;
using rotary::test::t0;

namespace {

// Plays back a fixed list of outcomes, then answers false; multiplies the probability of the
// path it took.
struct scripted {
  std::vector<bool> path;
  std::size_t next = 0;
  double probability = 1;
  bool chance(double p) {
    const bool hit = next < path.size() ? path[next] : false;
    if (next >= path.size()) path.push_back(false);
    ++next;
    probability *= hit ? p : 1 - p;
    return hit;
  }
};

// Runs the plan on every possible path of draws; calls visit(outcome, events, probability).
void enumerate(const simulation_plan& plan,
               const std::function<void(const run_outcome&, const std::vector<sim_event>&, double)>& visit) {
  std::vector<bool> path;
  for (;;) {
    scripted s{path};
    std::vector<sim_event> events;
    const auto out = simulate_run(plan, &s, &events);
    visit(out, events, s.probability);
    path = s.path;
    path.resize(s.next);
    while (!path.empty() && path.back()) path.pop_back();
    if (path.empty()) return;
    path.back() = true;
  }
}

double brute_force_lapse_probability(const simulation_plan& plan) {
  double p = 0;
  enumerate(plan, [&](const run_outcome& out, const std::vector<sim_event>&, double prob) {
    if (out.lapsed()) p += prob;
  });
  return p;
}

// min over lapsing paths of the failed runs since the last rotation, minus one.
std::optional<std::int64_t> brute_force_tolerance(const simulation_plan& plan) {
  std::optional<std::int64_t> worst;
  enumerate(plan, [&](const run_outcome& out, const std::vector<sim_event>& events, double) {
    if (!out.lapsed()) return;
    std::int64_t streak = 0;
    for (const auto& e : events) {
      if (e.kind == sim_event::rotated) streak = 0;
      if (e.kind == sim_event::run_failed) ++streak;
    }
    worst = worst ? std::min(*worst, streak - 1) : streak - 1;
  });
  if (worst && *worst < 0) worst = 0;
  return worst;
}

std::uint64_t state = 42;
std::uint64_t draw(std::uint64_t n) { return detail::splitmix64(state) % n; }

// The engine before it crossed runs of fires in one step: fire by fire over a plain vector.
// The crossing must give exactly what these give.
namespace reference {

std::vector<sys_seconds> fires_of(const simulation_plan& plan) {
  return {plan.fires.begin(), plan.fires.end()};
}

template <class F>
void attempts(const simulation_plan& plan, const std::vector<sys_seconds>& fires, std::size_t j, F&& f) {
  const sys_seconds limit = j + 1 < fires.size() ? fires[j + 1] : plan.until;
  for (int k = 0; k <= plan.retries; ++k) {
    const sys_seconds t = fires[j] + plan.job_duration + plan.retry_delay * k;
    if (t >= limit || t >= plan.until) return;
    if (!f(t)) return;
  }
}

std::optional<gap_window> worst_gap(const simulation_plan& plan) {
  const auto fires = fires_of(plan);
  std::optional<gap_window> worst;
  sys_seconds last = plan.initial.created_at;
  token_state held = plan.initial;
  std::size_t outage_cursor = 0;
  auto note = [&](sys_seconds from, sys_seconds to) {
    const gap_window g{to - from, from, to};
    if (!worst || g.length > worst->length) worst = g;
  };
  for (std::size_t j = 0; j < fires.size(); ++j) {
    if (plan.strategy.kind == job_strategy::when_due &&
        !detail::due(plan, fires[j], detail::death_of(plan, held)))
      continue;
    std::optional<sys_seconds> success;
    attempts(plan, fires, j, [&](sys_seconds at) {
      if (detail::in_outage(plan.outages, outage_cursor, at)) return true;
      success = at;
      return false;
    });
    if (!success) continue;
    note(last, *success);
    last = *success;
    held = token_state{*success, plan.initial.rotation_period, plan.initial.expires_at, std::nullopt};
  }
  if (held.rotation_period && plan.until - last > *held.rotation_period) note(last, plan.until);
  return worst;
}

std::optional<std::int64_t> tolerance(const simulation_plan& plan) {
  const auto fires = fires_of(plan);
  const std::size_t n = fires.size();
  if (!plan.initial.rotation_period) return std::nullopt;
  const seconds period = *plan.initial.rotation_period;
  auto created = [&](std::size_t s) {
    return s == 0 ? plan.initial.created_at : fires[s - 1] + plan.job_duration;
  };
  auto death = [&](std::size_t s) {
    const sys_seconds d = created(s) + period;
    return plan.initial.expires_at ? std::min(d, *plan.initial.expires_at) : d;
  };
  std::optional<std::int64_t> tol;
  std::vector<int> cover(n + 2, 0);
  int running = 0;
  std::size_t a = 0, b = 0;
  for (std::size_t s = 0; s <= n; ++s) {
    if (s > 0) {
      running += cover[s - 1];
      if (running <= 0) continue;
    }
    a = std::max(a, s);
    const sys_seconds d = death(s);
    if (plan.strategy.kind == job_strategy::when_due)
      while (a < n && !detail::due(plan, fires[a], d)) ++a;
    b = std::max(b, a);
    while (b < n && fires[b] + plan.job_duration < d) ++b;
    if (d < plan.until) {
      const auto m = static_cast<std::int64_t>(b > a ? b - a : 0);
      tol = tol ? std::min(*tol, m - 1) : m - 1;
    }
    if (b > a) {
      cover[a] += 1;
      cover[b] -= 1;
    }
  }
  if (tol && *tol < 0) tol = 0;
  return tol;
}

}  // namespace reference

// A plan whose fires are stretches of equal steps (some long, some of one or two fires), with
// a period on either side of the steps, and everything else drawn too.
simulation_plan stretches_plan() {
  simulation_plan plan;
  const seconds steps[] = {60s, 300s, 3600s, 6h, 24h, 7 * 24h};
  sys_seconds t = t0 + seconds{60 * static_cast<long>(draw(120))};
  const auto stretches = 1 + draw(4);
  for (std::uint64_t s = 0; s < stretches; ++s) {
    const seconds step = steps[draw(6)];
    const auto count = 1 + draw(draw(2) ? 3 : 400);
    for (std::uint64_t k = 0; k < count; ++k, t += step) plan.fires.push_back(t);
    t += seconds{60 * static_cast<long>(1 + draw(600))};  // a break between stretches
  }
  const seconds span = plan.fires.back() - t0;
  plan.from = t0;
  plan.until = plan.fires.back() + seconds{1 + static_cast<long>(draw(2)) * span.count() / 4};
  const minutes periods[] = {2min, 6min, 90min, 1440min, 3600min, 20000min};
  plan.initial = token_state{t0, periods[draw(6)], std::nullopt, std::nullopt};
  if (draw(3) == 0)
    plan.initial.expires_at = t0 + seconds{static_cast<long>(draw(2 * span.count() + 1))} + 1s;
  plan.clamped_to_hard_expiry = false;
  const seconds durations[] = {0s, 0s, 30s, 120s, 3600s};
  plan.job_duration = durations[draw(5)];
  plan.retries = static_cast<int>(draw(3));
  plan.retry_delay = seconds{60 * static_cast<long>(1 + draw(30))};
  if (draw(2)) plan.strategy = {job_strategy::when_due, seconds{60 * static_cast<long>(draw(3000))}};
  plan.clock_skew = seconds{static_cast<long>(draw(2)) * (static_cast<long>(draw(7200)) - 3600)};
  const rerotation semantics[] = {rerotation::reject, rerotation::fork, rerotation::idempotent};
  plan.semantics = semantics[draw(3)];
  for (auto n = draw(3); n > 0; --n) {
    const sys_seconds from = t0 + seconds{static_cast<long>(draw(span.count() + 1))};
    plan.outages.push_back({from, from + seconds{60 * static_cast<long>(1 + draw(3000))}});
  }
  std::sort(plan.outages.begin(), plan.outages.end(), [](auto& x, auto& y) { return x.from < y.from; });
  std::vector<outage_window> merged;
  for (const auto& o : plan.outages)
    if (!merged.empty() && o.from <= merged.back().until)
      merged.back().until = std::max(merged.back().until, o.until);
    else
      merged.push_back(o);
  plan.outages = merged;
  return plan;
}

void same_outcome(const run_outcome& a, const run_outcome& b) {
  BOOST_TEST((a.first_lapse == b.first_lapse));
  BOOST_TEST(a.runs == b.runs);
  BOOST_TEST(a.skipped == b.skipped);
  BOOST_TEST(a.rotations == b.rotations);
  BOOST_TEST(a.failed_runs == b.failed_runs);
  BOOST_TEST(a.attempts == b.attempts);
  BOOST_TEST(a.lost_responses == b.lost_responses);
  BOOST_TEST(a.chain_broken == b.chain_broken);
  BOOST_TEST((a.worst_gap == b.worst_gap));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nominal)

BOOST_AUTO_TEST_CASE(a_daily_job_keeps_a_3600_minute_token_alive_and_tolerates_one_failure) {
  const auto plan = every(24h, 3600min, 365 * 24h);
  const auto run = simulate_run(plan);
  BOOST_TEST(!run.lapsed());
  BOOST_TEST(run.rotations == 365);
  BOOST_TEST(run.failed_runs == 0);
  BOOST_REQUIRE(run.worst_gap);
  BOOST_TEST(run.worst_gap->length == 24h);
  BOOST_TEST(nominal_worst_gap(plan)->length == 24h);
  BOOST_TEST(tolerated_failures(plan) == std::optional<std::int64_t>(1));  // 72h > 60h
}

BOOST_AUTO_TEST_CASE(a_daily_job_with_the_1440_minute_minimum_lands_on_the_deadline_and_lapses) {
  const auto plan = every(24h, 1440min, 30 * 24h);
  std::vector<sim_event> events;
  const auto run = simulate_run<detail::xoshiro256>(plan, nullptr, &events);
  BOOST_REQUIRE(run.lapsed());
  // The run at 00:00 on day 0 rotates (the token is usable at its creation instant); the run
  // at 00:00 on day 1 comes at the very second the child dies: too late.
  BOOST_TEST(run.first_lapse->at == t0 + 24h);
  BOOST_TEST(run.first_lapse->rule == "rotation-period");
  BOOST_TEST(run.rotations == 1);
  BOOST_TEST(events.back().kind == sim_event::lapse);
  BOOST_TEST(nominal_worst_gap(plan)->length == 24h);
  BOOST_TEST(tolerated_failures(plan) == std::optional<std::int64_t>(0));
}

BOOST_AUTO_TEST_CASE(a_schedule_with_a_gap_longer_than_the_period_lapses_at_the_end_of_the_first_period) {
  const auto plan = every(48h, 1440min, 10 * 24h, 1h);
  const auto run = simulate_run(plan);
  BOOST_REQUIRE(run.lapsed());
  BOOST_TEST(run.first_lapse->at == t0 + 25h);  // rotated at 01:00; the next run comes at 49:00
  BOOST_TEST(run.rotations == 1);
  BOOST_TEST(nominal_worst_gap(plan)->length == 48h);
}

BOOST_AUTO_TEST_CASE(an_outage_longer_than_the_margin_makes_the_nominal_run_lapse) {
  auto plan = every(8h, 1440min, 10 * 24h);  // tolerates one failed run: 16 h < 24 h <= 24 h
  plan.outages = {{t0 + 47h, t0 + 57h}};     // the runs at 48 h and 56 h fail
  const auto run = simulate_run(plan);
  BOOST_REQUIRE(run.lapsed());
  BOOST_TEST(run.first_lapse->at == t0 + 64h);  // made at 40 h; the run at 64 h is too late
  BOOST_TEST(run.failed_runs == 2);
  BOOST_TEST(nominal_worst_gap(plan)->length == 24h);
  BOOST_TEST(tolerated_failures(plan) == std::optional<std::int64_t>(1));
  auto short_outage = plan;
  short_outage.outages = {{t0 + 47h, t0 + 49h}};
  BOOST_TEST(!simulate_run(short_outage).lapsed());
  BOOST_TEST(nominal_worst_gap(short_outage)->length == 16h);
}

BOOST_AUTO_TEST_CASE(when_due_rotates_only_inside_the_margin) {
  auto plan = every(1h, 1440min, 7 * 24h);
  plan.strategy = {job_strategy::when_due, 3h};
  const auto run = simulate_run(plan);
  BOOST_TEST(!run.lapsed());
  BOOST_TEST(run.rotations == 7);  // due at 21:00 each day, so 21h between rotations
  BOOST_TEST(run.worst_gap->length == 21h);
  BOOST_TEST(tolerated_failures(plan) == std::optional<std::int64_t>(2));  // 21:00, 22:00, 23:00
}

BOOST_AUTO_TEST_CASE(a_client_clock_behind_by_more_than_the_margin_rotates_too_late) {
  auto plan = every(1h, 1440min, 3 * 24h);
  plan.strategy = {job_strategy::when_due, 1h};
  plan.clock_skew = -90min;
  const auto run = simulate_run(plan);
  BOOST_REQUIRE(run.lapsed());
  BOOST_TEST(run.first_lapse->at == t0 + 24h);
  plan.clock_skew = 30min;  // ahead: due at 22:30 by the true clock, so the 23:00 run rotates
  BOOST_TEST(!simulate_run(plan).lapsed());
}

BOOST_AUTO_TEST_CASE(a_token_created_long_before_the_horizon_may_already_be_dead) {
  auto plan = every(24h, 1440min, 3 * 24h);
  plan.initial.created_at = t0 - 25h;
  const auto run = simulate_run(plan);
  BOOST_REQUIRE(run.lapsed());
  BOOST_TEST(run.first_lapse->at == t0);
  BOOST_TEST(exact_lapse_probability(plan) == std::optional<double>(1.0));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lost_responses)

BOOST_AUTO_TEST_CASE(under_reject_a_lost_response_breaks_the_chain_when_the_buffer_ends) {
  auto plan = every(24h, 3600min, 10 * 24h, 1h);
  plan.retries = 2;
  plan.retry_delay = 1min;
  plan.lost_rate = 0.5;
  scripted s{{true}};  // the first draw: the first response is lost
  std::vector<sim_event> events;
  const auto run = simulate_run(plan, &s, &events);
  BOOST_REQUIRE(run.lapsed());
  BOOST_TEST(run.first_lapse->at == t0 + 1h + 10min);
  BOOST_TEST(run.first_lapse->rule == "buffer");
  BOOST_TEST(run.chain_broken);
  BOOST_TEST(events[1].kind == sim_event::response_lost);
  BOOST_TEST(events[2].kind == sim_event::refused);
  BOOST_TEST(events[2].rule == "already-rotated");
}

BOOST_AUTO_TEST_CASE(under_fork_a_retry_inside_the_buffer_recovers) {
  auto plan = every(24h, 3600min, 10 * 24h, 1h);
  plan.retries = 2;
  plan.retry_delay = 1min;
  plan.lost_rate = 0.5;
  plan.semantics = rerotation::fork;
  scripted s{{true}};
  const auto run = simulate_run(plan, &s);
  BOOST_TEST(!run.lapsed());
  BOOST_TEST(run.lost_responses == 1);
  BOOST_TEST(run.rotations == 10);
}

BOOST_AUTO_TEST_CASE(under_idempotent_the_retry_gets_the_child_made_by_the_first_rotation) {
  auto plan = every(24h, 3600min, 10 * 24h, 1h);
  plan.retries = 1;
  plan.retry_delay = 1min;
  plan.lost_rate = 0.5;
  plan.semantics = rerotation::idempotent;
  scripted s{{true}};
  std::vector<sim_event> events;
  const auto run = simulate_run(plan, &s, &events);
  BOOST_TEST(!run.lapsed());
  BOOST_TEST(run.lost_responses == 1);
  BOOST_TEST(run.worst_gap->from == t0 + 1h);  // the child was made by the lost attempt at 01:00
  BOOST_TEST(run.worst_gap->to == t0 + 25h);
}

BOOST_AUTO_TEST_CASE(under_fork_a_retry_after_the_buffer_is_too_late) {
  auto plan = every(24h, 3600min, 10 * 24h, 1h);
  plan.retries = 1;
  plan.retry_delay = 10min;  // the retry comes at the instant the parent dies
  plan.lost_rate = 0.5;
  plan.semantics = rerotation::fork;
  scripted s{{true}};
  const auto run = simulate_run(plan, &s);
  BOOST_REQUIRE(run.lapsed());
  BOOST_TEST(run.first_lapse->at == t0 + 1h + 10min);
  BOOST_TEST(run.first_lapse->rule == "buffer");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(exact_probability)

BOOST_AUTO_TEST_CASE(exact_equals_enumeration_of_every_path_on_small_plans) {
  for (int round = 0; round < 60; ++round) {
    auto plan = every(
        seconds{3600 * (1 + static_cast<long>(draw(12)))}, minutes{60 * (6 + static_cast<long>(draw(30)))},
        seconds{3600 * (24 + static_cast<long>(draw(30)))}, seconds{60 * static_cast<long>(draw(90))});
    if (plan.fires.size() > 11) plan.fires.resize(11);
    plan.fail_rate = 0.1 + 0.1 * static_cast<double>(draw(8));
    plan.retries = static_cast<int>(draw(2));
    plan.retry_delay = 20min;
    if (draw(2)) plan.strategy = {job_strategy::when_due, seconds{3600 * (1 + static_cast<long>(draw(8)))}};
    if (draw(3) == 0) plan.lost_rate = 0.2;
    if (draw(3) == 0) plan.outages = {{t0 + 5h, t0 + 9h}};
    BOOST_TEST_CONTEXT("round " << round << " fires " << plan.fires.size()) {
      const auto exact = exact_lapse_probability(plan);
      BOOST_REQUIRE(exact);
      BOOST_TEST(*exact == brute_force_lapse_probability(plan), boost::test_tools::tolerance(1e-12));
    }
  }
}

BOOST_AUTO_TEST_CASE(no_failures_means_probability_zero_or_one) {
  BOOST_TEST(*exact_lapse_probability(every(24h, 3600min, 365 * 24h)) == 0.0);
  BOOST_TEST(*exact_lapse_probability(every(24h, 1440min, 365 * 24h)) == 1.0);
}

BOOST_AUTO_TEST_CASE(three_failures_in_a_row_lapse_a_daily_job_with_a_60_hour_period) {
  auto plan = every(24h, 3600min, 4 * 24h + 1h, 1h);  // runs at 01:00 on days 0-4
  plan.fail_rate = 0.1;
  // The initial token (created 00:00) dies at 60:00: runs at 01:00, 25:00, 49:00 all failing
  // (0.001) lapses it. After a success at day 0 01:00 the child dies at 61:00, before the horizon
  // ends at 97:00: runs at 25:00, 49:00 both failing is not enough (73:00 comes after 61:00), so
  // a success at 01:00 then two failures lapses: 0.9 * 0.01. After a success at 25:00 (child
  // dies 85:00 < 97:00): 49:00 and 73:00 failing lapses: ...
  const double exact = *exact_lapse_probability(plan);
  BOOST_TEST(exact == brute_force_lapse_probability(plan), boost::test_tools::tolerance(1e-14));
  BOOST_TEST(exact > 0.001);
}

BOOST_AUTO_TEST_CASE(lost_responses_under_fork_are_not_modelled_exactly) {
  auto plan = every(24h, 3600min, 10 * 24h);
  plan.lost_rate = 0.01;
  plan.semantics = rerotation::fork;
  BOOST_TEST(!exact_lapse_probability(plan).has_value());
}

BOOST_AUTO_TEST_CASE(monte_carlo_agrees_with_the_exact_answer_within_its_interval) {
  auto plan = every(24h, 3600min, 120 * 24h, 1h);
  plan.fail_rate = 0.15;
  plan.lost_rate = 0.001;
  const double exact = *exact_lapse_probability(plan);
  const auto mc = monte_carlo(plan, 20'000, 7);
  BOOST_TEST(mc.trials == 20'000);
  BOOST_TEST(mc.low <= exact);
  BOOST_TEST(exact <= mc.high);
  BOOST_TEST((monte_carlo(plan, 20'000, 7) == mc));  // same seed, same answer
}

BOOST_AUTO_TEST_CASE(wilson_interval_matches_known_values) {
  const auto [low, high] = wilson_interval(10, 100);
  BOOST_TEST(low == 0.0552, boost::test_tools::tolerance(0.001));
  BOOST_TEST(high == 0.1744, boost::test_tools::tolerance(0.001));
  const auto [l0, h0] = wilson_interval(0, 1000);
  BOOST_TEST(l0 < 1e-12);
  BOOST_TEST(h0 == 0.00383, boost::test_tools::tolerance(0.01));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tolerance)

BOOST_AUTO_TEST_CASE(tolerance_equals_a_brute_force_search_over_failure_paths) {
  for (int round = 0; round < 80; ++round) {
    auto plan = every(
        seconds{60 * (30 + static_cast<long>(draw(600)))}, minutes{60 * (4 + static_cast<long>(draw(30)))},
        seconds{3600 * (20 + static_cast<long>(draw(40)))}, seconds{60 * static_cast<long>(draw(60))});
    // Irregular schedules too: drop some fires.
    if (draw(2)) {
      std::vector<sys_seconds> kept;
      for (auto f : plan.fires)
        if (draw(4) != 0) kept.push_back(f);
      plan.fires = fire_sequence(kept);
    }
    if (plan.fires.size() > 12) plan.fires.resize(12);
    if (draw(2)) plan.strategy = {job_strategy::when_due, seconds{3600 * (1 + static_cast<long>(draw(6)))}};
    plan.fail_rate = 0.5;
    BOOST_TEST_CONTEXT("round " << round) {
      BOOST_TEST(tolerated_failures(plan) == brute_force_tolerance(plan));
    }
  }
}

BOOST_AUTO_TEST_CASE(always_tolerance_is_the_largest_k_with_fire_i_plus_k_plus_1_within_the_period) {
  // Fires at 0, 5, 10, 30, 35 h with a 24 h period over 40 h: from 10 h the next fires are 30 h
  // (20 h later) and 35 h (25 h later, too late): one failure is not survivable there.
  simulation_plan plan = every(1000h, 1440min, 40h);
  plan.fires = {t0, t0 + 5h, t0 + 10h, t0 + 30h, t0 + 35h};
  BOOST_TEST(tolerated_failures(plan) == std::optional<std::int64_t>(0));
  plan.fires = {t0, t0 + 5h, t0 + 10h, t0 + 20h, t0 + 30h, t0 + 35h};
  BOOST_TEST(tolerated_failures(plan) == std::optional<std::int64_t>(1));
}

BOOST_AUTO_TEST_CASE(a_horizon_shorter_than_the_period_tolerates_any_number) {
  BOOST_TEST(!tolerated_failures(every(1h, 1440min, 20h)).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_seed_reproduces_a_run_event_for_event) {
  auto plan = every(6h, 1440min, 60 * 24h);
  plan.fail_rate = 0.3;
  plan.lost_rate = 0.05;
  plan.semantics = rerotation::fork;
  plan.retries = 2;
  std::vector<sim_event> a, b;
  detail::xoshiro256 r1(99), r2(99);
  (void)simulate_run(plan, &r1, &a);
  (void)simulate_run(plan, &r2, &b);
  BOOST_TEST(a.size() > 50u);
  BOOST_TEST((a == b));
}

BOOST_AUTO_TEST_CASE(the_generator_is_defined_by_rotary_not_the_standard_library) {
  detail::xoshiro256 g(1);
  // Reference values of xoshiro256** seeded by splitmix64(1): fixed forever.
  const auto first = g.next();
  detail::xoshiro256 h(1);
  BOOST_TEST(first == h.next());
  static_assert(detail::xoshiro256(1).next() == detail::xoshiro256(1).next());
  std::uint64_t s = 0;
  BOOST_TEST(detail::splitmix64(s) == 0xe220a8397b1dcdafULL);
}

// Unwatched, the engine crosses runs of equal steps in one step (the fires of a run that rotate
// at their first attempt, those not yet due, the states of a run for the tolerance). Watched, it
// goes fire by fire. Both, and the fire-by-fire reference, must agree on every plan.
BOOST_AUTO_TEST_SUITE(crossing_runs_of_fires)

BOOST_AUTO_TEST_CASE(crossing_a_run_gives_what_going_fire_by_fire_gives) {
  int crossed = 0;
  for (int round = 0; round < 3000; ++round) {
    const auto plan = stretches_plan();
    BOOST_TEST_CONTEXT("round " << round << ": " << plan.fires.size() << " fires in "
                                << plan.fires.runs().size() << " runs, period "
                                << plan.initial.rotation_period->count() << " min") {
      std::size_t events = 0;
      const auto watched =
          simulate_run<detail::xoshiro256>(plan, nullptr, [&](const sim_event&) { ++events; });
      const auto unwatched = simulate_run(plan);
      same_outcome(unwatched, watched);
      if (static_cast<std::size_t>(unwatched.runs + unwatched.skipped) > plan.fires.runs().size() * 3)
        ++crossed;
      BOOST_TEST((nominal_worst_gap(plan) == reference::worst_gap(plan)));
      BOOST_TEST(tolerated_failures(plan) == reference::tolerance(plan));
      // With random failures, runs not yet due are still crossed; the draws stay in step.
      auto faulty = plan;
      faulty.fail_rate = 0.3;
      faulty.lost_rate = draw(2) ? 0.1 : 0.0;
      detail::xoshiro256 r1(static_cast<std::uint64_t>(round)), r2(static_cast<std::uint64_t>(round));
      same_outcome(simulate_run(faulty, &r1), simulate_run(faulty, &r2, [](const sim_event&) {}));
      BOOST_TEST(events > 0u);
    }
  }
  BOOST_TEST(crossed > 500);  // the crossing was exercised, not just the fire-by-fire path
}

BOOST_AUTO_TEST_CASE(a_minutely_year_is_one_run_and_crossed_whole) {
  auto plan = every(60s, 1440min, 365 * 24h);
  BOOST_TEST(plan.fires.size() == 525'600u);
  BOOST_TEST(plan.fires.runs().size() == 1u);
  const auto run = simulate_run(plan);
  BOOST_TEST(run.rotations == 525'600);
  BOOST_TEST(!run.lapsed());
  BOOST_REQUIRE(run.worst_gap);
  BOOST_TEST(run.worst_gap->length == 60s);
  BOOST_TEST(tolerated_failures(plan) == std::optional<std::int64_t>(1438));  // 1440 fires a period, minus 2
  BOOST_TEST(tolerated_failures(plan) == reference::tolerance(plan));
}

BOOST_AUTO_TEST_SUITE_END()
