// rotary next: the next fires of a cron expression, in UTC or in a time zone with the DST
// behaviour of the cron daemon (--dst cronie, the default, or --dst wallclock).
#include "command.hpp"

#include <chrono>
#include <cstdint>
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
  std::string tz = "UTC", from, count = "5", dst = "cronie";
  bool json = false;
};

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

int count_flag(const std::string& text) {
  std::int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || n > 1'000'000)
      throw cli::usage_error{"--count " + cli::escape(text) + ": expected a whole number from 1 to 100000"};
    n = n * 10 + (c - '0');
  }
  if (text.empty() || n < 1 || n > 100'000)
    throw cli::usage_error{"--count " + cli::escape(text) + ": expected a whole number from 1 to 100000"};
  return static_cast<int>(n);
}

// "2027-03-14 03:00 EDT"
std::string local_text(const time_zone* zone, sys_seconds t) {
  const auto info = zone->info(t);
  const std::string local = format_local(zone->to_local(t));
  return local.substr(0, 10) + " " + local.substr(11, 5) + " " + std::string(info.abbreviation);
}

int run(const options& o) {
  const std::string text = join(o.expression);
  const auto mode = parse_dst_mode(o.dst);
  if (!mode) throw cli::usage_error{"--dst " + cli::escape(o.dst) + ": expected cronie or wallclock"};
  const time_zone* zone = nullptr;
  if (o.tz != "UTC") {
    zone = find_zone(o.tz);
    if (!zone)
      throw cli::usage_error{"--tz " + cli::escape(o.tz) +
                             ": unknown time zone (expected an IANA name like Europe/Berlin)"};
  }
  const int count = count_flag(o.count);
  const sys_seconds from = o.from.empty() ? std::chrono::floor<seconds>(std::chrono::system_clock::now())
                                          : cli::time_flag("--from", o.from);

  nlohmann::ordered_json j;
  j["expression"] = text;
  j["tz"] = o.tz;
  j["dst"] = o.dst;
  const auto parsed = parse_cron(text);
  if (!parsed) {
    std::cerr << render(parsed.error(), text);
    if (o.json) {
      j["error"] = {{"column", parsed.error().column}, {"message", parsed.error().message}};
      j["fires"] = nlohmann::ordered_json::array();
      std::cout << j.dump(2) << "\n";
    }
    return cli::exit_found;
  }
  const cron_schedule schedule{*parsed, zone, *mode};
  struct run_line {
    sys_seconds at;
    int run, runs;
  };
  std::vector<run_line> lines;
  for (auto f = schedule.next_fire(from); f && static_cast<int>(lines.size()) < count;
       f = schedule.next_fire(f->at))
    for (int k = 1; k <= f->runs && static_cast<int>(lines.size()) < count; ++k)
      lines.push_back({f->at, k, f->runs});

  if (lines.empty()) {
    std::string why = "no fire after " + format_time(from);
    for (const auto& w : lint(*parsed))
      if (w.code == "never-fires") why = w.message;
    std::cerr << "rotary: error: " << cli::escape(text) << ": " << why << "\n";
  }
  if (o.json) {
    j["fires"] = nlohmann::ordered_json::array();
    for (const auto& l : lines) j["fires"].push_back(format_time(l.at));
    std::cout << j.dump(2) << "\n";
  } else {
    for (const auto& l : lines) {
      std::cout << format_time(l.at);
      if (zone) {
        std::cout << "  " << local_text(zone, l.at);
        const std::int64_t local_s = to_unix(l.at + zone->offset(l.at));
        const auto local = detail::civil_from_days(detail::floor_div(local_s, 86'400));
        const auto mod = detail::floor_mod(local_s, 86'400);
        const bool on_time = parsed->matches(local.year, local.month, local.day, static_cast<int>(mod / 3600),
                                             static_cast<int>(mod / 60 % 60));
        if (l.runs > 1)
          std::cout << "  (run " << l.run << " of " << l.runs
                    << ": cronie catches up skipped times after a DST jump)";
        else if (!on_time)
          std::cout << "  (cronie catches up a time skipped by a DST jump)";
      }
      std::cout << "\n";
    }
  }
  return lines.empty() ? cli::exit_found : cli::exit_ok;
}

}  // namespace

ROTARY_COMMAND(
    "next", "The next fires of a cron expression (in UTC, or in a zone with DST rules)",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<options>();
      app.add_option("expression", o->expression,
                     "Cron expression: five fields (quote it) or a macro like @daily")
          ->required();
      app.add_option("--tz", o->tz, "IANA time zone the expression is read in (default UTC)");
      app.add_option("--from", o->from, "Start after this instant (ISO-8601; default now)");
      app.add_option("--count", o->count, "How many runs to list (default 5)");
      app.add_option("--dst", o->dst,
                     "DST behaviour in a zone: cronie (default; what cronie does) or wallclock "
                     "(skipped times never run, repeated times run twice)");
      app.add_flag("--json", o->json, "Print {\"expression\", \"tz\", \"fires\": [...]} (UTC)");
      app.footer(
          "Times print in UTC, followed by the local time when --tz is given. When cronie catches up\n"
          "several skipped minutes after a DST jump, the instant appears once per run.\n"
          "Exit codes: 0 ok, 1 invalid expression (diagnostic on stderr) or no fire at all, 2 usage.");
      return [o] { return run(*o); };
    });
