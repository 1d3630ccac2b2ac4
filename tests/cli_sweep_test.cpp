// rotary sweep: the grid walked lazily (a shard costs its own scenarios), results streamed in
// order, a scenario that throws is its error line; and the work estimate of check and sweep
// (refused over an hour without --long, a progress bar with --progress).
#define BOOST_TEST_MODULE cli_sweep
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli.hpp"

using nlohmann::json;
using rotary::test::run_program;
using rotary::test::run_rotary;

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/rotary_cli_sweep_" + std::to_string(getpid()) + "_" + name;
}

std::vector<std::string> lines_of(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// `rotary args...` under `ulimit -v kib` (RLIMIT_AS), through /bin/sh.
[[maybe_unused]] rotary::test::run_result run_rotary_limited(long kib, const std::vector<std::string>& args) {
  std::vector<std::string> sh = {"-c", "ulimit -v " + std::to_string(kib) + " && exec \"$0\" \"$@\"",
                                 ROTARY_BINARY};
  sh.insert(sh.end(), args.begin(), args.end());
  return run_program("/bin/sh", sh);
}

// Six flags of ten values each: a grid of a million scenarios, 30 days each.
std::vector<std::string> million_grid() {
  std::vector<std::string> args = {"sweep", "--period", "1440", "--horizon", "30d"};
  for (int v = 0; v < 10; ++v) {
    args.insert(args.end(), {"--vary", "period=" + std::to_string(1440 + 60 * v)});
    args.insert(args.end(), {"--vary", "buffer=" + std::to_string(1 + v)});
    args.insert(args.end(), {"--vary", "retries=" + std::to_string(v)});
    args.insert(args.end(), {"--vary", "fail-rate=0.0" + std::to_string(v)});
    args.insert(args.end(), {"--vary", "seed=" + std::to_string(1 + v)});
    args.insert(args.end(), {"--vary", "every=" + std::to_string(1 + v) + "h"});
  }
  return args;
}

// One hour and a bit of estimated work that runs in a fraction of a second: a minutely job
// over ten years (5,256,000 fires) with 20,000 Monte Carlo trials and no random faults (a
// trial crosses the evenly spaced fires in a few steps).
const std::vector<std::string> just_over_an_hour = {"--every",   "1m",    "--expires", "2037-06-01T00:00:00Z",
                                                    "--horizon", "3650d", "--trials",  "20000"};

}  // namespace

BOOST_AUTO_TEST_SUITE(sweep)

