// rotary/token.hpp: what the rules need to know about a token (never its secret).
//
//     rotary::token_state t{.created_at = t0, .rotation_period = std::chrono::minutes{3600},
//                           .expires_at = t0 + std::chrono::days{365}};
//     t.rotatable();   // true
//     t.rotated();     // false until a rotation sets rotated_at
//
// `rotation_period` absent means the token cannot be rotated; `expires_at` absent means no hard
// expiry; `rotated_at` is set once, by the first rotation of this token.
#pragma once

#include <rotary/time.hpp>

#include <optional>

namespace rotary {

struct token_state {
  sys_seconds created_at{};
  std::optional<minutes> rotation_period{};
  std::optional<sys_seconds> expires_at{};
  std::optional<sys_seconds> rotated_at{};

  [[nodiscard]] constexpr bool rotatable() const noexcept { return rotation_period.has_value(); }
  [[nodiscard]] constexpr bool rotated() const noexcept { return rotated_at.has_value(); }

  friend constexpr bool operator==(const token_state&, const token_state&) = default;
};

}  // namespace rotary
