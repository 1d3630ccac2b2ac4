// Tests for `rotary next` and `rotary lint`: text and --json output, exit codes, diagnostics.
#define BOOST_TEST_MODULE cli_cron
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "cli.hpp"

using rotary::test::run_rotary;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

BOOST_AUTO_TEST_CASE(next_lists_utc_fires_one_per_line) {
  const auto r = run_rotary({"next", "0 */12 * * *", "--from", "2027-01-01T00:00:00Z", "--count", "3"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out == "2027-01-01T12:00:00Z\n2027-01-02T00:00:00Z\n2027-01-02T12:00:00Z\n");
  BOOST_TEST(r.err.empty());
}

BOOST_AUTO_TEST_CASE(next_in_a_zone_shows_local_time_and_the_cronie_catch_up) {
  const auto r = run_rotary(
      {"next", "30 2 * * *", "--tz", "America/New_York", "--from", "2027-03-13T00:00:00Z", "--count", "3"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out ==
             "2027-03-13T07:30:00Z  2027-03-13 02:30 EST\n"
             "2027-03-14T07:00:00Z  2027-03-14 03:00 EDT  (cronie catches up a time skipped by a DST jump)\n"
             "2027-03-15T06:30:00Z  2027-03-15 02:30 EDT\n");
  const auto wall = run_rotary({"next", "30 2 * * *", "--tz", "America/New_York", "--from",
                                "2027-03-13T00:00:00Z", "--count", "2", "--dst", "wallclock"});
  BOOST_TEST(wall.out ==
             "2027-03-13T07:30:00Z  2027-03-13 02:30 EST\n2027-03-15T06:30:00Z  2027-03-15 02:30 EDT\n");
}

BOOST_AUTO_TEST_CASE(next_prints_one_line_per_run_when_cronie_replays_several_minutes) {
  const auto r = run_rotary({"next", "0-59/20 2 * * *", "--tz", "America/New_York", "--from",
                             "2027-03-14T00:00:00Z", "--count", "3", "--json"});
  BOOST_TEST(r.exit == 0);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["fires"].size() == 3u);
  for (const auto& f : j["fires"]) BOOST_TEST(f.get<std::string>() == "2027-03-14T07:00:00Z");
}

BOOST_AUTO_TEST_CASE(next_json_has_the_expression_the_zone_and_utc_fires) {
  const auto r = run_rotary({"next", "@daily", "--tz", "Europe/Berlin", "--from", "2027-06-01T00:00:00Z",
                             "--count", "2", "--json"});
  BOOST_TEST(r.exit == 0);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["expression"] == "@daily");
  BOOST_TEST(j["tz"] == "Europe/Berlin");
  BOOST_TEST(j["fires"] == nlohmann::json::parse(R"(["2027-06-01T22:00:00Z", "2027-06-02T22:00:00Z"])"));
}

BOOST_AUTO_TEST_CASE(next_accepts_the_fields_as_separate_arguments) {
  const auto r =
      run_rotary({"next", "0", "12", "*", "*", "*", "--from", "2027-01-01T00:00:00Z", "--count", "1"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out == "2027-01-01T12:00:00Z\n");
}

BOOST_AUTO_TEST_CASE(next_rejects_an_invalid_expression_with_a_caret_on_stderr_and_exit_1) {
  const auto r = run_rotary({"next", "5/15 * * * *"});
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(
      r.err ==
      "rotary: error: a step needs a range or '*' before it: write 5-59/15 (from 5 to 59) instead of 5/15\n"
      "  5/15 * * * *\n"
      "  ^~~~\n");
  const auto j = run_rotary({"next", "*/0 * * * *", "--json"});
  BOOST_TEST(j.exit == 1);
  const auto doc = nlohmann::json::parse(j.out);
  BOOST_TEST(doc["error"]["column"] == 3);
  BOOST_TEST(doc["fires"].empty());
  BOOST_TEST(contains(j.err, "^"));
}

BOOST_AUTO_TEST_CASE(next_says_so_when_an_expression_never_fires) {
  const auto r = run_rotary({"next", "0 0 30 2 *", "--from", "2027-01-01T00:00:00Z"});
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(r.err == "rotary: error: 0 0 30 2 *: never fires: day 30 never occurs in February\n");
}

BOOST_AUTO_TEST_CASE(next_reports_bad_flags_as_usage_errors) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"next", "* * * * *", "--count", "0"},
                                             {"next", "* * * * *", "--count", "abc"},
                                             {"next", "* * * * *", "--count", "100001"},
                                             {"next", "* * * * *", "--tz", "Mars/Olympus_Mons"},
                                             {"next", "* * * * *", "--dst", "vixie"},
                                             {"next", "* * * * *", "--from", "yesterday"},
                                             {"next"}}) {
    const auto r = run_rotary(args);
    BOOST_TEST(r.exit == 2);
    BOOST_TEST(contains(r.err, "rotary: error: "));
    BOOST_TEST(r.out.empty());
  }
}

