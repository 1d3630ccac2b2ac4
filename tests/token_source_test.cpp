#define BOOST_TEST_MODULE token_source
#include <boost/test/unit_test.hpp>
#include <rotary/clock.hpp>
#include <rotary/store.hpp>
#include <rotary/token_source.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bounded.hpp"
#include "files.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rotary::refresh_result;
using rotary::store_contents;
using rotary::store_error;
using rotary::store_key;
using rotary::token_snapshot;
using rotary::token_source;
using rotary::token_store;
using rotary::test::temp_dir;

namespace {

const rotary::sys_seconds t0 = rotary::parse_time("2027-01-01T00:00:00Z").value();
const store_key key = store_key::generate();

store_contents record(std::string secret) {
  store_contents c;
  c.current = {std::move(secret),
               {t0, std::chrono::minutes{3600}, t0 + std::chrono::days{365}, std::nullopt}};
  c.endpoint = "https://example.test/api/index/v1/rotatetoken";
  return c;
}

// A store holding "secret-1" at generation 1.
token_store make_store(const fs::path& file) {
  token_store s{file, key};
  const auto lock = s.lock().value();
  (void)s.create(lock, record("secret-1")).value();
  return s;
}

// Another writer of the same file (the rotation job): saves `secret` as the next generation.
std::uint64_t save_as_job(const fs::path& file, const std::string& secret) {
  const token_store job{file, key};
  const auto lock = job.lock().value();
  auto c = job.load().value();
  c.current.secret = secret;
  return job.save(lock, c).value();
}

// Waits (boundedly) for a predicate set by another thread.
struct change_log {
  std::mutex m;
  std::condition_variable cv;
  std::vector<token_snapshot> seen;
  void push(const token_snapshot& s) {
    {
      std::lock_guard lock(m);
      seen.push_back(s);
    }
    cv.notify_all();
  }
  bool wait_for_count(std::size_t n) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, 20s, [&] { return seen.size() >= n; });
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(secret_and_facts_after_construction) {
  temp_dir dir;
  const token_source source{make_store(dir.path / "token.store")};
  BOOST_TEST(source.secret() == "secret-1");
  const auto s = source.snapshot();
  BOOST_TEST(s.secret == "secret-1");
  BOOST_TEST(s.generation == 1U);
  BOOST_TEST((s.state.created_at == t0));
  BOOST_TEST((s.state.rotation_period == std::chrono::minutes{3600}));
  // A rotatable token dies at creation + period (60 h) when never rotated.
  BOOST_TEST((s.usable_until == t0 + std::chrono::hours{60}));
  BOOST_TEST(source.stats().loads == 1U);
  BOOST_TEST(!source.last_error());
}

BOOST_AUTO_TEST_CASE(unanswered_rotation_shortens_usable_until) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  auto store = make_store(file);
  {
    const auto lock = store.lock().value();
    auto c = store.load().value();
    c.unanswered_rotation = t0 + std::chrono::hours{1};
    (void)store.save(lock, c).value();
  }
  const token_source source{store};
  // The lost response may have started the 10 minute buffer.
  BOOST_TEST((source.snapshot().usable_until == t0 + std::chrono::hours{1} + std::chrono::minutes{10}));
}

BOOST_AUTO_TEST_CASE(missing_store_at_construction_is_an_error) {
  temp_dir dir;
  const auto file = dir.path / "absent.store";
  auto opened = token_source::open(token_store{file, key});
  BOOST_REQUIRE(!opened);
  BOOST_TEST(opened.error().code() == "not-found");
  BOOST_CHECK_EXCEPTION(
      token_source{token_store(file, key)}, rotary::store_exception,
      [](const rotary::store_exception& e) { return e.error().kind == store_error::not_found; });
}

BOOST_AUTO_TEST_CASE(save_by_another_store_object_is_seen_after_refresh) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_source source{make_store(file)};
  BOOST_TEST(save_as_job(file, "secret-2") == 2U);
  BOOST_TEST(source.secret() == "secret-1");  // nothing moves until a refresh
  const auto r = source.refresh();
  BOOST_REQUIRE(r);
  BOOST_TEST((*r == refresh_result::changed));
  BOOST_TEST(source.secret() == "secret-2");
  BOOST_TEST(source.snapshot().generation == 2U);
}

BOOST_AUTO_TEST_CASE(refresh_without_change_does_not_decrypt_again) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_source source{make_store(file)};
  for (int i = 0; i < 50; ++i) {
    const auto r = source.refresh();
    BOOST_REQUIRE(r);
    BOOST_TEST((*r == refresh_result::unchanged));
  }
  BOOST_TEST(source.stats().checks == 50U);
  BOOST_TEST(source.stats().loads == 1U);  // the construction's only
  (void)save_as_job(file, "secret-2");
  BOOST_TEST((source.refresh().value() == refresh_result::changed));
  BOOST_TEST((source.refresh().value() == refresh_result::unchanged));
  BOOST_TEST(source.stats().loads == 2U);
  // reload() reads whatever the file looks like; the same record is no change.
  BOOST_TEST((source.reload().value() == refresh_result::reread));
  BOOST_TEST(source.stats().loads == 3U);
  BOOST_TEST(source.stats().changes == 1U);
}

