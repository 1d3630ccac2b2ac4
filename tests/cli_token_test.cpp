#define BOOST_TEST_MODULE cli_token
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "cli.hpp"

using rotary::test::run_rotary;

namespace {
const std::vector<std::string> guide = {"token", "--created", "2027-01-01T00:00:00Z", "--period",
                                        "3600",  "--expires", "2028-01-01T00:00:00Z"};
std::vector<std::string> with(std::vector<std::string> args, std::initializer_list<std::string> more) {
  args.insert(args.end(), more);
  return args;
}
}  // namespace

BOOST_AUTO_TEST_CASE(explains_a_usable_token_and_exits_0) {
  const auto r = run_rotary(with(guide, {"--at", "2027-01-03T11:00:00Z"}));
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.err == "");
  BOOST_TEST(r.out ==
             "at 2027-01-03T11:00:00Z: usable until 2027-01-03T12:00:00Z (in 1h)\n"
             "  rotate before  2027-01-03T12:00:00Z (in 1h; last safe second 2027-01-03T11:59:59Z)\n"
             "  chain ends     2028-01-01T00:00:00Z (in 362d13h): then a person must create a new token\n");
}

BOOST_AUTO_TEST_CASE(the_last_second_before_the_deadline_is_usable_and_the_deadline_is_not) {
  BOOST_TEST(run_rotary(with(guide, {"--at", "2027-01-03T11:59:59Z"})).exit == 0);
  const auto r = run_rotary(with(guide, {"--at", "2027-01-03T12:00:00Z"}));
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(
      r.out.rfind("at 2027-01-03T12:00:00Z: unusable since 2027-01-03T12:00:00Z (0s ago): its rotation "
                  "period ran out\n",
                  0) == 0);
}

BOOST_AUTO_TEST_CASE(a_rotated_token_dies_when_the_buffer_ends) {
  const auto r =
      run_rotary(with(guide, {"--rotated", "2027-01-03T11:00:00Z", "--at", "2027-01-03T11:10:00Z"}));
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(
      r.out ==
      "at 2027-01-03T11:10:00Z: unusable since 2027-01-03T11:10:00Z (0s ago): the buffer after its "
      "rotation is over\n"
      "  rotated        2027-01-03T11:00:00Z; buffer ends 2027-01-03T11:10:00Z\n"
      "  chain ends     2028-01-01T00:00:00Z (in 362d12h50m): then a person must create a new token\n");
  BOOST_TEST(
      run_rotary(with(guide, {"--rotated", "2027-01-03T11:00:00Z", "--at", "2027-01-03T11:09:59Z"})).exit ==
      0);
  BOOST_TEST(run_rotary(with(guide, {"--rotated", "2027-01-03T11:00:00Z", "--buffer", "5", "--at",
                                     "2027-01-03T11:05:00Z"}))
                 .exit == 1);
}

BOOST_AUTO_TEST_CASE(json_output_has_every_answer) {
  const auto r = run_rotary(with(guide, {"--at", "2027-01-03T11:00:00Z", "--json"}));
  BOOST_TEST(r.exit == 0);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["usable"] == true);
  BOOST_TEST(j["endedBy"].is_null());
  BOOST_TEST(j["usableUntil"] == "2027-01-03T12:00:00Z");
  BOOST_TEST(j["secondsLeft"] == 3600);
  BOOST_TEST(j["rotationDeadline"] == "2027-01-03T12:00:00Z");
  BOOST_TEST(j["lastSafeRotation"] == "2027-01-03T11:59:59Z");
  BOOST_TEST(j["chainEndsAt"] == "2028-01-01T00:00:00Z");
  BOOST_TEST(j["token"]["rotationPeriodMinutes"] == 3600);
  const auto dead =
      nlohmann::json::parse(run_rotary(with(guide, {"--at", "2028-06-01T00:00:00Z", "--json"})).out);
  BOOST_TEST(dead["usable"] == false);
  BOOST_TEST(dead["endedBy"] == "rotation-period");
}

