// The agent (agent.hpp): the rotation job as a service, driven through simulated weeks by a
// manual clock shared with the fake server, and its wake-up rule alone.
#define BOOST_TEST_MODULE agent
#include <boost/test/unit_test.hpp>
#include <rotary/agent.hpp>
#include <rotary/fake_server.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bounded.hpp"
#include "files.hpp"
#include "print.hpp"

using namespace std::chrono_literals;
using rotary::agent_event;
using rotary::job_strategy;
using rotary::run_status;
using rotary::sys_seconds;
using rotary::test::temp_dir;

namespace {

const sys_seconds t0 = rotary::parse_time("2027-01-01T00:00:00Z").value();
const rotary::store_key key = rotary::store_key::generate();

// A fake server on a manual clock, a token of `period` created at t0, a store holding it, and
// an agent on the same clock, run in its own thread by `start`. `drive_until` jumps the clock
// to each instant somebody waits for (the agent's sleep, the job's backoff), as the drill does.
struct world {
  rotary::manual_clock clock{t0};
  rotary::fake_server server;
  std::string url;
  temp_dir dir;
  rotary::token_store store{dir.path / "token.store", key};
  std::mutex mutex;
  std::vector<agent_event> events;
  rotary::stop_source stop;
  std::thread thread;
  std::atomic<int> exit_code{-1};

  explicit world(rotary::minutes period = rotary::minutes{1440}) : server(server_options()) {
    url = server.start();
    const auto t =
        server.create_token({.rotation_period = period, .expires_at = t0 + std::chrono::days{365}});
    rotary::store_contents c;
    c.current = {t->raw_secret, {t->created_at, t->rotation_period, t->expires_at, std::nullopt}};
    c.endpoint = url;
    auto lock = store.lock().value();
    BOOST_REQUIRE(store.create(lock, c).has_value());
  }
  world(const world&) = delete;
  world& operator=(const world&) = delete;
  ~world() {
    stop.request_stop();
    if (thread.joinable()) thread.join();
  }
  rotary::fake_server_options server_options() {
    rotary::fake_server_options o;
    o.clock = clock;
    o.min_period = rotary::minutes{1};
    o.threads = 4;
    return o;
  }
  rotary::agent_options options(std::uint64_t seed = 7) {
    rotary::agent_options o;
    o.rotation.strategy = {job_strategy::when_due, std::chrono::hours{1}};
    o.rotation.retries = 1;
    o.rotation.retry_delay = 30s;
    o.rotation.client = {
        .connect_timeout = 2s, .read_timeout = 2s, .ca_file = {}, .user_agent = "rotary-test"};
    o.rotation.lock_wait = 0ms;
    o.seed = seed;
    o.on_event = [this](const agent_event& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
    };
    return o;
  }
  void start(rotary::agent& a) {
    thread = std::thread([this, &a] { exit_code = a.run(stop.get_token()); });
  }
  // Jumps the clock to every wait until nobody waits before `end`; then stops the agent.
  void drive_until(sys_seconds end) {
    for (;;) {
      const auto next = clock.earliest_wait();
      if (!next) {
        std::this_thread::sleep_for(50us);
        continue;
      }
      if (*next >= end) break;
      clock.set(std::max(*next, clock.now()));
    }
    stop.request_stop();
    thread.join();
  }
  std::vector<agent_event> snapshot() {
    std::lock_guard lock(mutex);
    return events;
  }
  std::size_t count(agent_event::kind_type k) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [k](const auto& e) { return e.kind == k; }));
  }
  // Waits (real time, bounded) until `n` events of kind `k` were seen.
  bool wait_for(agent_event::kind_type k, std::size_t n) {
    for (int i = 0; i < 5000 && count(k) < n; ++i) std::this_thread::sleep_for(1ms);
    return count(k) >= n;
  }
};

std::vector<std::string> lines(const std::vector<agent_event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.line());
  return out;
}

}  // namespace

