// rotary sweep: many scenarios (a grid over flags, or a JSON list) checked in parallel, one
// result per line (JSON Lines or CSV), in scenario order, shardable across machines.
#include "command.hpp"
#include "scenario_flags.hpp"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <rotary/json.hpp>
#include <rotary/report.hpp>
#include <rotary/scenario.hpp>
#include <thread>

namespace {

using namespace rotary;

struct options {
  cli::scenario_flags base;
  std::vector<std::string> vary;
  std::string scenarios, format = "jsonl", threads, shard;
};

// The flags --vary may name, and where their value goes.
std::string* flag_field(cli::scenario_flags& f, const std::string& name) {
  const std::map<std::string, std::string cli::scenario_flags::*> fields = {
      {"cron", &cli::scenario_flags::cron},
      {"every", &cli::scenario_flags::every},
      {"tz", &cli::scenario_flags::tz},
      {"dst", &cli::scenario_flags::dst},
      {"period", &cli::scenario_flags::period},
      {"buffer", &cli::scenario_flags::buffer},
      {"created", &cli::scenario_flags::created},
      {"expires", &cli::scenario_flags::expires},
      {"from", &cli::scenario_flags::from},
      {"until", &cli::scenario_flags::until},
      {"horizon", &cli::scenario_flags::horizon},
      {"fail-rate", &cli::scenario_flags::fail_rate},
      {"lost-rate", &cli::scenario_flags::lost_rate},
      {"retries", &cli::scenario_flags::retries},
      {"retry-delay", &cli::scenario_flags::retry_delay},
      {"strategy", &cli::scenario_flags::strategy},
      {"trials", &cli::scenario_flags::trials},
      {"seed", &cli::scenario_flags::seed},
      {"max-risk", &cli::scenario_flags::max_risk},
      {"rerotate", &cli::scenario_flags::rerotate},
      {"skew", &cli::scenario_flags::skew},
      {"consumers", &cli::scenario_flags::consumers},
      {"reload", &cli::scenario_flags::reload},
      {"job-duration", &cli::scenario_flags::job_duration},
  };
  const auto it = fields.find(name);
  return it == fields.end() ? nullptr : &(f.*(it->second));
}

struct point {
  std::vector<std::pair<std::string, std::string>> params;
  scenario s;
};

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

int run(CLI::App& app, const options& o) {
  if (o.format != "jsonl" && o.format != "csv")
    throw cli::usage_error{"--format " + o.format + ": expected jsonl or csv"};
  std::int64_t shard_k = 1, shard_n = 1;
  if (!o.shard.empty()) {
    const auto slash = o.shard.find('/');
    if (slash == std::string::npos) throw cli::usage_error{"--shard " + o.shard + ": expected K/N, like 2/8"};
    shard_n = cli::integer_flag("--shard " + o.shard + ": N", o.shard.substr(slash + 1), 1, 1'000'000);
    shard_k = cli::integer_flag("--shard " + o.shard + ": K", o.shard.substr(0, slash), 1, shard_n);
  }
  const auto threads = o.threads.empty()
                           ? std::max(1u, std::thread::hardware_concurrency())
                           : static_cast<unsigned>(cli::integer_flag("--threads", o.threads, 1, 1024));

  // The points: a JSON list, or the grid (cartesian product of --vary values, in flag order).
  std::vector<point> points;
  std::vector<std::string> names;
  if (!o.scenarios.empty()) {
    if (!o.vary.empty()) throw cli::usage_error{"--scenarios and --vary cannot be used together"};
    const auto text = cli::read_file("--scenarios", o.scenarios);
    std::vector<nlohmann::json> docs;
    try {
      const auto first = text.find_first_not_of(" \t\r\n");
      if (first != std::string::npos && text[first] == '[') {
        for (const auto& d : detail::parse_json_text(text)) docs.push_back(d);
      } else {
        std::size_t pos = 0;
        while (pos < text.size()) {
          auto end = text.find('\n', pos);
          if (end == std::string::npos) end = text.size();
          const auto line = text.substr(pos, end - pos);
          if (line.find_first_not_of(" \t\r") != std::string::npos)
            docs.push_back(detail::parse_json_text(line));
          pos = end + 1;
        }
      }
      for (std::size_t i = 0; i < docs.size(); ++i) points.push_back({{}, docs[i].get<scenario>()});
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
      throw cli::usage_error{"--scenarios " + o.scenarios + ": not JSON: " + detail::json_parse_message(e)};
    } catch (const json_error& e) {
      throw cli::usage_error{"--scenarios " + o.scenarios + " (scenario " +
                             std::to_string(points.size() + 1) + "): " + e.what()};
    }
  } else {
    std::vector<std::pair<std::string, std::vector<std::string>>> axes;
    for (const auto& v : o.vary) {
      const auto eq = v.find('=');
      if (eq == std::string::npos)
        throw cli::usage_error{"--vary " + v + ": expected FLAG=VALUE, like fail-rate=0.05"};
      const auto name = v.substr(0, eq);
      cli::scenario_flags probe;
      if (!flag_field(probe, name))
        throw cli::usage_error{"--vary " + v + ": " + name + " is not a scenario flag"};
      auto it = std::find_if(axes.begin(), axes.end(), [&](const auto& a) { return a.first == name; });
      if (it == axes.end()) {
        axes.push_back({name, {}});
        it = axes.end() - 1;
        names.push_back(name);
      }
      it->second.push_back(v.substr(eq + 1));
    }
    std::size_t total = 1;
    for (const auto& a : axes) {
      total *= a.second.size();
      if (total > 10'000'000) throw cli::usage_error{"--vary: more than 10 million scenarios"};
    }
    for (std::size_t i = 0; i < total; ++i) {
      cli::scenario_flags flags = o.base;
      point p;
      std::size_t rest = i;
      for (auto a = axes.rbegin(); a != axes.rend(); ++a) {
        const auto& value = a->second[rest % a->second.size()];
        rest /= a->second.size();
        *flag_field(flags, a->first) = value;
        p.params.insert(p.params.begin(), {a->first, value});
      }
      try {
        p.s = flags.build(app).value;
      } catch (const cli::usage_error& e) {
        throw cli::usage_error{"scenario " + std::to_string(i + 1) + ": " + e.what};
      }
      points.push_back(std::move(p));
    }
  }

  if (points.empty()) throw cli::usage_error{"--scenarios " + o.scenarios + ": no scenarios in the file"};

  // This shard's points: every N-th, starting at K (1-based), by index.
  std::vector<std::size_t> mine;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (static_cast<std::int64_t>(i % static_cast<std::size_t>(shard_n)) == shard_k - 1) mine.push_back(i);

  std::vector<std::optional<std::string>> lines(mine.size());
  std::mutex m;
  std::condition_variable ready;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> any_lapse{false};
  auto work = [&] {
    for (std::size_t k = next++; k < mine.size(); k = next++) {
      const auto& p = points[mine[k]];
      nlohmann::ordered_json out;
      out["index"] = mine[k] + 1;
      nlohmann::ordered_json params = nlohmann::ordered_json::object();
      for (const auto& [n, v] : p.params) params[n] = v;
      out["params"] = params;
      const auto plan = prepare(p.s);
      std::string line;
      if (!plan) {
        any_lapse = true;
        out["error"] = plan.error().field + ": " + plan.error().message;
      } else {
        auto opts = options_of(p.s);
        opts.keep_events = false;
        const auto r = analyse(*plan, opts);
        if (!r.holds) any_lapse = true;
        out["report"] = nlohmann::ordered_json(r);
      }
      if (o.format == "jsonl") {
        line = out.dump() + "\n";
      } else {
        line = std::to_string(mine[k] + 1);
        for (const auto& [n, v] : p.params) line += "," + csv_field(v);
        if (out.contains("error")) {
          line += ",error,,,,,,,," + csv_field(out["error"].get<std::string>());
        } else {
          const auto& r = out["report"];
          auto cell = [](const nlohmann::ordered_json& v) {
            return v.is_null() ? std::string() : v.is_string() ? v.get<std::string>() : v.dump();
          };
          line += "," + cell(r["verdict"]) + "," + cell(r["rotations"]) + "," + cell(r["failedRuns"]) + "," +
                  cell(r["marginSeconds"]) + "," + cell(r["toleratedFailures"]) + "," +
                  cell(r["lapseProbability"]) + "," +
                  (r["firstLapse"].is_null()
                       ? ","
                       : cell(r["firstLapse"]["at"]) + "," + cell(r["firstLapse"]["rule"])) +
                  ",";
        }
        line += "\n";
      }
      {
        std::lock_guard lock(m);
        lines[k] = std::move(line);
      }
      ready.notify_one();
    }
  };
  if (o.format == "csv") {
    std::cout << "index";
    for (const auto& n : names) std::cout << "," << n;
    std::cout << ",verdict,rotations,failedRuns,marginSeconds,toleratedFailures,lapseProbability,"
                 "firstLapseAt,firstLapseRule,error\n";
  }
  const bool progress = isatty(STDERR_FILENO) != 0;
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 0; t < std::min<std::size_t>(threads, std::max<std::size_t>(mine.size(), 1)); ++t)
      pool.emplace_back(work);
    for (std::size_t k = 0; k < mine.size(); ++k) {
      std::string line;
      {
        std::unique_lock lock(m);
        ready.wait(lock, [&] { return lines[k].has_value(); });
        line = std::move(*lines[k]);
        lines[k].reset();
      }
      std::cout << line << std::flush;
      if (progress) {
        const int width = 30, done = static_cast<int>(width * (k + 1) / mine.size());
        std::cerr << "\rsweep " << (k + 1) << "/" << mine.size() << " ["
                  << std::string(static_cast<std::size_t>(done), '#')
                  << std::string(static_cast<std::size_t>(width - done), ' ') << "]" << std::flush;
      }
    }
  }
  if (progress) std::cerr << "\n";
  return any_lapse ? cli::exit_found : cli::exit_ok;
}

}  // namespace

ROTARY_COMMAND(
    "sweep", "Check many scenarios (a grid over flags or a JSON list) in parallel", [](CLI::App& app) {
      auto o = std::make_shared<options>();
      o->base.add(app);
      app.add_option("--vary", o->vary,
                     "FLAG=VALUE: one value of a scenario flag; repeat a flag for alternatives, "
                     "different flags multiply (cartesian product)");
      app.add_option("--scenarios", o->scenarios, "A JSON array or JSON Lines file of scenarios");
      app.add_option("--format", o->format, "jsonl (default) or csv");
      app.add_option("--threads", o->threads, "Worker threads (default: one per core)");
      app.add_option("--shard", o->shard, "K/N: only every N-th scenario from the K-th (1-based)");
      app.footer(
          "Results come in scenario order whatever the threads; a progress bar goes to stderr when it is\n"
          "a terminal. Exit status: 0 every scenario holds, 1 some lapse or are invalid, 2 usage.\n"
          "Example: rotary sweep --period 1440 --vary cron='0 */6 * * *' --vary cron='0 */8 * * *' \\\n"
          "           --vary fail-rate=0.01 --vary fail-rate=0.1 --format csv");
      return [o, &app] { return run(app, *o); };
    });
