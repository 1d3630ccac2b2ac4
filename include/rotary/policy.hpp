// rotary/policy.hpp: the rules composed, and the questions people ask of them.
//
// A `policy<Rules...>` makes a token unusable as soon as any of its rules does. The preset
// `api_policy` is the vendor's API (docs/rules.md): fixed rotation period, 10-minute buffer, hard
// expiry. The worked example of docs/design.md ("The token rules"; period 60 min, created 00:00):
//
//     using namespace std::chrono_literals;
//     rotary::token_state t{.created_at = midnight, .rotation_period = 60min};
//     rotary::api_policy.usable(t, midnight + 59min + 59s);  // true
//     rotary::api_policy.usable(t, midnight + 60min);        // false: "rotation-period"
//
//     auto r = rotary::api_policy.rotate(t, midnight + 30min).value();
//     rotary::api_policy.usable_until(r.parent);  // 00:40, the buffer ends it
//     rotary::api_policy.usable_until(r.child);   // 01:30, a fresh period
//
//     auto late = rotary::api_policy.rotate(t, midnight + 55min).value();
//     rotary::api_policy.usable_until(late.parent);  // 01:00: the period still binds
//
//     t.expires_at = midnight + 75min;  // a hard expiry at 01:15
//     rotary::api_policy.usable_until(rotary::api_policy.rotate(t, midnight + 30min)->child);  // 01:15
//
// Instants named "until" or "deadline" are exclusive: the first second at which the token is
// unusable, or at which rotating is too late. `last_safe_rotation` is inclusive: the last
// second at which a rotation still succeeds, minus an optional margin.
//
// Re-rotation: rotating a token that was already rotated (and is still within its buffer) is
// refused under `rerotation::reject`, what the vendor's API does (docs/rules.md; "the current token
// must be the one being rotated"). `fork` makes another child (the parent's buffer still ends
// `buffer` after its first rotation); `idempotent` answers with the same child again.
#pragma once

#include <rotary/outcome.hpp>
#include <rotary/rules.hpp>
#include <rotary/time.hpp>
#include <rotary/token.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace rotary {

enum class rerotation { reject, fork, idempotent };

// Whether a token is usable at an instant, and if not, what ended it.
struct usability {
  bool usable = false;
  // "" when usable; "not-yet-created" before created_at; otherwise the `name` of the rule that
  // ended the token (the earliest one; on a tie, the first in the policy's rule list).
  std::string_view ended_by;
  // The first instant at which the token is unusable; nullopt when no rule ever ends it.
  std::optional<sys_seconds> until;

  constexpr explicit operator bool() const noexcept { return usable; }
  friend constexpr bool operator==(const usability&, const usability&) = default;
};

inline constexpr std::string_view not_yet_created = "not-yet-created";

// A successful rotation: the parent as it is now (with rotated_at) and the child.
struct rotation {
  token_state parent;
  token_state child;
  bool replayed = false;  // idempotent re-rotation: the child made by the first rotation
  friend constexpr bool operator==(const rotation&, const rotation&) = default;
};

// Why a rotation was refused. The API answers `not_usable` and `already_rotated` with 401 and
// `not_rotatable` with 400.
struct refusal {
  enum reason_type { not_rotatable, not_usable, already_rotated };
  reason_type reason = not_usable;
  std::string_view ended_by;  // for not_usable: what ended the token (see usability::ended_by)

  // A stable machine code: "not-rotatable", "token-unusable", "already-rotated".
  [[nodiscard]] constexpr std::string_view code() const noexcept {
    switch (reason) {
      case not_rotatable:
        return "not-rotatable";
      case already_rotated:
        return "already-rotated";
      case not_usable:
        break;
    }
    return "token-unusable";
  }
  // The code and a sentence: "token-unusable: the token is unusable (ended by rotation-period)".
  // What `rotate(...).value()` puts in its `bad_outcome_access`.
  [[nodiscard]] std::string describe() const;
  friend constexpr bool operator==(const refusal&, const refusal&) = default;
};

using rotate_result = outcome<rotation, refusal>;

template <Rule... Rules>
class policy {
 public:
  constexpr policy() = default;
  constexpr explicit policy(Rules... rules) : rules_(std::move(rules)...) {}

