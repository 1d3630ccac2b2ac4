// rotary drill: the real rotation job against the fake server in warped time, compared with
// the simulator event by event.
#include "command.hpp"
#include "scenario_flags.hpp"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <rotary/drill.hpp>
#include <rotary/json.hpp>

namespace {

using namespace rotary;

struct options {
  cli::scenario_flags scenario;
  std::string warp = "max";
  bool json = false;
};

nlohmann::ordered_json step_json(const drill_step& s) {
  return {{"fire", format_time(s.fire)},
          {"outcome", s.outcome},
          {"created", s.created ? nlohmann::ordered_json(format_time(*s.created)) : nlohmann::ordered_json()},
          {"attempts", s.attempts}};
}

int run(CLI::App& app, const options& o) {
  auto built = o.scenario.build(app);
  const auto plan = prepare(built.value);
  if (!plan) throw cli::usage_error{plan.error().field + ": " + plan.error().message};
  drill_options d;
  d.seed = built.value.seed;
  d.consumers = built.value.consumers;
  if (o.warp != "max") {
    double f = 0;
    const auto [end, ec] = std::from_chars(o.warp.data(), o.warp.data() + o.warp.size(), f);
    if (ec != std::errc{} || end != o.warp.data() + o.warp.size() || !(f > 0 && f <= 1e12))
      throw cli::usage_error{"--warp " + cli::escape(o.warp) + ": expected max or a factor like 86400"};
    d.warp = f;
  }
  const bool bar = isatty(STDERR_FILENO) != 0;
  if (bar)
    d.on_progress = [](const drill_progress& p) {
      std::fprintf(stderr, "\rdrill %s  %zu/%zu runs  %lld rotations  %lld failed   ",
                   format_time(p.now).c_str(), p.fires_done, p.fires_total,
                   static_cast<long long>(p.rotations), static_cast<long long>(p.failures));
      std::fflush(stderr);
    };
  drill_result r;
  try {
    r = run_drill(*plan, d);
  } catch (const drill_error& e) {
    throw cli::usage_error{e.what()};
  }
  if (bar) std::fprintf(stderr, "\n");

  if (o.json) {
    nlohmann::ordered_json j;
    j["agrees"] = r.agrees;
    j["divergence"] =
        r.divergence_text.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.divergence_text);
    j["runs"] = r.observed.size();
    j["rotateRequests"] = r.rotate_requests;
    j["serverRotations"] = r.server_rotations;
    j["consumerCalls"] = r.consumer_calls;
    j["consumerRejections"] = r.consumer_rejections;
    j["predictedRejections"] = r.predicted_rejections;
    j["realSeconds"] = r.real_seconds;
    j["simulatedDaysPerSecond"] = r.simulated_days_per_second;
    j["observedLapse"] =
        r.observed_lapse ? nlohmann::ordered_json(format_time(*r.observed_lapse)) : nlohmann::ordered_json();
    j["report"] = nlohmann::ordered_json(r.predicted);
    j["report"].erase("seed");
    j["expected"] = nlohmann::ordered_json::array();
    j["observed"] = nlohmann::ordered_json::array();
    for (const auto& s : r.expected) j["expected"].push_back(step_json(s));
    for (const auto& s : r.observed) j["observed"].push_back(step_json(s));
    std::cout << j.dump(2) << "\n";
    return r.agrees ? cli::exit_ok : cli::exit_found;
  }
  if (!r.agrees) {
    std::cout << "DIVERGES: " << r.divergence_text << "\n";
  } else {
    std::cout << format_text(r.predicted, cli::describe(built.value));
    char line[200];
    std::snprintf(
        line, sizeof line,
        "drill       the real job agrees run by run: %zu runs, %lld rotate requests, %lld rotations on "
        "the server\n",
        r.observed.size(), static_cast<long long>(r.rotate_requests),
        static_cast<long long>(r.server_rotations));
    std::cout << line;
    if (d.consumers.count > 0)
      std::cout << "readers     " << r.consumer_calls << " calls, " << r.consumer_rejections
                << " rejected with a dead secret (predicted " << r.predicted_rejections << ")\n";
    std::snprintf(line, sizeof line, "speed       %.0f simulated days per second (%.2f s)\n",
                  r.simulated_days_per_second, r.real_seconds);
    std::cout << line;
  }
  return r.agrees ? cli::exit_ok : cli::exit_found;
}

}  // namespace

ROTARY_COMMAND(
    "drill", "Run the real rotation job against the fake server in warped time; compare with check",
    [](CLI::App& app) {
      auto o = std::make_shared<options>();
      o->scenario.add(app);
      app.add_option("--warp", o->warp, "max (default: jump to the next event) or a speed factor like 86400");
      app.add_flag("--json", o->json, "Print the result as one JSON document");
      app.footer(
          "Takes the scenario flags of rotary check. Exit status: 0 the job did what the simulator\n"
          "predicted, 1 it diverged (the first diverging run is printed with both sides), 2 usage.\n"
          "Example: rotary drill --cron '*/15 * * * *' --period 1440 --fail-rate 0.1 --retries 2 --horizon "
          "30d");
      return [o, &app] { return run(app, *o); };
    });
