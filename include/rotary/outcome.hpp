// rotary/outcome.hpp: a value or the typed reason there is none.
//
// Functions that can refuse (parsing, rotating, creating a token) return `outcome<T, E>`,
// a small `constexpr` stand-in for C++23's `std::expected` (GCC 12 with C++20 has none):
//
//     auto r = rotary::api_policy.rotate(token, t);
//     if (!r) std::cout << r.error().code() << "\n";   // "already-rotated"
//     else    use(r->child);
//
// `value()` on an outcome that holds an error throws what `throw_error(e)` (found by ADL next to
// the error type) throws, or `rotary::bad_outcome_access` when there is none.
#pragma once

#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace rotary {

// Thrown by `outcome::value()` when it holds an error type without its own exception.
class bad_outcome_access : public std::logic_error {
 public:
  bad_outcome_access() : std::logic_error("rotary::outcome holds an error, not a value") {}
};

namespace detail {
template <class E>
concept has_throw_error = requires(const E& e) {
  throw_error(e);
};
}  // namespace detail

template <class T, class E>
class [[nodiscard]] outcome {
 public:
  using value_type = T;
  using error_type = E;

  constexpr outcome(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  constexpr outcome(E error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  [[nodiscard]] constexpr bool has_value() const noexcept { return state_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] constexpr const T& value() const& {
    if (!has_value()) fail();
    return *std::get_if<0>(&state_);
  }
  [[nodiscard]] constexpr T& value() & {
    if (!has_value()) fail();
    return *std::get_if<0>(&state_);
  }
  [[nodiscard]] constexpr T&& value() && {
    if (!has_value()) fail();
    return std::move(*std::get_if<0>(&state_));
  }
  constexpr const T& operator*() const& { return value(); }
  constexpr T& operator*() & { return value(); }
  constexpr const T* operator->() const { return &value(); }
  constexpr T* operator->() { return &value(); }

  // The error; precondition: `!has_value()`.
  [[nodiscard]] constexpr const E& error() const { return *std::get_if<1>(&state_); }

  friend constexpr bool operator==(const outcome&, const outcome&) = default;

 private:
  [[noreturn]] void fail() const {
    if constexpr (detail::has_throw_error<E>) {
      throw_error(error());
    }
    throw bad_outcome_access();
  }
  std::variant<T, E> state_;
};

}  // namespace rotary