BOOST_AUTO_TEST_CASE(callback_fires_once_per_change_with_the_new_secret) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_source source{make_store(file)};
  std::vector<std::pair<std::string, std::uint64_t>> calls;
  source.on_change([&](const token_snapshot& s) {
    calls.emplace_back(s.secret, s.generation);
    BOOST_TEST(source.secret() == s.secret);  // in place before the call; secret() does not deadlock
  });
  (void)source.refresh();  // no change: no call
  BOOST_TEST(calls.empty());
  (void)save_as_job(file, "secret-2");
  (void)source.refresh();
  (void)source.refresh();  // the same file again: no call
  (void)source.reload();   // read again, same record: no call
  (void)save_as_job(file, "secret-3");
  (void)source.refresh();
  BOOST_REQUIRE(calls.size() == 2U);
  BOOST_TEST(calls[0].first == "secret-2");
  BOOST_TEST(calls[0].second == 2U);
  BOOST_TEST(calls[1].first == "secret-3");
  BOOST_TEST(calls[1].second == 3U);
  source.on_change({});  // removed
  (void)save_as_job(file, "secret-4");
  BOOST_TEST((source.refresh().value() == refresh_result::changed));
  BOOST_TEST(calls.size() == 2U);
}

BOOST_AUTO_TEST_CASE(a_save_of_the_same_token_is_a_change_of_generation) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_source source{make_store(file)};
  int calls = 0;
  source.on_change([&](const token_snapshot&) { ++calls; });
  (void)save_as_job(file, "secret-1");  // same secret, generation 2
  BOOST_TEST((source.refresh().value() == refresh_result::changed));
  BOOST_TEST(calls == 1);
  BOOST_TEST(source.snapshot().generation == 2U);
}

BOOST_AUTO_TEST_CASE(corrupt_store_keeps_the_last_good_secret_and_reports_tampered) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_source source{make_store(file)};
  int calls = 0;
  source.on_change([&](const token_snapshot&) { ++calls; });
  auto bytes = rotary::test::read_file(file);
  bytes[bytes.size() - 1] = static_cast<char>(bytes[bytes.size() - 1] ^ 0x01);  // the tag
  rotary::test::write_file(file, bytes);
  const auto r = source.refresh();
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == "tampered");
  BOOST_TEST(r.error().message ==
             rotary::detail::escape(file.string()) +
                 ": authentication failed: the file was modified or damaged after it was written");
  BOOST_TEST(source.secret() == "secret-1");
  BOOST_REQUIRE(source.last_error());
  BOOST_TEST(source.last_error()->code() == "tampered");
  // Until the file changes, the same error, without reading it again.
  const auto loads = source.stats().loads;
  const auto again = source.refresh();
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.error().code() == "tampered");
  BOOST_TEST(source.stats().loads == loads);
  BOOST_TEST(calls == 0);
  // A good save replaces it: the error is gone.
  {
    const token_store job{file, key};
    const auto lock = job.lock().value();
    (void)job.save(lock, record("secret-9")).value();
  }
  BOOST_TEST((source.refresh().value() == refresh_result::changed));
  BOOST_TEST(source.secret() == "secret-9");
  BOOST_TEST(!source.last_error());
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(wrong_key_keeps_the_last_good_secret_and_reports_wrong_key) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_source source{make_store(file)};
  const auto other = store_key::generate();
  fs::remove(file);
  {
    const token_store foreign{file, other};
    const auto lock = foreign.lock().value();
    (void)foreign.create(lock, record("other-secret")).value();
  }
  const auto r = source.refresh();
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == "wrong-key");
  BOOST_TEST(r.error().message == rotary::detail::escape(file.string()) +
                                      ": wrong key: the store was encrypted with key " + other.id_hex() +
                                      ", this key is " + key.id_hex());
  BOOST_TEST(source.secret() == "secret-1");
}

BOOST_AUTO_TEST_CASE(removed_store_keeps_the_last_good_secret_and_reports_not_found) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_source source{make_store(file)};
  fs::remove(file);
  const auto r = source.refresh();
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == "not-found");
  BOOST_TEST(source.secret() == "secret-1");
  BOOST_TEST(source.snapshot().generation == 1U);
}

