// Bad input tables for every command (docs/hardening.md, "Bad input"): malformed flags, stdin and
// files, each with the exact error it gets and nothing changed on disk. Complements the
// per-command tests (cli_*_test.cpp), which hold the first cases; these are the ones they
// lacked: empty values, huge, binary and invalid UTF-8 inputs, overflowing and negative
// numbers, dates before 1970 and after 2100. An argument cannot hold 1 MB (Linux caps one argv
// string at 128 KiB) nor a NUL byte, so "huge" and "binary" go through stdin and files; flags
// get 100 KB.
#define BOOST_TEST_MODULE bad_input_cli
#include <boost/test/unit_test.hpp>

#include "cli.hpp"
#include "files.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using rotary::test::run_rotary;

using rotary::test::binary_bytes;
using rotary::test::read_file;
using rotary::test::temp_dir;
using rotary::test::write_file;

namespace {

std::string joined(const std::vector<std::string>& args) {
  std::string j;
  for (const auto& a : args) j += (a.size() > 60 ? a.substr(0, 60) + "..." : a) + " ";
  return j;
}

struct usage_case {
  std::vector<std::string> args;
  std::string error;
};

}  // namespace

// Every flag of every command: exit 2, nothing on stdout, exactly one line on stderr.
BOOST_AUTO_TEST_CASE(malformed_flags_of_every_command_exit_2_with_one_exact_line) {
  const std::string x100k(100'000, 'x');
  std::vector<usage_case> cases = {
      {{"token", "--created", "2027-01-01T00:00:00Z", "--period", ""},
       "rotary: error: --period: empty value"
       "\n"},
      {{"token", "--created", "\xff\xfe"},
       "rotary: error: --created \\xff\\xfe: expected a four-digit year (an ISO-8601 instant looks like "
       "2027-03-14T07:00:00Z) (column 1)"
       "\n"},
      {{"token", "--created", "1969-12-31T23:59:59Z"},
       "rotary: error: --created 1969-12-31T23:59:59Z: year 1969 is before 1970 (column 1)"
       "\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--expires", "1960-01-01T00:00:00Z"},
       "rotary: error: --expires 1960-01-01T00:00:00Z: year 1960 is before 1970 (column 1)"
       "\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--period", "99999999999999999999"},
       "rotary: error: --period 99999999999999999999: duration is longer than 10,000 years (column 1)"
       "\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--period", "-99999999999999999999"},
       "rotary: error: --period -99999999999999999999: a duration cannot be negative (column 1)"
       "\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--period",
        "6\xff"
        "0"},
       "rotary: error: --period 6\\xff0: unknown unit byte 0xff: expected s, m, h, d or w (column 2)"
       "\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--buffer", "-1"},
       "rotary: error: --buffer -1: a duration cannot be negative (column 1)"
       "\n"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--at", "99999-01-01T00:00:00Z"},
       "rotary: error: --at 99999-01-01T00:00:00Z: expected '-' after the year (column 5)"
       "\n"},
      {{"next", "0 0 * * *", "--count", "99999999999999999999"},
       "rotary: error: --count 99999999999999999999: expected a whole number from 1 to 100000"
       "\n"},
      {{"next", "0 0 * * *", "--count", "-1"},
       "rotary: error: --count -1: expected a whole number from 1 to 100000"
       "\n"},
      {{"next", "0 0 * * *", "--tz", ""},
       "rotary: error: --tz: empty value"
       "\n"},
      {{"next", "0 0 * * *", "--from", "1969-12-31T00:00:00Z"},
       "rotary: error: --from 1969-12-31T00:00:00Z: year 1969 is before 1970 (column 1)"
       "\n"},
      {{"next", "0 0 * * *", "--dst", "\xff"},
       "rotary: error: --dst \\xff: expected cronie or wallclock"
       "\n"},
      {{"lint", "0 0 * * *", "--tz", "Europe/\xff"},
       "rotary: error: --tz Europe/\\xff: unknown time zone (expected an IANA name like Europe/Berlin)"
       "\n"},
      {{"check", "--fail-rate", ""},
       "rotary: error: --fail-rate: empty value"
       "\n"},
      {{"check", "--cron", ""},
       "rotary: error: --cron: empty value"
       "\n"},
      {{"check", "--trials", "99999999999999999999"},
       "rotary: error: --trials 99999999999999999999: expected a whole number"
       "\n"},
      {{"check", "--seed", "-1"},
       "rotary: error: --seed -1: must be between 0 and 9223372036854775807"
       "\n"},
      {{"check", "--fail-rate", "1e400"},
       "rotary: error: --fail-rate 1e400: expected a probability like 0.05"
       "\n"},
      {{"check", "--fail-rate", "nan"},
       "rotary: error: --fail-rate nan: a probability must be between 0 and 1"
       "\n"},
      {{"check", "--created", "1969-01-01T00:00:00Z"},
       "rotary: error: --created 1969-01-01T00:00:00Z: year 1969 is before 1970 (column 1)"
       "\n"},
      {{"check", "--retry-delay", "99999999999999999999s"},
       "rotary: error: --retry-delay 99999999999999999999s: duration is longer than 10,000 years (column 1)"
       "\n"},
      {{"check", "--every", "-12h"},
       "rotary: error: --every -12h: a duration cannot be negative (column 1)"
       "\n"},
      {{"advise", "--period", ""},
       "rotary: error: --period: empty value"
       "\n"},
      {{"advise", "--period", "99999999999999999999"},
       "rotary: error: --period 99999999999999999999: duration is longer than 10,000 years (column 1)"
       "\n"},
      {{"advise", "--period", "1440", "--tolerate", "99999999999999999999"},
       "rotary: error: --tolerate 99999999999999999999: expected a whole number"
       "\n"},
      {{"advise", "--period", "1440", "--tz", "\xff"},
       "rotary: error: --tz \\xff: unknown time zone (expected an IANA name like Europe/Berlin)"
       "\n"},
      {{"sweep", "--threads", "99999999999999999999"},
       "rotary: error: --threads 99999999999999999999: expected a whole number"
       "\n"},
      {{"sweep", "--vary", "period=99999999999999999999"},
       "rotary: error: scenario 1: --period 99999999999999999999: duration is longer than 10,000 years "
       "(column 1)"
       "\n"},
      {{"sweep", "--vary", ""},
       "rotary: error: --vary: empty value"
       "\n"},
      {{"serve", "--port", "99999999999999999999"},
       "rotary: error: --port 99999999999999999999: expected a whole number"
       "\n"},
      {{"serve", "--port", "-1"},
       "rotary: error: --port -1: must be between 0 and 65535"
       "\n"},
      {{"serve", "--warp", ""},
       "rotary: error: --warp: empty value"
       "\n"},
      {{"serve", "--warp", "nan"},
       "rotary: error: --warp nan: must be between 0 and 1e9"
       "\n"},
      {{"serve", "--warp", "1e400"},
       "rotary: error: --warp 1e400: expected a number (0 freezes the clock)"
       "\n"},
      {{"serve", "--warp", "-1"},
       "rotary: error: --warp -1: must be between 0 and 1e9"
       "\n"},
      {{"serve", "--start", "1969-12-31T23:59:59Z"},
       "rotary: error: --start 1969-12-31T23:59:59Z: year 1969 is before 1970 (column 1)"
       "\n"},
      {{"serve", "--threads", "0"},
       "rotary: error: --threads 0: must be between 1 and 4096"
       "\n"},
      {{"serve", "--admin-key", ""},
       "rotary: error: --admin-key: empty value"
       "\n"},
      {{"serve", "--bind", "\xff"},
       "rotary: error: --bind \\xff: not an IPv4 or IPv6 address"
       "\n"},
      {{"serve", "--min-period", "99999999999999999999"},
       "rotary: error: --min-period 99999999999999999999: duration is longer than 10,000 years (column 1)"
       "\n"},
      {{"serve", "--buffer", "-10"},
       "rotary: error: --buffer -10: a duration cannot be negative (column 1)"
       "\n"},
      {{"rotate", "--store", "s", "--key-file", "k", "--retries", "99999999999999999999"},
       "rotary: error: --retries 99999999999999999999: expected a whole number"
       "\n"},
      {{"rotate", "--store", "s", "--key-file", "k", "--retries", "101"},
       "rotary: error: --retries 101: must be between 0 and 100"
       "\n"},
      {{"serve", "--port", "70000"},
       "rotary: error: --port 70000: must be between 0 and 65535"
       "\n"},
      {{"serve", "--seed", "-1"},
       "rotary: error: --seed -1: must be between 0 and 9223372036854775807"
       "\n"},
      {{"rotate", "--store", "s", "--key-file", "k", "--endpoint", "http://\xff/"},
       "rotary: error: endpoint http://\\xff/: the host must be a DNS name or an IP address (ASCII letters, "
       "digits, '-', '.'; an international name in its xn-- form)"
       "\n"},
      {{"rotate", "--store", "s", "--key-file", "k", "--lock-wait", "-1s"},
       "rotary: error: --lock-wait -1s: a duration cannot be negative (column 1)"
       "\n"},
      {{"rotate", "--store", "s", "--key-file", "k", "--strategy", "when-due:99999999999999999999d"},
       "rotary: error: --strategy when-due:99999999999999999999d: duration is longer than 10,000 years "
       "(column 10)"
       "\n"},
      {{"rotate", "--store", "s", "--key-file", "k", "--strategy", "when-due:"},
       "rotary: error: --strategy when-due:: empty duration: expected a number with a unit, like 10m, 60h, "
       "7d or PT10M "
       "(column 10)"
       "\n"},
      {{"rotate", "--store", ""},
       "rotary: error: --store: empty value"
       "\n"},
      {{"keygen", "--out", ""},
       "rotary: error: --out: empty value"
       "\n"},
      {{"drill", "--period", "99999999999999999999"},
       "rotary: error: --period 99999999999999999999: duration is longer than 10,000 years (column 1)"
       "\n"},
      {{"drill", "--created", "1969-01-01T00:00:00Z"},
       "rotary: error: --created 1969-01-01T00:00:00Z: year 1969 is before 1970 (column 1)"
       "\n"},
      {{"drill", "--warp", ""},
       "rotary: error: --warp: empty value"
       "\n"},
      {{"drill", "--warp", "-1"},
       "rotary: error: --warp -1: expected max or a factor like 86400"
       "\n"},
      {{"drill", "--horizon", "99999999999999999999d"},
       "rotary: error: --horizon 99999999999999999999d: duration is longer than 10,000 years (column 1)"
       "\n"},
      {{"drill", "--trials", "-1"},
       "rotary: error: --trials -1: must be between 0 and 100000000"
       "\n"},
      // 100 KB values: the error names them whole, on one line.
      {{"token", "--created", x100k},
       "rotary: error: --created " + x100k +
           ": expected a four-digit year (an ISO-8601 instant looks like 2027-03-14T07:00:00Z) (column 1)\n"},
      {{"check", "--period", std::string(100'000, '9')},
       "rotary: error: --period " + std::string(100'000, '9') +
           ": duration is longer than 10,000 years (column 1)\n"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(joined(c.args)) {
      const auto r = run_rotary(c.args);
      BOOST_TEST(r.exit == 2);
      BOOST_TEST(r.out == "");
      BOOST_TEST(r.err == c.error);
    }
  }
}

// Dates after 2100 are valid instants (the parser takes years 1970 to 9999): a token made in
// 2101 is explained normally, and deadlines past 9999 print with a five-digit year.
BOOST_AUTO_TEST_CASE(instants_after_2100_are_valid) {
  const auto r = run_rotary(
      {"token", "--created", "2101-01-01T00:00:00Z", "--period", "60", "--at", "2101-01-01T00:30:00Z"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.rfind("at 2101-01-01T00:30:00Z: usable until 2101-01-01T01:00:00Z (in 30m)\n", 0) == 0,
             r.out);
  const auto late = run_rotary(
      {"token", "--created", "9999-12-31T23:30:00Z", "--period", "60", "--at", "9999-12-31T23:45:00Z"});
  BOOST_TEST(late.exit == 0);
  BOOST_TEST(late.out.rfind("at 9999-12-31T23:45:00Z: usable until 10000-01-01T00:30:00Z", 0) == 0, late.out);
  const auto next = run_rotary({"next", "0 0 * * *", "--from", "2100-02-28T12:00:00Z", "--count", "2"});
  BOOST_TEST(next.exit == 0);
  BOOST_TEST(next.out == "2100-03-01T00:00:00Z\n2100-03-02T00:00:00Z\n");  // 2100 is not a leap year
  const auto last = run_rotary({"next", "0 0 * * *", "--from", "9999-12-31T12:00:00Z"});
  BOOST_TEST(last.exit == 1);
  BOOST_TEST(last.err == "rotary: error: 0 0 * * *: no fire after 9999-12-31T12:00:00Z\n");
}

// An invalid cron expression is exit 1: the message, the expression and a caret under the
// offending byte (invalid UTF-8 is named by its byte value).
BOOST_AUTO_TEST_CASE(malformed_cron_text_exits_1_with_the_byte_and_a_caret) {
  struct cron_case {
    std::string expression;
    std::string first_line;
  };
  const std::vector<cron_case> cases = {
      {"",
       "rotary: error: empty expression: expected five fields (minute hour day-of-month month "
       "day-of-week) or a macro like @daily"},
      {"0 0 \xff * *", "rotary: error: expected a day-of-month (1-31) or '*', found byte 0xff"},
      {"0 0 \xc3\x28 * *", "rotary: error: expected a day-of-month (1-31) or '*', found byte 0xc3"},
      {"0 0 * * *\n0 1 * * *", "rotary: error: expected '/', ',' or a space after '*', found byte 0x0a"},
      {"-1 * * * *", "rotary: error: expected a minute (0-59) or '*', found '-'"},
      {"99999999999999999999 * * * *", "rotary: error: minute 99999999999999999999 is out of range (0-59)"},
      {std::string(100'000, '1'), "rotary: error: minute 111111111111111111111111... is out of range (0-59)"},
  };
  for (const auto& c : cases) {
    for (const std::string command : {"next", "lint"}) {
      BOOST_TEST_CONTEXT(command << " " << c.expression.substr(0, 40)) {
        const auto r = run_rotary({command, c.expression});
        BOOST_TEST(r.exit == 1);
        BOOST_TEST(r.out == "");
        BOOST_TEST(r.err.substr(0, r.err.find('\n')) == c.first_line);
        BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 3);  // message, expression, caret
      }
    }
  }
}

// rotate --init: what stdin holds is checked before any file is made.
BOOST_AUTO_TEST_CASE(rotate_init_refuses_bad_stdin_and_writes_nothing) {
  temp_dir dir;
  const auto key = dir.path / "key";
  BOOST_REQUIRE(run_rotary({"keygen", "--out", key.string()}).exit == 0);
  const auto store = dir.path / "token.store";
  const std::vector<std::string> init = {
      "rotate",   "--init", "--store",   store.string(),         "--key-file", key.string(),
      "--period", "3600",   "--created", "2027-01-01T00:00:00Z", "--expires",  "2028-01-01T00:00:00Z"};
  const std::string one_line =
      "rotary: error: --init: stdin must hold the token alone on one line (printable characters, no spaces, "
      "at most 8192)\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "rotary: error: --init reads the token from stdin, and stdin is empty\n"},
      {"\n", "rotary: error: --init reads the token from stdin, and stdin is empty\n"},
      {std::string(1'000'000, 'a'), one_line},
      {binary_bytes(), one_line},
      {"abc\xff"
       "def\n",
       one_line},
      {"abc def\n", one_line},
      {"abc\nextra\n", one_line},
  };
  for (const auto& [input, error] : cases) {
    BOOST_TEST_CONTEXT("stdin of " << input.size() << " bytes") {
      const auto r = run_rotary(init, input);
      BOOST_TEST(r.exit == 2);
      BOOST_TEST(r.err == error);
      BOOST_TEST(!fs::exists(store));
    }
  }
  // Stdin that never ends is read only to 8195 bytes: refused at once, not read until memory runs
  // out (`timeout` would end a hang with 124).
  std::string command = "exec timeout 20 " ROTARY_BINARY;
  for (const auto& a : init) command += " '" + a + "'";
  const auto endless = rotary::test::run_program("/bin/sh", {"-c", command + " < /dev/zero"});
  BOOST_TEST(endless.exit == 2);
  BOOST_TEST(endless.err == one_line);
  BOOST_TEST(!fs::exists(store));
}

// rotate on a store that is not one: exit 3 (a person must act), one line, the file untouched.
BOOST_AUTO_TEST_CASE(rotate_leaves_a_corrupt_store_byte_for_byte) {
  temp_dir dir;
  const auto key = dir.path / "key";
  BOOST_REQUIRE(run_rotary({"keygen", "--out", key.string()}).exit == 0);
  const auto store = dir.path / "s.store";
  const std::string act =
      "; a person must restore the store from a backup, or a person must create a new token in the admin "
      "console and run: rotary rotate --init --store " +
      store.string() + " (the token on stdin)\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "the file is empty (0 bytes), not a rotary token store"},
      {std::string(1'000'000, '\x01'), "not a rotary token store (it does not start with \"ROTSTORE\")"},
      {binary_bytes(), "not a rotary token store (it does not start with \"ROTSTORE\")"},
      {"\xff\xfe{\"current\": 5}", "not a rotary token store (it does not start with \"ROTSTORE\")"},
      {"ROTSTORE\n{\"current\": 5}\n", "truncated: 24 bytes, shorter than the smallest store (52 bytes)"},
  };
  for (const auto& [bytes, what] : cases) {
    BOOST_TEST_CONTEXT(what) {
      write_file(store, bytes);
      const auto r = run_rotary({"rotate", "--store", store.string(), "--key-file", key.string(),
                                 "--endpoint", "http://127.0.0.1:9", "--retries", "0"});
      BOOST_TEST(r.exit == 3);
      BOOST_TEST(r.out.substr(r.out.find(' ') + 1) == "store-error: " + store.string() + ": " + what + act);
      BOOST_TEST(read_file(store) == bytes);
    }
  }
}

// Key files: a bad one is refused before the store is read; neither file changes.
BOOST_AUTO_TEST_CASE(rotate_refuses_bad_key_files) {
  temp_dir dir;
  const auto store = dir.path / "s.store";
  write_file(store, "ROTSTORE whatever");
  const auto key = dir.path / "key";
  const std::string not_key =
      "not a rotary key: it must start with \"rotary-key-v1:\" (make one with `rotary keygen`)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty; expected \"rotary-key-v1:\" and base64 (make one with `rotary keygen`)"},
      {std::string(1'000'000, 'k'), "larger than 4 KiB, not a rotary key (one line of 58 characters)"},
      {binary_bytes(), not_key},
  };
  for (const auto& [bytes, what] : cases) {
    BOOST_TEST_CONTEXT(what) {
      write_file(key, bytes);
      const auto r = run_rotary({"rotate", "--store", store.string(), "--key-file", key.string(),
                                 "--endpoint", "http://127.0.0.1:9"});
      BOOST_TEST(r.exit == 2);
      BOOST_TEST(r.err == "rotary: error: key file " + key.string() + ": " + what + "\n");
      BOOST_TEST(read_file(key) == bytes);
      BOOST_TEST(read_file(store) == "ROTSTORE whatever");
    }
  }
  const auto r = run_rotary({"rotate", "--store", store.string(), "--key-env", "ROTARY_TEST_BAD_KEY",
                             "--endpoint", "http://127.0.0.1:9"},
                            "", {"ROTARY_TEST_BAD_KEY=\xff\xfe"});
  BOOST_TEST(r.err == "rotary: error: environment variable ROTARY_TEST_BAD_KEY: " + not_key + "\n");
}

