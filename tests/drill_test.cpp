#define BOOST_TEST_MODULE drill
#include <boost/test/unit_test.hpp>

#include "print.hpp"

#include <rotary/client.hpp>
#include <rotary/drill.hpp>
#include <rotary/scenario.hpp>

using namespace rotary;
using namespace std::chrono_literals;

namespace {

scenario base(std::string cron, minutes period, seconds horizon) {
  scenario s;
  s.rotation_period = period;
  s.created_at = parse_time("2027-01-01T00:00:00Z").value();
  s.expires_at = parse_time("2028-06-01T00:00:00Z").value();
  s.schedule = cron_spec{std::move(cron)};
  s.horizon = horizon;
  return s;
}

drill_result drill(const scenario& s, drill_options o = {}) {
  o.seed = s.seed;
  o.consumers = s.consumers;
  return run_drill(prepare(s).value(), o);
}

void require_agreement(const drill_result& d) {
  BOOST_TEST(d.agrees, d.divergence_text);
  BOOST_TEST(d.observed.size() == d.expected.size());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_clean_year_agrees_run_by_run) {
  const auto d = drill(base("0 */6 * * *", 1440min, days{365}));
  require_agreement(d);
  BOOST_TEST(d.observed.size() == 1460u);
  BOOST_TEST(d.server_rotations == 1460);
  BOOST_TEST(d.rotate_requests == 1460);
  BOOST_TEST(!d.observed_lapse.has_value());
  BOOST_TEST(d.predicted.holds);
}

BOOST_AUTO_TEST_CASE(ten_percent_failures_with_retries_agree_and_replay_from_the_seed) {
  auto s = base("0 */8 * * *", 1440min, days{365});
  s.fail_rate = 0.1;
  s.retries = 2;
  s.retry_delay = 5min;
  s.seed = 7;
  const auto a = drill(s), b = drill(s);
  require_agreement(a);
  BOOST_TEST(a.rotate_requests > 1095);  // retries happened
  BOOST_TEST(a.server_rotations == a.predicted.rotations + a.predicted.lost_responses);
  BOOST_TEST((a.observed == b.observed));
  BOOST_TEST(a.rotate_requests == b.rotate_requests);
}

BOOST_AUTO_TEST_CASE(a_lost_response_under_each_semantics_agrees) {
  for (const auto semantics : {rerotation::reject, rerotation::fork, rerotation::idempotent}) {
    auto s = base("0 */6 * * *", 1440min, days{120});
    s.lost_rate = 0.01;
    s.retries = 1;
    s.retry_delay = 2min;  // inside the 10-minute buffer
    s.semantics = semantics;
    s.seed = 3;
    BOOST_TEST_CONTEXT("semantics " << static_cast<int>(semantics)) {
      const auto d = drill(s);
      require_agreement(d);
      if (semantics == rerotation::reject) {
        BOOST_TEST(d.observed_lapse.has_value());  // the chain breaks at the first lost response
        BOOST_TEST(d.expected_lapse->rule == "buffer");
      } else {
        BOOST_TEST(d.server_rotations > static_cast<std::int64_t>(d.observed.size()) - 1);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(an_outage_longer_than_the_margin_lapses_on_both_sides) {
  auto s = base("0 */8 * * *", 1440min, days{30});
  s.outages = {{parse_time("2027-01-10T07:00:00Z").value(), parse_time("2027-01-10T17:00:00Z").value()}};
  const auto d = drill(s);
  require_agreement(d);
  BOOST_REQUIRE(d.observed_lapse);
  BOOST_TEST(*d.observed_lapse == parse_time("2027-01-11T00:00:00Z").value());
}

BOOST_AUTO_TEST_CASE(a_dst_night_in_new_york_agrees) {
  auto s = base("30 2 * * *", 1450min, days{80});
  s.created_at = parse_time("2027-10-01T06:30:00Z").value();
  s.schedule = cron_spec{"30 2 * * *", "America/New_York"};
  const auto d = drill(s);
  require_agreement(d);
  BOOST_REQUIRE(d.observed_lapse);
  BOOST_TEST(*d.observed_lapse == parse_time("2027-11-07T06:40:00Z").value());
}

BOOST_AUTO_TEST_CASE(when_due_with_client_clock_skew_agrees) {
  auto s = base("*/30 * * * *", 1440min, days{60});
  s.strategy = {job_strategy::when_due, 3h};
  s.clock_skew = -20min;
  s.fail_rate = 0.2;
  s.retries = 1;
  s.retry_delay = 10min;
  const auto d = drill(s);
  require_agreement(d);
  BOOST_TEST(std::count_if(d.observed.begin(), d.observed.end(),
                           [](const auto& r) { return r.outcome == "not-due"; }) > 2000);
}

BOOST_AUTO_TEST_CASE(readers_slower_than_the_buffer_get_what_the_simulator_predicts) {
  auto s = base("0 */6 * * *", 1440min, days{20});
  s.consumers = {3, 25min};
  const auto d = drill(s);
  require_agreement(d);
  BOOST_TEST(d.consumer_calls > 3000);
  BOOST_TEST(d.consumer_rejections > 0);
  BOOST_TEST(d.consumer_rejections == d.predicted_rejections);
}

BOOST_AUTO_TEST_CASE(a_job_that_uses_the_secret_before_saving_it_and_crashes_is_caught) {
  auto s = base("0 */6 * * *", 1440min, days{10});
  drill_options o;
  int runs = 0;
  o.job = [&](const token_store& store, const rotator_options& options, clock_ref clock) {
    if (++runs != 3) return rotator{store, options, clock}.run();
    // The guide's sample job (docs/rules.md): rotate, use the new secret at once, crash before saving.
    const auto current = store.load().value().current;
    const auto fresh = rotate(options.endpoint, current.secret, options.client);
    BOOST_REQUIRE(fresh.has_value());
    run_report crashed;
    crashed.status = run_status::failed;
    crashed.finished = clock.now();
    crashed.detail = "crashed before saving";
    return crashed;
  };
  const auto d = drill(s, o);
  BOOST_TEST(!d.agrees);
  BOOST_TEST(d.divergence_text ==
             "run 3: simulator 2027-01-01T12:00:00Z rotated (new token created "
             "2027-01-01T12:00:00Z); job 2027-01-01T12:00:00Z failed");
}

// Sixty days of */15 (5,760 runs, about 10,000 reader calls); the simulated year of the same
// scenario is benchmarks/drill_bench.cpp's, too long for a unit test under sanitizers.
BOOST_AUTO_TEST_CASE(sixty_days_of_every_15_minutes_with_readers_agree_including_the_readers) {
  auto s = base("*/15 * * * *", 1440min, days{60});
  s.fail_rate = 0.1;
  s.retries = 1;
  s.retry_delay = 5min;
  s.consumers = {3, 25min};  // slower than the runs: readers miss rotations and hold dead secrets
  const auto d = drill(s);
  require_agreement(d);
  BOOST_TEST(d.observed.size() == 5'760u);
  BOOST_TEST(d.server_rotations == d.predicted.rotations);
  BOOST_TEST(d.consumer_rejections == d.predicted_rejections);
  BOOST_TEST(d.consumer_rejections > 8'000);
}

BOOST_AUTO_TEST_CASE(scenarios_the_drill_cannot_run_faithfully_are_refused) {
  auto s = base("0 */6 * * *", 1440min, days{10});
  s.job_duration = 30s;
  BOOST_CHECK_THROW((void)drill(s), drill_error);
  s = base("0 */6 * * *", 1440min, days{10});
  s.retries = 3;
  s.retry_delay = 2h;
  BOOST_CHECK_THROW((void)drill(s), drill_error);
}
