// The lifecycle rules in a few lines: is a token usable, when must it rotate, what do parent
// and child look like after a rotation. (The worked example of docs/design.md, "The token
// rules".)
#include <rotary/json.hpp>
#include <rotary/policy.hpp>

#include <iostream>

int main() {
  using namespace std::chrono_literals;
  const auto midnight = rotary::parse_time("2027-01-01T00:00:00Z").value();
  const rotary::token_state token{
      .created_at = midnight, .rotation_period = 60min, .expires_at = midnight + 75min};
  const auto& policy = rotary::api_policy;  // 10-minute buffer, fixed period, hard expiry

  std::cout << "usable at 00:59:59? " << policy.usable(token, midnight + 59min + 59s) << "\n";
  const auto at_one = policy.check(token, midnight + 60min);
  std::cout << "usable at 01:00:00? " << at_one.usable << " (ended by " << at_one.ended_by << ")\n";
  std::cout << "last safe rotation: " << rotary::format_time(*policy.last_safe_rotation(token)) << "\n";

  const auto r = policy.rotate(token, midnight + 30min).value();
  std::cout << "rotated at 00:30: parent until " << rotary::format_time(*policy.usable_until(r.parent))
            << ", child until " << rotary::format_time(*policy.usable_until(r.child)) << " ("
            << policy.limiting_rule(r.child) << ")\n";

  const auto again = policy.rotate(r.parent, midnight + 31min);
  std::cout << "rotating the parent again: " << again.error().code() << "\n";
  std::cout << "child on the wire: " << nlohmann::json(r.child).dump() << "\n";
}
