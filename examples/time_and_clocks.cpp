// Parsing instants and durations, and a manual clock a test moves by hand.
#include <rotary/clock.hpp>
#include <rotary/time.hpp>

#include <iostream>
#include <thread>

int main() {
  const auto t = rotary::parse_time("2027-03-14T07:00:00+05:30").value();
  std::cout << rotary::format_time(t) << "\n";  // 2027-03-14T01:30:00Z
  std::cout << rotary::format_duration(rotary::parse_duration("P1DT2H").value()) << "\n";  // 1d2h

  const auto bad = rotary::parse_duration("90M");
  if (!bad) std::cout << rotary::render(bad.error(), "90M");

  rotary::manual_clock clock{t};
  std::thread job([&] {
    clock.wait_until(t + std::chrono::hours{1});  // blocks until the test moves time
    std::cout << "woke at " << rotary::format_time(clock.now()) << "\n";
  });
  while (clock.waiting() == 0) std::this_thread::yield();
  clock.advance(std::chrono::hours{1});
  job.join();
}
