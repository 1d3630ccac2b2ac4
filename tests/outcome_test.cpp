// Tests of rotary/outcome.hpp: the std::expected operations, constexpr, and what value() throws
// for the errors of the core headers (the client's errors: client_test.cpp; this test includes
// no HTTP header, so that it runs where rotary::http cannot be built).
#define BOOST_TEST_MODULE outcome
#include <boost/test/unit_test.hpp>

#include <rotary/diagnostic.hpp>
#include <rotary/outcome.hpp>
#include <rotary/policy.hpp>
#include <rotary/scenario.hpp>
#include <rotary/time.hpp>

#include <memory>
#include <string>

#include "print.hpp"

using namespace rotary;
using namespace std::chrono_literals;

namespace {

constexpr sys_seconds midnight = from_unix(1798761600);  // 2027-01-01T00:00:00Z
constexpr token_state hourly{.created_at = midnight, .rotation_period = 60min};

// An error type of the kind a user writes: a code and nothing else.
struct small_error {
  int number = 0;
  friend constexpr bool operator==(const small_error&, const small_error&) = default;
};
using number = outcome<int, small_error>;

constexpr number half(int x) {
  if (x % 2 != 0) return small_error{x};
  return x / 2;
}

// What value() threw, as bad_outcome_access; fails the test when it threw nothing or another type.
template <class Outcome>
bad_outcome_access thrown_by_value(Outcome&& o) {
  try {
    (void)std::forward<Outcome>(o).value();
  } catch (const bad_outcome_access& e) {
    return e;
  }
  BOOST_FAIL("value() did not throw bad_outcome_access");
  return bad_outcome_access("");
}

}  // namespace

// --- what value() throws --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(value_of_a_refused_rotation_throws_the_refusal_with_its_code) {
  const auto rotated = api_policy.rotate(hourly, midnight + 30min).value().parent;
  const auto again = thrown_by_value(api_policy.rotate(rotated, midnight + 31min));
  BOOST_TEST(
      again.what() ==
      std::string("rotary: already-rotated: the token was already rotated; only its child can be rotated"));
  BOOST_TEST(again.code() == "already-rotated");
  BOOST_TEST(again.description() ==
             "already-rotated: the token was already rotated; only its child can be rotated");

  const auto late = thrown_by_value(api_policy.rotate(hourly, midnight + 60min));
  BOOST_TEST(late.what() ==
             std::string("rotary: token-unusable: the token is unusable (ended by rotation-period)"));
  BOOST_TEST(late.code() == "token-unusable");

  const token_state fixed{.created_at = midnight, .expires_at = midnight + 24h};
  BOOST_TEST(thrown_by_value(api_policy.rotate(fixed, midnight)).what() ==
             std::string("rotary: not-rotatable: the token has no rotation period, so it cannot be rotated"));
}

BOOST_AUTO_TEST_CASE(value_of_a_refused_creation_says_which_limit_refused_it) {
  const auto short_period = thrown_by_value(create_token(midnight, 1min, midnight + days{30}));
  BOOST_TEST(short_period.what() ==
             std::string("rotary: period-below-minimum: the rotation period is shorter "
                         "than the limits allow (creation_limits::min_period)"));
  BOOST_TEST(short_period.code() == "period-below-minimum");
  BOOST_TEST(
      thrown_by_value(create_token(midnight, 1440min, std::nullopt)).what() ==
      std::string("rotary: expiry-required: a new token needs an expiry (creation_limits::require_expiry)"));
  BOOST_TEST(thrown_by_value(create_token(midnight, 0min, midnight + days{30})).what() ==
             std::string("rotary: period-not-positive: the rotation period must be positive"));
  BOOST_TEST(thrown_by_value(create_token(midnight, 1440min, midnight)).what() ==
             std::string("rotary: expiry-not-after-creation: the expiry must be after the creation instant"));
  // The mutable and the rvalue accesses check too.
  auto refused = create_token(midnight, 1min, std::nullopt);
  BOOST_CHECK_THROW((void)*refused, bad_outcome_access);
  BOOST_CHECK_THROW((void)*create_token(midnight, 1min, std::nullopt), bad_outcome_access);
}