BOOST_AUTO_TEST_CASE(hard_expiry_ends_a_token_inside_its_period) {
  const auto r = run_rotary({"token", "--created", "2027-12-31T00:00:00Z", "--period", "3600", "--expires",
                             "2028-01-01T00:00:00Z", "--at", "2028-01-01T00:00:00Z", "--json"});
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(nlohmann::json::parse(r.out)["endedBy"] == "hard-expiry");
}

BOOST_AUTO_TEST_CASE(a_token_without_period_is_not_rotatable) {
  const auto r = run_rotary({"token", "--created", "2027-01-01T00:00:00Z", "--at", "2027-02-01T00:00:00Z"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("not rotatable: it has no rotation period") != std::string::npos);
  BOOST_TEST(r.out.find("chain ends     never (no hard expiry)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(periods_accept_durations_as_well_as_minutes) {
  const auto a = run_rotary({"token", "--created", "2027-01-01T00:00:00Z", "--period", "60h", "--at",
                             "2027-01-01T00:00:00Z", "--json"});
  BOOST_TEST(nlohmann::json::parse(a.out)["token"]["rotationPeriodMinutes"] == 3600);
}

struct bad_flags {
  std::vector<std::string> args;
  std::string error;
};

BOOST_AUTO_TEST_CASE(malformed_flags_exit_2_with_one_line) {
  const std::vector<bad_flags> cases = {
      {{"token"}, "rotary: error: --created is required\n"},
      {{"token", "--created", "2027-01-01T00:00"},
       "rotary: error: --created 2027-01-01T00:00: missing time zone designator: add Z for UTC or an offset "
       "like "
       "+05:30 (column 17)\n"},
      {{"token", "--created", "2027-02-30T00:00:00Z"},
       "rotary: error: --created 2027-02-30T00:00:00Z: day 30 does not exist in 2027-02 (column 9)\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--period", "1.5h"},
       "rotary: error: --period 1.5h: fractional durations are not supported; use a smaller unit (90s, not "
       "1.5m) "
       "(column 2)\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--period", "90s"},
       "rotary: error: --period 90s: must be a positive whole number of minutes\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--period", "0"},
       "rotary: error: --period 0: must be a positive whole number of minutes\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--period", "-5"},
       "rotary: error: --period -5: a duration cannot be negative (column 1)\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--at", "tomorrow"},
       "rotary: error: --at tomorrow: expected a four-digit year (an ISO-8601 instant looks like "
       "2027-03-14T07:00:00Z) (column 1)\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--rotated", "2026-12-31T00:00:00Z"},
       "rotary: error: --rotated 2026-12-31T00:00:00Z: before --created 2027-01-01T00:00:00Z\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--bogus"},
       "rotary: error: The following argument was not expected: --bogus\n"},
      {{"frobnicate"}, "rotary: error: unknown command 'frobnicate'; see 'rotary --help'\n"},
      {{}, "rotary: error: missing command; see 'rotary --help'\n"},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    BOOST_TEST_CONTEXT(joined) {
      const auto r = run_rotary(c.args);
      BOOST_TEST(r.exit == 2);
      BOOST_TEST(r.out == "");
      BOOST_TEST(r.err == c.error);
    }
  }
}

BOOST_AUTO_TEST_CASE(help_and_version) {
  const auto help = run_rotary({"--help"});
  BOOST_TEST(help.exit == 0);
  BOOST_TEST(help.out.find("token") != std::string::npos);
  const auto token_help = run_rotary({"token", "--help"});
  BOOST_TEST(token_help.exit == 0);
  BOOST_TEST(token_help.out.find("--created") != std::string::npos);
  const auto version = run_rotary({"--version"});
  BOOST_TEST(version.exit == 0);
  BOOST_TEST(version.out.rfind("rotary 0.", 0) == 0);
}
