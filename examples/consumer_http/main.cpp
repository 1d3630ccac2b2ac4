// Uses the installed rotary package's http component: the rotation job rotates a token on the
// embedded fake server into an encrypted store, and the client sees the old secret refused once
// its buffer is over.
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/rotator.hpp>
#include <rotary/store.hpp>

#include <unistd.h>

#include <filesystem>
#include <iostream>

int main() {
  using namespace std::chrono_literals;
  const auto t0 = rotary::parse_time("2027-01-04T00:00:00Z").value();
  rotary::manual_clock clock{t0};
  rotary::fake_server server{{.clock = clock}};
  const std::string url = server.start();
  const auto token =
      server.create_token({.rotation_period = 3600min, .expires_at = t0 + rotary::days{365}}).value();

  const auto dir =
      std::filesystem::temp_directory_path() / ("rotary-consumer-http-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const rotary::token_store store{dir / "token.store", rotary::store_key::generate()};
  {
    rotary::store_contents first;
    first.current = {token.raw_secret,
                     {token.created_at, token.rotation_period, token.expires_at, std::nullopt}};
    first.endpoint = url;
    auto lock = store.lock().value();
    (void)store.create(lock, first).value();
  }

  rotary::rotator_options job;
  job.retries = 0;
  const auto report = rotary::rotator(store, job, clock).run();
  std::cout << report.line() << "\n";
  clock.advance(10min);
  const auto old = rotary::check_token(url, token.raw_secret);
  const auto current = store.load().value().current;
  const bool ok = !old && old.error().status == 401 && rotary::check_token(url, current.secret).has_value();
  std::cout << (ok ? "rotated: the old secret is refused, the stored one works\n" : "unexpected\n");
  std::filesystem::remove_all(dir);
  return ok && report.exit_code() == 0 ? 0 : 1;
}
