#define BOOST_TEST_MODULE advise
#include <boost/test/unit_test.hpp>

#include <rotary/advise.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace rotary;

namespace {

const advice& berlin() {
  static const advice a = advise({.rotation_period = minutes{1440}, .tz = "Europe/Berlin"}).value();
  return a;
}

// What a command line prints on stdout, run by /bin/sh -c (as popen does, and as cron does).
std::string shell_output(const std::string& command) {
  std::FILE* p = popen(command.c_str(), "r");
  BOOST_TEST_REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// What cron does to a crontab entry's command field before /bin/sh sees it (cronie and Debian
// cron, do_command.c): \% becomes %, and the first unescaped % ends the command (the rest is
// its stdin).
std::string cron_translate(const std::string& field) {
  std::string out;
  bool escaped = false;
  for (const char c : field) {
    if (escaped) {
      if (c == '%') out.pop_back();
      out += c;
      escaped = false;
      continue;
    }
    if (c == '%') break;
    if (c == '\\') escaped = true;
    out += c;
  }
  return out;
}

std::string last_line(const std::string& text) {  // `text` ends with a newline
  const auto body = text.substr(0, text.size() - 1);
  return body.substr(body.rfind('\n') + 1);  // npos + 1 is 0: a single line
}

std::string hex(const std::string& s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += digits[u >> 4];
    out += digits[u & 15];
  }
  return out;
}

// Arguments a shell, cron, systemd or YAML would each misread if they were pasted as they are.
const std::vector<std::string> hostile = {
    "plain",
    "two words",
    "it's",
    "say \"hi\"",
    "100%",
    "a\\%b",
    "%%",
    "x\\",
    "\\",
    "back\\slash",
    "$HOME",
    "${HOME}",
    "`id`",
    "$(id)",
    ";",
    "a;b",
    "|",
    "&&",
    ">out",
    "*",
    "~",
    "#x",
    "-dash",
    "",
    "tab\there",
    "'",
    "\"",
    "%s",
    "\\n",
    "\xc3\xa9 \xe2\x9c\x93",
    "emoji \xf0\x9f\x98\x80",
    "--store=/a b/c",
};

}  // namespace

BOOST_AUTO_TEST_SUITE(split)

