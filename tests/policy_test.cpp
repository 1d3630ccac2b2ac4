#define BOOST_TEST_MODULE policy
#include <boost/test/unit_test.hpp>

#include <rotary/policy.hpp>
#include "print.hpp"

using namespace rotary;
using namespace std::chrono_literals;

namespace {
constexpr sys_seconds midnight = from_unix(1798761600);  // 2027-01-01T00:00:00Z
constexpr token_state hourly{.created_at = midnight, .rotation_period = 60min};
long ux(std::optional<sys_seconds> t) { return t ? to_unix(*t) : -1; }
long ux(sys_seconds t) { return to_unix(t); }
}  // namespace

// The worked example of docs/design.md ("The token rules"), line for line.
BOOST_AUTO_TEST_SUITE(worked_example)

BOOST_AUTO_TEST_CASE(valid_at_00_59_59_unusable_at_01_00_00) {
  BOOST_TEST(api_policy.usable(hourly, midnight + 59min + 59s));
  const auto at_one = api_policy.check(hourly, midnight + 60min);
  BOOST_TEST(!at_one.usable);
  BOOST_TEST(at_one.ended_by == "rotation-period");
  BOOST_TEST(ux(at_one.until) == ux(midnight + 60min));
}

BOOST_AUTO_TEST_CASE(rotated_at_00_30_parent_until_00_40_child_until_01_30) {
  const auto r = api_policy.rotate(hourly, midnight + 30min).value();
  BOOST_TEST(ux(r.parent.rotated_at) == ux(midnight + 30min));
  BOOST_TEST(ux(api_policy.usable_until(r.parent)) == ux(midnight + 40min));
  BOOST_TEST(api_policy.limiting_rule(r.parent) == "buffer");
  BOOST_TEST(api_policy.usable(r.parent, midnight + 39min + 59s));
  BOOST_TEST(api_policy.check(r.parent, midnight + 40min).ended_by == "buffer");
  BOOST_TEST(ux(r.child.created_at) == ux(midnight + 30min));
  BOOST_TEST(ux(api_policy.usable_until(r.child)) == ux(midnight + 90min));
  BOOST_TEST(api_policy.usable(r.child, midnight + 89min + 59s));
  BOOST_TEST(!api_policy.usable(r.child, midnight + 90min));
}

BOOST_AUTO_TEST_CASE(rotated_at_00_55_parent_until_01_00_because_the_period_still_binds) {
  const auto r = api_policy.rotate(hourly, midnight + 55min).value();
  BOOST_TEST(ux(api_policy.usable_until(r.parent)) == ux(midnight + 60min));
  BOOST_TEST(api_policy.check(r.parent, midnight + 60min).ended_by == "rotation-period");
  BOOST_TEST(api_policy.usable(r.parent, midnight + 59min + 59s));
}