// serve --state: a file it cannot read is refused (exit 1, one line) and left as it was.
BOOST_AUTO_TEST_CASE(serve_refuses_bad_state_files_and_leaves_them) {
  temp_dir dir;
  const auto state = dir.path / "state.json";
  const std::string prefix = "rotary: error: state file " + state.string() + ": ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"",
       "not JSON (parse error at line 1, column 1: syntax error while parsing value - unexpected end of "
       "input; expected '[', '{', or a literal)"},
      {"{" + std::string(1'000'000, ' '),
       "not JSON (parse error at line 1, column 1000002: syntax error while parsing object key - unexpected "
       "end "
       "of input; expected string literal)"},
      {binary_bytes(), "not JSON (parse error at line 1, column 1: a NUL byte, which JSON text cannot hold)"},
      {std::string("{}\0junk", 7),
       "not JSON (parse error at line 1, column 3: a NUL byte, which JSON text cannot hold)"},
      {"{\"format\": \"rotary-fake-server-state\xff\"}",
       "not JSON (parse error at line 1, column 37: syntax error while parsing value - invalid string: "
       "ill-formed UTF-8 byte; last read: '\"rotary-fake-server-state\\xff')"},
      {"{\"format\": \"rotary-fake-server-state\", \"version\": \"1\"}", "no integer \"version\""},
      {"{\"format\": \"rotary-fake-server-state\", \"version\": 99999999999999999999}",
       "no integer \"version\""},
  };
  for (const auto& [bytes, what] : cases) {
    BOOST_TEST_CONTEXT(what) {
      write_file(state, bytes);
      const auto r = run_rotary({"serve", "--port", "0", "--state", state.string()});
      BOOST_TEST(r.exit == 1);
      BOOST_TEST(r.out == "");
      BOOST_TEST(r.err == prefix + what + "\n");
      BOOST_TEST(read_file(state) == bytes);
    }
  }
}

