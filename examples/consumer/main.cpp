// Uses the installed rotary package: find_package(rotary COMPONENTS core) and rotary::core.
#include <rotary/rotary.hpp>

#include <iostream>

int main() {
  using namespace std::chrono_literals;
  const auto created = rotary::parse_time("2027-01-01T00:00:00Z").value();
  const rotary::token_state token{.created_at = created, .rotation_period = 60min};
  const auto state = rotary::api_policy.check(token, created + 30min);
  std::cout << (state.usable ? "usable" : "unusable") << " until " << rotary::format_time(*state.until)
            << "\n";
  // Zones come from the system's zone files, DST rules past 2037 included.
  const auto& ny = rotary::locate_zone("America/New_York");
  std::cout << rotary::format_local(rotary::parse_time("2040-07-01T12:00:00Z").value(), ny) << "\n";
  return state.usable ? 0 : 1;
}