// A simulated month of daily tokens: every rotation happens inside its window (from the due
// instant, deadline minus the 1-hour margin, to the deadline), after at most the jitter, and the
// token never lapses; the agent sleeps between rotations instead of waking every minute.
BOOST_AUTO_TEST_CASE(a_month_of_daily_tokens_rotates_each_inside_its_window) {
  world w;
  rotary::agent a{w.store, w.options(), w.clock};
  w.start(a);
  w.drive_until(t0 + std::chrono::days{30});
  BOOST_TEST(w.exit_code == 0);
  const auto events = w.snapshot();
  BOOST_REQUIRE(!events.empty());
  BOOST_TEST(events.front().kind == agent_event::started);
  BOOST_TEST(events.back().kind == agent_event::stopped);
  std::optional<rotary::token_state> held =
      rotary::token_state{t0, rotary::minutes{1440}, t0 + std::chrono::days{365}, std::nullopt};
  int rotations = 0;
  for (const auto& e : events) {
    if (e.kind == agent_event::sleeping) {
      BOOST_TEST_REQUIRE(e.until.has_value());
      BOOST_TEST(*e.until >= e.at);
      BOOST_TEST(*e.until - e.at <= std::chrono::hours{1} + 5min, e.line());  // recheck + jitter at most
    }
    if (e.kind != agent_event::run) continue;
    BOOST_TEST_REQUIRE(e.report.has_value());
    const auto& r = *e.report;
    BOOST_TEST((r.status == run_status::rotated || r.status == run_status::not_due), r.line());
    if (r.status != run_status::rotated) continue;
    ++rotations;
    const auto deadline = held->created_at + *held->rotation_period;
    BOOST_TEST(r.started >= deadline - std::chrono::hours{1}, r.line());         // not before it is due
    BOOST_TEST(r.started <= deadline - std::chrono::hours{1} + 5min, r.line());  // at most the jitter late
    held = r.token;
  }
  // Each daily token is rotated 1 hour before its end, less the jitter: 31 in 30 days.
  BOOST_TEST(rotations == 31);
  BOOST_TEST(w.server.token_count() == 32u);
  // Quiet: a run is logged when something happens, not at every hourly recheck.
  BOOST_TEST(w.count(agent_event::run) < 3u * 31u);
}

// The same seed, the same wake-ups and reports, line for line; another seed moves the jitter.
BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_log) {
  auto log_of = [](std::uint64_t seed) {
    world w;
    rotary::agent a{w.store, w.options(seed), w.clock};
    w.start(a);
    w.drive_until(t0 + std::chrono::days{5});
    return lines(w.snapshot());
  };
  const auto first = log_of(7);
  BOOST_TEST(first.size() > 10u);
  BOOST_TEST(log_of(7) == first, boost::test_tools::per_element());
  const auto other = log_of(8);
  BOOST_TEST(!std::equal(other.begin(), other.end(), first.begin(), first.end()));
}

// A failing endpoint: the run fails, the agent retries after 1 minute, then 2, ... and rotates
// once the endpoint answers again, still before the deadline.
BOOST_AUTO_TEST_CASE(failed_runs_are_retried_with_a_doubling_backoff_until_one_rotates) {
  world w;
  w.clock.set(t0 + std::chrono::hours{23} + 30min);  // due since 23:00
  rotary::wire::fault f;
  f.kind = rotary::wire::fault_kind::status;
  f.status = 500;
  f.count = 6;  // three runs of two attempts
  w.server.set_faults({{f}, 1});
  rotary::agent a{w.store, w.options(), w.clock};
  w.start(a);
  w.drive_until(t0 + std::chrono::hours{25});
  std::vector<std::string> reasons;
  int failed = 0;
  std::optional<rotary::run_report> rotated;
  for (const auto& e : w.snapshot()) {
    if (e.kind == agent_event::sleeping) reasons.push_back(e.reason);
    if (e.kind == agent_event::run && e.report->status == run_status::failed) ++failed;
    if (e.kind == agent_event::run && e.report->status == run_status::rotated && !rotated) rotated = e.report;
  }
  BOOST_TEST(failed == 3);
  BOOST_REQUIRE(reasons.size() >= 4u);
  BOOST_TEST(reasons[0] == "failed; retry in 1m");
  BOOST_TEST(reasons[1] == "failed; retry in 2m");
  BOOST_TEST(reasons[2] == "failed; retry in 4m");
  BOOST_REQUIRE(rotated.has_value());
  BOOST_TEST(rotated->started < t0 + std::chrono::hours{24});  // before the token's end
}

