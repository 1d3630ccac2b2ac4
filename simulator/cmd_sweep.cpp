// rotary sweep: many scenarios (a grid over flags, or a JSON list) checked in parallel, one
// result per line (JSON Lines or CSV), in scenario order, shardable across machines.
//
// The grid is never built: scenario i is decoded from its index (mixed radix, the last --vary
// flag fastest) when a worker takes it, and a shard enumerates its own indices K-1, K-1+N, ...
// Workers run at most a small window ahead of the output, so memory is O(threads).
#include "command.hpp"
#include "scenario_flags.hpp"
#include "work_estimate.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <new>
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
  bool long_work = false, progress = false;
};

// The flags --vary may name, and where their value goes.
std::string* flag_field(cli::scenario_flags& f, const std::string& name) {
  static const std::map<std::string, std::string cli::scenario_flags::*> fields = {
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

using params = std::vector<std::pair<std::string, std::string>>;

// The grid: the --vary flags in order of first appearance, each with its values. Scenario i has
// axis a at value (i / (product of the later axes' sizes)) % size(a): the last axis is fastest.
struct grid {
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;

  [[nodiscard]] std::uint64_t size() const {
    std::uint64_t n = 1;
    for (const auto& a : axes) n *= a.second.size();
    return n;
  }
  [[nodiscard]] params decode(std::uint64_t i) const {
    params out(axes.size());
    for (std::size_t a = axes.size(); a-- > 0;) {
      const auto& values = axes[a].second;
      out[a] = {axes[a].first, values[i % values.size()]};
      i /= values.size();
    }
    return out;
  }
  // The scenario with axis `a` at its value `v` and every other axis at its first value.
  [[nodiscard]] std::uint64_t index_of(std::size_t a, std::size_t v) const {
    std::uint64_t stride = 1;
    for (std::size_t b = a + 1; b < axes.size(); ++b) stride *= axes[b].second.size();
    return v * stride;
  }
};

// The scenarios of a sweep: the grid over the base flags, or the list of a --scenarios file.
struct source {
  const options& o;
  const CLI::App& app;
  grid g;
  std::vector<scenario> list;  // --scenarios: converted up front (the file is in memory anyway)
  bool from_file = false;

  [[nodiscard]] std::uint64_t size() const { return from_file ? list.size() : g.size(); }
  // Scenario i; `p` gets its --vary values (none for a file). Throws cli::usage_error for a
  // combination of values the flags refuse.
  [[nodiscard]] scenario make(std::uint64_t i, params& p) const {
    if (from_file) return list[static_cast<std::size_t>(i)];
    p = g.decode(i);
    cli::scenario_flags flags = o.base;
    for (const auto& [name, value] : p) *flag_field(flags, name) = value;
    return flags.build(app).value;
  }
};

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The line of scenario `index` (0-based) whose result is `out` ({index, params, report|error}).
std::string format_line(const std::string& format, std::uint64_t index, const params& p,
                        const nlohmann::ordered_json& out) {
  if (format == "jsonl")
    return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  std::string line = std::to_string(index + 1);
  for (const auto& [n, v] : p) line += "," + csv_field(v);
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
            (r["firstLapse"].is_null() ? ","
                                       : cell(r["firstLapse"]["at"]) + "," + cell(r["firstLapse"]["rule"])) +
            ",";
  }
  return line + "\n";
}

nlohmann::ordered_json params_json(const params& p) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [n, v] : p) j[n] = v;
  return j;
}

