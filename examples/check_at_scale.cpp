// A minutely year, checked whole: the fires as runs of equal steps (fire_sequence.hpp), the
// engine crossing them, a run watched through an event sink, and a picture small at any horizon.
#include <rotary/report.hpp>
#include <rotary/scenario.hpp>
#include <rotary/simulate.hpp>
#include <rotary/zone.hpp>

#include <iostream>

int main() {
  using namespace std::chrono_literals;
  rotary::scenario s;
  s.rotation_period = 1440min;
  s.created_at = rotary::parse_time("2027-01-01T00:00:00Z").value();
  s.schedule = rotary::cron_spec{"* * * * *", "Europe/Berlin"};

  const auto plan = rotary::prepare(s).value();
  std::cout << plan.fires.size() << " fires in " << plan.fires.runs().size() << " run of "
            << rotary::format_duration(plan.fires.runs()[0].step) << "\n";
  std::cout << "fire 100000: " << rotary::format_time(plan.fires[100'000]) << "\n";

  // Unwatched, the year is crossed in one step; watched, the sink sees every event.
  const auto report = rotary::analyse(plan, rotary::options_of(s));
  std::int64_t rotations = 0;
  (void)rotary::simulate_run<rotary::detail::xoshiro256>(plan, nullptr, [&](const rotary::sim_event& e) {
    if (e.kind == rotary::sim_event::rotated) ++rotations;
  });
  std::cout << "rotations: " << report.rotations << " (watched: " << rotations << "), tolerates "
            << *report.tolerated_failures << " failed runs in a row\n";

  const std::string svg = rotary::render_svg(plan, report, {rotary::find_zone("Europe/Berlin")});
  std::cout << "picture: " << (svg.size() < 500'000 ? "under 500 KB" : "too big") << ", "
            << (svg.find("Europe/Berlin") != std::string::npos ? "local time axis" : "UTC axis") << "\n";
}
