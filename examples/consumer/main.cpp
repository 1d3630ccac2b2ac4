// Uses the installed rotary package: find_package(rotary) and rotary::core.
#include <rotary/rotary.hpp>

#include <iostream>

int main() {
  using namespace std::chrono_literals;
  const auto created = rotary::parse_time("2027-01-01T00:00:00Z").value();
  const rotary::token_state token{.created_at = created, .rotation_period = 60min};
  const auto state = rotary::api_policy.check(token, created + 30min);
  std::cout << (state.usable ? "usable" : "unusable") << " until " << rotary::format_time(*state.until)
            << "\n";
  return state.usable ? 0 : 1;
}