// What an exception caught while checking a scenario says, for its error line.
std::string exception_text() {
  try {
    throw;
  } catch (const cli::usage_error& e) {
    return e.what;
  } catch (const std::bad_alloc&) {
    return "out of memory (std::bad_alloc)";
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Scenario `index` checked and formatted. Whatever it throws (an invalid combination of --vary
// values, std::bad_alloc, an engine's std::logic_error) becomes its error line; `bad` is set
// when it lapses or has an error.
std::string check_one(const source& src, const std::string& format, std::uint64_t index, bool& bad) {
  params p;
  try {
    const scenario s = src.make(index, p);
    nlohmann::ordered_json out;
    out["index"] = index + 1;
    out["params"] = params_json(p);
    const auto plan = prepare(s);
    if (!plan) {
      bad = true;
      out["error"] = plan.error().field + ": " + plan.error().message;
    } else {
      auto opts = options_of(s);
      opts.keep_events = false;
      const auto r = analyse(*plan, opts);
      if (!r.holds) bad = true;
      out["report"] = nlohmann::ordered_json(r);
    }
    return format_line(format, index, p, out);
  } catch (...) {
    bad = true;
    nlohmann::ordered_json out;
    out["index"] = index + 1;
    out["params"] = params_json(p);
    out["error"] = exception_text();
    return format_line(format, index, p, out);
  }
}

// The work of `count` scenarios, the shard's positions 0..count-1 (`index_at` maps a position
// to its scenario): every scenario prepared when there are at most `sample` of them, else one
// at a fixed pseudo-random place in each of `sample` equal stretches, scaled up. A scenario
// that cannot be made or prepared counts nothing (its line will say why).
template <class IndexAt>
cli::work_estimate estimate(const source& src, std::uint64_t count, unsigned threads, IndexAt index_at) {
  constexpr std::uint64_t sample = 200;
  cli::work_estimate w{static_cast<std::int64_t>(count), 0, threads, 0};
  const std::uint64_t n = std::min(count, sample);
  std::vector<std::uint64_t> positions(static_cast<std::size_t>(n));
  for (std::uint64_t t = 0; t < n; ++t) {
    if (count <= sample) {
      positions[t] = t;
      continue;
    }
    const std::uint64_t lo = t * count / sample, hi = (t + 1) * count / sample;
    std::uint64_t z = (t + 1) * 0x9e3779b97f4a7c15ULL;  // splitmix64 of t
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    positions[t] = lo + (z ^ (z >> 31)) % (hi - lo);
  }
  std::vector<std::int64_t> steps(positions.size(), 0);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t k = next++; k < positions.size(); k = next++) {
      try {
        params p;
        const scenario s = src.make(index_at(positions[k]), p);
        if (const auto plan = prepare(s)) steps[k] = cli::fire_steps(*plan, options_of(s));
      } catch (...) {  // counted as nothing: the scenario's own line says what went wrong
      }
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < std::min<std::uint64_t>(threads, n); ++t) pool.emplace_back(work);
    work();
  }
  std::int64_t total = 0;
  for (const auto s : steps) total = cli::saturating_add(total, s);
  if (count > sample) {
    const auto scaled =  // exact below 2^64: a long double has 64 bits of mantissa
        static_cast<long double>(total) * static_cast<long double>(count) / static_cast<long double>(sample);
    total = scaled >= 9.2e18L ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(scaled);
    w.sampled = static_cast<std::int64_t>(sample);
  }
  w.fire_steps = total;
  return w;
}

// More scenarios than this in a grid are refused: beyond it even a shard of a million machines
// would be refused as hours of work; the bound also keeps the index arithmetic far from 2^64.
constexpr std::uint64_t grid_limit = 1'000'000'000'000;

int run(CLI::App& app, const options& o) {
  if (o.format != "jsonl" && o.format != "csv")
    throw cli::usage_error{"--format " + cli::escape(o.format) + ": expected jsonl or csv"};
  std::int64_t shard_k = 1, shard_n = 1;
  if (!o.shard.empty()) {
    const auto slash = o.shard.find('/');
    if (slash == std::string::npos)
      throw cli::usage_error{"--shard " + cli::escape(o.shard) + ": expected K/N, like 2/8"};
    shard_n =
        cli::integer_flag("--shard " + cli::escape(o.shard) + ": N", o.shard.substr(slash + 1), 1, 1'000'000);
    shard_k =
        cli::integer_flag("--shard " + cli::escape(o.shard) + ": K", o.shard.substr(0, slash), 1, shard_n);
  }
  const auto threads = o.threads.empty()
                           ? std::max(1u, std::thread::hardware_concurrency())
                           : static_cast<unsigned>(cli::integer_flag("--threads", o.threads, 1, 1024));

  // The scenarios: a JSON list, or the grid (cartesian product of --vary values, in flag order).
  source src{o, app, {}, {}, !o.scenarios.empty()};
  if (src.from_file) {
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
      for (std::size_t i = 0; i < docs.size(); ++i) src.list.push_back(docs[i].get<scenario>());
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
      throw cli::usage_error{"--scenarios " + cli::escape(o.scenarios) +
                             ": not JSON: " + cli::escape(detail::json_parse_message(e))};
    } catch (const json_error& e) {
      throw cli::usage_error{"--scenarios " + cli::escape(o.scenarios) + " (scenario " +
                             std::to_string(src.list.size() + 1) + "): " + e.what()};
    }
    if (src.list.empty())
      throw cli::usage_error{"--scenarios " + cli::escape(o.scenarios) + ": no scenarios in the file"};
  } else {
    auto& axes = src.g.axes;
    for (const auto& v : o.vary) {
      const auto eq = v.find('=');
      if (eq == std::string::npos)
        throw cli::usage_error{"--vary " + cli::escape(v) + ": expected FLAG=VALUE, like fail-rate=0.05"};
      const auto name = v.substr(0, eq);
      cli::scenario_flags probe;
      if (!flag_field(probe, name))
        throw cli::usage_error{"--vary " + cli::escape(v) + ": " + name + " is not a scenario flag"};
      auto it = std::find_if(axes.begin(), axes.end(), [&](const auto& a) { return a.first == name; });
      if (it == axes.end()) {
        axes.push_back({name, {}});
        it = axes.end() - 1;
      }
      it->second.push_back(v.substr(eq + 1));
    }
    std::uint64_t total = 1;
    for (const auto& a : axes) {
      if (a.second.size() > grid_limit / total)
        throw cli::usage_error{"--vary: more than a trillion (10^12) scenarios"};
      total *= a.second.size();
    }
    // Each value once, not each combination: the scenario with that value and every other axis
    // at its first value (the first scenario of the grid that has it). A value the flags refuse
    // is a usage error naming that scenario; a combination of valid values that the flags
    // refuse together is that scenario's error line.
    std::vector<std::uint64_t> probes{0};
    for (std::size_t a = 0; a < axes.size(); ++a)
      for (std::size_t v = 1; v < axes[a].second.size(); ++v) probes.push_back(src.g.index_of(a, v));
    std::sort(probes.begin(), probes.end());
    probes.erase(std::unique(probes.begin(), probes.end()), probes.end());
    for (const auto i : probes) {
      try {
        params p;
        (void)src.make(i, p);
      } catch (const cli::usage_error& e) {
        throw cli::usage_error{"scenario " + std::to_string(i + 1) + ": " + e.what};
      }
    }
  }

  // This shard's scenarios: every N-th index, from K-1 (0-based).
  const auto first = static_cast<std::uint64_t>(shard_k - 1), step = static_cast<std::uint64_t>(shard_n);
  const std::uint64_t total = src.size();
  const std::uint64_t mine = total > first ? (total - first - 1) / step + 1 : 0;
  auto index_at = [&](std::uint64_t k) { return first + k * step; };
  const auto used = static_cast<unsigned>(std::clamp<std::uint64_t>(mine, 1, threads));

  const auto work = estimate(src, mine, used, index_at);
  cli::refuse_long_work("sweep", work, o.long_work);
  cli::progress_bar bar("sweep", "scenarios", cli::show_progress(o.progress, o.long_work, work));

  if (o.format == "csv") {
    std::cout << "index";
    for (const auto& a : src.g.axes) std::cout << "," << a.first;
    std::cout << ",verdict,rotations,failedRuns,marginSeconds,toleratedFailures,lapseProbability,"
                 "firstLapseAt,firstLapseRule,error\n";
  }

  // Results in order: position k goes to slot k % window once it is done; a worker does not
  // start a position more than `window` past the last one printed.
  const std::size_t window = 4 * std::size_t{used};
  std::vector<std::optional<std::string>> slots(window);
  std::mutex m;
  std::condition_variable ready, room;
  std::uint64_t printed = 0;  // guarded by m, like slots, stop and fatal
  bool stop = false;
  std::exception_ptr fatal;  // what even an error line could not be made for
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> any_bad{false};
  auto worker = [&] {
    try {
      for (std::uint64_t k = next++; k < mine; k = next++) {
        {
          std::unique_lock lock(m);
          room.wait(lock, [&] { return stop || k < printed + window; });
          if (stop) return;
        }
        bool bad = false;
        auto line = check_one(src, o.format, index_at(k), bad);
        if (bad) any_bad = true;
        {
          std::lock_guard lock(m);
          slots[k % window] = std::move(line);
        }
        ready.notify_one();
      }
    } catch (...) {
      {
        std::lock_guard lock(m);
        if (!fatal) fatal = std::current_exception();
        stop = true;
      }
      ready.notify_all();
      room.notify_all();
    }
  };
  {
    std::vector<std::jthread> pool;
    struct stopper {  // runs before the pool joins: no worker waits for room that never comes
      std::mutex& m;
      bool& stop;
      std::condition_variable& room;
      ~stopper() {
        {
          std::lock_guard lock(m);
          stop = true;
        }
        room.notify_all();
      }
    } stop_workers{m, stop, room};
    for (unsigned t = 0; t < std::min<std::uint64_t>(used, mine); ++t) pool.emplace_back(worker);
    for (std::uint64_t k = 0; k < mine; ++k) {
      std::string line;
      {
        std::unique_lock lock(m);
        auto& slot = slots[k % window];
        ready.wait(lock, [&] { return slot.has_value() || fatal; });
        if (!slot) break;
        line = std::move(*slot);
        slot.reset();
        printed = k + 1;
      }
      room.notify_all();
      std::cout << line << std::flush;
      bar.update(static_cast<std::int64_t>(k + 1), static_cast<std::int64_t>(mine));
    }
  }
  bar.finish();
  if (fatal) std::rethrow_exception(fatal);
  return any_bad ? cli::exit_found : cli::exit_ok;
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
      app.add_flag("--long", o->long_work, "Allow work estimated at over an hour");
      app.add_flag("--progress", o->progress,
                   "Show a progress bar with an ETA on stderr, even when not a terminal");
      app.footer(
          "Results come in scenario order whatever the threads, each as soon as it and those before\n"
          "it are done; the grid is never built, so a shard costs only its own scenarios. A scenario\n"
          "that cannot be checked (an invalid combination, out of memory) is an error line.\n"
          "The work (fires x (4 + Monte Carlo trials) of each scenario) is estimated first at 25\n"
          "million fire-steps a second per thread: over an hour is refused unless --long; over 2 s\n"
          "a terminal gets a progress bar with an ETA (--progress: always, on stderr).\n"
          "Exit status: 0 every scenario holds, 1 some lapse or are invalid, 2 usage.\n"
          "Example: rotary sweep --period 1440 --vary cron='0 */6 * * *' --vary cron='0 */8 * * *' \\\n"
          "           --vary fail-rate=0.01 --vary fail-rate=0.1 --format csv");
      return [o, &app] { return run(app, *o); };
    });
