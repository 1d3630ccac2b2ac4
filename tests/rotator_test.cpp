#define BOOST_TEST_MODULE rotator
#include <boost/test/unit_test.hpp>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/rotator.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "files.hpp"
#include "print.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rotary::job_strategy;
using rotary::run_status;
using rotary::sys_seconds;
using rotary::wire::fault;
using rotary::wire::fault_kind;

using rotary::test::temp_dir;

namespace {

const sys_seconds t0 = rotary::parse_time("2027-01-01T00:00:00Z").value();
const rotary::store_key key = rotary::store_key::generate();

// A manual clock that jumps to every instant a waiter asks for (so backoff takes no real
// time) and remembers how long each wait was.
struct jumping_clock {
  rotary::manual_clock& clock;
  std::mutex mutex;
  std::vector<rotary::seconds> waits;
  [[nodiscard]] sys_seconds now() const { return clock.now(); }
  bool wait_until(sys_seconds t, std::stop_token = {}) {
    std::lock_guard lock(mutex);
    waits.push_back(t - clock.now());
    if (t > clock.now()) clock.set(t);
    return true;
  }
};

// A fake server on a manual clock, a 3600-minute token created at t0, a store holding it.
struct fixture {
  rotary::manual_clock manual{t0};
  jumping_clock clock{manual, {}, {}};
  rotary::fake_server server;
  std::string url;
  rotary::wire::created_token created;
  temp_dir dir;
  rotary::token_store store{dir.path / "token.store", key};

  explicit fixture(rotary::rerotation mode = rotary::rerotation::reject, rotary::fake_server_options o = {})
      : server(options(std::move(o), mode)) {
    url = server.start();
    created = server
                  .create_token({.rotation_period = std::chrono::minutes{3600},
                                 .expires_at = t0 + std::chrono::days{365}})
                  .value();
    rotary::store_contents c;
    c.current = {created.raw_secret,
                 {created.created_at, created.rotation_period, created.expires_at, std::nullopt}};
    c.endpoint = url;
    auto lock = store.lock().value();
    BOOST_REQUIRE(store.create(lock, c).has_value());
  }
  rotary::fake_server_options options(rotary::fake_server_options o, rotary::rerotation mode) {
    o.clock = manual;
    o.rerotate = mode;
    return o;
  }
  rotary::rotator_options job(job_strategy strategy = {}) const {
    rotary::rotator_options o;
    o.strategy = strategy;
    o.retries = 3;
    o.retry_delay = 30s;
    o.client = {.connect_timeout = 2s, .read_timeout = 2s, .ca_file = {}, .user_agent = "rotary-test"};
    o.lock_wait = 0ms;
    return o;
  }
  rotary::run_report run(rotary::rotator_options o) {
    return rotary::rotator(store, std::move(o), clock).run();
  }
  rotary::run_report run() { return run(job()); }
  void fail_next(fault f, std::uint64_t n = 1) {
    f.count = n;
    server.set_faults({{f}, 7});
  }
  [[nodiscard]] std::size_t rotations() const {
    std::size_t n = 0;
    for (const auto& e : server.events())
      if (e.kind == "rotation") ++n;
    return n;
  }
  [[nodiscard]] std::string secret() const { return store.load().value().current.secret; }
  // Whether the server accepts `secret` for an API call right now.
  [[nodiscard]] bool works(const std::string& secret) const {
    return rotary::check_token(url, secret).has_value();
  }
};

fault make_fault(fault_kind kind, int status = 503) {
  fault f;
  f.kind = kind;
  f.status = status;
  return f;
}

const job_strategy always{};
job_strategy when_due(rotary::seconds margin) { return {job_strategy::when_due, margin}; }

}  // namespace

