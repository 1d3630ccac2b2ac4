#define BOOST_TEST_MODULE rotator
#include <boost/test/unit_test.hpp>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/rotator.hpp>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
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
  std::function<void(sys_seconds)> on_wait{};  // called at the instant each wait ends
  [[nodiscard]] sys_seconds now() const { return clock.now(); }
  bool wait_until(sys_seconds t, std::stop_token = {}) {
    std::lock_guard lock(mutex);
    waits.push_back(t - clock.now());
    if (t > clock.now()) clock.set(t);
    if (on_wait) on_wait(t);
    return true;
  }
};

// A small HTTP server on 127.0.0.1 answering POST /api/index/v1/rotatetoken as the test says;
// `answer` gets the request's number (1 for the first).
struct scripted_server {
  httplib::Server server;
  std::thread thread;
  std::string url;
  std::atomic<int> requests{0};
  explicit scripted_server(std::function<void(const httplib::Request&, httplib::Response&, int)> answer) {
    server.Post(std::string(rotary::wire::rotate_path),
                [this, a = std::move(answer)](const httplib::Request& req, httplib::Response& res) {
                  a(req, res, ++requests);
                });
    const int port = server.bind_to_any_port("127.0.0.1");
    url = "http://127.0.0.1:" + std::to_string(port);
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(1ms);
  }
  scripted_server(const scripted_server&) = delete;
  scripted_server& operator=(const scripted_server&) = delete;
  ~scripted_server() {
    server.stop();
    thread.join();
  }
};

// A gateway in front of `backend`: passes every request on; answers the first `failing` ones
// with `status` whatever the backend did (it committed), the others with the backend's answer.
std::function<void(const httplib::Request&, httplib::Response&, int)> gateway(std::string backend, int status,
                                                                              int failing) {
  return [backend = std::move(backend), status, failing](const httplib::Request& req, httplib::Response& res,
                                                         int n) {
    httplib::Client client(backend);
    const httplib::Headers headers{{"Authorization", req.get_header_value("Authorization")}};
    const auto answer = client.Post(req.path, headers, std::string(), "application/json");
    if (n <= failing || !answer) {
      res.status = status;
      res.set_content(R"({"error":"bad-gateway","message":"the backend did not answer in time"})",
                      "application/json");
      return;
    }
    res.status = answer->status;
    res.set_content(answer->body, "application/json");
  };
}

