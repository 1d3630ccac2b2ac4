#define BOOST_TEST_MODULE scenario
#include <boost/test/unit_test.hpp>

#include "print.hpp"

#include <rotary/json.hpp>
#include <rotary/report.hpp>
#include <rotary/scenario.hpp>

using namespace rotary;
using namespace std::chrono_literals;

namespace {
sys_seconds at(std::string_view s) { return parse_time(s).value(); }

scenario daily(std::string cron, minutes period, std::string tz = "UTC", dst_mode dst = dst_mode::cronie) {
  scenario s;
  s.rotation_period = period;
  s.created_at = at("2027-01-01T00:00:00Z");
  s.schedule = cron_spec{std::move(cron), std::move(tz), dst};
  return s;
}

report check(const scenario& s) { return analyse(prepare(s).value(), options_of(s)); }
}  // namespace

BOOST_AUTO_TEST_CASE(the_built_in_example_holds_for_its_whole_year) {
  const auto s = example_scenario();
  const auto plan = prepare(s).value();
  BOOST_TEST(plan.from == at("2027-01-01T00:00:00Z"));
  BOOST_TEST(plan.until == at("2028-01-01T00:00:00Z"));
  BOOST_TEST(plan.fires.size() == 365u);
  const auto r = check(s);
  BOOST_TEST(r.holds);
  BOOST_TEST(r.rotations == 365);
  BOOST_TEST(r.margin == std::optional<seconds>(36h));                 // 60 h period, runs 24 h apart
  BOOST_TEST(r.tolerated_failures == std::optional<std::int64_t>(1));  // two failed days: 72 h > 60 h
  BOOST_TEST(r.hard_expiry == std::optional<sys_seconds>(at("2028-01-01T00:00:00Z")));
}

BOOST_AUTO_TEST_CASE(the_guides_sample_cron_line_really_rotates_hourly) {
  // job.minute.every(3600) writes "*/3600 * * * *": cronie accepts the step with a warning and
  // fires at minute 0 only, so the job rotates every hour, 24 times a day, not every 60 hours.
  auto s = daily("*/3600 * * * *", 3600min);
  s.horizon = days{30};
  const auto r = check(s);
  BOOST_TEST(r.holds);
  BOOST_TEST(r.rotations == 30 * 24);
  BOOST_TEST(r.worst_gap->length == 1h);
  BOOST_TEST(r.tolerated_failures == std::optional<std::int64_t>(58));
}

BOOST_AUTO_TEST_CASE(a_daily_cron_against_the_1440_minute_minimum_lands_on_the_deadline) {
  const auto r = check(daily("0 0 * * *", 1440min));
  BOOST_TEST(!r.holds);
  BOOST_REQUIRE(r.first_lapse);
  // created 00:00, the run at 00:00 rotates at once, the next run comes at the instant it dies.
  BOOST_TEST(r.first_lapse->at == at("2027-01-02T00:00:00Z"));
  BOOST_TEST(r.first_lapse->rule == "rotation-period");
  BOOST_TEST(r.margin == std::optional<seconds>(0s));
}

BOOST_AUTO_TEST_CASE(a_daily_job_in_new_york_lapses_on_the_fall_back_night_with_a_24h10m_period) {
  // 02:30 local is 06:30Z in summer and 07:30Z in winter: the run on 2027-11-07 comes 25 hours
  // after the one before, and a 1450-minute token made at 06:30Z dies at 06:40Z.
  auto s = daily("30 2 * * *", 1450min, "America/New_York");
  s.from = s.created_at = at("2027-10-01T06:30:00Z");
  s.horizon = days{60};
  const auto r = check(s);
  BOOST_TEST(!r.holds);
  BOOST_REQUIRE(r.first_lapse);
  BOOST_TEST(r.first_lapse->at == at("2027-11-07T06:40:00Z"));
  BOOST_TEST(r.worst_gap->length == 25h);
  // In UTC the same expression never drifts.
  s.schedule = cron_spec{"30 6 * * *"};
  BOOST_TEST(check(s).holds);
}

