// The rotation job as a service (agent.hpp), instead of a cron line: it sleeps until each
// rotation is due by the token's own deadline (minus the margin, plus a seeded jitter) and hands
// each new token to the application. Here it runs four days against the fake server on a
// manual clock that jumps to each instant the agent waits for, so the output is the same every
// time; in production the same agent runs with `rotary::real_clock` (or just `rotary agent`,
// docs/agent.md).
#include <rotary/agent.hpp>
#include <rotary/fake_server.hpp>

#include <filesystem>
#include <iostream>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  const auto t0 = rotary::parse_time("2027-01-04T00:00:00Z").value();
  rotary::manual_clock clock{t0};
  rotary::fake_server server{{.clock = clock}};
  const std::string endpoint = server.start();
  const auto token =
      server.create_token({.rotation_period = 1440min, .expires_at = t0 + std::chrono::days{365}}).value();

  const std::filesystem::path dir = "agent_example";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directory(dir);
  const rotary::token_store store{dir / "token.store", rotary::store_key::generate()};
  {
    rotary::store_contents first;
    first.current = {token.raw_secret,
                     {token.created_at, token.rotation_period, token.expires_at, std::nullopt}};
    first.endpoint = endpoint;
    auto lock = store.lock().value();
    (void)store.create(lock, first).value();
  }

  // Rotate daily tokens two hours before their end; print what the agent does.
  rotary::agent_options options;
  options.rotation.strategy = {rotary::job_strategy::when_due, 2h};
  options.rotation.retries = 0;
  options.seed = 2027;
  options.on_event = [](const rotary::agent_event& e) {
    if (e.kind != rotary::agent_event::sleeping || e.reason.find("recheck") == std::string::npos)
      std::cout << e.line() << "\n";  // hourly rechecks left out
  };
  rotary::agent agent{store, options, clock};
  rotary::stop_source stop;
  std::thread service([&] { agent.run(stop.get_token()); });
  const auto end = t0 + std::chrono::days{4};
  for (;;) {  // the stand-in for time: jump to the next instant the agent waits for
    const auto next = clock.earliest_wait();
    if (!next) {
      std::this_thread::sleep_for(100us);
      continue;
    }
    if (*next >= end) break;
    clock.set(*next);
  }
  stop.request_stop();
  service.join();
  std::filesystem::remove_all(dir);
}