BOOST_AUTO_TEST_CASE(with_expiry_01_15_the_child_is_unusable_at_01_15) {
  token_state t = hourly;
  t.expires_at = midnight + 75min;
  const auto r = api_policy.rotate(t, midnight + 30min).value();
  BOOST_TEST(ux(r.child.expires_at) == ux(midnight + 75min));
  BOOST_TEST(ux(api_policy.usable_until(r.child)) == ux(midnight + 75min));
  BOOST_TEST(api_policy.usable(r.child, midnight + 74min + 59s));
  const auto s = api_policy.check(r.child, midnight + 75min);
  BOOST_TEST(!s.usable);
  BOOST_TEST(s.ended_by == "hard-expiry");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(boundaries)

BOOST_AUTO_TEST_CASE(not_usable_before_it_is_created) {
  const auto s = api_policy.check(hourly, midnight - 1s);
  BOOST_TEST(!s.usable);
  BOOST_TEST(s.ended_by == "not-yet-created");
  BOOST_TEST(api_policy.usable(hourly, midnight));
}

BOOST_AUTO_TEST_CASE(a_token_without_rules_that_end_it_is_usable_forever) {
  const token_state plain{.created_at = midnight};
  BOOST_TEST(api_policy.usable(plain, midnight + 24h * 365 * 100));
  BOOST_TEST(!api_policy.usable_until(plain).has_value());
  BOOST_TEST(!api_policy.rotation_deadline(plain).has_value());
}

BOOST_AUTO_TEST_CASE(a_non_rotatable_token_lives_until_its_hard_expiry) {
  const token_state t{.created_at = midnight, .expires_at = midnight + 48h};
  BOOST_TEST(api_policy.usable(t, midnight + 48h - 1s));
  BOOST_TEST(api_policy.check(t, midnight + 48h).ended_by == "hard-expiry");
  BOOST_TEST(!api_policy.rotation_deadline(t).has_value());
}

BOOST_AUTO_TEST_CASE(on_a_tie_the_first_rule_in_the_policy_is_named) {
  token_state t = hourly;
  t.expires_at = midnight + 60min;  // period and expiry end together
  BOOST_TEST(api_policy.check(t, midnight + 60min).ended_by == "rotation-period");
}

BOOST_AUTO_TEST_CASE(deadline_and_last_safe_rotation) {
  BOOST_TEST(ux(api_policy.rotation_deadline(hourly)) == ux(midnight + 60min));
  BOOST_TEST(ux(api_policy.last_safe_rotation(hourly)) == ux(midnight + 59min + 59s));
  BOOST_TEST(ux(api_policy.last_safe_rotation(hourly, 5min)) == ux(midnight + 54min + 59s));
  BOOST_TEST(api_policy.rotate(hourly, *api_policy.last_safe_rotation(hourly)).has_value());
  BOOST_TEST(!api_policy.rotate(hourly, *api_policy.rotation_deadline(hourly)).has_value());
}

BOOST_AUTO_TEST_CASE(the_hard_expiry_shortens_the_deadline) {
  token_state t = hourly;
  t.expires_at = midnight + 30min;
  BOOST_TEST(ux(api_policy.rotation_deadline(t)) == ux(midnight + 30min));
  BOOST_TEST(ux(api_policy.chain_ends_at(t)) == ux(midnight + 30min));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rotation)

BOOST_AUTO_TEST_CASE(the_child_inherits_period_and_expiry) {
  token_state t = hourly;
  t.expires_at = midnight + 24h;
  const auto r = api_policy.rotate(t, midnight + 10min).value();
  BOOST_TEST(r.child.rotation_period == t.rotation_period);
  BOOST_TEST(ux(r.child.expires_at) == ux(t.expires_at));
  BOOST_TEST(!r.child.rotated());
  BOOST_TEST(!r.replayed);
}

BOOST_AUTO_TEST_CASE(a_chain_of_rotations_never_extends_the_hard_expiry) {
  token_state t = hourly;
  t.expires_at = midnight + 5h;
  for (int i = 1; i <= 5; ++i) t = api_policy.rotate(t, midnight + i * 50min).value().child;
  BOOST_TEST(ux(api_policy.usable_until(t)) == ux(midnight + 5h));
  BOOST_TEST(api_policy.check(t, midnight + 5h).ended_by == "hard-expiry");
  BOOST_TEST(!api_policy.rotate(t, midnight + 5h).has_value());
}

BOOST_AUTO_TEST_CASE(a_non_rotatable_token_is_refused_as_not_rotatable) {
  const token_state t{.created_at = midnight, .expires_at = midnight + 48h};
  const auto r = api_policy.rotate(t, midnight + 1h);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().reason == refusal::not_rotatable);
  BOOST_TEST(r.error().code() == "not-rotatable");
}

BOOST_AUTO_TEST_CASE(an_expired_token_is_refused_as_unusable_with_the_rule) {
  const auto r = api_policy.rotate(hourly, midnight + 60min);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == "token-unusable");
  BOOST_TEST(r.error().ended_by == "rotation-period");
  const auto early = api_policy.rotate(hourly, midnight - 1s);
  BOOST_REQUIRE(!early);
  BOOST_TEST(early.error().ended_by == "not-yet-created");
}

BOOST_AUTO_TEST_CASE(an_expired_non_rotatable_token_is_unusable_first) {
  const token_state t{.created_at = midnight, .expires_at = midnight + 1h};
  BOOST_TEST(api_policy.rotate(t, midnight + 2h).error().reason == refusal::not_usable);
}

BOOST_AUTO_TEST_CASE(rerotation_reject_refuses_an_already_rotated_parent) {
  const auto first = api_policy.rotate(hourly, midnight + 30min).value();
  const auto again = api_policy.rotate(first.parent, midnight + 31min, rerotation::reject);
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.error().code() == "already-rotated");
}

