// The next fires of a cron expression in a zone, with rotary fetched by FetchContent.
#include <rotary/schedule.hpp>

#include <iostream>

int main() {
  const rotary::cron_schedule daily{rotary::parse_cron("30 2 * * *").value(), "America/New_York"};
  auto t = rotary::parse_time("2027-03-13T12:00:00Z").value();
  for (int i = 0; i < 2; ++i) {
    t = *daily.next(t);
    std::cout << rotary::format_time(t) << "\n";  // 2027-03-14T07:00:00Z (03:00 EDT), then 06:30Z
  }
}