  // Is the token usable at `at`, and if not, why?
  [[nodiscard]] constexpr usability check(const token_state& token, sys_seconds at) const;
  [[nodiscard]] constexpr bool usable(const token_state& token, sys_seconds at) const {
    return check(token, at).usable;
  }
  // The first instant at which some rule ends the token (nullopt: never).
  [[nodiscard]] constexpr std::optional<sys_seconds> usable_until(const token_state& token) const;
  // The rule that decides usable_until ("" when none does).
  [[nodiscard]] constexpr std::string_view limiting_rule(const token_state& token) const;
  // The first instant at which rotating this token is too late: usable_until for a rotatable
  // token, nullopt for one that cannot rotate (or never ends).
  [[nodiscard]] constexpr std::optional<sys_seconds> rotation_deadline(const token_state& token) const;
  // The last second at which rotating still succeeds, `margin` earlier. Example: created 00:00,
  // period 60 min: last_safe_rotation(t) == 00:59:59, last_safe_rotation(t, 5min) == 00:54:59.
  [[nodiscard]] constexpr std::optional<sys_seconds> last_safe_rotation(const token_state& token,
                                                                        seconds margin = seconds{0}) const;
  // The hard expiry of the chain, which no rotation extends (nullopt: none).
  [[nodiscard]] constexpr std::optional<sys_seconds> chain_ends_at(const token_state& token) const {
    return token.expires_at;
  }
  // Rotates `token` at `at`: the updated parent and the child, or why not.
  [[nodiscard]] constexpr rotate_result rotate(const token_state& token, sys_seconds at,
                                               rerotation mode = rerotation::reject) const;

  // One of the rules, by type: `p.get<buffer_period>().length`.
  template <class R>
  [[nodiscard]] constexpr const R& get() const noexcept {
    return std::get<R>(rules_);
  }

  friend constexpr bool operator==(const policy&, const policy&) = default;

 private:
  std::tuple<Rules...> rules_{};
};

// The vendor's API (docs/rules.md, "Where the rules come from").
using standard_policy = policy<fixed_period, buffer_period, hard_expiry>;
inline constexpr standard_policy api_policy{};

// Creating a token, as the admin console does: the API requires an expiry and a rotation
// period of at least 1440 minutes. Tests relax the limits.
struct creation_limits {
  minutes min_period{1440};
  bool require_expiry = true;
};

struct creation_error {
  enum reason_type { period_not_positive, period_below_minimum, expiry_required, expiry_not_after_creation };
  reason_type reason = expiry_required;
  // A stable machine code: "period-not-positive", "period-below-minimum", "expiry-required",
  // "expiry-not-after-creation".
  [[nodiscard]] constexpr std::string_view code() const noexcept {
    switch (reason) {
      case period_not_positive:
        return "period-not-positive";
      case period_below_minimum:
        return "period-below-minimum";
      case expiry_not_after_creation:
        return "expiry-not-after-creation";
      case expiry_required:
        break;
    }
    return "expiry-required";
  }
  // The code and a sentence: "expiry-required: a new token needs an expiry".
  [[nodiscard]] std::string describe() const;
  friend constexpr bool operator==(const creation_error&, const creation_error&) = default;
};

// A new token created at `now`, or why the limits refuse it.
[[nodiscard]] constexpr outcome<token_state, creation_error> create_token(
    sys_seconds now, std::optional<minutes> rotation_period, std::optional<sys_seconds> expires_at,
    creation_limits limits = {});

// ---------------------------------------------------------------------------------------------

inline std::string refusal::describe() const {
  std::string s(code());
  switch (reason) {
    case not_rotatable:
      return s + ": the token has no rotation period, so it cannot be rotated";
    case already_rotated:
      return s + ": the token was already rotated; only its child can be rotated";
    case not_usable:
      break;
  }
  s += ": the token is unusable";
  if (!ended_by.empty()) s.append(" (ended by ").append(ended_by).append(")");
  return s;
}

inline std::string creation_error::describe() const {
  std::string s(code());
  switch (reason) {
    case period_not_positive:
      return s + ": the rotation period must be positive";
    case period_below_minimum:
      return s + ": the rotation period is shorter than the limits allow (creation_limits::min_period)";
    case expiry_not_after_creation:
      return s + ": the expiry must be after the creation instant";
    case expiry_required:
      break;
  }
  return s + ": a new token needs an expiry (creation_limits::require_expiry)";
}

