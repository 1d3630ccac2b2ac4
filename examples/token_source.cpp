// A program that calls the API with the store's current secret, while the rotation job
// replaces it: a `token_source` hands out the secret and picks up each new one.
//
// Here the job is played by a second token_store object saving a new record, and time is a
// manual clock, so the output is the same every time; in production the job is `rotary rotate`
// from cron and the clock is `rotary::real_clock`.
#include <rotary/clock.hpp>
#include <rotary/store.hpp>
#include <rotary/token_source.hpp>

#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>

int main() {
  using namespace std::chrono_literals;
  const auto t0 = rotary::parse_time("2027-01-04T00:00:00Z").value();
  const std::filesystem::path dir = "token_source_example";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directory(dir);
  const auto key = rotary::store_key::generate();
  const rotary::token_store store{dir / "token.store", key};
  {
    rotary::store_contents c;
    c.current = {"secret-1", {t0, 3600min, t0 + std::chrono::days{365}, std::nullopt}};
    const auto lock = store.lock().value();
    (void)store.create(lock, c).value();
  }

  // The application: one source, read from any thread.
  rotary::token_source source{store};
  std::cout << "generation " << source.snapshot().generation << ", usable until "
            << rotary::format_time(source.snapshot().usable_until.value()) << "\n";

  std::mutex m;
  std::condition_variable cv;
  std::uint64_t seen = 0;
  source.on_change([&](const rotary::token_snapshot& s) {            // in the watcher's thread
    std::cout << "new secret, generation " << s.generation << "\n";  // never print the secret
    {
      std::lock_guard lock(m);
      seen = s.generation;
    }
    cv.notify_all();
  });

  // The job rotates: another token_store object on the same file saves a new record.
  {
    const rotary::token_store job{dir / "token.store", key};
    const auto lock = job.lock().value();
    auto c = job.load().value();
    c.current.secret = "secret-2";
    (void)job.save(lock, c).value();
  }
  std::cout << "before a refresh: " << (source.secret() == "secret-1" ? "the old secret" : "?") << "\n";

  // A refresh costs a stat when nothing changed; here it reloads and calls the callback.
  rotary::manual_clock clock{t0};
  source.start(30s, clock);  // or call source.refresh() yourself, e.g. before each request
  clock.advance(30s);
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return seen == 2; });
  }
  source.stop();
  std::cout << "after: " << (source.secret() == "secret-2" ? "the new secret" : "?") << "\n";

  // A damaged file keeps the last good secret and says why.
  std::filesystem::resize_file(dir / "token.store", 10);
  const auto r = source.refresh();
  std::cout << "refresh: " << (r ? "ok" : std::string(r.error().code())) << "; still "
            << (source.secret() == "secret-2" ? "the new secret" : "?") << "\n";
  std::filesystem::remove_all(dir);
}
