// rotary/advise.hpp: the schedule to use for a rotation period, and how to install it.
//
//     auto a = rotary::advise({.rotation_period = std::chrono::minutes{3600}, .tolerate = 2,
//                              .tz = "Europe/Berlin"}).value();
//     a.chosen->expression;                 // "17 3,15 * * *": twice a day
//     rotary::emit_crontab(a, job).value(); // CRON_TZ=Europe/Berlin + the crontab line
//
// The candidates are the even cron schedules: every 1, 2, 3, 4, 6, 8 or 12 hours, daily, and
// weekly, at minute 17 and from 03:17 local time, away from :00 (where every other job runs)
// and from the 01:00-02:59 hours that DST nights skip or repeat in most zones. Each candidate is
// simulated for a year in the zone (cronie DST semantics, 2027) and the advice is the one with
// the fewest rotations whose tolerance, the consecutive failed runs it survives anywhere in
// that year, is at least `tolerate`. Fewer rotations mean fewer exposures: every rotation is a
// response that can be lost, which under `reject` breaks the chain. The table shows the
// trade-off.
#pragma once

#include <rotary/detail/escape.hpp>
#include <rotary/outcome.hpp>
#include <rotary/scenario.hpp>
#include <rotary/simulate.hpp>
#include <rotary/time.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rotary {

struct advice_request {
  minutes rotation_period{3600};
  seconds buffer = minutes{10};
  int tolerate = 2;
  std::string tz = "UTC";
  sys_seconds year_start = from_unix(1798761600);  // 2027-01-01T00:00:00Z: the simulated year
};

struct advice_candidate {
  std::string expression;
  std::string every;  // "12h", "1d", "7d"
  std::int64_t rotations_per_year = 0;
  std::optional<std::int64_t> tolerated_failures;  // nullopt: any number
  seconds worst_gap{0};
  seconds margin{0};
  bool holds = false;  // no lapse in the simulated year when every run succeeds
  [[nodiscard]] bool meets(int tolerate) const {
    return holds && (!tolerated_failures || *tolerated_failures >= tolerate);
  }
};

struct advice {
  advice_request request;
  std::vector<advice_candidate> candidates;  // densest first
  std::optional<advice_candidate> chosen;    // nullopt: even hourly rotation is not enough
};

[[nodiscard]] outcome<advice, scenario_error> advise(const advice_request& request);

// What to run at each fire, for the emitters: the program and its arguments, one string each.
// No shell stands between them: each emitter quotes every argument for its target, so what
// reaches the program is exactly these strings.
struct job_command {
  std::string program = "/usr/local/bin/rotary";
  std::vector<std::string> arguments = {"rotate",
                                        "--endpoint",
                                        "https://example.com/api/index/v1/rotatetoken",
                                        "--store",
                                        "/var/lib/rotary/token.store",
                                        "--key-file",
                                        "/etc/rotary/store.key"};
};

// A command that cannot be split, or cannot be written for a target.
struct emit_error {
  std::string message;
  friend bool operator==(const emit_error&, const emit_error&) = default;
  [[nodiscard]] std::string describe() const { return message; }
};

// Splits a command line into words the way a POSIX shell does, but with no expansion:
// whitespace separates words; '...' is literal; in "..." a backslash escapes only " \ $ ` and
// a newline; outside quotes a backslash escapes the next character. Shell syntax that would
// have meant something else (an unquoted ; | & < > ( ) $ ` * ? [, or # or ~ starting a word) is
// refused rather than passed on as text: the emitted job runs the program alone, with no shell.
//     split_command("rotate --store '/var/lib/my tokens/t.store'")
//         -> {"rotate", "--store", "/var/lib/my tokens/t.store"}
[[nodiscard]] outcome<std::vector<std::string>, emit_error> split_command(std::string_view text);

