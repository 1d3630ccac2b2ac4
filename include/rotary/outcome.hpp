// rotary/outcome.hpp: a value or the typed reason there is none.
//
// Functions that can refuse (parsing, rotating, creating a token) return `outcome<T, E>`,
// a small `constexpr` stand-in for C++23's `std::expected` (GCC 12 with C++20 has none), with
// its members and meanings: `has_value`, `value`, `error`, `value_or`, `error_or`, `and_then`,
// `transform`, `or_else`. `outcome<void, E>` is success or an error, with nothing to return.
//
//     auto r = rotary::api_policy.rotate(token, t);
//     if (!r) std::cout << r.error().code() << "\n";   // "already-rotated"
//     else    use(r->child);
//
//     rotary::api_policy.rotate(token, t)
//         .transform([](const rotary::rotation& r) { return r.child; })   // outcome<token_state, refusal>
//         .value_or(token);                                                // the child, or the token
//
// `value()` on an outcome that holds an error throws:
//   1. what `throw_error(e)` throws, when the error type has one next to it (found by ADL):
//      `diagnostic` -> `parse_error`, `store_error` -> `store_exception`;
//   2. else `rotary::bad_outcome_access`, whose `what()` is "rotary: " + the error's description
//      and whose `code()` is the error's machine code ("" when it has none):
//
//          rotary::api_policy.rotate(rotated, t).value();
//          // throws bad_outcome_access: what() == "rotary: already-rotated: the token was already
//          // rotated; only its child can be rotated", code() == "already-rotated"
//
// The description of an error `e` is `e.describe()`: the one customization point. An error type
// that carries more than a sentence (a code, a status) declares a member
// `std::string describe() const` saying its code and its message; every such type of rotary
// has one, and yours can too. A plain error struct whose only text is a `message` member, and an
// error that is itself text (`std::string`), need none. The code is `e.code()` or the member
// `e.code`, when the type has either. The whole model, every call that returns an outcome and
// every exception: docs/errors.md.
#pragma once

#include <concepts>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace rotary {

// Thrown by `outcome::value()` on an error whose type has no exception of its own (no
// `throw_error`). `what()` == "rotary: " + description().
class bad_outcome_access : public std::logic_error {
 public:
  explicit bad_outcome_access(std::string description, std::string code = {})
      : std::logic_error("rotary: " + description),
        description_(std::move(description)),
        code_(std::move(code)) {}
  // The error's description: "already-rotated: the token was already rotated; ...".
  [[nodiscard]] const std::string& description() const noexcept { return description_; }
  // The error's machine code ("already-rotated"); "" for an error type without one.
  [[nodiscard]] const std::string& code() const noexcept { return code_; }

 private:
  std::string description_;
  std::string code_;
};

template <class T, class E>
class outcome;

namespace detail {

template <class E>
concept has_throw_error = requires(const E& e) {
  throw_error(e);
};
template <class E>
concept has_describe = requires(const E& e) {
  { e.describe() } -> std::convertible_to<std::string>;
};
template <class E>
concept has_message_member = requires(const E& e) {
  { e.message } -> std::convertible_to<std::string_view>;
};
template <class E>
concept has_code_function = requires(const E& e) {
  { e.code() } -> std::convertible_to<std::string_view>;
};
template <class E>
concept has_code_member = requires(const E& e) {
  { e.code } -> std::convertible_to<std::string_view>;
};

// What `bad_outcome_access::description()` says of `e` (see the file comment).
template <class E>
std::string description_of(const E& e) {
  if constexpr (has_describe<E>)
    return std::string(e.describe());
  else if constexpr (has_message_member<E>)
    return std::string(std::string_view(e.message));
  else if constexpr (std::is_convertible_v<const E&, std::string_view>)
    return std::string(std::string_view(e));
  else
    return "rotary::outcome holds an error (of a type without describe()), not a value";
}

template <class E>
std::string code_of(const E& e) {
  if constexpr (has_code_function<E>)
    return std::string(std::string_view(e.code()));
  else if constexpr (has_code_member<E>)
    return std::string(std::string_view(e.code));
  else
    return {};
}

// What `value()` does on an error.
template <class E>
[[noreturn]] void throw_bad_access(const E& e) {
  if constexpr (has_throw_error<E>) throw_error(e);
  throw bad_outcome_access(description_of(e), code_of(e));
}

template <class>
inline constexpr bool is_outcome = false;
template <class T, class E>
inline constexpr bool is_outcome<outcome<T, E>> = true;

// `U` with the constness and value category of `Self`: what `std::forward<Self>(self).member`
// would be (C++23's std::forward_like).
template <class Self, class U>
using like_t =
    std::conditional_t<std::is_lvalue_reference_v<Self>,
                       std::conditional_t<std::is_const_v<std::remove_reference_t<Self>>, const U&, U&>,
                       std::conditional_t<std::is_const_v<std::remove_reference_t<Self>>, const U&&, U&&>>;

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