// wake() (SIGHUP) ends the sleep at once: the job runs again and reads the store; a stop ends
// run() while it sleeps, without the clock moving.
BOOST_AUTO_TEST_CASE(wake_runs_the_job_again_and_a_stop_ends_the_sleep_at_once) {
  world w;
  rotary::agent a{w.store, w.options(), w.clock};
  w.start(a);
  BOOST_REQUIRE(w.wait_for(agent_event::sleeping, 1));
  BOOST_TEST(w.count(agent_event::run) == 1u);
  a.wake();
  BOOST_TEST(w.wait_for(agent_event::woken, 1));
  BOOST_TEST(w.wait_for(agent_event::run, 2));  // a repeat, logged because it followed a wake-up
  BOOST_TEST(w.wait_for(agent_event::sleeping, 2));
  BOOST_TEST(w.clock.now() == t0);
  const bool stopped = rotary::test::returns_within(2s, [&] {
    w.stop.request_stop();
    w.thread.join();
  });
  BOOST_TEST(stopped);
  BOOST_TEST(w.exit_code == 0);
  BOOST_TEST(w.snapshot().back().kind == agent_event::stopped);
}

// A stop while the job waits to retry a rotation ends the run there, not after the backoff.
BOOST_AUTO_TEST_CASE(a_stop_while_the_job_waits_to_retry_ends_the_run_at_once) {
  world w;
  w.clock.set(t0 + std::chrono::hours{23} + 30min);  // due
  rotary::wire::fault f;
  f.kind = rotary::wire::fault_kind::status;
  f.status = 500;
  f.count = 100;
  w.server.set_faults({{f}, 1});
  auto o = w.options();
  o.rotation.retries = 5;
  rotary::agent a{w.store, o, w.clock};
  w.start(a);
  bool waiting = false;  // the job's backoff: the only wait before the first run ends
  for (int i = 0; i < 5000 && !waiting; ++i) {
    std::this_thread::sleep_for(1ms);
    waiting = w.clock.earliest_wait().has_value() && w.count(agent_event::run) == 0;
  }
  BOOST_REQUIRE(waiting);
  const bool stopped = rotary::test::returns_within(2s, [&] {
    w.stop.request_stop();
    w.thread.join();
  });
  BOOST_TEST(stopped);
  const auto events = w.snapshot();
  const auto last_run_at = std::find_if(events.rbegin(), events.rend(),
                                        [](const agent_event& e) { return e.kind == agent_event::run; });
  BOOST_REQUIRE((last_run_at != events.rend() && last_run_at->report.has_value()));
  const auto& last_run = *last_run_at;
  BOOST_TEST((last_run.report->status == run_status::failed));
  BOOST_TEST(last_run.report->detail.find("stopped while waiting to retry") != std::string::npos,
             last_run.report->detail);
  BOOST_TEST(w.clock.now() == t0 + std::chrono::hours{23} + 30min);  // the backoff never ran out
}

// A store without an endpoint and no endpoint given: misconfigured, run() returns 2 at once.
BOOST_AUTO_TEST_CASE(a_misconfigured_job_ends_the_agent_with_2) {
  world w;
  auto c = w.store.load().value();
  c.endpoint.clear();
  {
    const auto lock = w.store.lock().value();
    BOOST_REQUIRE(w.store.save(lock, c).has_value());
  }
  rotary::agent a{w.store, w.options(), w.clock};
  rotary::stop_source never;
  BOOST_TEST(a.run(never.get_token()) == 2);
  const auto events = w.snapshot();
  BOOST_REQUIRE(events.size() == 3u);
  BOOST_TEST((events[1].report->status == run_status::misconfigured));
  BOOST_TEST(events[2].kind == agent_event::stopped);
}