// The job for the chosen schedule, as a crontab entry (with CRON_TZ), a systemd timer and
// service, or a Kubernetes CronJob. Every argument is quoted for the target: a crontab's
// command goes through cron's % rule and /bin/sh, ExecStart through systemd's quoting, %
// specifiers and $ substitution, the CronJob through YAML. What the target cannot hold is an
// error: a newline or carriage return in a crontab entry, a relative program for systemd,
// text that is not UTF-8 anywhere; so is an advice without a chosen schedule.
[[nodiscard]] outcome<std::string, emit_error> emit_crontab(const advice& a, const job_command& job = {});
[[nodiscard]] outcome<std::string, emit_error> emit_systemd(const advice& a, const job_command& job = {});
[[nodiscard]] outcome<std::string, emit_error> emit_kubernetes(const advice& a, const job_command& job = {});

// The long-running alternative to a timer: a systemd service running `rotary agent`
// (agent.hpp), which sleeps until each rotation is due; SIGHUP (systemctl reload) makes it read
// the store again, SIGTERM stops it. `agent_command(a)` is the default command: the usual
// endpoint, store and key arguments with `agent` and `--strategy when-due:M`, M =
// agent_margin(period): a tenth of the rotation period, between 1 and 6 hours (the window in
// which the agent retries a failing rotation, 1, 2, 4 ... minutes apart).
[[nodiscard]] seconds agent_margin(minutes rotation_period);
[[nodiscard]] job_command agent_command(const advice& a);
[[nodiscard]] outcome<std::string, emit_error> emit_systemd_agent(const job_command& job);

// ---------------------------------------------------------------------------------------------

inline outcome<advice, scenario_error> advise(const advice_request& request) {
  if (request.tolerate < 0 || request.tolerate > 1000)
    return scenario_error{"tolerate", "must be between 0 and 1000"};
  advice out{request, {}, std::nullopt};
  struct shape {
    const char* expression;
    const char* every;
  };
  static constexpr shape shapes[] = {
      {"17 * * * *", "1h"},         {"17 */2 * * *", "2h"},
      {"17 */3 * * *", "3h"},       {"17 3,7,11,15,19,23 * * *", "4h"},
      {"17 3,9,15,21 * * *", "6h"}, {"17 3,11,19 * * *", "8h"},
      {"17 3,15 * * *", "12h"},     {"17 3 * * *", "1d"},
      {"17 3 * * 1", "7d"},
  };
  for (const auto& sh : shapes) {
    scenario s;
    s.rotation_period = request.rotation_period;
    s.buffer = request.buffer;
    s.created_at = request.year_start;
    s.from = request.year_start;
    s.horizon = days{365};
    s.schedule = cron_spec{sh.expression, request.tz, dst_mode::cronie};
    auto plan = prepare(s);
    if (!plan) return plan.error();
    advice_candidate c;
    c.expression = sh.expression;
    c.every = sh.every;
    const auto run = simulate_run(*plan);
    c.rotations_per_year = run.rotations;
    c.holds = !run.lapsed();
    c.tolerated_failures = tolerated_failures(*plan);
    if (const auto gap = nominal_worst_gap(*plan)) {
      c.worst_gap = gap->length;
      c.margin = seconds{request.rotation_period} - gap->length;
    }
    out.candidates.push_back(c);
  }
  for (auto it = out.candidates.rbegin(); it != out.candidates.rend(); ++it) {
    if (it->meets(request.tolerate)) {
      out.chosen = *it;
      break;
    }
  }
  return out;
}

namespace detail {
inline std::string advice_header(const advice& a) {
  return "# rotary advise: a " + std::to_string(a.request.rotation_period.count()) +
         "-minute token, tolerating " + std::to_string(a.request.tolerate) + " failed runs in a row (" +
         (a.chosen ? std::to_string(a.chosen->rotations_per_year) + " rotations a year"
                   : std::string("no schedule")) +
         ")\n";
}
}  // namespace detail

