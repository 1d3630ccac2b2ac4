// rotary advise: the schedule with the fewest rotations that tolerates K failed runs in a row,
// the trade-off table, and the crontab line, systemd timer or Kubernetes CronJob to install it.
#include "command.hpp"
#include "scenario_flags.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <rotary/advise.hpp>

namespace {

using namespace rotary;

struct options {
  std::string period, buffer = "10", tolerate = "2", tz = "UTC", emit, command;
  bool json = false;
};

std::string tolerance_text(const std::optional<std::int64_t>& t) { return t ? std::to_string(*t) : "any"; }

int run(const options& o) {
  advice_request req;
  req.rotation_period = cli::minutes_flag("--period", o.period);
  req.buffer = cli::duration_flag("--buffer", o.buffer, bare_number::in_minutes);
  req.tolerate = static_cast<int>(cli::integer_flag("--tolerate", o.tolerate, 0, 1000));
  if (o.tz != "UTC" && !find_zone(o.tz))
    throw cli::usage_error{"--tz " + cli::escape(o.tz) +
                           ": unknown time zone (expected an IANA name like Europe/Berlin)"};
  req.tz = o.tz;
  if (!o.emit.empty() && o.emit != "crontab" && o.emit != "systemd" && o.emit != "kubernetes" &&
      o.emit != "systemd-agent")
    throw cli::usage_error{"--emit " + cli::escape(o.emit) +
                           ": expected crontab, systemd, kubernetes or systemd-agent"};
  const auto a = advise(req);
  if (!a) throw cli::usage_error{a.error().field + ": " + a.error().message};
  job_command job = o.emit == "systemd-agent" ? agent_command(*a) : job_command{};
  if (!o.command.empty()) {
    auto words = split_command(o.command);
    if (!words) throw cli::usage_error{"--command: " + words.error().message};
    if (words->empty()) throw cli::usage_error{"--command: no arguments"};
    job.arguments = std::move(*words);
  }
  const auto emitted = [&]() -> std::string {
    if (o.emit == "systemd-agent") {  // needs no schedule: the agent wakes when a rotation is due
      auto unit = emit_systemd_agent(job);
      if (!unit) throw cli::usage_error{"--emit systemd-agent: " + unit.error().message};
      return std::move(*unit);
    }
    if (!a->chosen) return "";
    auto text = o.emit == "crontab"   ? emit_crontab(*a, job)
                : o.emit == "systemd" ? emit_systemd(*a, job)
                                      : emit_kubernetes(*a, job);
    if (!text) throw cli::usage_error{"--emit " + cli::escape(o.emit) + ": " + text.error().message};
    return std::move(*text);
  };

  if (o.json) {
    nlohmann::ordered_json j;
    j["rotationPeriodMinutes"] = req.rotation_period.count();
    j["tolerate"] = req.tolerate;
    j["tz"] = req.tz;
    auto candidate = [](const advice_candidate& c) {
      return nlohmann::ordered_json{
          {"expression", c.expression},
          {"every", c.every},
          {"rotationsPerYear", c.rotations_per_year},
          {"toleratedFailures",
           c.tolerated_failures ? nlohmann::ordered_json(*c.tolerated_failures) : nlohmann::ordered_json()},
          {"worstGapSeconds", c.worst_gap.count()},
          {"marginSeconds", c.margin.count()},
          {"holds", c.holds}};
    };
    j["chosen"] = a->chosen ? candidate(*a->chosen) : nlohmann::ordered_json();
    j["candidates"] = nlohmann::ordered_json::array();
    for (const auto& c : a->candidates) j["candidates"].push_back(candidate(c));
    if (!o.emit.empty()) j["emitted"] = emitted();
    std::cout << j.dump(2) << "\n";
    return a->chosen || o.emit == "systemd-agent" ? cli::exit_ok : cli::exit_found;
  }
  if (!o.emit.empty()) {
    if (!a->chosen && o.emit != "systemd-agent") {
      std::cerr << "rotary: no schedule up to hourly tolerates " << req.tolerate << " failed runs in a row\n";
      return cli::exit_found;
    }
    std::cout << emitted();
    return cli::exit_ok;
  }
  std::cout << "A " << req.rotation_period.count() << "-minute token ("
            << format_duration(req.rotation_period) << "), tolerating " << req.tolerate
            << " failed runs in a row, in " << req.tz << ":\n\n";
  std::printf("  %-26s %6s %10s %10s %10s\n", "schedule", "every", "rotations", "tolerates", "margin");
  for (auto it = a->candidates.rbegin(); it != a->candidates.rend(); ++it) {
    const bool chosen = a->chosen && a->chosen->expression == it->expression;
    std::printf("%s %-26s %6s %10lld %10s %10s%s\n", chosen ? ">" : " ", it->expression.c_str(),
                it->every.c_str(), static_cast<long long>(it->rotations_per_year),
                tolerance_text(it->tolerated_failures).c_str(),
                it->holds ? format_duration(it->margin).c_str() : "lapses", chosen ? "  <- advised" : "");
  }
  std::fflush(stdout);
  std::cout << "\nrotations: per year, each one a response that could be lost (an exposure).\n"
               "tolerates: consecutive failed runs survivable anywhere in the year.\n";
  if (!a->chosen) {
    std::cout << "No schedule up to hourly tolerates " << req.tolerate << " failed runs: lower --tolerate or "
              << "ask for a longer rotation period.\n";
    return cli::exit_found;
  }
  std::cout << "\nAdvice: " << a->chosen->expression << (req.tz == "UTC" ? "" : " (CRON_TZ=" + req.tz + ")")
            << ". Install it with --emit crontab, systemd or kubernetes; or run rotary agent as a service "
               "(--emit systemd-agent).\n";
  return cli::exit_ok;
}

}  // namespace

ROTARY_COMMAND(
    "advise", "Propose the schedule with the fewest rotations that tolerates K failed runs",
    [](CLI::App& app) {
      auto o = std::make_shared<options>();
      app.add_option("--period", o->period, "Rotation period in minutes (or a duration)")->required();
      app.add_option("--buffer", o->buffer, "Buffer after rotation, minutes (default 10)");
      app.add_option("--tolerate", o->tolerate, "Consecutive failed runs to survive (default 2)");
      app.add_option("--tz", o->tz, "IANA time zone the schedule runs in (default UTC)");
      app.add_option("--emit", o->emit,
                     "Print a crontab line, a systemd timer + service, a kubernetes CronJob, or\n"
                     "(systemd-agent) a systemd service running rotary agent instead of a timer");
      app.add_option("--command", o->command,
                     "Arguments for rotary in the emitted job, split like a shell command line\n"
                     "(quotes and backslashes, no expansion); default: a rotate template");
      app.add_flag("--json", o->json, "Print one JSON document");
      app.footer(
          "Each argument of --command is quoted for the target (cron's % and /bin/sh, systemd's\n"
          "quoting, % specifiers and $, YAML); what the target cannot hold (a newline in a crontab)\n"
          "is refused.\n"
          "Exit status: 0 a schedule was found, 1 none tolerates K failures, 2 usage.\n"
          "Example: rotary advise --period 3600 --tolerate 2 --tz Europe/Berlin --emit crontab");
      return [o] { return run(*o); };
    });
