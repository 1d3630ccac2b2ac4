// Will a cron schedule keep a token alive? The simulator from C++: a scenario, its plan, the
// report, and the advised schedule.
#include <rotary/advise.hpp>
#include <rotary/report.hpp>
#include <rotary/scenario.hpp>

#include <iostream>

int main() {
  using namespace std::chrono_literals;
  rotary::scenario s;
  s.rotation_period = 1440min;  // the API's minimum
  s.created_at = rotary::parse_time("2027-01-01T00:00:00Z").value();
  s.schedule = rotary::cron_spec{"0 */12 * * *", "Europe/Berlin"};
  s.horizon = rotary::days{365};

  const auto plan = rotary::prepare(s).value();
  const auto report = rotary::analyse(plan, rotary::options_of(s));
  std::cout << rotary::format_text(report, "twice a day in Berlin:");

  s.fail_rate = 0.01;  // one attempt in a hundred fails: what is the risk over the year?
  const auto risky = rotary::analyse(rotary::prepare(s).value(), rotary::options_of(s));
  std::cout << "lapse probability with 1% failures: " << *risky.lapse_probability << " ("
            << risky.probability_method << ")\n";

  const auto advice =
      rotary::advise({.rotation_period = 1440min, .tolerate = 2, .tz = "Europe/Berlin"}).value();
  std::cout << "advised: " << advice.chosen->expression << ", " << advice.chosen->rotations_per_year
            << " rotations a year\n";

  // The crontab entry for it: every argument quoted for cron and /bin/sh (a path with a space).
  const rotary::job_command job{
      "/usr/local/bin/rotary",
      {"rotate", "--store", "/var/lib/my tokens/t.store", "--key-file", "/etc/rotary/k"}};
  std::cout << rotary::emit_crontab(advice, job).value();
}