// A fake server on a manual clock, a 3600-minute token created at t0, a store holding it.
struct fixture {
  rotary::manual_clock manual{t0};
  jumping_clock clock{manual, {}, {}, {}};
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

// A 500 is the server's own answer that it failed: nothing is in doubt (a 503 is, see
// gateway_errors_may_have_committed_and_keep_the_mark).
BOOST_AUTO_TEST_CASE(out_of_retries_the_run_fails_with_the_time_left) {
  fixture f;
  f.manual.set(t0 + 10h);
  f.fail_next(make_fault(fault_kind::status, 500), 10);
  auto o = f.job();
  o.retries = 2;
  const auto r = f.run(o);
  BOOST_TEST((r.status == run_status::failed));
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.attempts == 3);
  BOOST_TEST(r.usable_until == std::optional{t0 + 60h});
  BOOST_TEST(
      r.line() ==
      "2027-01-01T10:01:30Z failed: failed after 3 attempts (server-error 500 injected-fault: injected "
      "fault: status 500); the token is usable until 2027-01-03T12:00:00Z (in "
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
          BOOST_TEST(r.line().find(kind == fault_kind::malformed
                                       ? "a rotation sent at 2027-01-01T01:00:00Z got an unreadable answer"
                                       : "a rotation sent at 2027-01-01T01:00:00Z got no answer") !=
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

// --- a 200 is trusted only if it makes sense ----------------------------------------------------

// A 200 whose createdAt is further than max_server_skew (1 h) from the job's clock may have
// committed, but its facts cannot be trusted: the new token is not stored, the write-ahead mark
// stays, the run does not retry, and the next run (the clocks agreeing again) finds out that the
// chain is broken.
BOOST_AUTO_TEST_CASE(a_200_with_a_created_at_far_from_the_jobs_clock_is_not_trusted) {
  for (const std::chrono::hours offset : {2h, -2h}) {  // the job's clock minus the server's
    BOOST_TEST_CONTEXT("the job's clock is " << offset.count() << "h off") {
      fixture f;
      f.manual.set(t0 + 5h);
      const sys_seconds mark = t0 + 5h + offset;
      rotary::manual_clock job_manual{mark};
      jumping_clock job_clock{job_manual, {}, {}, {}};
      const auto r = rotary::rotator(f.store, f.job(), job_clock).run();
      BOOST_TEST((r.status == run_status::failed));
      BOOST_TEST(r.exit_code() == 1);
      BOOST_TEST(r.attempts == 1);
      BOOST_TEST(f.rotations() == 1u);  // the server did rotate
      BOOST_TEST(job_clock.waits.empty());
      BOOST_REQUIRE(r.error.has_value());
      BOOST_TEST((r.error->kind == rotary::rotate_error::malformed_response));
      BOOST_TEST(r.error->code == "implausible-created-at");
      BOOST_TEST(r.error->may_have_committed);
      BOOST_TEST(r.usable_until == std::optional{mark + 10min});
      BOOST_TEST(r.unanswered_rotation == std::optional{mark});
      const auto c = f.store.load().value();
      BOOST_TEST(c.current.secret == f.created.raw_secret);  // not the untrusted child
      BOOST_TEST(!c.previous.has_value());
      BOOST_TEST(c.unanswered_rotation == std::optional{mark});
      const nlohmann::json j = r;
      BOOST_TEST(j["error"]["mayHaveCommitted"] == true);
      BOOST_TEST(j["error"]["code"] == "implausible-created-at");
      BOOST_TEST(j["exitCode"] == 1);
      if (offset > 0h)
        BOOST_TEST(
            r.line() ==
            "2027-01-01T07:00:00Z failed: failed after 1 attempt (malformed-response 200 "
            "implausible-created-at: createdAt 2027-01-01T05:00:00Z is 2h behind this job's clock, more "
            "than the 1h it trusts); the new token was not stored (with facts from a clock this far off "
            "it would be rotated too late or taken for dead) and this run does not retry (the server "
            "would rotate again); the token is usable until 2027-01-01T07:10:00Z (in 10m); a rotation "
            "sent at 2027-01-01T07:00:00Z got a 200 this job did not trust: if the server committed it, "
            "the chain may be broken and the token ends then; a person must check this host's clock and "
            "the server's (NTP); the next run will find out; if it reports chain-broken, a person must "
            "create a new token in the admin console and run: rotary rotate --init --store " +
                f.store.file().string() + " (the token on stdin)");
      else
        BOOST_TEST(
            r.error->message ==
            "createdAt 2027-01-01T05:00:00Z is 2h ahead of this job's clock, more than the 1h it trusts");
      // The next run, on the server's clock: under reject the server says already-rotated.
      f.manual.set(t0 + 5h + 1min);
      const auto next = f.run();
      BOOST_TEST((next.status == run_status::chain_broken), next.line());
      BOOST_TEST(next.exit_code() == 3);
    }
  }
}

// Up to the bound the answer is trusted; beyond 5 minutes the report warns (in the line and
// in the JSON's "warnings").
BOOST_AUTO_TEST_CASE(a_created_at_within_the_skew_bound_is_stored_with_a_warning) {
  for (const std::chrono::minutes offset : {30min, 60min}) {
    BOOST_TEST_CONTEXT("the job's clock is " << offset.count() << "min ahead") {
      fixture f;
      f.manual.set(t0 + 5h);
      rotary::manual_clock job_manual{t0 + 5h + offset};
      jumping_clock job_clock{job_manual, {}, {}, {}};
      const auto r = rotary::rotator(f.store, f.job(), job_clock).run();
      BOOST_TEST((r.status == run_status::rotated));
      BOOST_TEST(r.exit_code() == 0);
      BOOST_TEST(f.secret() != f.created.raw_secret);
      BOOST_TEST(f.works(f.secret()));
      BOOST_REQUIRE(r.warnings.size() == 1u);
      const nlohmann::json j = r;
      BOOST_TEST(j["warnings"] == nlohmann::json(r.warnings));
      if (offset == 30min) {
        BOOST_TEST(
            r.warnings[0] ==
            "the server's clock differs from ours by 30m (createdAt 2027-01-01T05:00:00Z is 30m behind "
            "this job's clock); beyond 1h the answer is not trusted");
        // The parent's buffer is counted from the request, on the job's clock.
        BOOST_TEST(r.previous_until == std::optional{t0 + 5h + 40min});
        BOOST_TEST(
            r.line() ==
            "2027-01-01T05:30:00Z rotated: new token created 2027-01-01T05:00:00Z, usable until "
            "2027-01-03T17:00:00Z (in 2d11h30m); the previous one works until 2027-01-01T05:40:00Z (in "
            "10m) (1 attempt); warning: the server's clock differs from ours by 30m (createdAt "
            "2027-01-01T05:00:00Z is 30m behind this job's clock); beyond 1h the answer is not trusted");
      }
    }
  }
}

// The API says a child keeps its parent's period: when the server says otherwise, the store takes
// the server's and the report says so.
BOOST_AUTO_TEST_CASE(a_child_with_another_period_than_the_store_said_is_warned_about) {
  fixture f;
  {
    auto lock = f.store.lock().value();
    auto c = f.store.load().value();
    c.current.state.rotation_period = std::chrono::minutes{3000};  // a typo at --init
    BOOST_REQUIRE(f.store.save(lock, c).has_value());
  }
  f.manual.set(t0 + 5h);
  const auto r = f.run();
  BOOST_TEST((r.status == run_status::rotated));
  BOOST_TEST(f.store.load().value().current.state.rotation_period ==
             std::optional{std::chrono::minutes{3600}});
  BOOST_TEST(
      r.warnings == std::vector<std::string>{"the server gave the new token a rotation period of 3600 "
                                             "minutes, the store said 3000 (a child keeps its parent's "
                                             "period): the store now has the server's"},
      boost::test_tools::per_element());
}

// --- what a 401 says about the token held ---------------------------------------------------------

// Every 401 the fake server sends: the report's usable_until, line, JSON and exit code say what
// the server said. "already-rotated": someone rotated it, so it works a buffer from now at most;
// any other: it works no longer.
BOOST_AUTO_TEST_CASE(every_401_tells_the_truth_about_the_held_token) {
  const std::string advice_tail = " (the token on stdin)";
  {
    fixture f;
    f.manual.set(t0 + 5h);
    BOOST_REQUIRE(f.server.revoke(f.created.id));
    const auto r = f.run();
    BOOST_TEST((r.status == run_status::unusable));
    BOOST_TEST(r.exit_code() == 3);
    BOOST_TEST(r.ended_by == "token-revoked");
    BOOST_TEST(r.usable_until == std::optional{t0 + 5h});
    BOOST_TEST(
        r.line() ==
        "2027-01-01T05:00:00Z unusable: the server refused the token (unauthorized 401 token-revoked: the "
        "token was revoked); the held token no longer works; a person must create a new token in the "
        "admin console and run: rotary rotate --init --store " +
            f.store.file().string() + advice_tail);
    const nlohmann::json j = r;
    BOOST_TEST(j["usableUntil"] == "2027-01-01T05:00:00Z");
    BOOST_TEST(j["secondsLeft"] == 0);
    BOOST_TEST(j["status"] == "unusable");
    BOOST_TEST(j["exitCode"] == 3);
  }
  {
    // Someone else rotated the token 3 minutes ago: it works 10 minutes from now at most.
    fixture f;
    f.manual.set(t0 + 5h);
    BOOST_REQUIRE(rotary::rotate(f.url, f.created.raw_secret).has_value());
    f.manual.set(t0 + 5h + 3min);
    const auto r = f.run();
    BOOST_TEST((r.status == run_status::chain_broken));
    BOOST_TEST(r.exit_code() == 3);
    BOOST_TEST(r.usable_until == std::optional{t0 + 5h + 13min});
    BOOST_TEST(
        r.line() ==
        "2027-01-01T05:03:00Z chain-broken: the server refused the token (unauthorized 401 "
        "already-rotated: the token was already rotated: only the current token can be rotated); someone "
        "else rotated this token, the chain may be broken; the held token works until at most "
        "2027-01-01T05:13:00Z (in 10m); a person must create a new token in the admin console and run: "
        "rotary rotate --init --store " +
            f.store.file().string() + advice_tail);
    const nlohmann::json j = r;
    BOOST_TEST(j["secondsLeft"] == 600);
    BOOST_TEST(j["exitCode"] == 3);
  }
  {
    // The server's token has a 1440-minute period; the store was told 3600.
    fixture f;
    const auto shorter =
        f.server.create_token({.rotation_period = std::chrono::minutes{1440}, .expires_at = t0 + 365 * 24h})
            .value();
    {
      auto lock = f.store.lock().value();
      auto c = f.store.load().value();
      c.current.secret = shorter.raw_secret;
      BOOST_REQUIRE(f.store.save(lock, c).has_value());
    }
    f.manual.set(t0 + 30h);
    const auto r = f.run();
    BOOST_TEST((r.status == run_status::unusable));
    BOOST_TEST(r.ended_by == "token-unusable");
    BOOST_TEST(r.exit_code() == 3);
    BOOST_TEST(r.usable_until == std::optional{t0 + 30h});
    BOOST_TEST(
        r.line().find("(unauthorized 401 token-unusable: the token is unusable: its rotation period ran "
                      "out); the held token no longer works; a person must create a new token") !=
        std::string::npos);
    const nlohmann::json j = r;
    BOOST_TEST(j["secondsLeft"] == 0);
  }
  {
    fixture f;
    {
      auto lock = f.store.lock().value();
      auto c = f.store.load().value();
      c.current.secret = "not-a-token-the-server-knows";
      BOOST_REQUIRE(f.store.save(lock, c).has_value());
    }
    const auto r = f.run();
    BOOST_TEST((r.status == run_status::unusable));
    BOOST_TEST(r.ended_by == "unknown-token");
    BOOST_TEST(r.exit_code() == 3);
    BOOST_TEST(r.usable_until == std::optional{t0});
  }
  {
    // A 401 about the header, not the token (a proxy that drops Authorization).
    fixture f;
    scripted_server proxy([](const httplib::Request&, httplib::Response& res, int) {
      res.status = 401;
      res.set_content(R"({"error":"missing-credentials","message":"no Authorization header"})",
                      "application/json");
    });
    auto o = f.job();
    o.endpoint = proxy.url;
    const auto r = f.run(o);
    BOOST_TEST((r.status == run_status::unusable));
    BOOST_TEST(r.exit_code() == 3);
    BOOST_TEST(r.usable_until == std::optional{t0});
    BOOST_TEST(
        r.detail ==
        "the server refused the token (unauthorized 401 missing-credentials: no Authorization header); the "
        "held token no longer works through this endpoint: the server saw no usable Authorization header");
    BOOST_TEST(r.advice ==
               "a person must find what drops the Authorization header between this host and the server (a "
               "proxy?)");
  }
}

// --- gateway errors -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(status_error_says_a_gateway_error_of_a_rotation_may_have_committed) {
  for (int status : {500, 502, 503, 504, 429, 400}) {
    httplib::Response res;
    res.status = status;
    const bool gateway_error = status == 502 || status == 503 || status == 504;
    BOOST_TEST(rotary::detail::status_error(res, "s3cret-token").may_have_committed == gateway_error, status);
    BOOST_TEST(!rotary::detail::status_error(res, "s3cret-token", false).may_have_committed, status);
  }
}

// A gateway passes the rotation on, the server commits, the gateway answers 502/503/504: the run
// keeps the mark and the retry finds out (under reject: already-rotated, the chain is broken).
BOOST_AUTO_TEST_CASE(gateway_errors_may_have_committed_and_keep_the_mark) {
  for (int status : {502, 503, 504}) {
    BOOST_TEST_CONTEXT(status) {
      fixture f;
      f.manual.set(t0 + 1h);
      scripted_server gw(gateway(f.url, status, 1));
      auto o = f.job();
      o.endpoint = gw.url;
      const auto r = f.run(o);
      BOOST_TEST((r.status == run_status::chain_broken));
      BOOST_TEST(r.exit_code() == 3);
      BOOST_TEST(r.attempts == 2);
      BOOST_TEST(f.rotations() == 1u);
      BOOST_TEST(r.usable_until == std::optional{t0 + 1h + 10min});
      BOOST_TEST(r.unanswered_rotation == std::optional{t0 + 1h});
      BOOST_TEST(f.store.load().value().unanswered_rotation == std::optional{t0 + 1h});
      BOOST_TEST(
          r.line().find("; a rotation sent at 2027-01-01T01:00:00Z got a " + std::to_string(status) +
                        " (a gateway may have passed it on), so the server made a child this job never "
                        "received: the chain may be broken; the held token works until at most "
                        "2027-01-01T01:10:00Z (in 9m30s)") != std::string::npos,
          r.line());
    }
  }
}

// Out of retries after 503s that did not commit: the mark stays (exit 1, the token counted as
// ending a buffer after it), and the next run settles it by rotating.
BOOST_AUTO_TEST_CASE(out_of_retries_after_a_503_the_rotation_stays_in_doubt) {
  fixture f;
  f.manual.set(t0 + 10h);
  f.fail_next(make_fault(fault_kind::status, 503), 3);
  auto o = f.job();
  o.retries = 2;
  const auto r = f.run(o);
  BOOST_TEST((r.status == run_status::failed));
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.usable_until == std::optional{t0 + 10h + 10min});
  BOOST_TEST(
      r.line() ==
      "2027-01-01T10:01:30Z failed: failed after 3 attempts (server-error 503 injected-fault: injected "
      "fault: status 503); the token is usable until 2027-01-01T10:10:00Z (in 8m30s); a rotation sent at "
      "2027-01-01T10:00:00Z got a 503 (a gateway may have passed it on): if the server committed it, the "
      "chain may be broken and the token ends then; the next run will find out; if it reports "
      "chain-broken, a person must create a new token in the admin console and run: rotary rotate --init "
      "--store " +
          f.store.file().string() + " (the token on stdin)");
  BOOST_TEST(f.store.load().value().unanswered_rotation == std::optional{t0 + 10h});
  f.manual.set(t0 + 11h);
  const auto next = f.run(f.job(when_due(1h)));  // not due by the facts, due by the doubt
  BOOST_TEST((next.status == run_status::rotated));
  BOOST_TEST(!f.store.load().value().unanswered_rotation.has_value());
  BOOST_TEST(f.works(f.secret()));
}

// --- saving the new token -----------------------------------------------------------------------

namespace {
// Makes every save fail (a directory where the temp file goes: unlink fails with EISDIR, even
// for root) from the end of the write-ahead save on, until `clear()`.
struct blocked_saves {
  fs::path tmp;
  void arm(rotary::token_store& store) {
    store.set_save_hook([this, &store](rotary::save_step s) {
      if (s != rotary::save_step::directory_synced) return;
      fs::create_directory(tmp);
      store.set_save_hook({});
    });
  }
  void clear() const { fs::remove(tmp); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_failing_save_of_the_new_token_is_retried_while_the_parent_works) {
  fixture f;
  f.manual.set(t0 + 5h);
  blocked_saves blocked{f.store.temp_file()};
  blocked.arm(f.store);
  f.clock.on_wait = [&](sys_seconds t) {
    if (t >= t0 + 5h + 2min) blocked.clear();
  };
  std::string used;
  auto o = f.job();
  o.on_new_token = [&](const rotary::stored_token& t) { used = t.secret; };
  const auto r = f.run(o);
  BOOST_TEST((r.status == run_status::rotated), r.line());
  BOOST_TEST(r.exit_code() == 0);
  BOOST_TEST(r.save_attempts == 9);
  BOOST_TEST(r.save_retried == 121s);
  const std::vector<rotary::seconds> waits{1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s};
  BOOST_TEST(f.clock.waits == waits, boost::test_tools::per_element());
  BOOST_TEST(f.secret() == used);
  BOOST_TEST(f.works(used));
  BOOST_REQUIRE(r.warnings.size() == 1u);
  BOOST_TEST(r.warnings[0].rfind("the new token was saved only after 9 tries over 2m1s (the first failed: " +
                                     f.store.file().string() + ": cannot remove the stale ",
                                 0) == 0u,
             r.warnings[0]);
  const nlohmann::json j = r;
  BOOST_TEST(j["saveAttempts"] == 9);
  BOOST_TEST(j["saveRetriedSeconds"] == 121);
}

BOOST_AUTO_TEST_CASE(a_save_that_keeps_failing_gives_up_just_before_the_parent_stops_working) {
  fixture f;
  f.manual.set(t0 + 5h);
  blocked_saves blocked{f.store.temp_file()};
  blocked.arm(f.store);
  bool used = false;
  auto o = f.job();
  o.on_new_token = [&](const rotary::stored_token&) { used = true; };
  const auto r = f.run(o);
  BOOST_TEST((r.status == run_status::chain_broken));
  BOOST_TEST(r.exit_code() == 3);
  BOOST_TEST(!used);
  BOOST_TEST(r.finished == t0 + 5h + 590s);  // the buffer ends at 05:10:00, less the 10 s margin
  BOOST_TEST(r.save_attempts == 25);
  BOOST_TEST(r.save_retried == 590s);
  BOOST_TEST(r.usable_until == std::optional{t0 + 5h + 10min});
  BOOST_REQUIRE(r.store.has_value());
  BOOST_TEST(r.line().find("chain-broken: the server rotated the token but the new one could not be saved (" +
                           f.store.file().string() + ": cannot remove the stale ") == 21u,
             r.line());
  BOOST_TEST(
      r.line().find("; 25 tries over 9m50s, until 10s before the old one may stop working); the new one "
                    "is lost when this run ends, the old one works until 2027-01-01T05:10:00Z (in 10s); a "
                    "person must create a new token") != std::string::npos,
      r.line());
  blocked.clear();
  const auto c = f.store.load().value();
  BOOST_TEST(c.current.secret == f.created.raw_secret);
  BOOST_TEST(c.unanswered_rotation == std::optional{t0 + 5h});  // the next run finds out
  f.manual.set(t0 + 5h + 11min);
  BOOST_TEST((f.run().status == run_status::chain_broken));
}

// --- Retry-After ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_retry_after_longer_than_max_retry_delay_ends_the_run_at_once) {
  fixture f;
  f.manual.set(t0 + 10h);
  auto limit = make_fault(fault_kind::status, 429);
  limit.retry_after = 2h;
  f.fail_next(limit, 5);
  const auto r = f.run();
  BOOST_TEST((r.status == run_status::failed));
  BOOST_TEST(r.exit_code() == 1);
  BOOST_TEST(r.attempts == 1);
  BOOST_TEST(f.clock.waits.empty());
  BOOST_TEST(
      r.line() ==
      "2027-01-01T10:00:00Z failed: failed after 1 attempt (rate-limited 429 rate-limited: too many "
      "requests (injected fault)); the server asked to retry in 2h (at 2027-01-01T12:00:00Z), longer than "
      "a run waits between tries (10m); not waiting; the token is usable until 2027-01-03T12:00:00Z (in "
      "2d2h); the next run retries");
  BOOST_TEST(!f.store.load().value().unanswered_rotation.has_value());
}

BOOST_AUTO_TEST_CASE(a_retry_after_past_the_tokens_end_less_the_margin_ends_the_run_at_once) {
  fixture f;
  f.manual.set(t0 + 60h - 5min);
  auto limit = make_fault(fault_kind::status, 429);
  limit.retry_after = 295s;  // 5 s before the token dies: inside the 10 s margin
  f.fail_next(limit, 5);
  const auto r = f.run();
  BOOST_TEST((r.status == run_status::failed));
  BOOST_TEST(r.attempts == 1);
  BOOST_TEST(f.clock.waits.empty());
  BOOST_TEST(r.line() ==
             "2027-01-03T11:55:00Z failed: failed after 1 attempt (rate-limited 429 rate-limited: too many "
             "requests (injected fault)); the server asked to retry in 4m55s (at 2027-01-03T11:59:55Z), too "
             "late: the token stops working at 2027-01-03T12:00:00Z; not waiting; the token is usable until "
             "2027-01-03T12:00:00Z (in 5m); the next run retries");
  // Outside the margin it is honoured.
  fixture g;
  g.manual.set(t0 + 60h - 5min);
  limit.retry_after = 290s;
  g.fail_next(limit, 1);
  const auto ok = g.run();
  BOOST_TEST((ok.status == run_status::rotated));
  BOOST_TEST(g.clock.waits == std::vector<rotary::seconds>{290s}, boost::test_tools::per_element());
}

// --- plain http -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_plain_http_endpoint_that_is_not_loopback_is_warned_about) {
  fixture f;
  f.manual.set(t0 + 1h);
  auto not_due = [&](const std::string& endpoint) {
    auto o = f.job(when_due(1h));
    o.endpoint = endpoint;
    auto r = f.run(o);
    BOOST_TEST((r.status == run_status::not_due), endpoint);
    return r;
  };
  for (const std::string host : {"rotary-test.invalid", "10.0.0.1", "127.0.0.1.example.com", "[::2]"}) {
    const auto r = not_due("http://" + host + ":8080");
    const std::string w =
        "plain http to " + host +
        " (not loopback): the token and the new one cross the network unencrypted; use https://";
    BOOST_TEST(r.warnings == std::vector<std::string>{w}, boost::test_tools::per_element());
    BOOST_TEST(r.line().ends_with("(in 2d11h); warning: " + w), r.line());
    BOOST_TEST(r.exit_code() == 0);
    const nlohmann::json j = r;
    BOOST_TEST(j["warnings"] == nlohmann::json::array({w}));
  }
  for (const std::string url : {"https://rotary-test.invalid", "http://127.0.0.1:1", "http://127.200.3.4",
                                "http://localhost:8080", "http://LocalHost", "http://[::1]:8080"}) {
    const auto r = not_due(url);
    BOOST_TEST(r.warnings.empty(), url);
    const nlohmann::json j = r;
    BOOST_TEST(j["warnings"] == nlohmann::json::array(), url);
  }
}