// Scenario files of check, drill and sweep: exit 2, one line naming the file.
BOOST_AUTO_TEST_CASE(bad_scenario_files_exit_2_with_one_line) {
  temp_dir dir;
  const auto file = dir.path / "s.json";
  const std::vector<std::string> contents = {
      "",      std::string(1'000'000, '['), binary_bytes(), "{\"cron\": \"0 0 \xff * *\"}",
      "[1,2]", "{\"period\": -5}"};
  for (const auto& bytes : contents) {
    write_file(file, bytes);
    for (const std::string command : {"check", "drill", "sweep"}) {
      BOOST_TEST_CONTEXT(command << " with " << bytes.size() << " bytes") {
        const std::string flag = command == "sweep" ? "--scenarios" : "--scenario";
        const auto r = run_rotary({command, flag, file.string()});
        if (command == "sweep" && bytes.empty())
          BOOST_TEST(r.err == "rotary: error: --scenarios " + file.string() + ": no scenarios in the file\n");
        BOOST_TEST(r.err.find("json.exception") == std::string::npos, r.err);
        BOOST_TEST(r.exit == 2);
        BOOST_TEST(r.out == "");
        BOOST_TEST(r.err.rfind("rotary: error: " + flag + " " + file.string(), 0) == 0, r.err);
        BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        BOOST_TEST(read_file(file) == bytes);
      }
    }
  }
}