// The wake-up rule alone.
BOOST_AUTO_TEST_CASE(plan_follows_the_documented_table) {
  temp_dir dir;
  const rotary::token_store store{dir.path / "none.store", key};
  rotary::manual_clock clock{t0};
  rotary::agent_options o;
  o.rotation.strategy = {job_strategy::when_due, std::chrono::minutes{10}};  // jitter at most 1 minute
  rotary::agent a{store, o, clock};
  const sys_seconds now = t0;

  rotary::run_report not_due;
  not_due.status = run_status::not_due;
  not_due.rotate_from = t0 + std::chrono::hours{5};
  const auto p = a.plan(not_due, now);
  BOOST_TEST(p.at == t0 + std::chrono::hours{1});  // the recheck comes first
  BOOST_TEST(p.reason == "recheck; rotation due from 2027-01-01T05:00:00Z");
  not_due.rotate_from = t0 + 30min;
  const auto soon = a.plan(not_due, now);
  const auto jitter = soon.at - (t0 + 30min);
  BOOST_TEST((jitter >= 0s && jitter <= 60s));
  BOOST_TEST(soon.reason ==
             "rotation due from 2027-01-01T00:30:00Z, jitter " + rotary::format_duration(jitter));
  BOOST_TEST(a.plan(not_due, now + 1s).at == soon.at);  // drawn once per due instant

  rotary::run_report failed;
  failed.status = run_status::failed;
  BOOST_TEST(a.plan(failed, now).at == now + 1min);
  BOOST_TEST(a.plan(failed, now).at == now + 2min);
  BOOST_TEST(a.plan(failed, now).at == now + 4min);
  for (int i = 0; i < 10; ++i) (void)a.plan(failed, now);
  BOOST_TEST(a.plan(failed, now).at == now + 1h);  // capped by the recheck
  failed.usable_until = now + 90s;
  const auto before_end = a.plan(failed, now);
  BOOST_TEST(before_end.at == now + 80s);  // the safety margin (10 s) before the token's end
  BOOST_TEST(before_end.reason == "failed; retry before the token stops working at 2027-01-01T00:01:30Z");
  BOOST_TEST(a.plan(not_due, now).at == soon.at);  // a success resets the backoff
  failed.usable_until.reset();
  BOOST_TEST(a.plan(failed, now).at == now + 1min);

  rotary::run_report dead;
  dead.status = run_status::unusable;
  const auto person = a.plan(dead, now);
  BOOST_TEST(person.at == now + 1h);
  BOOST_TEST(person.reason == "unusable: a person must act; the store is read again then");

  // The jitter: whole seconds in [0, min(max_jitter, margin / 10)], the same for a seed.
  rotary::agent b{store, o, clock}, c{store, o, clock};
  std::int64_t largest = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto due = t0 + std::chrono::hours{i};
    const auto j = b.jitter_for(due);
    BOOST_TEST_REQUIRE((j >= 0s && j <= 60s));
    BOOST_TEST_REQUIRE(c.jitter_for(due) == j);
    largest = std::max<std::int64_t>(largest, j.count());
  }
  BOOST_TEST(largest == 60);  // the cap is reached
}

BOOST_AUTO_TEST_CASE(an_agent_needs_a_when_due_strategy_and_sane_intervals) {
  temp_dir dir;
  const rotary::token_store store{dir.path / "none.store", key};
  rotary::manual_clock clock{t0};
  auto refused = [&](rotary::agent_options o) -> std::string {
    try {
      rotary::agent a{store, std::move(o), clock};
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  rotary::agent_options o;
  BOOST_TEST(
      refused(o) ==
      "agent: the strategy must be when-due (an agent rotating at every wake-up would never stop rotating)");
  o.rotation.strategy = {job_strategy::when_due, std::chrono::hours{1}};
  BOOST_TEST(refused(o) == "accepted");
  o.recheck = 30s;
  BOOST_TEST(refused(o) == "agent: recheck under a minute");
  o.recheck = 1h;
  o.first_backoff = 2h;
  BOOST_TEST(refused(o) == "agent: the backoff must be between 1 second and the recheck");
  o.first_backoff = 1min;
  o.max_jitter = -1s;
  BOOST_TEST(refused(o) == "agent: negative jitter");
}