BOOST_AUTO_TEST_CASE(rerotation_fork_makes_another_child_and_keeps_the_first_buffer_end) {
  const auto first = api_policy.rotate(hourly, midnight + 30min).value();
  const auto second = api_policy.rotate(first.parent, midnight + 35min, rerotation::fork).value();
  BOOST_TEST(ux(second.child.created_at) == ux(midnight + 35min));
  BOOST_TEST(ux(second.parent.rotated_at) == ux(midnight + 30min));
  BOOST_TEST(ux(api_policy.usable_until(second.parent)) == ux(midnight + 40min));
  BOOST_TEST(!api_policy.rotate(first.parent, midnight + 40min, rerotation::fork).has_value());
}

BOOST_AUTO_TEST_CASE(rerotation_idempotent_returns_the_same_child) {
  const auto first = api_policy.rotate(hourly, midnight + 30min).value();
  const auto again = api_policy.rotate(first.parent, midnight + 38min, rerotation::idempotent).value();
  BOOST_TEST(again.replayed);
  BOOST_TEST((again.child == first.child));
  BOOST_TEST((again.parent == first.parent));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(creation)

BOOST_AUTO_TEST_CASE(the_api_requires_an_expiry_and_a_period_of_at_least_1440_minutes) {
  const auto ok = create_token(midnight, 1440min, midnight + 24h * 365);
  BOOST_REQUIRE(ok);
  BOOST_TEST(ux(ok->created_at) == ux(midnight));
  BOOST_TEST(create_token(midnight, 1439min, midnight + 48h).error().code() == "period-below-minimum");
  BOOST_TEST(create_token(midnight, 3600min, std::nullopt).error().code() == "expiry-required");
  BOOST_TEST(create_token(midnight, 0min, midnight + 48h).error().code() == "period-not-positive");
  BOOST_TEST(create_token(midnight, -5min, midnight + 48h).error().code() == "period-not-positive");
  BOOST_TEST(create_token(midnight, 3600min, midnight).error().code() == "expiry-not-after-creation");
  BOOST_TEST(create_token(midnight, std::nullopt, midnight + 1h).has_value());  // not rotatable
}

BOOST_AUTO_TEST_CASE(tests_can_relax_the_limits) {
  const creation_limits relaxed{.min_period = 1min, .require_expiry = false};
  const auto t = create_token(midnight, 60min, std::nullopt, relaxed);
  BOOST_REQUIRE(t);
  BOOST_TEST(!t->expires_at.has_value());
}

BOOST_AUTO_TEST_CASE(value_of_a_refusal_throws) {
  BOOST_CHECK_THROW((void)create_token(midnight, 1min, std::nullopt).value(), bad_outcome_access);
  auto refused = create_token(midnight, 1min, std::nullopt);
  BOOST_CHECK_THROW((void)*refused, bad_outcome_access);  // the mutable access checks too
}

BOOST_AUTO_TEST_CASE(a_held_value_can_be_changed_in_place) {
  auto t = create_token(midnight, 1440min, midnight + days{30});
  BOOST_REQUIRE(t);
  t->expires_at = midnight + days{60};
  (*t).rotated_at = midnight + 1h;
  t.value().created_at = midnight + 1min;
  BOOST_TEST(t.value().rotated_at == std::optional{midnight + 1h});
  BOOST_TEST(t.value().created_at == midnight + 1min);
  BOOST_TEST(t->expires_at == std::optional{midnight + days{60}});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(everything_is_constexpr) {
  static_assert(api_policy.usable(hourly, midnight + 59min + 59s));
  static_assert(!api_policy.usable(hourly, midnight + 60min));
  static_assert(api_policy.check(hourly, midnight + 60min).ended_by == "rotation-period");
  static_assert(*api_policy.usable_until(api_policy.rotate(hourly, midnight + 30min)->parent) ==
                midnight + 40min);
  static_assert(api_policy.rotate(hourly, midnight + 30min)->child.created_at == midnight + 30min);
  static_assert(api_policy.get<buffer_period>().length == 10min);
  constexpr standard_policy five{fixed_period{}, buffer_period{5min}, hard_expiry{}};
  static_assert(*five.usable_until(five.rotate(hourly, midnight)->parent) == midnight + 5min);
  static_assert(create_token(midnight, 1439min, midnight + 48h).error().reason ==
                creation_error::period_below_minimum);
  BOOST_TEST(true);
}