  // The value; on an error, throws (see the file comment).
  [[nodiscard]] constexpr const T& value() const& {
    if (!has_value()) detail::throw_bad_access(error());
    return *std::get_if<0>(&state_);
  }
  [[nodiscard]] constexpr T& value() & {
    if (!has_value()) detail::throw_bad_access(error());
    return *std::get_if<0>(&state_);
  }
  [[nodiscard]] constexpr T&& value() && {
    if (!has_value()) detail::throw_bad_access(error());
    return std::move(*std::get_if<0>(&state_));
  }
  constexpr const T& operator*() const& { return value(); }
  constexpr T& operator*() & { return value(); }
  constexpr T&& operator*() && { return std::move(*this).value(); }
  constexpr const T* operator->() const { return &value(); }
  constexpr T* operator->() { return &value(); }

  // The error; precondition: `!has_value()`.
  [[nodiscard]] constexpr const E& error() const& { return *std::get_if<1>(&state_); }
  [[nodiscard]] constexpr E& error() & { return *std::get_if<1>(&state_); }
  [[nodiscard]] constexpr E&& error() && { return std::move(*std::get_if<1>(&state_)); }

  // The value, or `fallback` converted to T: `parse_duration("x").value_or(1h)`.
  template <class U>
  [[nodiscard]] constexpr T value_or(U&& fallback) const& {
    return has_value() ? *std::get_if<0>(&state_) : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  [[nodiscard]] constexpr T value_or(U&& fallback) && {
    return has_value() ? std::move(*std::get_if<0>(&state_)) : static_cast<T>(std::forward<U>(fallback));
  }
  // The error, or `fallback` when there is a value.
  template <class G = E>
  [[nodiscard]] constexpr E error_or(G&& fallback) const& {
    return has_value() ? static_cast<E>(std::forward<G>(fallback)) : *std::get_if<1>(&state_);
  }
  template <class G = E>
  [[nodiscard]] constexpr E error_or(G&& fallback) && {
    return has_value() ? static_cast<E>(std::forward<G>(fallback)) : std::move(*std::get_if<1>(&state_));
  }

  // f(value), an outcome<U, E> itself, when there is a value; else the error, unchanged.
  template <class F>
  constexpr auto and_then(F&& f) & {
    return and_then_(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto and_then(F&& f) const& {
    return and_then_(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto and_then(F&& f) && {
    return and_then_(std::move(*this), std::forward<F>(f));
  }
  // outcome<U, E> holding f(value) when there is a value (U may be void); else the error.
  template <class F>
  constexpr auto transform(F&& f) & {
    return transform_(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform(F&& f) const& {
    return transform_(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform(F&& f) && {
    return transform_(std::move(*this), std::forward<F>(f));
  }
  // f(error), an outcome<T, G> itself, when there is an error (a recovery, or another error
  // type); else the value, unchanged.
  template <class F>
  constexpr auto or_else(F&& f) & {
    return or_else_(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto or_else(F&& f) const& {
    return or_else_(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto or_else(F&& f) && {
    return or_else_(std::move(*this), std::forward<F>(f));
  }

  friend constexpr bool operator==(const outcome&, const outcome&) = default;

 private:
  template <class, class>
  friend class outcome;

  template <class... A>
  constexpr explicit outcome(std::in_place_index_t<0>, A&&... a)
      : state_(std::in_place_index<0>, std::forward<A>(a)...) {}
  template <class... A>
  constexpr explicit outcome(std::in_place_index_t<1>, A&&... a)
      : state_(std::in_place_index<1>, std::forward<A>(a)...) {}

  template <class Self>
  static constexpr detail::like_t<Self, T> stored_value(Self&& self) {
    return static_cast<detail::like_t<Self, T>>(*std::get_if<0>(&self.state_));
  }
  template <class Self>
  static constexpr detail::like_t<Self, E> stored_error(Self&& self) {
    return static_cast<detail::like_t<Self, E>>(*std::get_if<1>(&self.state_));
  }

  template <class Self, class F,
            class U = std::remove_cvref_t<std::invoke_result_t<F, detail::like_t<Self, T>>>>
  static constexpr U and_then_(Self&& self, F&& f) {
    static_assert(detail::is_outcome<U>, "and_then: the function must return an outcome");
    static_assert(std::is_same_v<typename U::error_type, E>,
                  "and_then: the function must return an outcome of the same error type");
    if (self.has_value()) return std::forward<F>(f)(stored_value(std::forward<Self>(self)));
    return U(std::in_place_index<1>, stored_error(std::forward<Self>(self)));
  }
  template <class Self, class F, class U = std::remove_cv_t<std::invoke_result_t<F, detail::like_t<Self, T>>>>
  static constexpr outcome<U, E> transform_(Self&& self, F&& f) {
    if (!self.has_value())
      return outcome<U, E>(std::in_place_index<1>, stored_error(std::forward<Self>(self)));
    if constexpr (std::is_void_v<U>) {
      std::forward<F>(f)(stored_value(std::forward<Self>(self)));
      return outcome<U, E>();
    } else {
      return outcome<U, E>(std::in_place_index<0>,
                           std::forward<F>(f)(stored_value(std::forward<Self>(self))));
    }
  }
  template <class Self, class F,
            class G = std::remove_cvref_t<std::invoke_result_t<F, detail::like_t<Self, E>>>>
  static constexpr G or_else_(Self&& self, F&& f) {
    static_assert(detail::is_outcome<G>, "or_else: the function must return an outcome");
    static_assert(std::is_same_v<typename G::value_type, T>,
                  "or_else: the function must return an outcome of the same value type");
    if (!self.has_value()) return std::forward<F>(f)(stored_error(std::forward<Self>(self)));
    return G(std::in_place_index<0>, stored_value(std::forward<Self>(self)));
  }

  std::variant<T, E> state_;
};

// Success with nothing to return, or the error: what `check_token` (client.hpp) answers.
//
//     rotary::outcome<void, rotary::rotate_error> ok;        // success
//     ok.value();                                            // does nothing; on an error, throws
template <class E>
class [[nodiscard]] outcome<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  constexpr outcome() noexcept = default;                                           // success
  constexpr outcome(E error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  [[nodiscard]] constexpr bool has_value() const noexcept { return state_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  // Nothing on success; on an error, throws (see the file comment).
  constexpr void value() const {
    if (!has_value()) detail::throw_bad_access(error());
  }
  constexpr void operator*() const noexcept {}

  // The error; precondition: `!has_value()`.
  [[nodiscard]] constexpr const E& error() const& { return *std::get_if<1>(&state_); }
  [[nodiscard]] constexpr E& error() & { return *std::get_if<1>(&state_); }
  [[nodiscard]] constexpr E&& error() && { return std::move(*std::get_if<1>(&state_)); }

  template <class G = E>
  [[nodiscard]] constexpr E error_or(G&& fallback) const& {
    return has_value() ? static_cast<E>(std::forward<G>(fallback)) : *std::get_if<1>(&state_);
  }
  template <class G = E>
  [[nodiscard]] constexpr E error_or(G&& fallback) && {
    return has_value() ? static_cast<E>(std::forward<G>(fallback)) : std::move(*std::get_if<1>(&state_));
  }

  // f(), an outcome<U, E> itself, on success; else the error.
  template <class F>
  constexpr auto and_then(F&& f) const& {
    return and_then_(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto and_then(F&& f) && {
    return and_then_(std::move(*this), std::forward<F>(f));
  }
  // outcome<U, E> holding f() on success; else the error.
  template <class F>
  constexpr auto transform(F&& f) const& {
    return transform_(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform(F&& f) && {
    return transform_(std::move(*this), std::forward<F>(f));
  }
  // f(error), an outcome<void, G> itself, on an error; else success.
  template <class F>
  constexpr auto or_else(F&& f) const& {
    return or_else_(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto or_else(F&& f) && {
    return or_else_(std::move(*this), std::forward<F>(f));
  }

  friend constexpr bool operator==(const outcome&, const outcome&) = default;

 private:
  template <class, class>
  friend class outcome;

  constexpr explicit outcome(std::in_place_index_t<0>) noexcept {}
  template <class... A>
  constexpr explicit outcome(std::in_place_index_t<1>, A&&... a)
      : state_(std::in_place_index<1>, std::forward<A>(a)...) {}

  template <class Self>
  static constexpr detail::like_t<Self, E> stored_error(Self&& self) {
    return static_cast<detail::like_t<Self, E>>(*std::get_if<1>(&self.state_));
  }

  template <class Self, class F, class U = std::remove_cvref_t<std::invoke_result_t<F>>>
  static constexpr U and_then_(Self&& self, F&& f) {
    static_assert(detail::is_outcome<U>, "and_then: the function must return an outcome");
    static_assert(std::is_same_v<typename U::error_type, E>,
                  "and_then: the function must return an outcome of the same error type");
    if (self.has_value()) return std::forward<F>(f)();
    return U(std::in_place_index<1>, stored_error(std::forward<Self>(self)));
  }
  template <class Self, class F, class U = std::remove_cv_t<std::invoke_result_t<F>>>
  static constexpr outcome<U, E> transform_(Self&& self, F&& f) {
    if (!self.has_value())
      return outcome<U, E>(std::in_place_index<1>, stored_error(std::forward<Self>(self)));
    if constexpr (std::is_void_v<U>) {
      std::forward<F>(f)();
      return outcome<U, E>();
    } else {
      return outcome<U, E>(std::in_place_index<0>, std::forward<F>(f)());
    }
  }
  template <class Self, class F,
            class G = std::remove_cvref_t<std::invoke_result_t<F, detail::like_t<Self, E>>>>
  static constexpr G or_else_(Self&& self, F&& f) {
    static_assert(detail::is_outcome<G>, "or_else: the function must return an outcome");
    static_assert(std::is_void_v<typename G::value_type>,
                  "or_else: the function must return an outcome of the same value type (void)");
    if (!self.has_value()) return std::forward<F>(f)(stored_error(std::forward<Self>(self)));
    return G(std::in_place_index<0>);
  }

  std::variant<std::monostate, E> state_;
};

}  // namespace rotary
