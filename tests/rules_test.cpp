#define BOOST_TEST_MODULE rules
#include <boost/test/unit_test.hpp>

#include <rotary/policy.hpp>
#include <rotary/rules.hpp>
#include "print.hpp"

using namespace rotary;
using namespace std::chrono_literals;

namespace {
constexpr sys_seconds t0 = from_unix(1798761600);

// A user's own rule: clients whose clock runs up to `skew` fast stop trusting a token that
// much before the period ends.
struct skew_allowance {
  static constexpr std::string_view name = "clock-skew";
  seconds skew{2min};
  constexpr std::optional<sys_seconds> unusable_from(const token_state& t) const {
    if (!t.rotation_period) return std::nullopt;
    return t.created_at + *t.rotation_period - skew;
  }
};

struct not_a_rule {
  int x;
};
}  // namespace

static_assert(Rule<skew_allowance>);
static_assert(!Rule<not_a_rule>);
static_assert(!Rule<int>);

BOOST_AUTO_TEST_CASE(each_rule_answers_alone) {
  const token_state t{
      .created_at = t0, .rotation_period = 60min, .expires_at = t0 + 2h, .rotated_at = t0 + 5min};
  BOOST_TEST(to_unix(*fixed_period{}.unusable_from(t)) == to_unix(t0 + 60min));
  BOOST_TEST(to_unix(*buffer_period{}.unusable_from(t)) == to_unix(t0 + 15min));
  BOOST_TEST(to_unix(*buffer_period{30s}.unusable_from(t)) == to_unix(t0 + 5min + 30s));
  BOOST_TEST(to_unix(*hard_expiry{}.unusable_from(t)) == to_unix(t0 + 2h));
  const token_state bare{.created_at = t0};
  BOOST_TEST(!fixed_period{}.unusable_from(bare).has_value());
  BOOST_TEST(!buffer_period{}.unusable_from(bare).has_value());
  BOOST_TEST(!hard_expiry{}.unusable_from(bare).has_value());
}

BOOST_AUTO_TEST_CASE(a_user_rule_composes_by_intersection_and_is_named) {
  constexpr policy<fixed_period, buffer_period, hard_expiry, skew_allowance> p{};
  const token_state t{.created_at = t0, .rotation_period = 60min};
  BOOST_TEST(p.usable(t, t0 + 57min + 59s));
  const auto s = p.check(t, t0 + 58min);
  BOOST_TEST(!s.usable);
  BOOST_TEST(s.ended_by == "clock-skew");
  BOOST_TEST(to_unix(*p.last_safe_rotation(t)) == to_unix(t0 + 57min + 59s));
  static_assert(p.check(token_state{.created_at = t0, .rotation_period = 60min}, t0 + 58min).ended_by ==
                "clock-skew");
}

BOOST_AUTO_TEST_CASE(a_policy_with_fewer_rules_restricts_less) {
  constexpr policy<hard_expiry> only_expiry{};
  const token_state t{.created_at = t0, .rotation_period = 60min, .expires_at = t0 + 24h};
  BOOST_TEST(only_expiry.usable(t, t0 + 23h));
  BOOST_TEST(api_policy.usable(t, t0 + 23h) == false);
}

BOOST_AUTO_TEST_CASE(token_state_is_a_regular_value) {
  constexpr token_state a{.created_at = t0, .rotation_period = 60min};
  constexpr token_state b = a;
  static_assert(a == b);
  static_assert(a.rotatable() && !a.rotated());
  static_assert(!token_state{}.rotatable());
  BOOST_TEST((a == b));
}
