// The parent's program: rotary's rules, and an assert of the parent's own that must still fire
// (rotary set no build type, so NDEBUG is not defined behind the parent's back).
#include <rotary/policy.hpp>

#include <cassert>
#include <iostream>

int main(int argc, char**) {
  using namespace std::chrono_literals;
  const rotary::token_state token{.created_at = rotary::sys_seconds{}, .rotation_period = 60min};
  std::cout << "usable at 59 min: " << rotary::api_policy.usable(token, rotary::sys_seconds{59min}) << "\n";
  assert(argc == 1 && "the parent's assert fired");  // run with an argument to fire it
  return 0;
}
