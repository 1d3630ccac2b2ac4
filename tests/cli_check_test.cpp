#define BOOST_TEST_MODULE cli_check
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli.hpp"

using nlohmann::json;
using rotary::test::run_rotary;

namespace {
std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
std::string temp_path(const std::string& name) {
  return "/tmp/rotary_cli_check_" + std::to_string(getpid()) + "_" + name;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(check)

BOOST_AUTO_TEST_CASE(with_no_flags_it_checks_the_built_in_example_and_says_so) {
  const auto r = run_rotary({"check"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.rfind("No schedule given: checking the built-in example (see rotary check --help).\n"
                         "'17 3 * * *' in UTC against a 3600-minute token (buffer 10m)\n"
                         "horizon     2027-01-01T00:00:00Z .. 2028-01-01T00:00:00Z (365d)\n"
                         "token       created 2027-01-01T00:00:00Z\n"
                         "verdict     HOLDS\n",
                         0) == 0);
}

BOOST_AUTO_TEST_CASE(a_lapsing_schedule_exits_1_with_the_rule_and_instant) {
  const auto r = run_rotary({"check", "--cron", "0 0 * * *", "--period", "1440", "--json"});
  BOOST_TEST(r.exit == 1);
  const auto j = json::parse(r.out);
  BOOST_TEST(j["verdict"] == "lapses");
  BOOST_TEST(j["firstLapse"]["at"] == "2027-01-02T00:00:00Z");
  BOOST_TEST(j["firstLapse"]["rule"] == "rotation-period");
  BOOST_TEST(j["marginSeconds"] == 0);
}

BOOST_AUTO_TEST_CASE(json_has_every_key_of_the_design) {
  const auto r = run_rotary({"check", "--cron", "0 */12 * * *", "--tz", "Europe/Berlin", "--period", "3600",
                             "--fail-rate", "0.05", "--max-risk", "0.01", "--json"});
  BOOST_TEST(r.exit == 0);
  const auto j = json::parse(r.out);
  for (const char* key :
       {"verdict", "horizon", "rotations", "failedRuns", "worstGap", "marginSeconds", "toleratedFailures",
        "firstLapse", "lapseProbability", "monteCarlo", "hardExpiry", "consumers"})
    BOOST_TEST(j.contains(key), key);
  BOOST_TEST(j["verdict"] == "holds");
  BOOST_TEST(j["worstGap"]["seconds"] == 13 * 3600);  // the fall-back night in Berlin
  BOOST_TEST(j["lapseProbability"].get<double>() < 0.01);
}

BOOST_AUTO_TEST_CASE(the_same_seed_prints_the_same_report_byte_for_byte) {
  const std::vector<std::string> args = {"check", "--every",     "6h",   "--period",   "1440", "--fail-rate",
                                         "0.2",   "--lost-rate", "0.01", "--rerotate", "fork", "--trials",
                                         "2000",  "--seed",      "7",    "--json"};
  const auto a = run_rotary(args), b = run_rotary(args);
  BOOST_TEST(a.out == b.out);
  BOOST_TEST(json::parse(a.out)["monteCarlo"]["trials"] == 2000);
}

BOOST_AUTO_TEST_CASE(svg_and_scenario_files_are_written_and_read_back) {
  const auto svg = temp_path("t.svg"), scenario = temp_path("s.json");
  const auto r = run_rotary({"check", "--cron", "0 */8 * * *", "--period", "1440", "--horizon", "14d",
                             "--svg", svg, "--save-scenario", scenario});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(read(svg).rfind("<svg ", 0) == 0);
  const auto again = run_rotary({"check", "--scenario", scenario});
  BOOST_TEST(again.exit == 0);
  BOOST_TEST(again.out.find("'0 */8 * * *' in UTC against a 1440-minute token") != std::string::npos);
  const auto overridden = run_rotary({"check", "--scenario", scenario, "--cron", "0 0 * * *", "--json"});
  BOOST_TEST(overridden.exit == 1);
  std::remove(svg.c_str());
  std::remove(scenario.c_str());
}

BOOST_AUTO_TEST_CASE(created_alone_moves_the_example_token_with_its_year_of_life) {
  const auto r = run_rotary({"check", "--created", "2101-03-01T00:00:00Z", "--json"});
  BOOST_TEST(r.exit == 0, r.err);
  const auto j = json::parse(r.out);
  BOOST_TEST(j["hardExpiry"]["at"] == "2102-03-01T00:00:00Z");
  BOOST_TEST(j["horizon"]["from"] == "2101-03-01T00:00:00Z");
}

// Without --scenario: the token is --created, or fresh at --from; the horizon starts at --from,
// or at the creation; a token the flags create or move expires a year later unless --expires.
BOOST_AUTO_TEST_CASE(from_created_until_horizon_and_expires_combine_as_the_help_says) {
  struct row {
    std::vector<std::string> flags;
    std::string created, from, until, expiry;
  };
  const std::string jan = "2027-01-01T00:00:00Z", oct = "2027-10-01T00:00:00Z";
  const std::vector<row> rows = {
      {{}, jan, jan, "2028-01-01T00:00:00Z", "2028-01-01T00:00:00Z"},
      {{"--from", oct}, oct, oct, "2028-09-30T00:00:00Z", "2028-09-30T00:00:00Z"},
      {{"--from", oct, "--horizon", "7d"}, oct, oct, "2027-10-08T00:00:00Z", "2028-09-30T00:00:00Z"},
      {{"--from", oct, "--until", "2027-11-01T00:00:00Z"},
       oct,
       oct,
       "2027-11-01T00:00:00Z",
       "2028-09-30T00:00:00Z"},
      {{"--from", oct, "--expires", "2027-12-01T00:00:00Z"},
       oct,
       oct,
       "2027-12-01T00:00:00Z",
       "2027-12-01T00:00:00Z"},
      {{"--created", oct}, oct, oct, "2028-09-30T00:00:00Z", "2028-09-30T00:00:00Z"},
      {{"--created", oct, "--horizon", "30d"}, oct, oct, "2027-10-31T00:00:00Z", "2028-09-30T00:00:00Z"},
      {{"--created", jan, "--from", oct, "--horizon", "7d"},
       jan,
       oct,
       "2027-10-08T00:00:00Z",
       "2028-01-01T00:00:00Z"},
      {{"--created", jan, "--from", oct, "--until", "2027-10-02T00:00:00Z", "--expires",
        "2030-01-01T00:00:00Z"},
       jan,
       oct,
       "2027-10-02T00:00:00Z",
       "2030-01-01T00:00:00Z"},
      {{"--expires", "2027-06-01T00:00:00Z"}, jan, jan, "2027-06-01T00:00:00Z", "2027-06-01T00:00:00Z"},
      {{"--horizon", "30d"}, jan, jan, "2027-01-31T00:00:00Z", "2028-01-01T00:00:00Z"},
  };
  for (const bool with_schedule : {false, true}) {
    for (const auto& r : rows) {
      std::vector<std::string> args = {"check", "--json"};
      if (with_schedule) args.insert(args.end(), {"--cron", "0 3 * * *", "--period", "1440"});
      args.insert(args.end(), r.flags.begin(), r.flags.end());
      std::string joined;
      for (const auto& a : args) joined += a + " ";
      BOOST_TEST_CONTEXT(joined) {
        const auto out = run_rotary(args);
        BOOST_TEST_REQUIRE(out.exit != 2, out.err);  // 1 when a token made long before lapses
        const auto j = json::parse(out.out);
        BOOST_TEST(j["token"]["createdAt"] == r.created);
        BOOST_TEST(j["horizon"]["from"] == r.from);
        BOOST_TEST(j["horizon"]["until"] == r.until);
        BOOST_TEST(j["hardExpiry"]["at"] == r.expiry);
      }
    }
  }
}

// The case of the report: a week checked in October was a token unrotated since January.
BOOST_AUTO_TEST_CASE(a_week_from_october_checks_a_token_made_in_october) {
  const auto r = run_rotary({"check", "--cron", "0 3 * * *", "--period", "1500", "--from",
                             "2027-10-01T00:00:00Z", "--horizon", "7d"});
  BOOST_TEST(r.exit == 0, r.out);
  BOOST_TEST(r.out.find("token       created 2027-10-01T00:00:00Z\n") != std::string::npos);
  BOOST_TEST(r.out.find("verdict     HOLDS\n") != std::string::npos);
  const auto older =
      run_rotary({"check", "--cron", "0 3 * * *", "--period", "1500", "--created", "2027-01-01T00:00:00Z",
                  "--from", "2027-10-01T00:00:00Z", "--horizon", "7d"});
  BOOST_TEST(older.exit == 1);
  BOOST_TEST(older.out.find("token       created 2027-01-01T00:00:00Z (273d before the horizon)\n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(outages_consumers_and_strategy_flags_reach_the_report) {
  const auto r =
      run_rotary({"check", "--every", "8h", "--period", "1440", "--outage", "2027-01-03T07:00:00Z/10h",
                  "--consumers", "3", "--reload", "30m", "--strategy", "when-due:9h", "--json"});
  const auto j = json::parse(r.out);
  BOOST_TEST(r.exit == 1);  // the outage eats the runs at 08:00 and 16:00 on the 3rd
  BOOST_TEST(j["consumers"]["count"] == 3);
  BOOST_TEST(j["consumers"]["staleReloads"].get<int>() > 0);
  BOOST_TEST(j["firstLapse"]["at"] == "2027-01-04T00:00:00Z");
}

struct bad {
  std::vector<std::string> args;
  std::string error;
};

BOOST_AUTO_TEST_CASE(malformed_flags_exit_2_with_one_line) {
  const std::vector<bad> cases = {
      {{"check", "--cron", "61 * * * *"}, "rotary: error: --cron '61 * * * *': "},
      {{"check", "--cron", "0 0 * * *", "--every", "12h"},
       "rotary: error: --cron and --every cannot be used together\n"},
      {{"check", "--tz", "Mars/Base"},
       "rotary: error: --tz Mars/Base: unknown time zone (expected an IANA name like Europe/Berlin)\n"},
      {{"check", "--every", "12h", "--tz", "Europe/Berlin"},
       "rotary: error: --tz and --dst apply to --cron schedules only\n"},
      {{"check", "--dst", "vixie"}, "rotary: error: --dst vixie: expected cronie or wallclock\n"},
      {{"check", "--fail-rate", "1.5"},
       "rotary: error: --fail-rate 1.5: a probability must be between 0 and 1\n"},
      {{"check", "--fail-rate", "five"},
       "rotary: error: --fail-rate five: expected a probability like 0.05\n"},
      {{"check", "--retries", "-1"}, "rotary: error: --retries -1: must be between 0 and 1000\n"},
      {{"check", "--strategy", "sometimes"},
       "rotary: error: --strategy sometimes: expected always or when-due:MARGIN (like when-due:6h)\n"},
      {{"check", "--outage", "2027-01-01T00:00:00Z"},
       "rotary: error: --outage 2027-01-01T00:00:00Z: expected START/DURATION, like "
       "2027-03-01T00:00:00Z/36h\n"},
      {{"check", "--period", "0"}, "rotary: error: --period 0: must be a positive whole number of minutes\n"},
      {{"check", "--horizon", "-3d"},
       "rotary: error: --horizon -3d: a duration cannot be negative (column 1)\n"},
      {{"check", "--until", "2027-06-01T00:00:00Z", "--horizon", "30d"},
       "rotary: error: --until and --horizon cannot be used together\n"},
      {{"check", "--from", "2026-01-01T00:00:00Z", "--created", "2026-02-01T00:00:00Z"},
       "rotary: error: createdAt: the token is created after the horizon starts\n"},
      {{"check", "--cron", "0 3 * * *", "--from", "2027-10-01T00:00:00Z", "--expires",
        "2027-09-01T00:00:00Z"},
       "rotary: error: expiresAt: the hard expiry is not after the token's creation\n"},
      {{"check", "--consumers", "3"},
       "rotary: error: --consumers needs --reload DURATION (how often they read the secret)\n"},
      {{"check", "--rerotate", "maybe"},
       "rotary: error: --rerotate maybe: expected reject, fork or idempotent\n"},
      {{"check", "--scenario", "/nonexistent/s.json"},
       "rotary: error: --scenario /nonexistent/s.json: cannot open\n"},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    BOOST_TEST_CONTEXT(joined) {
      const auto r = run_rotary(c.args);
      BOOST_TEST(r.exit == 2);
      BOOST_TEST(r.out == "");
      BOOST_TEST(r.err.rfind(c.error, 0) == 0, r.err);
      BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(advise)

BOOST_AUTO_TEST_CASE(advises_the_fewest_rotations_that_tolerate_k_failures) {
  const auto r = run_rotary({"advise", "--period", "3600", "--tolerate", "2", "--json"});
  BOOST_TEST(r.exit == 0);
  const auto j = json::parse(r.out);
  BOOST_TEST(j["chosen"]["expression"] == "17 3,15 * * *");  // daily tolerates only 1 (72 h > 60 h)
  BOOST_TEST(j["chosen"]["rotationsPerYear"] == 730);
  BOOST_TEST(j["chosen"]["toleratedFailures"].get<int>() >= 2);
  BOOST_TEST(j["candidates"].size() == 9u);
}

BOOST_AUTO_TEST_CASE(emits_crontab_systemd_and_kubernetes) {
  const auto cron = run_rotary({"advise", "--period", "1440", "--tz", "Europe/Berlin", "--emit", "crontab"});
  BOOST_TEST(cron.exit == 0);
  BOOST_TEST(cron.out.find("CRON_TZ=Europe/Berlin\n17 3,9,15,21 * * * /usr/local/bin/rotary rotate ") !=
             std::string::npos);
  const auto systemd =
      run_rotary({"advise", "--period", "1440", "--tz", "Europe/Berlin", "--emit", "systemd"});
  BOOST_TEST(systemd.out.find("OnCalendar=*-*-* 3,9,15,21:17:00 Europe/Berlin\n") != std::string::npos);
  BOOST_TEST(systemd.out.find("[Service]\nType=oneshot\n") != std::string::npos);
  const auto k8s =
      run_rotary({"advise", "--period", "1440", "--tz", "Europe/Berlin", "--emit", "kubernetes"});
  BOOST_TEST(k8s.out.find("kind: CronJob\n") != std::string::npos);
  BOOST_TEST(k8s.out.find("  schedule: \"17 3,9,15,21 * * *\"\n  timeZone: \"Europe/Berlin\"\n") !=
             std::string::npos);
  BOOST_TEST(k8s.out.find("concurrencyPolicy: Forbid") != std::string::npos);
  // The agent as a service: no timer, `rotary agent` with a margin of a tenth of the period.
  const auto agent = run_rotary({"advise", "--period", "3600", "--emit", "systemd-agent"});
  BOOST_TEST(agent.exit == 0, agent.err);
  BOOST_TEST(agent.out.find("[Service]\nType=simple\nExecStart=/usr/local/bin/rotary \"agent\" ") !=
             std::string::npos);
  BOOST_TEST(agent.out.find("\"--strategy\" \"when-due:6h\"\n") != std::string::npos, agent.out);
  BOOST_TEST(agent.out.find("OnCalendar") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(command_words_are_quoted_for_each_target_and_shell_syntax_is_refused) {
  const std::string command = "rotate --store '/var/lib/my tokens/t.store' --key-file /etc/k%1";
  const auto cron = run_rotary({"advise", "--period", "1440", "--emit", "crontab", "--command", command});
  BOOST_TEST(cron.exit == 0, cron.err);
  BOOST_TEST(
      cron.out.find("17 3,9,15,21 * * * /usr/local/bin/rotary rotate --store '/var/lib/my tokens/t.store' "
                    "--key-file '/etc/k'\\%'1'\n") != std::string::npos);
  const auto unit = run_rotary({"advise", "--period", "1440", "--emit", "systemd", "--command", command});
  BOOST_TEST(
      unit.out.find("ExecStart=/usr/local/bin/rotary \"rotate\" \"--store\" \"/var/lib/my tokens/t.store\" "
                    "\"--key-file\" \"/etc/k%%1\"\n") != std::string::npos);
  const auto k8s = run_rotary({"advise", "--period", "1440", "--emit", "kubernetes", "--command", command});
  BOOST_TEST(k8s.out.find("args: [\"rotate\", \"--store\", \"/var/lib/my tokens/t.store\", \"--key-file\", "
                          "\"/etc/k%1\"]\n") != std::string::npos);
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--emit", "crontab", "--command", "rotate; rm -rf /"},
       "rotary: error: --command: an unquoted ';' (column 7) would mean something to a shell; quote it (the "
       "job runs the program without a shell)\n"},
      {{"--emit", "crontab", "--command", "rotate --store 'x"},
       "rotary: error: --command: unterminated single quote (column 16)\n"},
      {{"--emit", "crontab", "--command", "  "}, "rotary: error: --command: no arguments\n"},
      {{"--emit", "crontab", "--command", "rotate 'a\nb'"},
       "rotary: error: --emit crontab: argument 2 holds a newline, which a crontab line cannot\n"},
  };
  for (const auto& [flags, error] : refused) {
    std::vector<std::string> args = {"advise", "--period", "1440"};
    args.insert(args.end(), flags.begin(), flags.end());
    BOOST_TEST_CONTEXT(flags.back()) {
      const auto r = run_rotary(args);
      BOOST_TEST(r.exit == 2);
      BOOST_TEST(r.out == "");
      BOOST_TEST(r.err == error);
    }
  }
}

BOOST_AUTO_TEST_CASE(no_schedule_is_enough_for_a_tiny_period) {
  const auto r = run_rotary({"advise", "--period", "60", "--tolerate", "2"});
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.out.find("No schedule up to hourly tolerates 2 failed runs") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_advise_flags_exit_2) {
  BOOST_TEST(run_rotary({"advise"}).err == "rotary: error: --period is required\n");
  BOOST_TEST(run_rotary({"advise", "--period", "1440", "--emit", "cron"}).err ==
             "rotary: error: --emit cron: expected crontab, systemd, kubernetes or systemd-agent\n");
  BOOST_TEST(run_rotary({"advise", "--period", "1440", "--tolerate", "x"}).exit == 2);
}

BOOST_AUTO_TEST_SUITE_END()