namespace detail {

// The code points of UTF-8 text, or nullopt when it is not valid UTF-8 (overlong forms,
// surrogates and values past U+10FFFF included).
inline std::optional<std::vector<char32_t>> decode_utf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t c = 0;
    const std::size_t n = utf8_sequence(s, i, c);
    if (n == 0) return std::nullopt;
    out.push_back(c);
    i += n;
  }
  return out;
}

inline std::string argument_name(std::size_t index) {
  return index == 0 ? std::string("the program") : "argument " + std::to_string(index);
}

// The program and the arguments, each checked to be UTF-8.
inline outcome<std::vector<std::string>, emit_error> job_words(const advice& a, const job_command& job) {
  if (!a.chosen) return emit_error{"no schedule was chosen: nothing to emit"};
  if (job.program.empty()) return emit_error{"the program is empty"};
  std::vector<std::string> words{job.program};
  words.insert(words.end(), job.arguments.begin(), job.arguments.end());
  for (std::size_t i = 0; i < words.size(); ++i)
    if (!decode_utf8(words[i])) return emit_error{argument_name(i) + " is not valid UTF-8"};
  return words;
}

inline bool plain_word(std::string_view w) {
  if (w.empty()) return false;
  for (const char c : w) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '/' || c == '.' || c == ',' || c == ':' || c == '=' || c == '+' || c == '@' ||
                    c == '-';
    if (!ok) return false;
  }
  return true;
}

// A word for a crontab's command field. cron reads the field before /bin/sh does: an unescaped
// % ends the command (the rest becomes its stdin) and \% stands for % (cronie's do_command.c).
// So the word is single-quoted for the shell, and each % is written outside the quotes as \%,
// always after a closing quote, where no backslash of the word can pair with it.
inline std::string crontab_word(std::string_view w) {
  if (plain_word(w)) return std::string(w);
  std::string out = "'";
  for (const char c : w) {
    if (c == '\'')
      out += "'\\''";
    else if (c == '%')
      out += "'\\%'";
    else
      out += c;
  }
  return out + "'";
}

// A word for ExecStart=: double-quoted, with C escapes for \ " and control characters, %%
// for a literal % (specifiers) and $$ for a literal $ (environment substitution), as
// systemd.service(5) and systemd.unit(5) give them.
inline std::string systemd_word(std::string_view w) {
  std::string out = "\"";
  for (const char c : w) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else if (c == '%') {
      out += "%%";
    } else if (c == '$') {
      out += "$$";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A YAML double-quoted scalar: printable ASCII as is, \" and \\ escaped, everything else as
// \uXXXX or \UXXXXXXXX (YAML 1.1 and 1.2 both read these; no code point is left that a YAML
// reader could fold or reject).
inline std::string yaml_string(std::string_view w) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "\"";
  const auto code_points = decode_utf8(w).value_or(std::vector<char32_t>{});  // checked by job_words
  for (const char32_t c : code_points) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      const int digits = c > 0xFFFF ? 8 : 4;
      out += digits == 8 ? "\\U" : "\\u";
      for (int k = digits - 1; k >= 0; --k) out += hex[(c >> (4 * k)) & 15];
    }
  }
  return out + "\"";
}

}  // namespace detail

