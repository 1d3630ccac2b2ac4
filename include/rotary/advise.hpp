// rotary/advise.hpp: the schedule to use for a rotation period, and how to install it.
//
//     auto a = rotary::advise({.rotation_period = std::chrono::minutes{3600}, .tolerate = 2,
//                              .tz = "Europe/Berlin"}).value();
//     a.chosen->expression;                 // "17 3,15 * * *": twice a day
//     rotary::emit_crontab(a, command);     // CRON_TZ=Europe/Berlin + the crontab line
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

#include <rotary/outcome.hpp>
#include <rotary/scenario.hpp>
#include <rotary/simulate.hpp>
#include <rotary/time.hpp>

#include <optional>
#include <string>
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

// What to run at each fire, for the emitters.
struct job_command {
  std::string program = "/usr/local/bin/rotary";
  std::string arguments =
      "rotate --endpoint https://example.com/api/index/v1/rotatetoken --store /var/lib/rotary/token.store "
      "--key-file /etc/rotary/store.key";
};

[[nodiscard]] std::string emit_crontab(const advice& a, const job_command& job = {});
[[nodiscard]] std::string emit_systemd(const advice& a, const job_command& job = {});
[[nodiscard]] std::string emit_kubernetes(const advice& a, const job_command& job = {});

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

inline std::string emit_crontab(const advice& a, const job_command& job) {
  if (!a.chosen) return "";
  std::string out = detail::advice_header(a);
  if (a.request.tz != "UTC") out += "CRON_TZ=" + a.request.tz + "\n";
  out += a.chosen->expression + " " + job.program + " " + job.arguments + "\n";
  return out;
}

inline std::string emit_systemd(const advice& a, const job_command& job) {
  if (!a.chosen) return "";
  // OnCalendar from the cron fields: minute, hour list, weekday.
  const std::string& e = a.chosen->expression;
  const auto first_space = e.find(' ');
  const auto second_space = e.find(' ', first_space + 1);
  const std::string minute = e.substr(0, first_space);
  std::string hour = e.substr(first_space + 1, second_space - first_space - 1);
  if (hour == "*")
    hour = "*";
  else if (hour.rfind("*/", 0) == 0)
    hour = "00/" + hour.substr(2);
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
      job.program + " " + job.arguments +
      "\n"
      "PrivateTmp=true\nNoNewPrivileges=true\nProtectSystem=strict\nReadWritePaths=/var/lib/"
      "rotary\nUMask=0077\n";
  return out;
}

inline std::string emit_kubernetes(const advice& a, const job_command& job) {
  if (!a.chosen) return "";
  std::string out = detail::advice_header(a);
  out +=
      "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: rotary-rotate\nspec:\n"
      "  schedule: \"" +
      a.chosen->expression +
      "\"\n"
      "  timeZone: \"" +
      a.request.tz +
      "\"\n"
      "  concurrencyPolicy: Forbid\n  startingDeadlineSeconds: 600\n"
      "  successfulJobsHistoryLimit: 3\n  failedJobsHistoryLimit: 5\n"
      "  jobTemplate:\n    spec:\n      backoffLimit: 0\n      template:\n        spec:\n"
      "          restartPolicy: Never\n          containers:\n            - name: rotate\n"
      "              image: rotary:latest\n"
      "              command: [\"" +
      job.program +
      "\"]\n"
      "              args: [";
  // The arguments, one quoted YAML string each.
  std::string args = job.arguments;
  bool first = true;
  std::size_t pos = 0;
  while (pos < args.size()) {
    const auto end = args.find(' ', pos);
    const std::string word = args.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (!word.empty()) {
      out += std::string(first ? "" : ", ") + "\"" + word + "\"";
      first = false;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  out +=
      "]\n              volumeMounts:\n                - {name: store, mountPath: /var/lib/rotary}\n"
      "                - {name: key, mountPath: /etc/rotary, readOnly: true}\n"
      "          volumes:\n            - name: store\n              persistentVolumeClaim: {claimName: "
      "rotary-store}\n"
      "            - name: key\n              secret: {secretName: rotary-store-key, defaultMode: 0400}\n";
  return out;
}

}  // namespace rotary