namespace detail {
// The earliest end over the rules and the name of the rule that sets it, in one pass.
// The running minimum is a plain instant and a flag, not an optional: GCC copies an
// std::optional<sys_seconds> through the stack as 16 bytes written in two parts, and the
// store-forwarding stalls made usable_until take 12.6 ns instead of 4.5 (simulate_bench).
template <class Tuple>
constexpr std::pair<std::optional<sys_seconds>, std::string_view> earliest_end(const Tuple& rules,
                                                                               const token_state& token) {
  sys_seconds until{};
  bool ends = false;
  std::string_view name;
  std::apply(
      [&](const auto&... rule) {
        (
            [&] {
              const auto end = rule.unusable_from(token);
              if (end && (!ends || *end < until)) {
                until = *end;
                ends = true;
                name = std::remove_cvref_t<decltype(rule)>::name;
              }
            }(),
            ...);
      },
      rules);
  if (!ends) return {std::nullopt, name};
  return {until, name};
}
}  // namespace detail

template <Rule... Rules>
constexpr std::optional<sys_seconds> policy<Rules...>::usable_until(const token_state& token) const {
  return detail::earliest_end(rules_, token).first;
}

template <Rule... Rules>
constexpr std::string_view policy<Rules...>::limiting_rule(const token_state& token) const {
  return detail::earliest_end(rules_, token).second;
}

template <Rule... Rules>
constexpr usability policy<Rules...>::check(const token_state& token, sys_seconds at) const {
  const auto [until, rule] = detail::earliest_end(rules_, token);
  if (at < token.created_at) return {false, not_yet_created, until};
  if (until && at >= *until) return {false, rule, until};
  return {true, {}, until};
}

template <Rule... Rules>
constexpr std::optional<sys_seconds> policy<Rules...>::rotation_deadline(const token_state& token) const {
  if (!token.rotatable()) return std::nullopt;
  return usable_until(token);
}

template <Rule... Rules>
constexpr std::optional<sys_seconds> policy<Rules...>::last_safe_rotation(const token_state& token,
                                                                          seconds margin) const {
  const auto deadline = rotation_deadline(token);
  if (!deadline) return std::nullopt;
  return *deadline - seconds{1} - margin;
}

template <Rule... Rules>
constexpr rotate_result policy<Rules...>::rotate(const token_state& token, sys_seconds at,
                                                 rerotation mode) const {
  const auto state = check(token, at);
  if (!state.usable) return refusal{refusal::not_usable, state.ended_by};
  if (!token.rotatable()) return refusal{refusal::not_rotatable, {}};
  if (token.rotated_at && mode == rerotation::reject) return refusal{refusal::already_rotated, {}};
  // Built field by field in the result: whole-struct copies of token_state cost GCC
  // store-forwarding stalls (see detail::earliest_end).
  rotate_result r{rotation{}};
  rotation& out = *r;
  out.parent = token;
  out.child.rotation_period = token.rotation_period;
  out.child.expires_at = token.expires_at;
  if (!token.rotated_at) {  // the first rotation
    out.parent.rotated_at = at;
    out.child.created_at = at;
  } else {  // fork: another child now; idempotent: the child of the first rotation
    const bool replay = mode == rerotation::idempotent;
    out.child.created_at = replay ? *token.rotated_at : at;
    out.replayed = replay;
  }
  return r;
}

constexpr outcome<token_state, creation_error> create_token(sys_seconds now,
                                                            std::optional<minutes> rotation_period,
                                                            std::optional<sys_seconds> expires_at,
                                                            creation_limits limits) {
  if (rotation_period) {
    if (*rotation_period <= minutes{0}) return creation_error{creation_error::period_not_positive};
    if (*rotation_period < limits.min_period) return creation_error{creation_error::period_below_minimum};
  }
  if (!expires_at && limits.require_expiry) return creation_error{creation_error::expiry_required};
  if (expires_at && *expires_at <= now) return creation_error{creation_error::expiry_not_after_creation};
  return token_state{now, rotation_period, expires_at, std::nullopt};
}

}  // namespace rotary