inline outcome<std::vector<std::string>, emit_error> split_command(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  const auto at = [](std::size_t i) { return " (column " + std::to_string(i + 1) + ")"; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      const auto end = text.find('\'', i + 1);
      if (end == std::string_view::npos) return emit_error{"unterminated single quote" + at(i)};
      word.append(text.substr(i + 1, end - i - 1));
      in_word = true;
      i = end;
    } else if (c == '"') {
      const std::size_t open = i;
      for (++i;; ++i) {
        if (i >= text.size()) return emit_error{"unterminated double quote" + at(open)};
        const char d = text[i];
        if (d == '"') break;
        if (d == '\\' && i + 1 < text.size()) {
          const char e = text[i + 1];
          if (e == '"' || e == '\\' || e == '$' || e == '`') {
            word += e;
            ++i;
            continue;
          }
          if (e == '\n') {
            ++i;
            continue;
          }
        }
        if (d == '$' || d == '`')
          return emit_error{std::string("a '") + d + "' inside double quotes" + at(i) +
                            " would be expanded by a shell; use single quotes or \\" + d};
        word += d;
      }
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return emit_error{"a backslash at the end" + at(i)};
      if (text[i + 1] != '\n') {
        word += text[i + 1];
        in_word = true;
      }
      ++i;
    } else if (std::string_view(";|&<>()$`*?[").find(c) != std::string_view::npos ||
               (!in_word && (c == '#' || c == '~'))) {
      return emit_error{std::string("an unquoted '") + c + "'" + at(i) +
                        " would mean something to a shell; quote it (the job runs the program "
                        "without a shell)"};
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

inline outcome<std::string, emit_error> emit_crontab(const advice& a, const job_command& job) {
  auto words = detail::job_words(a, job);
  if (!words) return words.error();
  std::string command;
  for (std::size_t i = 0; i < words->size(); ++i) {
    const auto& w = (*words)[i];
    if (w.find_first_of("\r\n") != std::string::npos)
      return emit_error{detail::argument_name(i) + " holds a newline, which a crontab line cannot"};
    if (i != 0) command += ' ';
    // A command starting with - is cronie's "do not log" flag: such a program is quoted.
    command += i == 0 && w.front() == '-' ? "'" + w + "'" : detail::crontab_word(w);
  }
  std::string out = detail::advice_header(a);
  if (a.request.tz != "UTC") out += "CRON_TZ=" + a.request.tz + "\n";
  out += a.chosen->expression + " " + command + "\n";
  return out;
}

namespace detail {
// The ExecStart= value of `words` (the program first, an absolute path).
inline outcome<std::string, emit_error> systemd_exec(const std::vector<std::string>& words) {
  if (words.front().front() != '/')
    return emit_error{"the program must be an absolute path for systemd's ExecStart= (got " +
                      systemd_word(words.front()) + ")"};
  std::string exec;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto& w = words[i];
    if (i != 0) exec += ' ';
    // The program plain when it can be: a leading quote would hide systemd's prefixes (-, @, +).
    exec += i == 0 && plain_word(w) ? w : systemd_word(w);
  }
  return exec;
}
}  // namespace detail

inline outcome<std::string, emit_error> emit_systemd(const advice& a, const job_command& job) {
  auto words = detail::job_words(a, job);
  if (!words) return words.error();
  const auto exec_line = detail::systemd_exec(*words);
  if (!exec_line) return exec_line.error();
  const std::string& exec = *exec_line;
  // OnCalendar from the cron fields: minute, hour list, weekday.
  const std::string& e = a.chosen->expression;
  const auto first_space = e.find(' ');
  const auto second_space = e.find(' ', first_space + 1);
  const std::string minute = e.substr(0, first_space);
  std::string hour = e.substr(first_space + 1, second_space - first_space - 1);
  if (hour.rfind("*/", 0) == 0) hour = "00/" + hour.substr(2);
  const bool weekly = e.size() >= 2 && e.substr(e.size() - 2) == " 1";
  std::string calendar = std::string(weekly ? "Mon " : "") + "*-*-* " + hour + ":" + minute + ":00";
  if (a.request.tz != "UTC") calendar += " " + a.request.tz;
  std::string out = detail::advice_header(a);
  out +=
      "# /etc/systemd/system/rotary-rotate.timer\n"
      "[Unit]\nDescription=Rotate the API token (rotary)\n\n"
      "[Timer]\nOnCalendar=" +
      calendar +
      "\nPersistent=true\nAccuracySec=1s\n\n"
      "[Install]\nWantedBy=timers.target\n\n"
      "# /etc/systemd/system/rotary-rotate.service\n"
      "[Unit]\nDescription=Rotate the API token "
      "(rotary)\nWants=network-online.target\nAfter=network-online.target\n\n"
      "[Service]\nType=oneshot\nExecStart=" +
      exec +
      "\n"
      "PrivateTmp=true\nNoNewPrivileges=true\nProtectSystem=strict\nReadWritePaths=/var/lib/"
      "rotary\nUMask=0077\n";
  return out;
}

inline seconds agent_margin(minutes rotation_period) {
  return std::clamp<seconds>(std::chrono::duration_cast<seconds>(rotation_period) / 10, std::chrono::hours{1},
                             std::chrono::hours{6});
}

inline job_command agent_command(const advice& a) {
  job_command job;
  job.arguments.front() = "agent";
  job.arguments.emplace_back("--strategy");
  job.arguments.push_back("when-due:" + format_duration(agent_margin(a.request.rotation_period)));
  return job;
}

inline outcome<std::string, emit_error> emit_systemd_agent(const job_command& job) {
  if (job.program.empty()) return emit_error{"the program is empty"};
  std::vector<std::string> words{job.program};
  words.insert(words.end(), job.arguments.begin(), job.arguments.end());
  for (std::size_t i = 0; i < words.size(); ++i)
    if (!detail::decode_utf8(words[i])) return emit_error{detail::argument_name(i) + " is not valid UTF-8"};
  const auto exec = detail::systemd_exec(words);
  if (!exec) return exec.error();
  std::string out = "# rotary agent: rotates the token when it is due, as a service (no timer)\n";
  out +=
      "# /etc/systemd/system/rotary-agent.service\n"
      "[Unit]\nDescription=Rotate the API token when due (rotary agent)\n"
      "Wants=network-online.target\nAfter=network-online.target\n\n"
      "[Service]\nType=simple\nExecStart=" +
      *exec +
      "\nExecReload=/bin/kill -HUP $MAINPID\n"
      "Restart=on-failure\nRestartSec=30s\n"
      "PrivateTmp=true\nNoNewPrivileges=true\nProtectSystem=strict\nReadWritePaths=/var/lib/rotary\n"
      "UMask=0077\n\n"
      "[Install]\nWantedBy=multi-user.target\n";
  return out;
}

inline outcome<std::string, emit_error> emit_kubernetes(const advice& a, const job_command& job) {
  auto words = detail::job_words(a, job);
  if (!words) return words.error();
  std::string args;
  for (std::size_t i = 1; i < words->size(); ++i)
    args += (i == 1 ? "" : ", ") + detail::yaml_string((*words)[i]);
  std::string out = detail::advice_header(a);
  out +=
      "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: rotary-rotate\nspec:\n"
      "  schedule: " +
      detail::yaml_string(a.chosen->expression) + "\n  timeZone: " + detail::yaml_string(a.request.tz) +
      "\n"
      "  concurrencyPolicy: Forbid\n  startingDeadlineSeconds: 600\n"
      "  successfulJobsHistoryLimit: 3\n  failedJobsHistoryLimit: 5\n"
      "  jobTemplate:\n    spec:\n      backoffLimit: 0\n      template:\n        spec:\n"
      "          restartPolicy: Never\n          containers:\n            - name: rotate\n"
      "              image: rotary:latest\n"
      "              command: [" +
      detail::yaml_string(job.program) + "]\n              args: [" + args +
      "]\n              volumeMounts:\n                - {name: store, mountPath: /var/lib/rotary}\n"
      "                - {name: key, mountPath: /etc/rotary, readOnly: true}\n"
      "          volumes:\n            - name: store\n              persistentVolumeClaim: {claimName: "
      "rotary-store}\n"
      "            - name: key\n              secret: {secretName: rotary-store-key, defaultMode: 0400}\n";
  return out;
}

}  // namespace rotary
