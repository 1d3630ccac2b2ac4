// The sample cron job of the vendor's token rotation guide (docs/rules.md), done with rotary.
//
// The sample posts to /rotatetoken, stores the new secret, and starts using it. This one keeps
// the token in an encrypted store, holds a lock so two runs never rotate at once, rotates only
// when the deadline is near, saves the new secret *before* anything uses it, and says plainly
// when a lost response has broken the chain. Here it runs against the fake server on a manual
// clock, one run per day, so the output is the same every time; in production the same
// `rotator` runs from cron with `rotary::real_clock` (or just `rotary rotate`, see
// crontab.example).
#include <rotary/fake_server.hpp>
#include <rotary/rotator.hpp>
#include <rotary/store.hpp>

#include <filesystem>
#include <iostream>

namespace {
int switches = 0;
// The application's "start using the new token" (the sample's set_api_token).
void set_api_token(const rotary::stored_token&) { ++switches; }
}  // namespace

int main() {
  using namespace std::chrono_literals;
  const auto t0 = rotary::parse_time("2027-01-04T00:00:00Z").value();

  // Stand-ins for the vendor's service and for time.
  rotary::manual_clock clock{t0};
  rotary::fake_server server{{.clock = clock}};
  const std::string endpoint = server.start();
  const auto admin_token =
      server.create_token({.rotation_period = 3600min, .expires_at = t0 + std::chrono::days{365}}).value();

  // Once, by a person: a key (`rotary keygen`) and a store holding the token
  // (`rotary rotate --init`, which reads the token from stdin).
  const std::filesystem::path dir = "rotation_job_example";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directory(dir);
  const auto key = rotary::store_key::generate();
  const rotary::token_store store{dir / "token.store", key};
  {
    rotary::store_contents first;
    first.current = {
        admin_token.raw_secret,
        {admin_token.created_at, admin_token.rotation_period, admin_token.expires_at, std::nullopt}};
    first.endpoint = endpoint;
    auto lock = store.lock().value();
    (void)store.create(lock, first).value();
  }

  // The cron job: daily at 03:00, rotate once the 60-hour deadline is 24 hours away.
  rotary::rotator_options job;
  job.strategy = {rotary::job_strategy::when_due, 24h};
  job.retries = 0;  // with a manual clock nobody would move time during a backoff
  job.on_new_token = set_api_token;
  for (int day = 0; day < 6; ++day) {
    clock.set(t0 + std::chrono::days{day} + 3h);
    const auto report = rotary::rotator(store, job, clock).run();
    std::cout << report.line() << "  [exit " << report.exit_code() << "]\n";
  }
  std::cout << "the application switched tokens " << switches << " times\n";

  // Day 6: the server rotates, and the answer is lost on the way back. The store remembers the
  // unanswered request, and counts the token as ending 10 minutes later (the buffer), in case
  // the server did rotate. Five minutes later a second run learns that it did: the chain is
  // broken and a person must act.
  server.set_faults({{rotary::wire::fault{.kind = rotary::wire::fault_kind::commit_drop, .count = 1}}, 1});
  clock.set(t0 + std::chrono::days{6} + 3h);
  const auto lost = rotary::rotator(store, job, clock).run();
  std::cout << rotary::format_time(lost.finished) << " " << rotary::to_string(lost.status) << ": "
            << lost.error->code << ", unanswered rotation at "
            << rotary::format_time(*lost.unanswered_rotation) << ", token usable until "
            << rotary::format_time(*lost.usable_until) << "  [exit " << lost.exit_code() << "]\n";
  clock.advance(5min);
  const auto broken = rotary::rotator(store, job, clock).run();
  std::cout << broken.line() << "  [exit " << broken.exit_code() << "]\n";
  server.stop();
  std::filesystem::remove_all(dir);
}
