// rotary lint: errors (with the column and a caret) and warnings for a cron expression.
#include "command.hpp"

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <rotary/cron.hpp>
#include <rotary/schedule.hpp>
#include <string>
#include <vector>

namespace {

using namespace rotary;

struct options {
  std::vector<std::string> expression;
  std::string tz = "UTC", from;
  bool json = false;
};

int run(const options& o) {
  std::string text;
  for (const auto& p : o.expression) text += (text.empty() ? "" : " ") + p;
  const time_zone* zone = nullptr;
  if (o.tz != "UTC") {
    zone = find_zone(o.tz);
    if (!zone)
      throw cli::usage_error{"--tz " + cli::escape(o.tz) +
                             ": unknown time zone (expected an IANA name like Europe/Berlin)"};
  }
  const sys_seconds from = o.from.empty() ? std::chrono::floor<seconds>(std::chrono::system_clock::now())
                                          : cli::time_flag("--from", o.from);
  const auto parsed = parse_cron(text);
  std::vector<lint_finding> warnings;
  if (parsed)
    warnings = lint(*parsed, zone, from);
  else
    std::cerr << render(parsed.error(), text);

  if (o.json) {
    nlohmann::ordered_json j;
    j["expression"] = text;
    j["valid"] = parsed.has_value();
    j["errors"] = nlohmann::ordered_json::array();
    if (!parsed)
      j["errors"].push_back({{"column", parsed.error().column}, {"message", parsed.error().message}});
    j["warnings"] = nlohmann::ordered_json::array();
    for (const auto& w : warnings)
      j["warnings"].push_back({{"column", w.column}, {"code", w.code}, {"message", w.message}});
    std::cout << j.dump(2) << "\n";
  } else if (parsed) {
    for (const auto& w : warnings) std::cout << render(w.as_diagnostic(), text, "warning[" + w.code + "]");
    if (warnings.empty()) std::cout << "rotary: " << text << ": valid, no warnings\n";
  }
  return parsed ? cli::exit_ok : cli::exit_found;
}

}  // namespace

ROTARY_COMMAND(
    "lint", "Check a cron expression: errors with the column, and warnings for surprises",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<options>();
      app.add_option("expression", o->expression,
                     "Cron expression: five fields (quote it) or a macro like @daily")
          ->required();
      app.add_option("--tz", o->tz,
                     "IANA time zone: also warn about local times a DST jump skips or repeats");
      app.add_option("--from", o->from, "Look for DST jumps in the year from this instant (default now)");
      app.add_flag("--json", o->json,
                   "Print {\"valid\", \"errors\": [{\"column\", \"message\"}], "
                   "\"warnings\": [{\"column\", \"code\", \"message\"}]}");
      app.footer(
          "Warning codes: uneven-step, step-too-large, never-fires, rare-date, dom-dow-or, dom-dow-and,\n"
          "dst-skipped, dst-repeated (see docs/cron.md).\n"
          "Exit codes: 0 valid (even with warnings), 1 invalid (diagnostic on stderr), 2 usage.");
      return [o] { return run(*o); };
    });