// A NUL byte in a scenario file is an error where it stands; the text after it is never
// silently dropped (nlohmann alone would read `{}\0junk` as `{}`).
BOOST_AUTO_TEST_CASE(a_nul_byte_in_a_scenario_file_is_an_error_at_its_column) {
  temp_dir dir;
  const auto file = dir.path / "s.json";
  const std::string nul =
      ": not JSON: parse error at line 1, column 3: a NUL byte, which JSON text cannot hold\n";
  write_file(file, std::string("{}\0junk", 7));
  for (const std::string command : {"check", "drill"}) {
    const auto r = run_rotary({command, "--scenario", file.string()});
    BOOST_TEST(r.exit == 2);
    BOOST_TEST(r.err == "rotary: error: --scenario " + file.string() + nul);
  }
  // JSON Lines: the second line holds the NUL.
  write_file(file, std::string("{}\n{}\0\n", 6));
  const auto r = run_rotary({"sweep", "--scenarios", file.string()});
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err == "rotary: error: --scenarios " + file.string() + nul);
}

// Outputs are written only for a valid run: a bad expression leaves an existing --svg alone,
// and keygen never replaces a file.
BOOST_AUTO_TEST_CASE(a_refused_run_writes_no_output_file) {
  temp_dir dir;
  const auto svg = dir.path / "old.svg";
  write_file(svg, "<svg>old</svg>");
  const auto r = run_rotary({"check", "--cron", "0 0 \xff * *", "--svg", svg.string()});
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(read_file(svg) == "<svg>old</svg>");
  const auto key = dir.path / "key";
  write_file(key, binary_bytes());
  const auto k = run_rotary({"keygen", "--out", key.string()});
  BOOST_TEST(k.exit != 0);
  BOOST_TEST(read_file(key) == binary_bytes());
}

