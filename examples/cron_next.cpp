// When does a cron expression fire next? In UTC, and in Europe/Berlin on the night the clocks
// spring forward (2:30 a.m. does not exist there on 2027-03-28).
#include <rotary/cron.hpp>
#include <rotary/schedule.hpp>

#include <iostream>

int main() {
  const auto parsed = rotary::parse_cron("30 2 * * *");
  if (!parsed) {  // a typo gets a compiler-style diagnostic with a caret
    std::cerr << rotary::render(parsed.error(), "30 2 * * *");
    return 1;
  }
  const rotary::cron_expr& every_night = *parsed;
  const auto from = rotary::parse_time("2027-03-27T12:00:00Z").value();

  // In UTC: plain arithmetic on the bitsets.
  std::cout << "UTC:            " << rotary::format_time(*rotary::next(every_night, from)) << "\n";

  // In a zone, the DST mode says what happens to the missing 02:30.
  const rotary::cron_schedule cronie{every_night, "Europe/Berlin"};  // dst_mode::cronie
  const rotary::cron_schedule wallclock{every_night, "Europe/Berlin", rotary::dst_mode::wallclock};
  std::cout << "Berlin, cronie: " << rotary::format_time(*cronie.next(from))
            << "  (03:00 CEST, right after the jump)\n";
  std::cout << "Berlin, wall:   " << rotary::format_time(*wallclock.next(from)) << "  (skips the night)\n";

  // The next three runs, lazily.
  for (rotary::sys_seconds t : rotary::fires(cronie, from, from + std::chrono::hours{72}))
    std::cout << "  " << rotary::format_time(t) << "\n";

  // And what lint says about it in that zone.
  for (const auto& w : rotary::lint(every_night, cronie.zone(), from))
    std::cout << rotary::render(w.as_diagnostic(), every_night.text(), "warning[" + w.code + "]");
}