BOOST_AUTO_TEST_CASE(lint_prints_warnings_with_their_code_and_a_caret) {
  const auto r = run_rotary({"lint", "*/45 * * * *"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out ==
             "rotary: warning[uneven-step]: minute step 45 does not divide 60: fires at :00 and :45, then "
             ":00 again: "
             "gaps of 45 minutes and 15 minutes\n"
             "  */45 * * * *\n"
             "    ^~\n");
  const auto clean = run_rotary({"lint", "0 12 * * *"});
  BOOST_TEST(clean.exit == 0);
  BOOST_TEST(clean.out == "rotary: 0 12 * * *: valid, no warnings\n");
}

BOOST_AUTO_TEST_CASE(lint_of_the_guides_step_warns_that_it_fires_hourly_at_most) {
  const auto r = run_rotary({"lint", "*/3600 * * * *", "--json"});
  BOOST_TEST(r.exit == 0);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["valid"] == true);
  BOOST_TEST(j["errors"].empty());
  BOOST_TEST_REQUIRE(j["warnings"].size() == 1u);
  BOOST_TEST(j["warnings"][0]["column"] == 3);
  BOOST_TEST(j["warnings"][0]["code"] == "step-too-large");
  BOOST_TEST(contains(j["warnings"][0]["message"].get<std::string>(), "larger than the field (0-59)"));
}

BOOST_AUTO_TEST_CASE(lint_json_reports_an_invalid_expression_with_its_column_and_exit_1) {
  const auto r = run_rotary({"lint", "30-10 * * * *", "--json"});
  BOOST_TEST(r.exit == 1);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["valid"] == false);
  BOOST_TEST(
      j["errors"] ==
      nlohmann::json::parse(
          R"([{"column": 1, "message": "range 30-10 is reversed (30 > 10): cron rejects it; to wrap around, write 30-59,0-10"}])"));
  BOOST_TEST(j["warnings"].empty());
  BOOST_TEST(contains(r.err, "  ^~~~~\n"));
  const auto text = run_rotary({"lint", "@reboot"});
  BOOST_TEST(text.exit == 1);
  BOOST_TEST(text.err ==
             "rotary: error: @reboot is not a time schedule: it runs once when the cron daemon starts\n"
             "  @reboot\n"
             "  ^~~~~~~\n");
}

BOOST_AUTO_TEST_CASE(lint_in_a_zone_warns_about_dst_nights) {
  const auto r = run_rotary(
      {"lint", "30 2 * * *", "--tz", "America/New_York", "--from", "2027-01-01T00:00:00Z", "--json"});
  BOOST_TEST(r.exit == 0);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST_REQUIRE(j["warnings"].size() == 1u);
  BOOST_TEST(j["warnings"][0]["code"] == "dst-skipped");
  BOOST_TEST(j["warnings"][0]["column"] == 4);
  const auto bad_zone = run_rotary({"lint", "30 2 * * *", "--tz", "Nowhere"});
  BOOST_TEST(bad_zone.exit == 2);
}

BOOST_AUTO_TEST_CASE(next_knows_dst_after_2037_from_the_zone_files_rule) {
  const auto r = run_rotary(
      {"next", "30 2 * * *", "--tz", "America/New_York", "--from", "2040-03-10T00:00:00Z", "--count", "3"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out ==
             "2040-03-10T07:30:00Z  2040-03-10 02:30 EST\n"
             "2040-03-11T07:00:00Z  2040-03-11 03:00 EDT  (cronie catches up a time skipped by a DST jump)\n"
             "2040-03-12T06:30:00Z  2040-03-12 02:30 EDT\n");
}