BOOST_AUTO_TEST_CASE(a_run_rotates_and_saves_before_anything_uses_the_new_token) {
  fixture f;
  f.manual.set(t0 + 5h);
  auto o = f.job();
  std::string used;
  o.on_new_token = [&](const rotary::stored_token& t) {
    used = t.secret;
    BOOST_TEST(f.secret() == t.secret);  // already in the store when the application gets it
  };
  const auto r = f.run(o);
  BOOST_TEST((r.status == run_status::rotated));
  BOOST_TEST(r.exit_code() == 0);
  BOOST_TEST(r.attempts == 1);
  BOOST_TEST(!used.empty());
  const auto c = f.store.load().value();
  BOOST_TEST(c.current.secret == used);
  BOOST_TEST(c.current.state.created_at == t0 + 5h);
  BOOST_TEST(c.current.state.rotation_period == std::optional{std::chrono::minutes{3600}});
  BOOST_TEST(c.current.state.expires_at == std::optional{t0 + std::chrono::days{365}});
  BOOST_REQUIRE(c.previous.has_value());
  BOOST_TEST(c.previous->secret == f.created.raw_secret);
  BOOST_TEST(c.previous->state.rotated_at == std::optional{t0 + 5h});
  BOOST_TEST(!c.unanswered_rotation.has_value());
  BOOST_TEST(f.works(used));
  BOOST_TEST(f.works(f.created.raw_secret));  // in its buffer
  BOOST_TEST(r.previous_until == std::optional{t0 + 5h + 10min});
  BOOST_TEST(r.line() ==
             "2027-01-01T05:00:00Z rotated: new token created 2027-01-01T05:00:00Z, usable until "
             "2027-01-03T17:00:00Z (in 2d12h); the previous one works until 2027-01-01T05:10:00Z (in 10m) (1 "
             "attempt)");
  BOOST_TEST(r.line().find(used) == std::string::npos);
  BOOST_TEST(r.line().find(f.created.raw_secret) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(when_due_rotates_only_inside_the_margin) {
  fixture f;
  f.manual.set(t0 + 1h);
  const auto early = f.run(f.job(when_due(24h)));
  BOOST_TEST((early.status == run_status::not_due));
  BOOST_TEST(early.exit_code() == 0);
  BOOST_TEST(early.rotate_from == std::optional{t0 + 36h});
  BOOST_TEST(
      early.line() ==
      "2027-01-01T01:00:00Z not-due: rotate from 2027-01-02T12:00:00Z (in 1d11h); the token is usable until "
      "2027-01-03T12:00:00Z (in 2d11h)");
  BOOST_TEST(f.rotations() == 0u);
  f.manual.set(t0 + 36h - 1s);
  BOOST_TEST((f.run(f.job(when_due(24h))).status == run_status::not_due));
  f.manual.set(t0 + 36h);
  BOOST_TEST((f.run(f.job(when_due(24h))).status == run_status::rotated));
  BOOST_TEST(f.rotations() == 1u);
}

// A month of daily runs at 03:00 with 30% of requests failing with 503 and a few connection
// resets: every run exits 0, the token held always works, and the parent leaves the store once
// its buffer is over.
BOOST_AUTO_TEST_CASE(a_month_of_daily_runs_keeps_the_token_alive) {
  fixture f;
  rotary::wire::fault_config faults;
  faults.seed = 2027;
  auto flaky = make_fault(fault_kind::status, 503);
  flaky.probability = 0.3;
  auto reset = make_fault(fault_kind::reset);
  reset.probability = 0.05;
  faults.faults = {flaky, reset};
  f.server.set_faults(faults);
  int rotated = 0, not_due = 0, retried = 0;
  for (int day = 0; day < 31; ++day) {
    f.manual.set(t0 + std::chrono::days{day} + 3h);
    auto o = f.job(when_due(40h));
    o.retries = 5;
    o.retry_delay = 5min;
    const auto r = f.run(o);
    BOOST_TEST_CONTEXT("day " << day << ": " << r.line()) {
      BOOST_TEST(r.exit_code() == 0);
      BOOST_TEST(f.works(f.secret()));
      if (r.status == run_status::rotated) ++rotated;
      if (r.status == run_status::not_due) ++not_due;
      if (r.attempts > 1) ++retried;
    }
    // Later the same day: the parent's buffer is over, the next run drops it.
    f.manual.set(t0 + std::chrono::days{day} + 8h);
    if (f.store.load().value().previous) {
      BOOST_TEST(!f.works(f.store.load().value().previous->secret));
    }
  }
  BOOST_TEST(rotated == 30);
  BOOST_TEST(not_due == 1);
  // A run that is not due drops a parent whose buffer is over.
  BOOST_TEST(f.store.load().value().previous.has_value());
  BOOST_TEST((f.run(f.job(when_due(40h))).status == run_status::not_due));
  BOOST_TEST(!f.store.load().value().previous.has_value());
  BOOST_TEST(retried > 3);
  BOOST_TEST(f.rotations() == 30u);
}

BOOST_AUTO_TEST_CASE(every_transient_fault_is_retried_until_it_works) {
  struct named {
    const char* name;
    rotary::wire::fault what;
  };
  auto limit = make_fault(fault_kind::status, 429);
  limit.retry_after = 90s;
  std::vector<named> kinds = {
      {"500", make_fault(fault_kind::status, 500)}, {"502", make_fault(fault_kind::status, 502)},
      {"503", make_fault(fault_kind::status, 503)}, {"429", limit},
      {"reset", make_fault(fault_kind::reset)},     {"empty", make_fault(fault_kind::empty)}};
  for (const auto& k : kinds) {
    BOOST_TEST_CONTEXT(k.name) {
      fixture f;
      f.fail_next(k.what, 2);
      const auto r = f.run();
      BOOST_TEST((r.status == run_status::rotated));
      BOOST_TEST(r.attempts == 3);
      BOOST_TEST(f.rotations() == 1u);
      BOOST_TEST(f.works(f.secret()));
      // Backoff 30s then 60s; a 429 says 90s and is obeyed.
      const std::vector<rotary::seconds> want = k.what.status == 429 && k.what.kind == fault_kind::status
                                                    ? std::vector<rotary::seconds>{90s, 90s}
                                                    : std::vector<rotary::seconds>{30s, 60s};
      BOOST_TEST(f.clock.waits == want, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_slow_answer_within_the_timeout_is_fine) {
  fixture f;
  auto slow = make_fault(fault_kind::latency);
  slow.latency = 200ms;
  f.fail_next(slow);
  const auto r = f.run();
  BOOST_TEST((r.status == run_status::rotated));
  BOOST_TEST(r.attempts == 1);
}

BOOST_AUTO_TEST_CASE(out_of_retries_the_run_fails_with_the_time_left) {
  fixture f;
  f.manual.set(t0 + 10h);
  f.fail_next(make_fault(fault_kind::status, 503), 10);
  auto o = f.job();
  o.retries = 2;
  const auto r = f.run(o);
  BOOST_TEST((r.status == run_status::failed));
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.attempts == 3);
  BOOST_TEST(r.usable_until == std::optional{t0 + 60h});
  BOOST_TEST(
      r.line() ==
      "2027-01-01T10:01:30Z failed: failed after 3 attempts (server-error 503 injected-fault: injected "
      "fault: status 503); the token is usable until 2027-01-03T12:00:00Z (in "
      "2d1h58m30s); the next run retries");
  BOOST_TEST(f.secret() == f.created.raw_secret);
  BOOST_TEST(!f.store.load().value().unanswered_rotation.has_value());  // nothing was in doubt
}

BOOST_AUTO_TEST_CASE(retries_stop_before_the_token_dies) {
  fixture f;
  f.manual.set(t0 + 60h - 2min);
  f.fail_next(make_fault(fault_kind::status, 503), 10);
  const auto r = f.run();
  // Tries at 59:58:00, 59:58:30 and 59:59:30; a 120 s wait would end after the token, so the
  // last try is halfway to its end.
  BOOST_TEST(r.attempts == 4);
  BOOST_TEST(r.finished == t0 + 60h - 15s);
  BOOST_TEST(r.exit_code() == 1);
  f.manual.set(t0 + 60h);
  const auto dead = f.run();
  BOOST_TEST((dead.status == run_status::unusable));
  BOOST_TEST(dead.exit_code() == 3);
  BOOST_TEST(dead.ended_by == "rotation-period");
  BOOST_TEST(dead.attempts == 0);
}

BOOST_AUTO_TEST_CASE(refusals_are_never_retried) {
  {
    fixture f;
    BOOST_REQUIRE(f.server.revoke(f.created.id));
    const auto r = f.run();
    BOOST_TEST((r.status == run_status::unusable));
    BOOST_TEST(r.exit_code() == 3);
    BOOST_TEST(r.attempts == 1);
    BOOST_TEST(r.ended_by == "token-revoked");
    BOOST_TEST(f.clock.waits.empty());
  }
  {
    fixture f(rotary::rerotation::reject, {.greenlist = {"10.0.0.0/8"}});
    const auto r = f.run();
    BOOST_TEST((r.status == run_status::failed));
    BOOST_TEST(r.exit_code() == 1);
    BOOST_TEST(r.attempts == 1);
    BOOST_TEST(r.advice.find("greenlist") != std::string::npos);
    BOOST_TEST(!f.store.load().value().unanswered_rotation.has_value());
  }
  {
    // A token the operator could not describe (--init without --period) that cannot rotate: 400.
    fixture f;
    const auto fixed = f.server.create_token({.expires_at = t0 + std::chrono::days{30}}).value();
    {
      auto lock = f.store.lock().value();
      auto c = f.store.load().value();
      c.current = {fixed.raw_secret, {t0, std::nullopt, std::nullopt, std::nullopt}};
      c.unverified = true;
      BOOST_REQUIRE(f.store.save(lock, c).has_value());
    }
    const auto r = f.run(f.job(when_due(1h)));
    BOOST_TEST((r.status == run_status::failed));
    BOOST_TEST(r.exit_code() == 1);
    BOOST_TEST(r.attempts == 1);
    BOOST_TEST(r.error->code == "not-rotatable");
  }
}

BOOST_AUTO_TEST_CASE(an_unverified_token_rotates_at_once_to_learn_its_facts) {
  fixture f;
  {
    auto lock = f.store.lock().value();
    auto c = f.store.load().value();
    c.current.state = {t0 + 2h, std::nullopt, std::nullopt, std::nullopt};  // what --init knew
    c.unverified = true;
    BOOST_REQUIRE(f.store.save(lock, c).has_value());
  }
  f.manual.set(t0 + 3h);
  const auto r = f.run(f.job(when_due(1h)));
  BOOST_TEST((r.status == run_status::rotated));
  const auto c = f.store.load().value();
  BOOST_TEST(!c.unverified);
  BOOST_TEST(c.current.state.rotation_period == std::optional{std::chrono::minutes{3600}});
  BOOST_TEST(c.current.state.created_at == t0 + 3h);
}

// A lost response: the server rotates, the answer never arrives. Under `reject` the retry is
// refused and the run says the chain is broken; under `fork` and `idempotent` the retry works.
BOOST_AUTO_TEST_CASE(a_lost_response_under_each_rerotation_semantics) {
  for (auto kind : {fault_kind::commit_drop, fault_kind::malformed}) {
    for (auto mode : {rotary::rerotation::reject, rotary::rerotation::fork, rotary::rerotation::idempotent}) {
      BOOST_TEST_CONTEXT(rotary::wire::to_string(kind) << " " << static_cast<int>(mode)) {
        fixture f(mode);
        f.manual.set(t0 + 1h);
        f.fail_next(make_fault(kind));
        const auto r = f.run();
        if (mode == rotary::rerotation::reject) {
          BOOST_TEST((r.status == run_status::chain_broken));
          BOOST_TEST(r.exit_code() == 3);
          BOOST_TEST(r.attempts == 2);
          BOOST_TEST(r.usable_until == std::optional{t0 + 1h + 10min});
          BOOST_TEST(r.unanswered_rotation == std::optional{t0 + 1h});
          BOOST_TEST(
              r.line().find("chain-broken: the server refused the token (unauthorized 401 already-rotated") !=
              std::string::npos);
          BOOST_TEST(r.line().find("a rotation sent at 2027-01-01T01:00:00Z got no answer") !=
                     std::string::npos);
          BOOST_TEST(
              r.line().find("a person must create a new token in the admin console and run: rotary rotate "
                            "--init --store ") != std::string::npos);
          BOOST_TEST(f.secret() == f.created.raw_secret);
          BOOST_TEST(f.store.load().value().unanswered_rotation == std::optional{t0 + 1h});
        } else {
          BOOST_TEST((r.status == run_status::rotated));
          BOOST_TEST(r.attempts == 2);
          BOOST_TEST(f.works(f.secret()));
          BOOST_TEST(f.secret() != f.created.raw_secret);
        }
      }
    }
  }
}

// The process dies with its request in flight (here: no retries, the answer is lost). The
// store remembers the unanswered rotation, so the next run knows what a 401 means.
BOOST_AUTO_TEST_CASE(an_unanswered_rotation_is_remembered_across_runs) {
  for (auto mode : {rotary::rerotation::reject, rotary::rerotation::idempotent}) {
    fixture f(mode);
    f.manual.set(t0 + 1h);
    f.fail_next(make_fault(fault_kind::commit_drop));
    auto o = f.job(when_due(1h));
    o.retries = 0;
    auto first = o;
    first.strategy = always;
    const auto r = f.run(first);
    BOOST_TEST((r.status == run_status::failed));
    BOOST_TEST(r.exit_code() == 1);
    BOOST_TEST(r.usable_until == std::optional{t0 + 1h + 10min});  // counts the possible rotation
    BOOST_TEST(r.detail.find("got no answer: if the server committed it, the chain may be broken") !=
               std::string::npos);
    f.manual.set(t0 + 1h + 5min);
    const auto next = f.run(o);  // when-due would not rotate, but the doubt must be settled
    if (mode == rotary::rerotation::reject) {
      BOOST_TEST((next.status == run_status::chain_broken));
      BOOST_TEST(next.exit_code() == 3);
    } else {
      BOOST_TEST((next.status == run_status::rotated));
      BOOST_TEST(f.works(f.secret()));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_token_dead_after_an_unanswered_rotation_says_so) {
  fixture f;
  f.manual.set(t0 + 59h);
  f.fail_next(make_fault(fault_kind::commit_drop));
  auto o = f.job();
  o.retries = 0;
  BOOST_TEST((f.run(o).status == run_status::failed));
  f.manual.set(t0 + 61h);
  const auto r = f.run(o);
  BOOST_TEST((r.status == run_status::unusable));
  BOOST_TEST(r.exit_code() == 3);
  BOOST_TEST(r.attempts == 0);
  BOOST_TEST(r.line().find(
                 "the token stopped working at 2027-01-03T12:00:00Z (1h ago) (rotation-period); a rotation "
                 "sent at 2027-01-03T11:00:00Z got no answer: the server may have made a child this job "
                 "never received; a person must create a new token") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_overlapping_run_exits_busy_with_the_time_left) {
  fixture f;
  f.manual.set(t0 + 1h);
  auto held = f.store.lock().value();  // another run
  const auto r = f.run();
  BOOST_TEST((r.status == run_status::busy));
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.attempts == 0);
  BOOST_TEST(r.usable_until == std::optional{t0 + 60h});
  BOOST_TEST(r.line().find("busy: " + f.store.file().string() + ": another run holds the lock") == 21u);
  BOOST_TEST(r.line().find("nothing done; the token is usable until 2027-01-03T12:00:00Z (in 2d11h)") !=
             std::string::npos);
  BOOST_TEST(f.rotations() == 0u);
}

BOOST_AUTO_TEST_CASE(two_runs_at_once_one_rotates_the_other_waits_and_finds_it_done) {
  fixture f;
  f.manual.set(t0 + 50h);
  auto slow = make_fault(fault_kind::latency);
  slow.latency = 300ms;
  f.fail_next(slow);
  std::vector<rotary::run_report> reports(2);
  std::vector<std::thread> runs;
  for (int i = 0; i < 2; ++i)
    runs.emplace_back([&, i] {
      auto o = f.job(when_due(24h));
      o.lock_wait = 10s;
      reports[static_cast<std::size_t>(i)] = f.run(o);
    });
  for (auto& t : runs) t.join();
  const int rotated = (reports[0].status == run_status::rotated) + (reports[1].status == run_status::rotated);
  const int not_due = (reports[0].status == run_status::not_due) + (reports[1].status == run_status::not_due);
  BOOST_TEST(rotated == 1);
  BOOST_TEST(not_due == 1);
  BOOST_TEST(f.rotations() == 1u);
  BOOST_TEST(f.works(f.secret()));
}

// A crash at each step of the save that follows a rotation. Before the rename the store still
// holds the old token and the write-ahead mark, so the next run knows a rotation went
// unrecorded (under `reject` that is a broken chain); a complete temp file is rolled forward.
BOOST_AUTO_TEST_CASE(a_crash_at_each_step_of_saving_the_new_token) {
  struct simulated_crash {};
  struct expectation {
    rotary::save_step step;
    run_status next;
    bool recovered;
  };
  const expectation cases[] = {
      {rotary::save_step::temp_created, run_status::chain_broken, false},
      {rotary::save_step::temp_written, run_status::not_due, true},
      {rotary::save_step::temp_synced, run_status::not_due, true},
      {rotary::save_step::renamed, run_status::not_due, false},
      {rotary::save_step::directory_synced, run_status::not_due, false},
  };
  for (const auto& e : cases) {
    BOOST_TEST_CONTEXT("crash after step " << static_cast<int>(e.step)) {
      fixture f;
      f.manual.set(t0 + 50h);
      int saves = 0;
      f.store.set_save_hook([&](rotary::save_step s) {
        if (s == rotary::save_step::temp_created) ++saves;
        if (saves == 2 && s == e.step) throw simulated_crash{};  // the first save is the write-ahead mark
      });
      BOOST_CHECK_THROW((void)f.run(f.job(when_due(24h))), simulated_crash);
      f.store.set_save_hook({});
      BOOST_TEST(f.rotations() == 1u);
      const auto next = f.run(f.job(when_due(24h)));
      BOOST_TEST((next.status == e.next), next.line());
      BOOST_TEST(next.recovered == e.recovered);
      if (e.next == run_status::not_due) BOOST_TEST(f.works(f.secret()));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_crash_while_marking_the_rotation_sends_nothing) {
  struct simulated_crash {};
  fixture f;
  f.manual.set(t0 + 50h);
  f.store.set_save_hook([&](rotary::save_step s) {
    if (s == rotary::save_step::temp_synced) throw simulated_crash{};
  });
  BOOST_CHECK_THROW((void)f.run(), simulated_crash);
  f.store.set_save_hook({});
  BOOST_TEST(f.rotations() == 0u);
  const auto next = f.run();
  BOOST_TEST((next.status == run_status::rotated));
  BOOST_TEST(next.recovered);
}

BOOST_AUTO_TEST_CASE(an_unreadable_store_sends_nothing_and_needs_a_person) {
  fixture f;
  const rotary::token_store wrong{f.store.file(), rotary::store_key::generate()};
  auto o = f.job();
  const auto r = rotary::rotator(wrong, o, f.clock).run();
  BOOST_TEST((r.status == run_status::store_failed));
  BOOST_TEST(r.exit_code() == 3);
  BOOST_TEST(r.store->code() == "wrong-key");
  BOOST_TEST(r.advice == "a person must give the key the store was written with");
  BOOST_TEST(f.rotations() == 0u);
  temp_dir empty;
  const rotary::token_store missing{empty.path / "none.store", key};
  const auto m = rotary::rotator(missing, o, f.clock).run();
  BOOST_TEST(m.store->code() == "not-found");
  BOOST_TEST(m.exit_code() == 3);
}