BOOST_AUTO_TEST_CASE(spring_forward_cronie_runs_the_skipped_job_at_03_00_and_wallclock_skips_it) {
  auto s = daily("30 2 * * *", 1500min, "America/New_York");  // 25 h
  s.from = s.created_at = at("2027-03-01T07:30:00Z");
  s.horizon = days{30};
  const auto cronie = check(s);
  BOOST_TEST(cronie.holds);
  // 2027-03-13 02:30 EST (07:30Z) to 2027-03-14 03:00 EDT (07:00Z): 23.5 h; the worst gap is a
  // normal day.
  BOOST_TEST(cronie.worst_gap->length == 24h);
  s.schedule = cron_spec{"30 2 * * *", "America/New_York", dst_mode::wallclock};
  const auto wallclock = check(s);
  BOOST_TEST(!wallclock.holds);
  BOOST_REQUIRE(wallclock.first_lapse);
  BOOST_TEST(wallclock.first_lapse->at == at("2027-03-14T08:30:00Z"));  // 07:30Z on the 13th + 25 h
  BOOST_TEST(wallclock.worst_gap->length == 47h);                       // to 03-15 02:30 EDT = 06:30Z
}

BOOST_AUTO_TEST_CASE(a_hard_expiry_inside_the_horizon_cuts_it_and_is_named) {
  auto s = daily("0 */12 * * *", 3600min);
  s.expires_at = at("2027-03-01T00:00:00Z");
  const auto plan = prepare(s).value();
  BOOST_TEST(plan.clamped_to_hard_expiry);
  BOOST_TEST(plan.until == at("2027-03-01T00:00:00Z"));
  const auto r = check(s);
  BOOST_TEST(r.holds);
  BOOST_TEST(*r.days_left == 59.0);
  BOOST_TEST(format_text(r).find("cut at the hard expiry") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_interval_schedule_fires_from_its_anchor) {
  scenario s = daily("0 0 * * *", 1440min);
  s.schedule = interval_spec{8h, at("2027-01-01T01:00:00Z")};
  s.horizon = days{10};
  const auto plan = prepare(s).value();
  BOOST_TEST(plan.fires.front() == at("2027-01-01T01:00:00Z"));
  BOOST_TEST(plan.fires.size() == 30u);
  BOOST_TEST(check(s).tolerated_failures == std::optional<std::int64_t>(1));
}

BOOST_AUTO_TEST_CASE(invalid_scenarios_name_the_field) {
  auto s = example_scenario();
  s.fail_rate = 1.5;
  BOOST_TEST(prepare(s).error().field == "failRate");
  s = example_scenario();
  s.schedule = cron_spec{"61 * * * *"};
  BOOST_TEST(prepare(s).error().field == "schedule");
  s = example_scenario();
  s.schedule = cron_spec{"0 0 * * *", "Mars/Olympus"};
  BOOST_TEST(prepare(s).error().message ==
             "unknown time zone \"Mars/Olympus\" (expected an IANA name like Europe/Berlin)");
  s = example_scenario();
  s.from = at("2026-12-31T00:00:00Z");
  BOOST_TEST(prepare(s).error().message == "the token is created after the horizon starts");
  s = example_scenario();
  s.until = at("2026-01-01T00:00:00Z");
  BOOST_TEST(prepare(s).error().message == "the horizon ends before it starts");
  s = example_scenario();
  s.created_at.reset();
  BOOST_TEST(prepare(s).error().field == "horizon");
}

BOOST_AUTO_TEST_CASE(scenarios_round_trip_through_json) {
  // The defaults too (no consumers: a reload interval of 0 seconds).
  BOOST_TEST((nlohmann::json::parse(nlohmann::ordered_json(example_scenario()).dump()).get<scenario>() ==
              example_scenario()));
  auto s = example_scenario();
  s.schedule = cron_spec{"17 3,15 * * *", "Europe/Berlin", dst_mode::wallclock};
  s.fail_rate = 0.05;
  s.retries = 2;
  s.strategy = {job_strategy::when_due, 6h};
  s.outages = {{at("2027-03-01T00:00:00Z"), at("2027-03-02T12:00:00Z")}};
  s.semantics = rerotation::fork;
  s.consumers = {3, 15min};
  s.clock_skew = -90s;
  const nlohmann::ordered_json j = s;
  const auto back = nlohmann::json::parse(j.dump()).get<scenario>();
  BOOST_TEST((back == s));
  s.schedule = interval_spec{12h, at("2027-01-01T03:00:00Z")};
  const auto back2 = nlohmann::json::parse(nlohmann::ordered_json(s).dump()).get<scenario>();
  BOOST_TEST((back2 == s));
}

BOOST_AUTO_TEST_CASE(scenario_files_accept_friendly_forms_and_reject_typos) {
  const auto s = nlohmann::json::parse(R"({"rotationPeriodMinutes": 1440, "createdAt": 1798761600,
      "schedule": {"every": "6h"}, "horizon": {"seconds": "30d"}, "job": {"strategy": "when-due", "marginSeconds": "2h"}})")
                     .get<scenario>();
  BOOST_TEST(s.created_at == std::optional<sys_seconds>(at("2027-01-01T00:00:00Z")));
  BOOST_TEST(std::get<interval_spec>(s.schedule).every == 6h);
  BOOST_TEST(s.horizon == days{30});
  BOOST_TEST(s.strategy.margin == 2h);
  auto error_of = [](const char* text) {
    try {
      (void)nlohmann::json::parse(text).get<scenario>();
    } catch (const json_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  BOOST_TEST(error_of(R"({"rotationPeriod": 60})") == "scenario.rotationPeriod: unknown key (a typo?)");
  BOOST_TEST(error_of(R"({"faults": {"failRate": 2}})") ==
             "faults.failRate: expected a probability from 0 to 1, got 2");
  BOOST_TEST(error_of(R"({"createdAt": "2027-01-01T00:00"})") ==
             "createdAt: missing time zone designator: add Z for UTC or an offset like +05:30 (column 17)");
  BOOST_TEST(error_of(R"({"schedule": {"cron": "0 0 * * *", "every": 60}})") ==
             "schedule: expected exactly one of \"cron\" or \"everySeconds\"");
  BOOST_TEST(error_of(R"({"schedule": {"cron": "0 0 * * *", "dst": "vixie"}})") ==
             "schedule.dst: expected \"cronie\" or \"wallclock\", got \"vixie\"");
  BOOST_TEST(error_of(R"({"rerotation": "twice"})") ==
             "rerotation: expected \"reject\", \"fork\" or \"idempotent\", got \"twice\"");
  BOOST_TEST(error_of(R"([1])") == "scenario: expected a JSON object, got an array");
}

BOOST_AUTO_TEST_CASE(the_report_serialises_with_the_keys_of_the_design) {
  auto s = example_scenario();
  s.fail_rate = 0.01;
  const nlohmann::ordered_json j = check(s);
  for (const char* key :
       {"verdict", "horizon", "rotations", "failedRuns", "worstGap", "marginSeconds", "toleratedFailures",
        "firstLapse", "lapseProbability", "monteCarlo", "hardExpiry", "consumers"})
    BOOST_TEST(j.contains(key), key);
  BOOST_TEST(j["verdict"] == "lapses");  // any risk fails with the default --max-risk 0
  BOOST_TEST(j["horizon"]["clampedToHardExpiry"] == false);
  BOOST_TEST(j["worstGap"]["seconds"] == 86400);
  BOOST_TEST(j["hardExpiry"]["daysLeft"] == 365.0);
  BOOST_TEST(j["probabilityMethod"] == "exact");
}
