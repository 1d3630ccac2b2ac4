#define BOOST_TEST_MODULE report
#include <boost/test/unit_test.hpp>

#include "plans.hpp"
#include "print.hpp"

#include <rotary/report.hpp>

using namespace rotary;
using namespace std::chrono_literals;
using rotary::test::every;
using rotary::test::t0;

BOOST_AUTO_TEST_CASE(a_holding_schedule_reports_margin_and_tolerance) {
  const auto r = analyse(every(12h, 3600min, 30 * 24h));
  BOOST_TEST(r.holds);
  BOOST_TEST(r.rotations == 60);
  BOOST_TEST(r.margin == std::optional<seconds>(48h));
  BOOST_TEST(r.tolerated_failures == std::optional<std::int64_t>(3));  // 12, 24, 36, 48 h < 60 h
  BOOST_TEST(!r.lapse_probability.has_value());
  BOOST_TEST(!r.first_lapse.has_value());
  BOOST_TEST(format_text(r) ==
             "horizon     2027-01-01T00:00:00Z .. 2027-01-31T00:00:00Z (30d)\n"
             "token       created 2027-01-01T00:00:00Z\n"
             "verdict     HOLDS\n"
             "runs        60 runs: 60 rotations, 0 failed\n"
             "worst gap   12h (2027-01-01T00:00:00Z .. 2027-01-01T12:00:00Z)\n"
             "margin      2d\n"
             "tolerates   3 consecutive failed runs\n");
}

BOOST_AUTO_TEST_CASE(any_risk_fails_the_check_unless_max_risk_allows_it) {
  auto plan = every(24h, 3600min, 60 * 24h, 1h);
  plan.fail_rate = 0.1;
  const auto strict = analyse(plan);
  BOOST_TEST(!strict.holds);
  BOOST_TEST(!strict.nominal_lapses);
  BOOST_TEST(strict.probability_method == "exact");
  BOOST_REQUIRE(strict.lapse_probability);
  BOOST_TEST(*strict.lapse_probability > 0.0);
  // Two failed runs in a row lapse it (01:00 + 72 h > 60 h): about 0.01 per day for 60 days.
  BOOST_TEST(*strict.lapse_probability > 0.3);
  BOOST_TEST(*strict.lapse_probability < 0.5);
  const auto lenient = analyse(plan, {.max_risk = 0.5});
  BOOST_TEST(lenient.holds);
  BOOST_TEST(format_text(strict).find("verdict     LAPSES: the lapse risk is above --max-risk 0") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(lost_responses_under_fork_fall_back_to_monte_carlo) {
  auto plan = every(24h, 3600min, 60 * 24h, 1h);
  plan.lost_rate = 0.2;
  plan.semantics = rerotation::fork;
  const auto r = analyse(plan, {.seed = 3, .default_trials = 500});
  BOOST_TEST(r.probability_method == "monte-carlo");
  BOOST_REQUIRE(r.monte_carlo);
  BOOST_TEST(r.monte_carlo->trials == 500);
  BOOST_TEST(*r.lapse_probability == r.monte_carlo->estimate);
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_report) {
  auto plan = every(6h, 1440min, 90 * 24h);
  plan.fail_rate = 0.2;
  plan.lost_rate = 0.01;
  const auto a = analyse(plan, {.seed = 11, .trials = 300, .keep_events = true});
  const auto b = analyse(plan, {.seed = 11, .trials = 300, .keep_events = true});
  BOOST_TEST(format_text(a) == format_text(b));
  BOOST_TEST(!a.events.empty());
  BOOST_TEST((a.events == b.events));
}

BOOST_AUTO_TEST_CASE(consumers_slower_than_the_buffer_hold_a_dead_secret) {
  const auto plan = every(24h, 3600min, 10 * 24h, 1h);
  // Rotations at 01:00 each day; the old secret dies at 01:10. A consumer reloading every
  // 30 minutes from 00:00 reads at 01:00 (the new secret: the store was written at 01:00);
  // the one at phase 15 min reads at 01:15, 5 minutes after the old secret died.
  const auto r = analyse(plan, {.consumers = {2, 30min}});
  BOOST_REQUIRE(r.consumers);
  BOOST_TEST(r.consumers->stale == 10);
  BOOST_TEST(r.consumers->worst_stale == 5min);
  BOOST_TEST(r.consumers->worst_at == std::optional<sys_seconds>(t0 + 1h + 10min));
  const auto fast = analyse(plan, {.consumers = {4, 5min}});
  BOOST_TEST(fast.consumers->stale == 0);
}

BOOST_AUTO_TEST_CASE(a_lapse_is_named_with_its_rule) {
  const auto plan = every(24h, 1440min, 30 * 24h);
  const auto r = analyse(plan);
  BOOST_TEST(!r.holds);
  BOOST_TEST(r.nominal_lapses);
  BOOST_REQUIRE(r.first_lapse);
  BOOST_TEST(r.first_lapse->rule == "rotation-period");
  BOOST_TEST(r.margin == std::optional<seconds>(0s));
  const auto text = format_text(r);
  BOOST_TEST(text.find("verdict     LAPSES: the schedule lapses even when every run succeeds") !=
             std::string::npos);
  BOOST_TEST(text.find("lapse       2027-01-02T00:00:00Z (rotation-period)\n") != std::string::npos);
}
