// rotary check: will this schedule keep the token alive? The verdict, the margin, the failures
// tolerated, the lapse probability, and a picture.
#include "command.hpp"
#include "scenario_flags.hpp"
#include "work_estimate.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <rotary/json.hpp>
#include <rotary/report.hpp>
#include <rotary/scenario.hpp>

namespace {

using namespace rotary;

struct options {
  cli::scenario_flags scenario;
  std::string svg, save;
  bool json = false, long_work = false, progress = false;
};

int run(CLI::App& app, const options& o) {
  auto built = o.scenario.build(app);
  const auto plan = prepare(built.value);
  if (!plan) throw cli::usage_error{plan.error().field + ": " + plan.error().message};
  auto options = options_of(built.value);
  const cli::work_estimate work{1, cli::fire_steps(*plan, options), 1, 0};
  cli::refuse_long_work("check", work, o.long_work);
  const bool progress = cli::show_progress(o.progress, o.long_work, work);
  cli::progress_bar bar("check", "trials", progress);  // Monte Carlo: the only long part
  if (progress) options.progress = [&bar](std::int64_t done, std::int64_t total) { bar.update(done, total); };
  const auto r = analyse(*plan, options);
  bar.finish();
  if (!o.svg.empty()) {
    // The picture's time axis in the schedule's zone (UTC: none).
    const auto* cron = std::get_if<cron_spec>(&built.value.schedule);
    const svg_options svg{cron && cron->tz != "UTC" && cron->tz != "Etc/UTC" ? find_zone(cron->tz) : nullptr};
    cli::write_file("--svg", o.svg, render_svg(*plan, r, svg));
  }
  if (!o.save.empty())
    cli::write_file("--save-scenario", o.save, nlohmann::ordered_json(built.value).dump(2) + "\n");
  if (o.json) {
    std::cout << nlohmann::ordered_json(r).dump(2) << "\n";
  } else {
    if (built.is_example)
      std::cout << "No schedule given: checking the built-in example (see rotary check --help).\n";
    std::cout << format_text(r, cli::describe(built.value));
  }
  return r.holds ? cli::exit_ok : cli::exit_found;
}

}  // namespace

ROTARY_COMMAND(
    "check", "Check a schedule against the rules: verdict, margin, failures tolerated, lapse risk",
    [](CLI::App& app) {
      auto o = std::make_shared<options>();
      o->scenario.add(app);
      app.add_option("--svg", o->svg, "Write a timeline picture (SVG) to FILE");
      app.add_option("--save-scenario", o->save, "Write the scenario as JSON to FILE (for --scenario)");
      app.add_flag("--json", o->json, "Print the report as one JSON document");
      app.add_flag("--long", o->long_work, "Allow work estimated at over an hour");
      app.add_flag("--progress", o->progress,
                   "Show a progress bar with an ETA on stderr, even when not a terminal");
      app.footer(
          "With no flags, checks the built-in example: the guide's 3600-minute token created\n"
          "2027-01-01T00:00:00Z, expiring a year later, rotated daily at 03:17 UTC. Flags override\n"
          "the example (or the --scenario file) field by field. Without --scenario, the token is\n"
          "the one --created describes, or else created fresh at --from; the horizon starts at\n"
          "--from, or else at the creation; a token moved so expires a year after its creation\n"
          "unless --expires is given.\n"
          "The work (fires x passes: 4, 1 + retries for the exact risk, 1 per Monte Carlo trial) is\n"
          "estimated first at 25 million fire-steps a second: over an hour is refused unless --long;\n"
          "over 2 s a terminal gets a progress bar (--progress: always).\n"
          "Exit status: 0 the schedule holds, 1 it lapses (or the risk exceeds --max-risk), 2 usage.\n"
          "Example: rotary check --cron '0 */12 * * *' --tz Europe/Berlin --period 1440 --fail-rate 0.05");
      return [o, &app] { return run(app, *o); };
    });
