// rotary/clock.hpp: where "now" comes from, so tests and simulations can own it.
//
// A `Clock` answers `now()` as a `sys_seconds`. Three come with rotary:
//
//     rotary::real_clock real;                  // the system clock, truncated to seconds
//     rotary::manual_clock manual{t0};          // moves only when told: set(t), advance(d)
//     rotary::warp_clock warp{t0, 3600.0};      // starts at t0, an hour passes per real second
//
//     manual.advance(std::chrono::minutes{10}); // wakes every waiter whose deadline is reached
//     warp.set_factor(0);                       // freezes warped time where it is, no jump back
//
// A `WaitableClock` can also block a thread until one of its instants: `wait_until(deadline,
// stop)` returns true when the clock reached `deadline`, false when `stop` was requested first.
// `clock_ref` refers to any waitable clock without templates, for code (like the fake server)
// that takes "a clock" at run time. All three clocks are safe to use from many threads.
#pragma once

#include <rotary/stop_token.hpp>
#include <rotary/time.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>

namespace rotary {

template <class C>
concept Clock = requires(const C& c) {
  { c.now() } -> std::same_as<sys_seconds>;
};

template <class C>
concept WaitableClock = Clock<C> && requires(C& c, sys_seconds t, stop_token s) {
  { c.wait_until(t, s) } -> std::same_as<bool>;
};

// The system clock, in whole seconds.
class real_clock {
 public:
  [[nodiscard]] sys_seconds now() const {
    return std::chrono::floor<seconds>(std::chrono::system_clock::now());
  }
  bool wait_until(sys_seconds deadline, stop_token stop = {});
};

// A clock that moves only when told. `set` may move it backwards (a test of a clock step);
// `advance` only forwards.
class manual_clock {
 public:
  explicit manual_clock(sys_seconds start = sys_seconds{}) : now_(start) {}
  [[nodiscard]] sys_seconds now() const;
  void set(sys_seconds t);
  void advance(seconds d);  // throws std::invalid_argument when d < 0
  bool wait_until(sys_seconds deadline, stop_token stop = {});
  // Threads blocked in wait_until right now (a driver that jumps time when everyone waits).
  [[nodiscard]] int waiting() const;
  // The earliest deadline, still in the future, that a blocked thread waits for (nullopt when
  // none): where a driver jumps time next.
  [[nodiscard]] std::optional<sys_seconds> earliest_wait() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  sys_seconds now_;
  std::multiset<sys_seconds> deadlines_;
};

// The latest instant a warp clock keeps, the last second rotary's instants can name (time.hpp,
// the state file): 9999-12-31T23:59:59Z.
inline constexpr sys_seconds warp_clock_max = from_unix(253'402'300'799);

// Virtual time that runs at `factor` times real time from a chosen start. Changing the factor
// keeps the current instant (time never jumps back); factor 0 freezes it; `set` and `advance`
// move it like a manual clock. Virtual time is kept as whole seconds plus nanoseconds, `now()`
// floors it; it reaches 9999-12-31T23:59:59Z (`warp_clock_max`) and stays there when it runs
// into it. Starting, setting or advancing past that instant throws std::out_of_range("the
// clock cannot go past 9999-12-31T23:59:59Z").
//
//     rotary::warp_clock w{rotary::warp_clock_max - std::chrono::hours{1}, 3600.0};
//     // one real second later: w.now() == warp_clock_max, and it stays there
class warp_clock {
 public:
  explicit warp_clock(sys_seconds start, double factor = 1.0);
  [[nodiscard]] sys_seconds now() const;
  [[nodiscard]] double factor() const;
  void set_factor(double factor);  // throws std::invalid_argument unless 0 <= factor <= 1e9
  void set(sys_seconds t);         // throws std::out_of_range past warp_clock_max
  void advance(seconds d);         // throws std::invalid_argument when d < 0, std::out_of_range past the max
  bool wait_until(sys_seconds deadline, stop_token stop = {});

 private:
  using steady = std::chrono::steady_clock;
  // An instant of virtual time: a sys_time of nanoseconds would wrap after 2262-04-11.
  struct instant {
    sys_seconds s{};
    std::int64_t ns = 0;  // 0 <= ns < 1e9
  };
  [[nodiscard]] instant now_locked(steady::time_point real) const;
  void rebase_locked(instant at, double factor);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  instant base_virtual_;
  steady::time_point base_real_;
  double factor_;
};

// A non-owning reference to any waitable clock; copyable, two pointers wide. The clock must
// outlive every clock_ref to it.
class clock_ref {
 public:
  template <WaitableClock C>
  requires(!std::same_as<C, clock_ref>) clock_ref(C& clock)
  noexcept  // NOLINT: implicit on purpose, like std::function_ref
      : object_(&clock),
        now_([](void* o) { return static_cast<C*>(o)->now(); }),
        wait_([](void* o, sys_seconds t, stop_token s) { return static_cast<C*>(o)->wait_until(t, s); }) {}
  [[nodiscard]] sys_seconds now() const { return now_(object_); }
  bool wait_until(sys_seconds deadline, stop_token stop = {}) const { return wait_(object_, deadline, stop); }

 private:
  void* object_;
  sys_seconds (*now_)(void*);
  bool (*wait_)(void*, sys_seconds, stop_token);
};

// ---------------------------------------------------------------------------------------------

namespace detail {
// Wakes `cv` when a stop is requested, for as long as it lives. Construct it before locking
// `m`: a callback that runs at once (the stop was already requested) locks `m` itself, and the
// lock makes the notification impossible to miss between a waiter's check and its sleep.
class stop_wake {
 public:
  stop_wake(const stop_token& stop, std::mutex& m, std::condition_variable& cv)
      : callback_(stop, notify{&m, &cv}) {}

 private:
  struct notify {
    std::mutex* m;
    std::condition_variable* cv;
    void operator()() const noexcept {
      std::lock_guard lock(*m);
      cv->notify_all();
    }
  };
  stop_callback<notify> callback_;
};
}  // namespace detail

inline bool real_clock::wait_until(sys_seconds deadline, stop_token stop) {
  std::mutex m;
  std::condition_variable cv;
  const detail::stop_wake wake(stop, m, cv);
  std::unique_lock lock(m);
  return !cv.wait_until(lock, std::chrono::system_clock::time_point(deadline),
                        [&] { return stop.stop_requested(); });
}

inline sys_seconds manual_clock::now() const {
  std::lock_guard lock(mutex_);
  return now_;
}

inline void manual_clock::set(sys_seconds t) {
  {
    std::lock_guard lock(mutex_);
    now_ = t;
  }
  changed_.notify_all();
}

inline void manual_clock::advance(seconds d) {
  if (d < seconds{0}) throw std::invalid_argument("manual_clock::advance: negative duration");
  {
    std::lock_guard lock(mutex_);
    now_ += d;
  }
  changed_.notify_all();
}

inline bool manual_clock::wait_until(sys_seconds deadline, stop_token stop) {
  const detail::stop_wake wake(stop, mutex_, changed_);
  std::unique_lock lock(mutex_);
  if (now_ >= deadline) return true;
  const auto entry = deadlines_.insert(deadline);
  changed_.wait(lock, [&] { return now_ >= deadline || stop.stop_requested(); });
  deadlines_.erase(entry);
  return now_ >= deadline;
}

inline int manual_clock::waiting() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(deadlines_.size());
}

inline std::optional<sys_seconds> manual_clock::earliest_wait() const {
  std::lock_guard lock(mutex_);
  // A deadline already reached belongs to a thread that is waking up, not waiting.
  const auto it = deadlines_.upper_bound(now_);
  if (it == deadlines_.end()) return std::nullopt;
  return *it;
}

namespace detail {
[[noreturn]] inline void throw_past_warp_clock_max() {
  throw std::out_of_range("the clock cannot go past 9999-12-31T23:59:59Z");
}
}  // namespace detail

inline warp_clock::warp_clock(sys_seconds start, double factor)
    : base_virtual_{start, 0}, base_real_(steady::now()), factor_(0) {
  if (start > warp_clock_max) detail::throw_past_warp_clock_max();
  set_factor(factor);
  base_virtual_ = {start, 0};
}

inline warp_clock::instant warp_clock::now_locked(steady::time_point real) const {
  if (factor_ == 0 || real <= base_real_) return base_virtual_;
  const double ns = std::chrono::duration<double, std::nano>(real - base_real_).count() * factor_;
  const double whole = std::floor(ns / 1e9);
  // Seconds left before the max: the clock stops there (also when `ns` is past any int64).
  const auto room = static_cast<double>(to_unix(warp_clock_max) - to_unix(base_virtual_.s));
  if (whole >= room) return {warp_clock_max, 0};
  auto s = static_cast<std::int64_t>(whole);
  // The nanoseconds past the whole second; imprecise only when `ns` is beyond 2^53.
  std::int64_t frac = base_virtual_.ns +
                      std::clamp<std::int64_t>(static_cast<std::int64_t>(ns - whole * 1e9), 0, 999'999'999);
  if (frac >= 1'000'000'000) {
    frac -= 1'000'000'000;
    ++s;  // still at most `room`: whole < room
  }
  return {base_virtual_.s + seconds{s}, frac};
}

inline void warp_clock::rebase_locked(instant at, double factor) {
  base_virtual_ = at;
  base_real_ = steady::now();
  factor_ = factor;
}

inline sys_seconds warp_clock::now() const {
  std::lock_guard lock(mutex_);
  return now_locked(steady::now()).s;
}

inline double warp_clock::factor() const {
  std::lock_guard lock(mutex_);
  return factor_;
}

inline void warp_clock::set_factor(double factor) {
  if (!(factor >= 0 && factor <= 1e9)) throw std::invalid_argument("warp factor must be between 0 and 1e9");
  {
    std::lock_guard lock(mutex_);
    const auto real = steady::now();
    const auto at = now_locked(real);
    base_virtual_ = at;
    base_real_ = real;
    factor_ = factor;
  }
  changed_.notify_all();
}

inline void warp_clock::set(sys_seconds t) {
  if (t > warp_clock_max) detail::throw_past_warp_clock_max();
  {
    std::lock_guard lock(mutex_);
    rebase_locked({t, 0}, factor_);
  }
  changed_.notify_all();
}

inline void warp_clock::advance(seconds d) {
  if (d < seconds{0}) throw std::invalid_argument("warp_clock::advance: negative duration");
  {
    std::lock_guard lock(mutex_);
    const auto at = now_locked(steady::now());
    if (d > warp_clock_max - at.s) detail::throw_past_warp_clock_max();
    rebase_locked({at.s + d, at.ns}, factor_);
  }
  changed_.notify_all();
}

inline bool warp_clock::wait_until(sys_seconds deadline, stop_token stop) {
  const detail::stop_wake wake(stop, mutex_, changed_);
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    const auto real = steady::now();
    const auto at = now_locked(real);
    if (at.s >= deadline) return true;
    if (factor_ == 0) {
      changed_.wait(lock, [&] {
        return stop.stop_requested() || factor_ != 0 || now_locked(steady::now()).s >= deadline;
      });
      continue;
    }
    // Woken early by any change of the clock (set, advance, factor) or a stop; at least once a
    // second in any case.
    const double virtual_ns =
        static_cast<double>(to_unix(deadline) - to_unix(at.s)) * 1e9 - static_cast<double>(at.ns);
    const double real_ns = std::min(virtual_ns / factor_, 1e9);
    changed_.wait_until(lock, real + std::chrono::nanoseconds{static_cast<std::int64_t>(real_ns) + 1});
  }
  return false;
}

}  // namespace rotary