BOOST_AUTO_TEST_CASE(concurrent_readers_never_see_a_torn_or_unknown_secret) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_source source{make_store(file)};
  // Every secret that will ever be saved: long enough that a torn copy would show.
  std::set<std::string> saved{"secret-1"};
  std::vector<std::string> next;
  for (int i = 0; i < 200; ++i) {
    next.push_back("secret-" + std::to_string(i + 2) + "-" +
                   std::string(200, static_cast<char>('a' + i % 26)));
    saved.insert(next.back());
  }
  std::atomic<bool> done{false};
  std::atomic<long> bad{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t)
    readers.emplace_back([&] {
      while (!done.load()) {
        const std::string s = source.secret();
        if (s.empty() || saved.count(s) == 0) bad.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  std::thread refresher([&] {
    while (!done.load()) (void)source.refresh();
  });
  for (const auto& s : next) (void)save_as_job(file, s);
  done.store(true);
  for (auto& r : readers) r.join();
  refresher.join();
  BOOST_TEST(bad.load() == 0);
  BOOST_TEST(reads.load() > 0);
  (void)source.refresh();
  BOOST_TEST(source.secret() == next.back());
  BOOST_TEST(source.snapshot().generation == 201U);
}

BOOST_AUTO_TEST_CASE(watcher_picks_up_a_change_after_one_interval_and_stops_promptly) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  rotary::manual_clock clock{t0};
  token_source source{make_store(file)};
  change_log changes;
  source.on_change([&](const token_snapshot& s) { changes.push(s); });
  source.start(30s, clock);
  BOOST_TEST(source.running());
  BOOST_CHECK_THROW(source.start(30s, clock), std::logic_error);
  // The watcher waits for t0 + 30 s: a save now is not seen until the clock gets there.
  BOOST_TEST(rotary::test::returns_within(20s, [&] {
    while (clock.waiting() == 0) std::this_thread::sleep_for(1ms);
  }));
  (void)save_as_job(file, "secret-2");
  clock.advance(29s);
  BOOST_TEST(source.secret() == "secret-1");
  clock.advance(1s);
  BOOST_REQUIRE(changes.wait_for_count(1));
  BOOST_TEST(changes.seen[0].secret == "secret-2");
  BOOST_TEST(source.secret() == "secret-2");
  // stop() wakes the wait at once: the clock never reaches the next instant.
  BOOST_TEST(rotary::test::returns_within(20s, [&] { source.stop(); }));
  BOOST_TEST(!source.running());
  (void)save_as_job(file, "secret-3");
  clock.advance(1h);
  BOOST_TEST(source.secret() == "secret-2");  // no watcher left to refresh
  BOOST_TEST(source.stats().polls >= 1U);
}

BOOST_AUTO_TEST_CASE(watcher_ends_when_its_stop_token_is_requested) {
  temp_dir dir;
  rotary::manual_clock clock{t0};
  token_source source{make_store(dir.path / "token.store")};
  rotary::stop_source stop;
  source.start(1min, clock, stop.get_token());
  BOOST_TEST(rotary::test::returns_within(20s, [&] {
    while (clock.waiting() == 0) std::this_thread::sleep_for(1ms);
  }));
  stop.request_stop();
  BOOST_TEST(rotary::test::returns_within(20s, [&] {
    while (source.running()) std::this_thread::sleep_for(1ms);
  }));
  BOOST_TEST(!source.running());
  // It can be started again after that.
  source.start(1min, clock);
  BOOST_TEST(source.running());
  BOOST_TEST(rotary::test::returns_within(20s, [&] { source.stop(); }));
}

BOOST_AUTO_TEST_CASE(watcher_after_a_clock_jump_refreshes_once_and_goes_on) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  rotary::manual_clock clock{t0};
  token_source source{make_store(file)};
  change_log changes;
  source.on_change([&](const token_snapshot& s) { changes.push(s); });
  source.start(10s, clock);
  BOOST_TEST(rotary::test::returns_within(20s, [&] {
    while (clock.waiting() == 0) std::this_thread::sleep_for(1ms);
  }));
  (void)save_as_job(file, "secret-2");
  clock.advance(1h);  // 360 intervals at once
  BOOST_REQUIRE(changes.wait_for_count(1));
  // Then it waits for the jumped-to time plus one interval, not for each missed one.
  BOOST_TEST(rotary::test::returns_within(20s, [&] {
    while (clock.earliest_wait() != t0 + 1h + 10s) std::this_thread::sleep_for(1ms);
  }));
  BOOST_TEST(source.stats().polls == 1U);
  source.stop();
}

BOOST_AUTO_TEST_CASE(start_refuses_an_interval_of_zero) {
  temp_dir dir;
  rotary::manual_clock clock{t0};
  token_source source{make_store(dir.path / "token.store")};
  BOOST_CHECK_EXCEPTION(source.start(0s, clock), std::invalid_argument, [](const std::invalid_argument& e) {
    return std::string(e.what()) == "token_source::start: the interval must be positive, not 0s";
  });
  BOOST_TEST(!source.running());
}

BOOST_AUTO_TEST_CASE(a_moved_source_keeps_its_watcher_and_secret) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  rotary::manual_clock clock{t0};
  token_source first{make_store(file)};
  first.start(10s, clock);
  token_source moved{std::move(first)};
  BOOST_TEST(moved.running());
  BOOST_TEST(moved.secret() == "secret-1");
  BOOST_TEST(rotary::test::returns_within(20s, [&] { moved.stop(); }));
}