BOOST_AUTO_TEST_CASE(splits_like_a_shell_without_expanding) {
  struct row {
    std::string text;
    std::vector<std::string> words;
  };
  const std::vector<row> rows = {
      {"rotate --store /var/lib/t.store", {"rotate", "--store", "/var/lib/t.store"}},
      {"  rotate\t--x  \n y ", {"rotate", "--x", "y"}},
      {"--store '/var/lib/my tokens/t.store'", {"--store", "/var/lib/my tokens/t.store"}},
      {"a'b c'd", {"ab cd"}},
      {"\"say \\\"hi\\\" \\\\ \\$ \\` \\x\"", {"say \"hi\" \\ $ ` \\x"}},
      {"a\\ b c\\'d", {"a b", "c'd"}},
      {"'' \"\"", {"", ""}},
      {"'$HOME;*' 100% x#y a~", {"$HOME;*", "100%", "x#y", "a~"}},
      {"a\\\nb", {"ab"}},
      {"", {}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto words = split_command(r.text);
      BOOST_TEST_REQUIRE(words.has_value(), (words ? std::string() : words.error().message));
      BOOST_TEST(*words == r.words, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(refuses_what_a_shell_would_have_read_otherwise) {
  const std::string tail =
      " would mean something to a shell; quote it (the job runs the program without a shell)";
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"rotate 'x", "unterminated single quote (column 8)"},
      {"rotate \"x", "unterminated double quote (column 8)"},
      {"rotate x\\", "a backslash at the end (column 9)"},
      {"rotate; rm -rf /", "an unquoted ';' (column 7)" + tail},
      {"a | b", "an unquoted '|' (column 3)" + tail},
      {"a && b", "an unquoted '&' (column 3)" + tail},
      {"a >out", "an unquoted '>' (column 3)" + tail},
      {"--store $HOME/t", "an unquoted '$' (column 9)" + tail},
      {"--at `date`", "an unquoted '`' (column 6)" + tail},
      {"*.store", "an unquoted '*' (column 1)" + tail},
      {"a #comment", "an unquoted '#' (column 3)" + tail},
      {"~/t.store", "an unquoted '~' (column 1)" + tail},
      {"\"$HOME\"",
       "a '$' inside double quotes (column 2) would be expanded by a shell; use single quotes or \\$"},
  };
  for (const auto& [text, message] : rows) {
    BOOST_TEST_CONTEXT(text) {
      const auto words = split_command(text);
      BOOST_TEST_REQUIRE(!words.has_value());
      BOOST_TEST(words.error().message == message);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(emit)

// The crontab entry, put through cron's % rule and /bin/sh exactly as cron runs it, hands
// printf every argument byte for byte.
BOOST_AUTO_TEST_CASE(a_crontab_entry_reaches_the_program_byte_for_byte) {
  job_command job{"/usr/bin/printf", {"<%s>\\n"}};
  job.arguments.insert(job.arguments.end(), hostile.begin(), hostile.end());
  const auto text = emit_crontab(berlin(), job);
  BOOST_TEST_REQUIRE(text.has_value(), (text ? std::string() : text.error().message));
  BOOST_TEST(text->find("\nCRON_TZ=Europe/Berlin\n17 3,9,15,21 * * * /usr/bin/printf '<'\\%'s>\\n' ") !=
             std::string::npos);
  const auto line = last_line(*text);
  std::size_t field = 0;
  for (int spaces = 0; spaces < 5; ++spaces) field = line.find(' ', field) + 1;
  std::string expected;
  for (const auto& a : hostile) expected += "<" + a + ">\n";
  BOOST_TEST(shell_output(cron_translate(line.substr(field))) == expected);
}

BOOST_AUTO_TEST_CASE(a_crontab_entry_cannot_hold_a_newline) {
  const auto text = emit_crontab(berlin(), {"/usr/bin/printf", {"x", "line1\nline2"}});
  BOOST_TEST_REQUIRE(!text.has_value());
  BOOST_TEST(text.error().message == "argument 2 holds a newline, which a crontab line cannot");
  BOOST_TEST(emit_crontab(berlin(), {"/bin/echo", {"a\rb"}}).error().message ==
             "argument 1 holds a newline, which a crontab line cannot");
  // A program starting with - is quoted: cronie would read the - as its "do not log" flag.
  BOOST_TEST(last_line(emit_crontab(berlin(), {"-x", {}}).value()) == "17 3,9,15,21 * * * '-x'");
}

BOOST_AUTO_TEST_CASE(the_systemd_unit_quotes_specifiers_and_dollars) {
  const job_command job{"/usr/bin/printf",
                        {"100%", "$HOME", "say \"hi\"", "line1\nline2", "back\\slash", ";", "\x01", "\x7f"}};
  const auto text = emit_systemd(berlin(), job);
  BOOST_TEST_REQUIRE(text.has_value(), (text ? std::string() : text.error().message));
  BOOST_TEST(
      text->find("\nExecStart=/usr/bin/printf \"100%%\" \"$$HOME\" \"say \\\"hi\\\"\" \"line1\\nline2\" "
                 "\"back\\\\slash\" \";\" \"\\x01\" \"\\x7f\"\n") != std::string::npos);
  BOOST_TEST(text->find("\nOnCalendar=*-*-* 3,9,15,21:17:00 Europe/Berlin\n") != std::string::npos);
}

// systemd itself reads the emitted timer and service (Debian's systemd-analyze, offline).
BOOST_AUTO_TEST_CASE(systemd_analyze_verifies_the_emitted_units) {
  if (!std::filesystem::exists("/usr/bin/systemd-analyze")) {
    BOOST_TEST_MESSAGE("no /usr/bin/systemd-analyze: the units are not verified");
    return;
  }
  job_command job{"/usr/bin/printf", {"<%s>\\n"}};
  job.arguments.insert(job.arguments.end(), hostile.begin(), hostile.end());
  job.arguments.emplace_back("line1\nline2");
  const auto text = emit_systemd(berlin(), job).value();
  const auto dir = std::filesystem::temp_directory_path() / ("rotary-advise-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto timer_at = text.find("# /etc/systemd/system/rotary-rotate.timer\n");
  const auto service_at = text.find("# /etc/systemd/system/rotary-rotate.service\n");
  BOOST_TEST_REQUIRE(timer_at != std::string::npos);
  BOOST_TEST_REQUIRE(service_at != std::string::npos);
  std::ofstream(dir / "rotary-rotate.timer") << text.substr(timer_at, service_at - timer_at);
  std::ofstream(dir / "rotary-rotate.service") << text.substr(service_at);
  const auto out =
      shell_output("cd " + shell_quote(dir.string()) +
                   " && /usr/bin/systemd-analyze verify ./rotary-rotate.timer ./rotary-rotate.service "
                   "2>&1; echo \"exit $?\"");
  BOOST_TEST(out == "exit 0\n");
  std::filesystem::remove_all(dir);
}

// The agent as a service: the default command runs `rotary agent` with a margin of a tenth of
// the period (1 to 6 hours), systemctl reload sends SIGHUP, and systemd accepts the unit.
BOOST_AUTO_TEST_CASE(the_agent_service_runs_rotary_agent_and_systemd_accepts_it) {
  // Counts: libc++ 14 has no operator<< for durations, which BOOST_TEST needs to print.
  BOOST_TEST(rotary::agent_margin(std::chrono::minutes{1440}).count() == 2 * 3600 + 24 * 60);
  BOOST_TEST(rotary::agent_margin(std::chrono::minutes{300}).count() == 3600);
  BOOST_TEST(rotary::agent_margin(std::chrono::minutes{100'000}).count() == 6 * 3600);
  const auto job = rotary::agent_command(berlin());
  BOOST_TEST(job.arguments.front() == "agent");
  BOOST_TEST(job.arguments.back() ==
             "when-due:" + rotary::format_duration(rotary::agent_margin(berlin().request.rotation_period)));
  const auto text = rotary::emit_systemd_agent(job).value();
  BOOST_TEST(
      text.find(
          "\nType=simple\nExecStart=/usr/local/bin/rotary \"agent\" \"--endpoint\" "
          "\"https://example.com/api/index/v1/rotatetoken\" \"--store\" \"/var/lib/rotary/token.store\" "
          "\"--key-file\" \"/etc/rotary/store.key\" \"--strategy\" \"when-due:2h24m\"\n") !=
          std::string::npos,
      text);
  BOOST_TEST(text.find("\nExecReload=/bin/kill -HUP $MAINPID\n") != std::string::npos);
  BOOST_TEST(rotary::emit_systemd_agent({"rotary", {"agent"}}).error().message ==
             "the program must be an absolute path for systemd's ExecStart= (got \"rotary\")");
  if (!std::filesystem::exists("/usr/bin/systemd-analyze")) return;
  const auto dir = std::filesystem::temp_directory_path() / ("rotary-agent-unit-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  // verify checks that ExecStart's program exists: point it at one that does.
  std::string unit = text;
  unit.replace(unit.find("/usr/local/bin/rotary"), std::string("/usr/local/bin/rotary").size(), "/bin/true");
  std::ofstream(dir / "rotary-agent.service") << unit;
  const auto out =
      shell_output("cd " + shell_quote(dir.string()) +
                   " && /usr/bin/systemd-analyze verify ./rotary-agent.service 2>&1; echo \"exit $?\"");
  BOOST_TEST(out == "exit 0\n");
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(systemd_needs_an_absolute_program) {
  BOOST_TEST(emit_systemd(berlin(), {"printf", {}}).error().message ==
             "the program must be an absolute path for systemd's ExecStart= (got \"printf\")");
}

// PyYAML (Debian python3-yaml) reads back each argument of the CronJob exactly.
BOOST_AUTO_TEST_CASE(the_cronjob_yaml_holds_every_argument_exactly) {
  job_command job{"/usr/local/bin/rotary", hostile};
  job.arguments.insert(job.arguments.end(),
                       {"line1\nline2", "\x01\x1f\x7f", "\xc2\x85\xe2\x80\xa8\xef\xbb\xbf"});
  const auto text = emit_kubernetes(berlin(), job);
  BOOST_TEST_REQUIRE(text.has_value(), (text ? std::string() : text.error().message));
  const auto file =
      std::filesystem::temp_directory_path() / ("rotary-cronjob-" + std::to_string(getpid()) + ".yaml");
  std::ofstream(file) << *text;
  const auto out = shell_output(
      "/usr/bin/python3 -c 'import sys, yaml\n"
      "d = yaml.safe_load(open(sys.argv[1], encoding=\"utf-8\"))\n"
      "s = d[\"spec\"]\n"
      "c = s[\"jobTemplate\"][\"spec\"][\"template\"][\"spec\"][\"containers\"][0]\n"
      "for w in [s[\"schedule\"], s[\"timeZone\"]] + c[\"command\"] + c[\"args\"]: "
      "print(w.encode().hex())' " +
      shell_quote(file.string()) + " 2>&1");
  std::string expected =
      hex("17 3,9,15,21 * * *") + "\n" + hex("Europe/Berlin") + "\n" + hex(job.program) + "\n";
  for (const auto& a : job.arguments) expected += hex(a) + "\n";
  BOOST_TEST(out == expected);
  std::filesystem::remove(file);
}

BOOST_AUTO_TEST_CASE(text_that_is_not_utf8_and_advice_without_a_schedule_are_refused) {
  const std::vector<std::string> bad = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"};
  for (const auto& b : bad) {
    BOOST_TEST_CONTEXT(hex(b)) {
      BOOST_TEST(emit_crontab(berlin(), {"/bin/echo", {"ok", b}}).error().message ==
                 "argument 2 is not valid UTF-8");
      BOOST_TEST(emit_systemd(berlin(), {"/bin/echo", {b}}).error().message ==
                 "argument 1 is not valid UTF-8");
      BOOST_TEST(emit_kubernetes(berlin(), {b, {}}).error().message == "the program is not valid UTF-8");
    }
  }
  advice none = berlin();
  none.chosen.reset();
  BOOST_TEST(emit_kubernetes(none).error().message == "no schedule was chosen: nothing to emit");
  BOOST_TEST(emit_crontab(berlin(), {"", {}}).error().message == "the program is empty");
}

BOOST_AUTO_TEST_SUITE_END()
