#define BOOST_TEST_MODULE cli_drill
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "cli.hpp"

using rotary::test::run_rotary;

BOOST_AUTO_TEST_CASE(an_agreeing_drill_prints_the_check_summary_and_its_speed) {
  const auto r = run_rotary({"drill", "--cron", "0 */6 * * *", "--period", "1440", "--fail-rate", "0.1",
                             "--retries", "1", "--retry-delay", "5m", "--horizon", "30d"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("'0 */6 * * *' in UTC against a 1440-minute token (buffer 10m)\n") == 0u);
  BOOST_TEST(r.out.find("drill       the real job agrees run by run: 120 runs, ") != std::string::npos);
  BOOST_TEST(r.out.find(" simulated days per second (") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_has_both_sides_run_by_run) {
  const auto r =
      run_rotary({"drill", "--cron", "0 0 * * *", "--period", "1440", "--horizon", "5d", "--json"});
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(r.exit == 0);  // it lapses on both sides: the drill agrees with the simulator
  BOOST_TEST(j["agrees"] == true);
  BOOST_TEST(j["report"]["verdict"] == "lapses");
  BOOST_TEST(j["observedLapse"] == "2027-01-02T00:00:00Z");
  BOOST_TEST(j["expected"][0]["outcome"] == "rotated");
  BOOST_TEST(j["observed"][0]["created"] == "2027-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(a_paced_drill_runs_in_warped_real_time) {
  // Two days at 864,000 times real speed: about 0.2 s.
  const auto r = run_rotary(
      {"drill", "--every", "6h", "--period", "1440", "--horizon", "2d", "--warp", "864000", "--json"});
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["agrees"] == true);
  BOOST_TEST(j["realSeconds"].get<double>() >= 0.15);
}

BOOST_AUTO_TEST_CASE(bad_drill_flags_exit_2) {
  BOOST_TEST(run_rotary({"drill", "--warp", "fast"}).err ==
             "rotary: error: --warp fast: expected max or a factor like 86400\n");
  BOOST_TEST(
      run_rotary({"drill", "--job-duration", "30s"}).err ==
      "rotary: error: the drill runs the job at the fire instant: a job duration is the simulator's only\n");
  BOOST_TEST(run_rotary({"drill", "--every", "1h", "--retries", "3", "--retry-delay", "30m"}).exit == 2);
}
