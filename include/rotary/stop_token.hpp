// rotary/stop_token.hpp: how a wait is cancelled. `rotary::stop_source`, `stop_token` and
// `stop_callback` are C++20's `std::` ones where the standard library has them (libstdc++), and
// a small implementation with the same interface where it does not (libc++ 14 has no
// <stop_token>), so that the clocks (clock.hpp) take one type on every standard library.
//
//     rotary::stop_source stop;
//     std::thread waiter([&] { clock.wait_until(deadline, stop.get_token()); });  // false if stopped
//     stop.request_stop();                                                      // wakes it now
//
// Where it is `std::stop_token`, a `std::jthread`'s token can be passed straight to a clock.
#pragma once

#include <version>

#if defined(__cpp_lib_jthread)
#include <stop_token>

namespace rotary {
using std::nostopstate;
using std::stop_callback;
using std::stop_source;
using std::stop_token;
}  // namespace rotary

#else
#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace rotary {

namespace detail {
struct stop_callback_base {
  virtual void run() noexcept = 0;
  virtual ~stop_callback_base() = default;
};
struct stop_state {
  std::atomic<bool> requested{false};
  std::mutex mutex;  // guards callbacks; held while they run, so unregistering waits for them
  std::vector<stop_callback_base*> callbacks;
};
}  // namespace detail

struct nostopstate_t {
  explicit nostopstate_t() = default;
};
inline constexpr nostopstate_t nostopstate{};

class stop_token {
 public:
  stop_token() noexcept = default;
  [[nodiscard]] bool stop_requested() const noexcept { return state_ && state_->requested.load(); }
  [[nodiscard]] bool stop_possible() const noexcept { return state_ != nullptr; }
  friend bool operator==(const stop_token&, const stop_token&) = default;

 private:
  friend class stop_source;
  template <class F>
  friend class stop_callback;
  explicit stop_token(std::shared_ptr<detail::stop_state> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::stop_state> state_;
};

class stop_source {
 public:
  stop_source() : state_(std::make_shared<detail::stop_state>()) {}
  explicit stop_source(nostopstate_t) noexcept {}
  [[nodiscard]] stop_token get_token() const noexcept { return stop_token(state_); }
  [[nodiscard]] bool stop_requested() const noexcept { return state_ && state_->requested.load(); }
  [[nodiscard]] bool stop_possible() const noexcept { return state_ != nullptr; }
  // Runs every registered callback, in this thread; true if this call made the request.
  bool request_stop() noexcept {
    if (!state_) return false;
    std::lock_guard lock(state_->mutex);
    if (state_->requested.exchange(true)) return false;
    for (auto* c : state_->callbacks) c->run();
    return true;
  }

 private:
  std::shared_ptr<detail::stop_state> state_;
};

// Calls `f` once when a stop is requested (at once, in the constructor, if it already was).
template <class F>
class stop_callback : detail::stop_callback_base {
 public:
  template <class G>
  explicit stop_callback(const stop_token& token, G&& f) : f_(std::forward<G>(f)), state_(token.state_) {
    if (!state_) return;
    std::unique_lock lock(state_->mutex);
    if (state_->requested.load()) {
      lock.unlock();
      state_.reset();
      f_();
      return;
    }
    state_->callbacks.push_back(this);
  }
  ~stop_callback() override {
    if (!state_) return;
    std::lock_guard lock(state_->mutex);
    auto& cs = state_->callbacks;
    for (auto it = cs.begin(); it != cs.end(); ++it)
      if (*it == this) {
        cs.erase(it);
        break;
      }
  }
  stop_callback(const stop_callback&) = delete;
  stop_callback& operator=(const stop_callback&) = delete;

 private:
  void run() noexcept override { f_(); }
  F f_;
  std::shared_ptr<detail::stop_state> state_;
};
template <class F>
stop_callback(stop_token, F) -> stop_callback<F>;

}  // namespace rotary
#endif
