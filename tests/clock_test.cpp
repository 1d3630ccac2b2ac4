#define BOOST_TEST_MODULE clock
#include <boost/test/unit_test.hpp>

#include <rotary/clock.hpp>
#include "print.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

using namespace rotary;
using namespace std::chrono_literals;

namespace {
const sys_seconds t0 = from_unix(1798761600);  // 2027-01-01T00:00:00Z

// std::jthread's joining, without <stop_token>'s jthread (libc++ 14 has none).
struct joining_thread {
  std::thread thread;
  template <class F>
  explicit joining_thread(F f) : thread(std::move(f)) {}
  joining_thread(const joining_thread&) = delete;
  joining_thread& operator=(const joining_thread&) = delete;
  ~joining_thread() {
    if (thread.joinable()) thread.join();
  }
  void join() { thread.join(); }
};
}  // namespace

static_assert(WaitableClock<real_clock> && WaitableClock<manual_clock> && WaitableClock<warp_clock>);
static_assert(Clock<clock_ref>);

BOOST_AUTO_TEST_CASE(manual_clock_moves_only_when_told) {
  manual_clock c{t0};
  BOOST_TEST(to_unix(c.now()) == to_unix(t0));
  c.advance(10min);
  BOOST_TEST(to_unix(c.now()) == to_unix(t0 + 10min));
  c.set(t0 - 1h);
  BOOST_TEST(to_unix(c.now()) == to_unix(t0 - 1h));
  BOOST_CHECK_THROW(c.advance(-1s), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(manual_clock_wakes_a_waiter_when_advanced_past_its_deadline) {
  manual_clock c{t0};
  std::atomic<bool> woke{false}, reached{false};
  joining_thread waiter([&] {  // Boost.Test assertions are not thread-safe: checked after join
    reached = c.wait_until(t0 + 1h);
    woke = true;
  });
  while (c.waiting() == 0) std::this_thread::yield();
  c.advance(59min);  // not yet
  std::this_thread::sleep_for(20ms);
  BOOST_TEST(!woke.load());
  c.advance(1min);
  waiter.join();
  BOOST_TEST(woke.load());
  BOOST_TEST(reached.load());
  BOOST_TEST(c.waiting() == 0);
}

BOOST_AUTO_TEST_CASE(manual_clock_wait_returns_false_when_stopped) {
  manual_clock c{t0};
  rotary::stop_source stop;
  std::atomic<int> result{-1};
  joining_thread waiter([&] { result = c.wait_until(t0 + 1h, stop.get_token()) ? 1 : 0; });
  while (c.waiting() == 0) std::this_thread::yield();
  stop.request_stop();
  waiter.join();
  BOOST_TEST(result.load() == 0);
}

BOOST_AUTO_TEST_CASE(a_stop_callback_runs_once_when_stopped_and_at_once_when_already_stopped) {
  rotary::stop_source stop;
  int calls = 0;
  {
    const rotary::stop_callback counting(stop.get_token(), [&] { ++calls; });
    BOOST_TEST(calls == 0);
    BOOST_TEST(stop.request_stop());
    BOOST_TEST(!stop.request_stop());  // only the first request counts
    BOOST_TEST(calls == 1);
  }
  const rotary::stop_callback late(stop.get_token(), [&] { ++calls; });
  BOOST_TEST(calls == 2);
  BOOST_TEST(stop.get_token().stop_requested());
  BOOST_TEST(!rotary::stop_token{}.stop_possible());
}

BOOST_AUTO_TEST_CASE(waits_that_were_stopped_before_they_began_return_false_at_once) {
  rotary::stop_source stop;
  stop.request_stop();
  manual_clock m{t0};
  warp_clock w{t0, 0.0};
  real_clock r;
  BOOST_TEST(!m.wait_until(t0 + 1h, stop.get_token()));
  BOOST_TEST(!w.wait_until(t0 + 1h, stop.get_token()));
  BOOST_TEST(!r.wait_until(r.now() + 1h, stop.get_token()));
  BOOST_TEST(m.waiting() == 0);
}

BOOST_AUTO_TEST_CASE(a_running_warp_clock_waiter_wakes_when_advanced_past_its_deadline) {
  warp_clock c{t0, 1.0};
  std::atomic<bool> reached{false};
  joining_thread waiter([&] { reached = c.wait_until(t0 + 1h); });
  std::this_thread::sleep_for(20ms);
  c.advance(1h);
  waiter.join();
  BOOST_TEST(reached.load());
}

BOOST_AUTO_TEST_CASE(manual_clock_wait_for_a_past_instant_returns_at_once) {
  manual_clock c{t0};
  BOOST_TEST(c.wait_until(t0));
  BOOST_TEST(c.wait_until(t0 - 1s));
}

BOOST_AUTO_TEST_CASE(warp_clock_runs_faster_than_real_time) {
  warp_clock c{t0, 36'000.0};  // ten hours per real second
  std::this_thread::sleep_for(50ms);
  const auto elapsed = c.now() - t0;
  BOOST_TEST(elapsed >= 30min);  // at least 50 ms of real time passed
  BOOST_TEST(elapsed < 24h);
}

BOOST_AUTO_TEST_CASE(warp_clock_factor_zero_freezes_and_changes_never_jump_back) {
  warp_clock c{t0, 1000.0};
  std::this_thread::sleep_for(10ms);
  c.set_factor(0);
  const auto frozen = c.now();
  BOOST_TEST(frozen >= t0 + 10s);
  std::this_thread::sleep_for(20ms);
  BOOST_TEST(to_unix(c.now()) == to_unix(frozen));
  c.set_factor(1.0);
  BOOST_TEST(c.now() >= frozen);
  c.set_factor(1e6);
  const auto fast = c.now();
  c.set_factor(0.001);
  BOOST_TEST(c.now() >= fast);
  BOOST_CHECK_THROW(c.set_factor(-1), std::invalid_argument);
  BOOST_CHECK_THROW(c.set_factor(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(warp_clock_set_and_advance_move_virtual_time) {
  warp_clock c{t0, 0.0};
  c.advance(1h);
  BOOST_TEST(to_unix(c.now()) == to_unix(t0 + 1h));
  c.set(t0 + 24h);
  BOOST_TEST(to_unix(c.now()) == to_unix(t0 + 24h));
}

BOOST_AUTO_TEST_CASE(warp_clock_waiter_wakes_at_the_warped_deadline) {
  warp_clock c{t0, 3600.0};  // an hour per second: 30 virtual seconds take about 8 ms
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(c.wait_until(t0 + 30s));
  BOOST_TEST(c.now() >= t0 + 30s);
  BOOST_TEST(std::chrono::steady_clock::now() - start < 5s);
}

BOOST_AUTO_TEST_CASE(frozen_warp_clock_waiter_wakes_when_advanced) {
  warp_clock c{t0, 0.0};
  std::atomic<bool> woke{false}, reached{false};
  joining_thread waiter([&] {  // Boost.Test assertions are not thread-safe: checked after join
    reached = c.wait_until(t0 + 10min);
    woke = true;
  });
  std::this_thread::sleep_for(20ms);
  BOOST_TEST(!woke.load());
  c.advance(10min);
  waiter.join();
  BOOST_TEST(woke.load());
  BOOST_TEST(reached.load());
}

BOOST_AUTO_TEST_CASE(clock_ref_forwards_to_the_clock_it_refers_to) {
  manual_clock m{t0};
  clock_ref r = m;
  m.advance(5s);
  BOOST_TEST(to_unix(r.now()) == to_unix(t0 + 5s));
  BOOST_TEST(r.wait_until(t0));
  real_clock real;
  clock_ref rr = real;
  BOOST_TEST(to_unix(rr.now()) > 1'700'000'000);
}

BOOST_AUTO_TEST_CASE(manual_clock_tells_a_driver_the_earliest_deadline_anyone_waits_for) {
  manual_clock c{t0};
  BOOST_TEST(!c.earliest_wait().has_value());
  joining_thread late([&] { c.wait_until(t0 + 2h); });
  joining_thread soon([&] { c.wait_until(t0 + 30min); });
  while (c.waiting() < 2) std::this_thread::yield();
  BOOST_TEST(c.earliest_wait() == std::optional<sys_seconds>(t0 + 30min));
  c.set(*c.earliest_wait());
  soon.join();
  BOOST_TEST(c.earliest_wait() == std::optional<sys_seconds>(t0 + 2h));
  c.advance(90min);
  late.join();
  BOOST_TEST(!c.earliest_wait().has_value());
}

// Instants up to 9999-12-31T23:59:59Z: a warp clock kept nanoseconds in 64 bits, which wrap
// after 2262-04-11 (a clock started in 9999 read as a time before 1970).
BOOST_AUTO_TEST_CASE(a_warp_clock_keeps_whole_instants_up_to_9999_and_stops_there) {
  const auto last = from_unix(253'402'300'799);
  BOOST_TEST(to_unix(warp_clock_max) == to_unix(last));
  warp_clock frozen{from_unix(9'300'000'000), 0};  // 2264, past the nanosecond wrap
  BOOST_TEST(to_unix(frozen.now()) == 9'300'000'000);
  warp_clock w{last - 1h, 3600.0};  // an hour a second
  BOOST_TEST(to_unix(w.now()) >= to_unix(last - 1h));
  std::this_thread::sleep_for(1200ms);
  BOOST_TEST(to_unix(w.now()) == to_unix(last));  // it ran into the last instant and stays there
  w.set_factor(1e9);
  BOOST_TEST(to_unix(w.now()) == to_unix(last));
  w.set_factor(0);
  w.set(last - 10s);
  BOOST_TEST(to_unix(w.now()) == to_unix(last - 10s));
  w.advance(10s);
  BOOST_TEST(to_unix(w.now()) == to_unix(last));
  const auto past = [](const std::out_of_range& e) {
    return std::string(e.what()) == "the clock cannot go past 9999-12-31T23:59:59Z";
  };
  BOOST_CHECK_EXCEPTION(w.advance(1s), std::out_of_range, past);
  BOOST_CHECK_EXCEPTION(w.set(last + 1s), std::out_of_range, past);
  BOOST_CHECK_EXCEPTION(warp_clock(last + 1s, 1.0), std::out_of_range, past);
  BOOST_TEST(to_unix(w.now()) == to_unix(last));  // unchanged by the refusals
  // A waiter for the last instant wakes when the clock gets there.
  w.set(last - 2s);
  w.set_factor(10);
  BOOST_TEST(w.wait_until(last));
  BOOST_TEST(to_unix(w.now()) == to_unix(last));
}
