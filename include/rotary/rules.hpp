// rotary/rules.hpp: the lifecycle rules, one type each.
//
// A rule answers one question about a token: from which instant does it make the token
// unusable (or never)? Rules only ever restrict; `policy<Rules...>` (policy.hpp) intersects
// them. The three rules of the rotating-token API:
//
//     fixed_period   unusable from created_at + rotation_period   ("rotation-period")
//     buffer_period  unusable from rotated_at + length (10 min)    ("buffer")
//     hard_expiry    unusable from expires_at                      ("hard-expiry")
//
// Write your own by modelling `Rule`: a static `name` and a `constexpr` `unusable_from`.
// A rule that stops trusting tokens older than a day, whatever their period:
//
//     struct max_age {
//       static constexpr std::string_view name = "max-age";
//       std::chrono::seconds age{std::chrono::days{1}};
//       constexpr std::optional<rotary::sys_seconds> unusable_from(const rotary::token_state& t) const {
//         return t.created_at + age;
//       }
//     };
//     rotary::policy<rotary::fixed_period, rotary::buffer_period, rotary::hard_expiry, max_age> p;
//
// The buffer's length is a value, not a template parameter, because the fake server and the
// simulator take it at run time (`--buffer`); a policy is still a constant expression with it:
// `constexpr policy<buffer_period> p{buffer_period{std::chrono::minutes{5}}};`.
#pragma once

#include <rotary/time.hpp>
#include <rotary/token.hpp>

#include <concepts>
#include <optional>
#include <string_view>

namespace rotary {

template <class R>
concept Rule = std::copyable<R> && requires(const R& rule, const token_state& token) {
  { R::name } -> std::convertible_to<std::string_view>;
  { rule.unusable_from(token) } -> std::same_as<std::optional<sys_seconds>>;
};

// The period fixed at creation and inherited by every child: a token must be replaced before
// `created_at + rotation_period`. A token without a period is not limited by this rule.
struct fixed_period {
  static constexpr std::string_view name = "rotation-period";
  [[nodiscard]] constexpr std::optional<sys_seconds> unusable_from(const token_state& t) const noexcept {
    if (!t.rotation_period) return std::nullopt;
    return t.created_at + *t.rotation_period;
  }
  friend constexpr bool operator==(const fixed_period&, const fixed_period&) = default;
};

// After a rotation the parent keeps working for `length` (10 minutes for the vendor's API, where
// it is not configurable; docs/rules.md).
struct buffer_period {
  static constexpr std::string_view name = "buffer";
  seconds length = minutes{10};
  [[nodiscard]] constexpr std::optional<sys_seconds> unusable_from(const token_state& t) const noexcept {
    if (!t.rotated_at) return std::nullopt;
    return *t.rotated_at + length;
  }
  friend constexpr bool operator==(const buffer_period&, const buffer_period&) = default;
};

// The expiry set when the first token of a chain was made; rotation never extends it.
struct hard_expiry {
  static constexpr std::string_view name = "hard-expiry";
  [[nodiscard]] constexpr std::optional<sys_seconds> unusable_from(const token_state& t) const noexcept {
    return t.expires_at;
  }
  friend constexpr bool operator==(const hard_expiry&, const hard_expiry&) = default;
};

static_assert(Rule<fixed_period> && Rule<buffer_period> && Rule<hard_expiry>);

}  // namespace rotary