BOOST_AUTO_TEST_CASE(a_grid_is_the_cartesian_product_in_order_whatever_the_threads) {
  const std::vector<std::string> args = {"sweep",
                                         "--period",
                                         "1440",
                                         "--horizon",
                                         "60d",
                                         "--vary",
                                         "cron=0 */6 * * *",
                                         "--vary",
                                         "cron=0 */8 * * *",
                                         "--vary",
                                         "cron=0 */12 * * *",
                                         "--vary",
                                         "fail-rate=0",
                                         "--vary",
                                         "fail-rate=0.1",
                                         "--format",
                                         "csv"};
  auto one = args, four = args;
  one.insert(one.end(), {"--threads", "1"});
  four.insert(four.end(), {"--threads", "4"});
  const auto a = run_rotary(one), b = run_rotary(four);
  BOOST_TEST(a.out == b.out);
  BOOST_TEST(a.exit == 1);  // with 10% failures some lapse
  BOOST_TEST(std::count(a.out.begin(), a.out.end(), '\n') == 7);
  BOOST_TEST(a.out.rfind("index,cron,fail-rate,verdict,", 0) == 0);
  BOOST_TEST(a.out.find("\n1,0 */6 * * *,0,holds,") != std::string::npos);
  BOOST_TEST(a.out.find("\n5,0 */12 * * *,0,holds,120,0,43200,0,,,,\n") != std::string::npos);
  BOOST_TEST(a.out.find("\n6,0 */12 * * *,0.1,lapses,") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(shards_split_the_scenarios_between_machines) {
  std::vector<std::string> base = {"sweep", "--period", "1440", "--horizon", "30d"};
  for (int h : {1, 2, 3, 4, 6}) base.insert(base.end(), {"--vary", "every=" + std::to_string(h) + "h"});
  auto s1 = base, s2 = base;
  s1.insert(s1.end(), {"--shard", "1/2"});
  s2.insert(s2.end(), {"--shard", "2/2"});
  const auto all = run_rotary(base), a = run_rotary(s1), b = run_rotary(s2);
  std::vector<int> seen;
  for (const auto* out : {&a.out, &b.out}) {
    std::istringstream lines(*out);
    for (std::string line; std::getline(lines, line);) seen.push_back(json::parse(line)["index"].get<int>());
  }
  std::sort(seen.begin(), seen.end());
  BOOST_TEST((seen == std::vector<int>{1, 2, 3, 4, 5}));
  BOOST_TEST(std::count(all.out.begin(), all.out.end(), '\n') == 5);
}

// Every shard of a 3 x 4 x 5 grid prints exactly the lines of the full sweep at its indices,
// in order; a shard past the grid's end prints nothing.
BOOST_AUTO_TEST_CASE(each_shard_is_the_full_sweeps_lines_at_its_indices) {
  std::vector<std::string> base = {"sweep", "--period", "1440", "--horizon", "20d"};
  for (const char* e : {"2h", "5h", "9h"}) base.insert(base.end(), {"--vary", std::string("every=") + e});
  for (const char* f : {"0", "0.05", "0.2", "0.5"})
    base.insert(base.end(), {"--vary", std::string("fail-rate=") + f});
  for (int b = 1; b <= 5; ++b) base.insert(base.end(), {"--vary", "buffer=" + std::to_string(b)});
  const auto full = run_rotary(base);
  const auto all = lines_of(full.out);
  BOOST_TEST_REQUIRE(all.size() == 60u);
  BOOST_TEST(json::parse(all[37])["index"] == 38);  // 37 = 1*20 + 3*5 + 2
  BOOST_TEST(
      (json::parse(all[37])["params"] == json{{"every", "5h"}, {"fail-rate", "0.5"}, {"buffer", "3"}}));
  std::vector<std::pair<int, int>> shards = {{1, 60}, {31, 60}, {60, 60}, {1, 61}, {60, 61}, {61, 61}};
  for (int k = 1; k <= 7; ++k) shards.emplace_back(k, 7);
  for (const auto& [k, n] : shards) {
    BOOST_TEST_CONTEXT("--shard " << k << "/" << n) {
      auto args = base;
      args.insert(args.end(), {"--shard", std::to_string(k) + "/" + std::to_string(n), "--threads", "3"});
      const auto r = run_rotary(args);
      std::string expected;
      for (std::size_t i = static_cast<std::size_t>(k - 1); i < all.size(); i += static_cast<std::size_t>(n))
        expected += all[i] + "\n";
      BOOST_TEST(r.out == expected);
      BOOST_TEST(r.err == "");
    }
  }
}

// A shard of one scenario of a million-scenario grid: the line of that index, and the memory of
// one scenario (the whole grid, built, took 590 MB; here 256 MB of address space is plenty).
BOOST_AUTO_TEST_CASE(one_scenario_of_a_million_is_the_line_of_its_index_in_little_memory) {
  auto args = million_grid();
  args.insert(args.end(), {"--shard", "123457/1000000"});
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const auto r = run_rotary(args);  // sanitizers reserve terabytes of address space
#else
  const auto r = run_rotary_limited(256 * 1024, args);
#endif
  BOOST_TEST(r.err == "");
  const auto lines = lines_of(r.out);
  BOOST_TEST_REQUIRE(lines.size() == 1u);
  // Index 123456 (0-based) in base ten: the digits are the positions of the six values.
  const std::vector<std::string> alone = {"sweep",     "--period",    "1440",           "--horizon", "30d",
                                          "--vary",    "period=1500", "--vary",         "buffer=3",  "--vary",
                                          "retries=3", "--vary",      "fail-rate=0.04", "--vary",    "seed=6",
                                          "--vary",    "every=7h"};
  const auto one = run_rotary(alone);
  auto expected = one.out;
  BOOST_TEST_REQUIRE(expected.rfind("{\"index\":1,", 0) == 0);
  expected.replace(0, 11, "{\"index\":123457,");
  BOOST_TEST(r.out == expected);
  BOOST_TEST(r.exit == one.exit);
}

// More scenarios than threads and than the reorder window: the lines come 1..n in order, the
// same bytes whatever the threads.
BOOST_AUTO_TEST_CASE(many_scenarios_stream_in_order_with_several_threads) {
  std::vector<std::string> base = {"sweep", "--period", "1440", "--horizon", "10d", "--format", "csv"};
  for (int h = 1; h <= 12; ++h) base.insert(base.end(), {"--vary", "every=" + std::to_string(h) + "h"});
  for (int s = 1; s <= 10; ++s) base.insert(base.end(), {"--vary", "seed=" + std::to_string(s)});
  base.insert(base.end(), {"--vary", "fail-rate=0.3"});
  std::string reference;
  for (const char* t : {"1", "3", "8"}) {
    BOOST_TEST_CONTEXT("--threads " << t) {
      auto args = base;
      args.insert(args.end(), {"--threads", t});
      const auto r = run_rotary(args);
      const auto lines = lines_of(r.out);
      BOOST_TEST_REQUIRE(lines.size() == 121u);
      for (std::size_t i = 1; i < lines.size(); ++i)
        BOOST_TEST(lines[i].substr(0, lines[i].find(',')) == std::to_string(i));
      if (reference.empty()) reference = r.out;
      BOOST_TEST(r.out == reference);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_json_lines_file_of_scenarios_is_checked) {
  const auto path = temp_path("list.jsonl");
  std::ofstream(path)
      << R"({"rotationPeriodMinutes": 1440, "createdAt": "2027-01-01T00:00:00Z", "schedule": {"cron": "0 */6 * * *"}})"
      << "\n"
      << R"({"rotationPeriodMinutes": 1440, "createdAt": "2027-01-01T00:00:00Z", "schedule": {"cron": "0 0 * * *"}})"
      << "\n";
  const auto r = run_rotary({"sweep", "--scenarios", path});
  BOOST_TEST(r.exit == 1);
  std::istringstream lines(r.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  BOOST_TEST(json::parse(first)["report"]["verdict"] == "holds");
  BOOST_TEST(json::parse(second)["report"]["verdict"] == "lapses");
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(bad_sweep_flags_exit_2) {
  BOOST_TEST(run_rotary({"sweep", "--vary", "colour=blue"}).err ==
             "rotary: error: --vary colour=blue: colour is not a scenario flag\n");
  BOOST_TEST(run_rotary({"sweep", "--vary", "fail-rate"}).err ==
             "rotary: error: --vary fail-rate: expected FLAG=VALUE, like fail-rate=0.05\n");
  BOOST_TEST(run_rotary({"sweep", "--shard", "3/2"}).err ==
             "rotary: error: --shard 3/2: K 3: must be between 1 and 2\n");
  BOOST_TEST(run_rotary({"sweep", "--format", "xml"}).err ==
             "rotary: error: --format xml: expected jsonl or csv\n");
  BOOST_TEST(run_rotary({"sweep", "--vary", "fail-rate=2"}).err ==
             "rotary: error: scenario 1: --fail-rate 2: a probability must be between 0 and 1\n");
}

// Each value is checked once, up front, in the first scenario that has it (every other flag at
// its first value): exit 2 naming that scenario, before any line is printed.
BOOST_AUTO_TEST_CASE(a_bad_value_anywhere_in_the_grid_is_a_usage_error_naming_its_first_scenario) {
  struct bad {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<bad> cases = {
      // fail-rate=2 is the third value of the first of two axes (3 x 2): scenarios 5 and 6.
      {{"sweep", "--vary", "fail-rate=0", "--vary", "fail-rate=0.1", "--vary", "fail-rate=2", "--vary",
        "seed=1", "--vary", "seed=2"},
       "rotary: error: scenario 5: --fail-rate 2: a probability must be between 0 and 1\n"},
      // The last value of the last axis of a 10 x 10 x 10 grid: scenario 10.
      {[] {
         std::vector<std::string> a = {"sweep"};
         for (int v = 1; v <= 10; ++v) {
           a.insert(a.end(), {"--vary", "seed=" + std::to_string(v)});
           a.insert(a.end(), {"--vary", "buffer=" + std::to_string(v)});
           a.insert(a.end(),
                    {"--vary", v == 10 ? std::string("retries=1001") : "retries=" + std::to_string(v)});
         }
         return a;
       }(),
       "rotary: error: scenario 10: --retries 1001: must be between 0 and 1000\n"},
      {{"sweep", "--vary", "tz=Europe/Berlin", "--vary", "tz=Mars/Base"},
       "rotary: error: scenario 2: --tz Mars/Base: unknown time zone (expected an IANA name like "
       "Europe/Berlin)\n"},
      // Values that conflict in the first scenario: every scenario would.
      {{"sweep", "--vary", "cron=0 * * * *", "--vary", "every=1h"},
       "rotary: error: scenario 1: --cron and --every cannot be used together\n"},
      {[] {
         std::vector<std::string> a = {"sweep"};
         for (const char* flag : {"seed", "buffer", "retries", "job-duration"})
           for (int v = 1; v <= 1000; ++v)
             a.insert(a.end(), {"--vary", std::string(flag) + "=" + std::to_string(v)});
         a.insert(a.end(), {"--vary", "trials=0", "--vary", "trials=1"});
         return a;
       }(),
       "rotary: error: --vary: more than a trillion (10^12) scenarios\n"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.error) {
      const auto r = run_rotary(c.args);
      BOOST_TEST(r.exit == 2);
      BOOST_TEST(r.out == "");
      BOOST_TEST(r.err == c.error);
    }
  }
}

// Values valid alone that the flags refuse together, in a scenario other than the checked
// ones: that scenario's error line (JSON Lines and CSV), the others checked, exit 1.
BOOST_AUTO_TEST_CASE(a_combination_the_flags_refuse_is_its_scenarios_error_line) {
  const std::vector<std::string> args = {"sweep",       "--period", "1440",      "--every",     "6h",
                                         "--horizon",   "7d",       "--vary",    "consumers=0", "--vary",
                                         "consumers=3", "--vary",   "reload=1h", "--vary",      "reload=0"};
  const auto r = run_rotary(args);
  BOOST_TEST(r.exit == 1);
  const auto lines = lines_of(r.out);
  BOOST_TEST_REQUIRE(lines.size() == 4u);
  BOOST_TEST(json::parse(lines[2])["report"]["verdict"] == "holds");
  BOOST_TEST(lines[3] ==
             "{\"index\":4,\"params\":{\"consumers\":\"3\",\"reload\":\"0\"},"
             "\"error\":\"--consumers needs --reload DURATION (how often they read the secret)\"}");
  auto csv = args;
  csv.insert(csv.end(), {"--format", "csv"});
  const auto c = lines_of(run_rotary(csv).out);
  BOOST_TEST_REQUIRE(c.size() == 5u);
  BOOST_TEST(c[4] ==
             "4,3,0,error,,,,,,,,--consumers needs --reload DURATION (how often they read the secret)");
}

// An exception in a worker (here std::bad_alloc: the exact model of 525,600 fires with 50
// retries each wants over a gigabyte of attempt slots, under a 512 MB address-space limit) is
// that scenario's error line and exit 1, never an abort; the other scenario is checked.
BOOST_AUTO_TEST_CASE(a_scenario_that_runs_out_of_memory_is_its_error_line) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  BOOST_TEST_MESSAGE("skipped under a sanitizer: it reserves terabytes of address space");
#else
  for (const std::string format : {"jsonl", "csv"}) {
    BOOST_TEST_CONTEXT(format) {
      const auto r = run_rotary_limited(
          512 * 1024, {"sweep", "--every", "1m", "--fail-rate", "0.01", "--retry-delay", "1s", "--vary",
                       "retries=0", "--vary", "retries=50", "--threads", "2", "--format", format});
      BOOST_TEST(r.exit == 1);
      BOOST_TEST(r.err == "");
      const auto lines = lines_of(r.out);
      BOOST_TEST_REQUIRE(lines.size() == (format == "csv" ? 3u : 2u));
      if (format == "jsonl") {
        BOOST_TEST(json::parse(lines[0])["report"]["verdict"] == "holds");
        BOOST_TEST(
            lines[1] ==
            "{\"index\":2,\"params\":{\"retries\":\"50\"},\"error\":\"out of memory (std::bad_alloc)\"}");
      } else {
        BOOST_TEST(lines[1].rfind("1,0,holds,", 0) == 0, lines[1]);
        BOOST_TEST(lines[2] == "2,50,error,,,,,,,,out of memory (std::bad_alloc)");
      }
    }
  }
#endif
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(work_estimate)

// 8,760 hourly fires x (4 + 100,000,000 trials) = 876,000,035,040 fire-steps: 9.7 hours.
BOOST_AUTO_TEST_CASE(hours_of_work_are_refused_without_long) {
  const auto c = run_rotary({"check", "--every", "1h", "--horizon", "365d", "--trials", "100000000"});
  BOOST_TEST(c.exit == 2);
  BOOST_TEST(c.out == "");
  BOOST_TEST(
      c.err ==
      "rotary: error: check: the work is estimated at 9.7 hours (1 scenario, 876,000,035,040 fire-steps at "
      "25,000,000 a second on 1 thread); --long runs it anyway\n");
  // Three scenarios on two threads: 2,628,000,105,120 fire-steps, 14.6 hours.
  const auto s = run_rotary({"sweep", "--every", "1h", "--horizon", "365d", "--trials", "100000000", "--vary",
                             "seed=1", "--vary", "seed=2", "--vary", "seed=3", "--threads", "2"});
  BOOST_TEST(s.exit == 2);
  BOOST_TEST(s.out == "");
  BOOST_TEST(
      s.err ==
      "rotary: error: sweep: the work is estimated at 14.6 hours (3 scenarios, 2,628,000,105,120 fire-steps "
      "at 25,000,000 a second on 2 threads); --long runs it anyway\n");
  // A shard's estimate is its own scenarios': one of the three is 4.9 hours on one thread.
  const auto one = run_rotary({"sweep", "--every", "1h", "--horizon", "365d", "--trials", "100000000",
                               "--vary", "seed=1", "--vary", "seed=2", "--vary", "seed=3", "--shard", "2/3"});
  BOOST_TEST(
      one.err ==
      "rotary: error: sweep: the work is estimated at 9.7 hours (1 scenario, 876,000,035,040 fire-steps at "
      "25,000,000 a second on 1 thread); --long runs it anyway\n");
}

// Over 200 scenarios the estimate is extrapolated from 200 of them, and says so.
BOOST_AUTO_TEST_CASE(a_large_sweep_is_estimated_from_a_sample) {
  std::vector<std::string> args = {"sweep", "--every", "1h", "--horizon", "365d", "--trials", "100000000"};
  for (int s = 1; s <= 1000; ++s) args.insert(args.end(), {"--vary", "seed=" + std::to_string(s)});
  args.insert(args.end(), {"--threads", "4"});
  const auto r = run_rotary(args);
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(
      r.err ==
      "rotary: error: sweep: the work is estimated at 2433.3 hours (1,000 scenarios, about "
      "876,000,035,040,000 "
      "fire-steps (extrapolated from 200 of them) at 25,000,000 a second on 4 threads); --long runs it "
      "anyway\n");
}

// Just over an hour by the estimate, a fraction of a second in fact: refused, then run with
// --long; --progress draws the bar on stderr (not a terminal here), stdout is unchanged.
BOOST_AUTO_TEST_CASE(long_goes_on_and_progress_shows_a_bar_on_stderr) {
  std::vector<std::string> check = {"check", "--json"};
  check.insert(check.end(), just_over_an_hour.begin(), just_over_an_hour.end());
  const auto refused = run_rotary(check);
  BOOST_TEST(refused.exit == 2);
  BOOST_TEST(
      refused.err ==
      "rotary: error: check: the work is estimated at 1.2 hours (1 scenario, 105,141,024,000 fire-steps at "
      "25,000,000 a second on 1 thread); --long runs it anyway\n");
  auto quiet = check, shown = check;
  quiet.emplace_back("--long");
  shown.insert(shown.end(), {"--long", "--progress"});
  const auto q = run_rotary(quiet), p = run_rotary(shown);
  BOOST_TEST(q.exit == 0);
  BOOST_TEST(q.err == "");  // stderr is a pipe: no bar without --progress
  BOOST_TEST(json::parse(q.out)["monteCarlo"]["trials"] == 20000);
  BOOST_TEST(p.exit == 0);
  BOOST_TEST(p.out == q.out);
  BOOST_TEST(p.err.rfind("\rcheck: ", 0) == 0, p.err);
  BOOST_TEST(p.err.find("\rcheck: 20,000/20,000 trials [##############################] 100% in ") !=
                 std::string::npos,
             p.err);
  BOOST_TEST((!p.err.empty() && p.err.back() == '\n'));
  BOOST_TEST(std::count(p.err.begin(), p.err.end(), '\n') == 1);

  std::vector<std::string> sweep = {"sweep", "--vary", "seed=1", "--vary", "seed=2", "--threads", "2"};
  sweep.insert(sweep.end(), just_over_an_hour.begin(), just_over_an_hour.end());
  BOOST_TEST(run_rotary(sweep).exit == 2);  // 2 x 1.2 hours on 2 threads
  sweep.insert(sweep.end(), {"--long", "--progress"});
  const auto s = run_rotary(sweep);
  BOOST_TEST(s.exit == 0);
  BOOST_TEST(lines_of(s.out).size() == 2u);
  BOOST_TEST(
      s.err.find("\rsweep: 2/2 scenarios [##############################] 100% in ") != std::string::npos,
      s.err);
  BOOST_TEST((!s.err.empty() && s.err.back() == '\n'));
}

// A small check or sweep with --progress only: the bar, and the output unchanged.
BOOST_AUTO_TEST_CASE(progress_alone_draws_the_bar_for_small_work) {
  const auto plain = run_rotary({"sweep", "--horizon", "30d", "--vary", "every=1h", "--vary", "every=2h"});
  const auto bar =
      run_rotary({"sweep", "--horizon", "30d", "--vary", "every=1h", "--vary", "every=2h", "--progress"});
  BOOST_TEST(plain.err == "");
  BOOST_TEST(bar.out == plain.out);
  BOOST_TEST(bar.err.find("sweep: 2/2 scenarios [") != std::string::npos, bar.err);
  // check draws Monte Carlo trials: with none, nothing to draw.
  BOOST_TEST(run_rotary({"check", "--progress"}).err == "");
  const auto mc = run_rotary({"check", "--progress", "--trials", "1000", "--fail-rate", "0.1"});
  BOOST_TEST(mc.err.find("check: 1,000/1,000 trials [") != std::string::npos, mc.err);
  // --long and --progress are not scenario flags: the built-in example is still what is checked.
  for (const char* flag : {"--long", "--progress"})
    BOOST_TEST(run_rotary({"check", flag}).out.find("No schedule given") != std::string::npos, flag);
}

BOOST_AUTO_TEST_CASE(help_footers_name_long_and_progress) {
  for (const char* command : {"check", "sweep"}) {
    const auto r = run_rotary({command, "--help"});
    BOOST_TEST(r.out.find("--long") != std::string::npos, command);
    BOOST_TEST(r.out.find("--progress: always") != std::string::npos, command);
    BOOST_TEST(r.out.find("refused unless --long") != std::string::npos, command);
  }
}

BOOST_AUTO_TEST_SUITE_END()