namespace {

// Runs rotary under timeout(1): a run that blocks (on a FIFO, say) is killed after 10 s and
// exits 124, so a regression fails the test instead of hanging it.
rotary::test::run_result run_rotary_bounded(const std::vector<std::string>& args,
                                            const std::string& input = {}) {
  std::vector<std::string> all = {"--signal=KILL", "10", ROTARY_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  return rotary::test::run_program("/usr/bin/timeout", all, input);
}

}  // namespace

// Every command that reads a file refuses a FIFO (whose open would wait for a writer), a
// directory and a device at once, with one exact line, and makes no lock file beside it.
BOOST_AUTO_TEST_CASE(fifos_directories_and_devices_are_refused_at_once_by_every_file_read) {
  temp_dir dir;
  const auto key = dir.path / "key";
  BOOST_REQUIRE(run_rotary({"keygen", "--out", key.string()}).exit == 0);
  const auto fifo = dir.path / "fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fs::create_directory(dir.path / "directory");
  const std::vector<std::pair<fs::path, std::string>> specials = {
      {fifo, "a FIFO"}, {dir.path / "directory", "a directory"}, {"/dev/null", "a character device"}};
  struct reader {
    std::string name;
    std::function<std::vector<std::string>(const std::string&)> args;
    std::string input;
    int exit;
    bool on_stdout;             // the rotation job's report line; else "rotary: error: " on stderr
    std::string before, after;  // around "PATH: not a regular file (WHAT)"
  };
  const std::string refused = "rotary: error: ";
  const std::vector<reader> readers = {
      {"rotate --key-file",
       [&](const std::string& p) {
         return std::vector<std::string>{"rotate", "--store",    (dir.path / "s").string(), "--key-file",
                                         p,        "--endpoint", "http://127.0.0.1:9"};
       },
       "", 2, false, refused + "key file ", "\n"},
      {"rotate --store",
       [&](const std::string& p) {
         return std::vector<std::string>{
             "rotate",    "--store", p, "--key-file", key.string(), "--endpoint", "http://127.0.0.1:9",
             "--retries", "0"};
       },
       "", 3, true, "store-error: ", "; a person must fix the store's directory\n"},
      {"rotate --init --store",
       [&](const std::string& p) {
         return std::vector<std::string>{"rotate",     "--init",     "--store",  p,
                                         "--key-file", key.string(), "--period", "60"};
       },
       "secret-1\n", 1, true, "not-initialized: ", "\n"},
      {"serve --state",
       [](const std::string& p) {
         return std::vector<std::string>{"serve", "--port", "0", "--state", p};
       },
       "", 1, false, refused + "state file ", "\n"},
      {"serve --tls-cert",
       [](const std::string& p) {
         return std::vector<std::string>{"serve", "--port", "0", "--tls-cert", p, "--tls-key", p};
       },
       "", 1, false, refused + "TLS certificate ", "\n"},
      {"check --scenario",
       [](const std::string& p) {
         return std::vector<std::string>{"check", "--scenario", p};
       },
       "", 2, false, refused + "--scenario ", "\n"},
      {"drill --scenario",
       [](const std::string& p) {
         return std::vector<std::string>{"drill", "--scenario", p};
       },
       "", 2, false, refused + "--scenario ", "\n"},
      {"sweep --scenarios",
       [](const std::string& p) {
         return std::vector<std::string>{"sweep", "--scenarios", p};
       },
       "", 2, false, refused + "--scenarios ", "\n"},
  };
  for (const auto& r : readers) {
    for (const auto& [path, what] : specials) {
      BOOST_TEST_CONTEXT(r.name << " " << path) {
        const auto run = run_rotary_bounded(r.args(path.string()), r.input);
        BOOST_TEST(run.exit == r.exit);  // 137: killed by timeout, it blocked
        const std::string want = r.before + path.string() + ": not a regular file (" + what + ")" + r.after;
        if (r.on_stdout) {
          BOOST_TEST(run.out.substr(run.out.find(' ') + 1) == want);  // after the instant
          BOOST_TEST(run.err == "");
        } else {
          BOOST_TEST(run.err == want);
          BOOST_TEST(run.out == "");
        }
        BOOST_TEST(!fs::exists(path.string() + ".lock"));
      }
    }
  }
}

// A value quoted into an error, whoever quotes it (the command, CLI11, a library), is escaped
// by one rule (docs/errors.md, "One-line errors"): \n, \r, \t by name, other control characters
// and bytes that are not UTF-8 as \xHH, printable UTF-8 as it is. The line stays one line and
// never drives the terminal.
BOOST_AUTO_TEST_CASE(values_quoted_into_errors_are_escaped_onto_one_line) {
  temp_dir dir;
  const auto key = dir.path / "key";
  BOOST_REQUIRE(run_rotary({"keygen", "--out", key.string()}).exit == 0);
  const std::string bad = "\n\x1b[31m\xff";  // a newline, an ANSI colour, a byte that is not UTF-8
  const std::string shown = "\\n\\x1b[31m\\xff";
  struct escape_case {
    std::vector<std::string> args;
    int exit;
    std::string error;
  };
  const std::vector<escape_case> cases = {
      {{"token", "--created", "2027" + bad},
       2,
       "--created 2027" + shown + ": expected '-' after the year (column 5)"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--period", "60" + bad},
       2,
       "--period 60" + shown + ": unknown unit byte 0x0a: expected s, m, h, d or w (column 3)"},
      {{"next", "0 0 * * *", "--dst", "x" + bad}, 2, "--dst x" + shown + ": expected cronie or wallclock"},
      {{"lint", "0 0 * * *", "--tz", "\x1b]0;title\x07"},
       2,
       "--tz \\x1b]0;title\\x07: unknown time zone (expected an IANA name like Europe/Berlin)"},
      {{"check", "--cron", "0 0 * * *" + bad},
       2,
       "--cron '0 0 * * *" + shown +
           "': expected '/', ',' or a space after '*', found byte 0x0a (column 10)"},
      {{"check", "--scenario", (dir.path / ("no" + bad)).string()},
       2,
       "--scenario " + dir.path.string() + "/no" + shown + ": cannot open"},
      {{"sweep", "--vary", "fail-rate=" + bad},
       2,
       "scenario 1: --fail-rate " + shown + ": expected a probability like 0.05"},
      {{"rotate", "--store", "s", "--key-file", key.string(), "--strategy", "when" + bad},
       2,
       "--strategy when" + shown + ": expected always or when-due:DUR (e.g. when-due:24h)"},
      {{"rotate", "--store", "s", "--key-file", (dir.path / ("k" + bad)).string()},
       2,
       "key file " + dir.path.string() + "/k" + shown + ": No such file or directory"},
      {{"rotate", "--store", "s", "--key-file", key.string(), "--endpoint", "http://a" + bad},
       2,
       "endpoint http://a" + shown + ": contains a space or a control character"},
      {{"keygen", "--out", (dir.path / ("none" + bad) / "k").string()},
       1,
       "--out " + dir.path.string() + "/none" + shown + "/k: No such file or directory"},
      {{"token", "--created", "2027-01-01T00:00:00Z", "--bo" + bad},
       2,
       "The following argument was not expected: --bo" + shown},
      {{"bo" + bad}, 2, "unknown command 'bo" + shown + "'; see 'rotary --help'"},
      // Printable UTF-8 is kept as it is.
      {{"token", "--created", "2027-01-01T00:00:00Z\xe2\x9c\x93"},
       2,
       "--created 2027-01-01T00:00:00Z\xe2\x9c\x93: unexpected byte 0xe2 after the instant (column 21)"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(joined(c.args)) {
      const auto r = run_rotary_bounded(c.args);
      BOOST_TEST(r.exit == c.exit);
      BOOST_TEST(r.out == "");
      BOOST_TEST(r.err == "rotary: error: " + c.error + "\n");
      BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
  }
}