BOOST_AUTO_TEST_CASE(value_of_a_parse_diagnostic_throws_parse_error_with_the_diagnostic) {
  const auto r = parse_time("2027-13-01T00:00:00Z");
  BOOST_REQUIRE(!r);
  try {
    (void)r.value();
    BOOST_FAIL("value() did not throw");
  } catch (const parse_error& e) {
    BOOST_TEST(e.what() == r.error().message);
    BOOST_TEST((e.where() == r.error()));
    BOOST_TEST(e.where().column == 6u);  // the month
  }
}

BOOST_AUTO_TEST_CASE(an_error_without_describe_is_described_by_its_message_or_its_text) {
  // scenario_error {field, message}: its message.
  scenario s = example_scenario();
  s.rotation_period = 0min;
  const auto plan = prepare(s);
  BOOST_REQUIRE(!plan);
  BOOST_TEST(thrown_by_value(plan).what() == std::string("rotary: the rotation period must be positive"));
  BOOST_TEST(thrown_by_value(plan).code() == "");
  // An error that is text: the text.
  const outcome<int, std::string> text = std::string("the body is not JSON");
  BOOST_TEST(thrown_by_value(text).what() == std::string("rotary: the body is not JSON"));
  // Anything else still throws bad_outcome_access, and says so.
  BOOST_TEST(
      thrown_by_value(number(small_error{3})).what() ==
      std::string("rotary: rotary::outcome holds an error (of a type without describe()), not a value"));
}

BOOST_AUTO_TEST_CASE(bad_outcome_access_is_a_logic_error) {
  try {
    (void)api_policy.rotate(hourly, midnight - 1s).value();
    BOOST_FAIL("value() did not throw");
  } catch (const std::logic_error& e) {
    BOOST_TEST(e.what() ==
               std::string("rotary: token-unusable: the token is unusable (ended by not-yet-created)"));
  }
}

// --- the std::expected operations -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(value_or_gives_the_value_or_else_the_fallback) {
  BOOST_TEST(half(8).value_or(-1) == 4);
  BOOST_TEST(half(7).value_or(-1) == -1);
  const token_state child = api_policy.rotate(hourly, midnight + 30min)
                                .transform([](const rotation& r) { return r.child; })
                                .value_or(hourly);
  BOOST_TEST(child.created_at == midnight + 30min);
  const token_state same = api_policy.rotate(hourly, midnight + 90min)
                               .transform([](const rotation& r) { return r.child; })
                               .value_or(hourly);
  BOOST_TEST((same == hourly));
}

BOOST_AUTO_TEST_CASE(error_or_gives_the_error_or_else_the_fallback) {
  BOOST_TEST(half(7).error_or(small_error{0}).number == 7);
  BOOST_TEST(half(8).error_or(small_error{0}).number == 0);
}

BOOST_AUTO_TEST_CASE(and_then_calls_the_next_step_only_on_a_value) {
  int calls = 0;
  auto next = [&](int x) {
    ++calls;
    return half(x);
  };
  BOOST_TEST(half(8).and_then(next).value() == 2);  // 8 -> 4 -> 2
  BOOST_TEST(calls == 1);
  const auto odd_second = half(6).and_then(next);  // 6 -> 3 -> refused
  BOOST_TEST(odd_second.error().number == 3);
  BOOST_TEST(calls == 2);
  const auto odd_first = half(5).and_then(next);  // refused at once: next is never called
  BOOST_TEST(odd_first.error().number == 5);
  BOOST_TEST(calls == 2);
}

BOOST_AUTO_TEST_CASE(transform_maps_the_value_and_passes_the_error_along) {
  const auto doubled = half(8).transform([](int x) { return std::to_string(x * 2); });
  static_assert(std::is_same_v<decltype(doubled), const outcome<std::string, small_error>>);
  BOOST_TEST(doubled.value() == "8");
  bool called = false;
  const auto refused = half(7).transform([&](int x) {
    called = true;
    return x;
  });
  BOOST_TEST(refused.error().number == 7);
  BOOST_TEST(!called);
  // A function returning nothing makes an outcome<void, E>.
  int seen = 0;
  const auto done = half(8).transform([&](int x) { seen = x; });
  static_assert(std::is_same_v<decltype(done), const outcome<void, small_error>>);
  BOOST_TEST(done.has_value());
  BOOST_TEST(seen == 4);
}

BOOST_AUTO_TEST_CASE(or_else_recovers_from_an_error_and_leaves_a_value_alone) {
  auto recover = [](const small_error& e) { return number(e.number * 10); };
  BOOST_TEST(half(7).or_else(recover).value() == 70);
  BOOST_TEST(half(8).or_else(recover).value() == 4);
  // Into another error type: the error becomes text.
  const auto text = half(7).or_else([](const small_error& e) {
    return outcome<int, std::string>(std::string("odd: ") + std::to_string(e.number));
  });
  BOOST_TEST(text.error() == "odd: 7");
}

BOOST_AUTO_TEST_CASE(the_operations_move_out_of_an_rvalue_outcome) {
  using owned = outcome<std::unique_ptr<int>, std::string>;
  BOOST_TEST(
      owned(std::make_unique<int>(5)).transform([](std::unique_ptr<int> p) { return *p + 1; }).value() == 6);
  BOOST_TEST(*owned(std::make_unique<int>(5)).value_or(nullptr) == 5);
  BOOST_TEST(owned(std::string("gone")).value_or(nullptr) == nullptr);
  auto moved =
      owned(std::string("a long message that does not fit in a small string")).or_else([](std::string e) {
        return owned(std::make_unique<int>(static_cast<int>(e.size())));
      });
  BOOST_TEST(*moved.value() == 50);
  owned held(std::make_unique<int>(9));
  const auto p = std::move(held).and_then([](std::unique_ptr<int> q) { return owned(std::move(q)); });
  BOOST_TEST(*p.value() == 9);
  BOOST_TEST(std::move(owned(std::string("e"))).error() == "e");
}

BOOST_AUTO_TEST_CASE(an_outcome_of_void_is_success_or_an_error) {
  const outcome<void, small_error> ok;
  BOOST_TEST(ok.has_value());
  BOOST_CHECK_NO_THROW(ok.value());
  const outcome<void, small_error> refused = small_error{4};
  BOOST_TEST(!refused);
  BOOST_TEST(refused.error().number == 4);
  BOOST_CHECK_THROW(refused.value(), bad_outcome_access);
  BOOST_TEST(ok.and_then([] { return half(8); }).value() == 4);
  BOOST_TEST(refused.and_then([] { return half(8); }).error().number == 4);
  BOOST_TEST(ok.transform([] { return 1; }).value() == 1);
  BOOST_TEST(refused.transform([] { return 1; }).error().number == 4);
  BOOST_TEST(refused.or_else([](small_error) { return outcome<void, std::string>(); }).has_value());
  BOOST_TEST(ok.or_else([](small_error) { return outcome<void, std::string>("never"); }).has_value());
  BOOST_TEST(refused.error_or(small_error{0}).number == 4);
  BOOST_TEST(ok.error_or(small_error{0}).number == 0);
  BOOST_TEST((ok == outcome<void, small_error>()));
  BOOST_TEST((refused != ok));
}

BOOST_AUTO_TEST_CASE(everything_is_constexpr) {
  static_assert(half(8).value() == 4);
  static_assert(half(7).error().number == 7);
  static_assert(half(8).value_or(-1) == 4 && half(7).value_or(-1) == -1);
  static_assert(half(7).error_or(small_error{}).number == 7);
  static_assert(half(8).and_then(half).value() == 2);
  static_assert(half(6).and_then(half).error().number == 3);
  static_assert(half(8).transform([](int x) { return x + 1; }).value() == 5);
  static_assert(half(7).transform([](int x) { return x + 1; }).error().number == 7);
  static_assert(half(7).or_else([](small_error e) { return number(e.number); }).value() == 7);
  static_assert(outcome<void, small_error>().and_then([] { return half(2); }).value() == 1);
  // On the policy: rotate, then rotate the child; the first refusal stops the chain.
  static_assert(api_policy.rotate(hourly, midnight + 30min)
                    .and_then([](const rotation& r) { return api_policy.rotate(r.child, midnight + 40min); })
                    .transform([](const rotation& r) { return r.child.created_at; })
                    .value() == midnight + 40min);
  static_assert(api_policy.rotate(hourly, midnight + 60min)
                    .and_then([](const rotation& r) { return api_policy.rotate(r.child, midnight + 70min); })
                    .error()
                    .code() == "token-unusable");
  static_assert(
      create_token(midnight, 1min, std::nullopt)
          .or_else([](const creation_error&) { return create_token(midnight, 1440min, midnight + days{30}); })
          .value()
          .rotation_period == 1440min);
  BOOST_TEST(true);
}
