// rotary agent: the rotation job as a long-running service (agent.hpp): rotates when due,
// sleeps in between, one log line per event. See docs/agent.md.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <rotary/agent.hpp>
#include <rotary/clock.hpp>
#include <rotary/json.hpp>
#include <string>
#include <string_view>
#include <thread>

#include "command.hpp"
#include "job_flags.hpp"

namespace {

using namespace rotary;

struct options : cli::job_flags {
  std::string seed, recheck = "1h", max_jitter = "5m";
  bool json = false;
};

// The default seed: FNV-1a of the host name and the store's absolute path, so that agents on
// different hosts or stores draw different jitters, and one agent the same ones after a restart.
std::uint64_t default_seed(const std::string& store) {
  char host[256] = {};
  (void)gethostname(host, sizeof host - 1);
  std::error_code ec;
  const std::string text = std::string(host) + "\n" + std::filesystem::absolute(store, ec).string();
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

int run(const options& o) {
  agent_options a;
  a.rotation = o.rotation();
  if (a.rotation.strategy.kind != job_strategy::when_due)
    throw cli::usage_error{"--strategy " + o.strategy +
                           ": an agent needs when-due:DUR (it would rotate at every wake-up)"};
  a.recheck = cli::duration_flag("--recheck", o.recheck);
  if (a.recheck < std::chrono::minutes{1}) throw cli::usage_error{"--recheck " + o.recheck + ": at least 1m"};
  a.max_jitter = cli::duration_flag("--max-jitter", o.max_jitter);
  a.first_backoff = std::min<seconds>(std::chrono::minutes{1}, a.recheck);
  a.seed = o.seed.empty() ? default_seed(o.store)
                          : static_cast<std::uint64_t>(cli::integer_flag(
                                "--seed", o.seed, 0, std::numeric_limits<std::int64_t>::max()));
  const bool json = o.json;
  a.on_event = [json](const agent_event& e) {
    const std::string line = (json ? nlohmann::json(e).dump() : e.line()) + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);  // a service's log: each event as it happens
  };
  const auto store = o.open_store();  // every flag is checked before the key is read

  // SIGTERM and SIGINT stop, SIGHUP wakes; SIGUSR1 is the agent thread saying it ended by itself.
  sigset_t signals;
  sigemptyset(&signals);
  for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started below
  signal(SIGPIPE, SIG_IGN);

  real_clock clock;
  agent service{store, std::move(a), clock};
  stop_source stop;
  int code = 0;
  std::thread worker([&] {
    code = service.run(stop.get_token());
    kill(getpid(), SIGUSR1);
  });
  for (;;) {
    int s = 0;
    sigwait(&signals, &s);
    if (s == SIGHUP) {
      service.wake();
      continue;
    }
    if (s != SIGUSR1) stop.request_stop();
    break;
  }
  worker.join();
  return code;
}

}  // namespace

ROTARY_COMMAND(
    "agent", "Rotate the token in a store whenever it is due, as a long-running service", [](CLI::App& app) {
      auto o = std::make_shared<options>();
      o->add_to(app, "when-due:1h");
      app.add_option("--recheck", o->recheck,
                     "The longest sleep: the store is read again at least this often")
          ->capture_default_str();
      app.add_option("--max-jitter", o->max_jitter,
                     "Random delay after the due instant, at most this and a tenth of the margin")
          ->capture_default_str();
      app.add_option("--seed", o->seed,
                     "Seed of the jitter (default: from the host name and the store path)");
      app.add_flag("--json", o->json, "Print each event as one JSON line");
      app.footer(
          "Runs the same job as `rotary rotate` each time a rotation is due (the token's deadline minus the\n"
          "--strategy margin, plus the jitter), and sleeps in between; a failed run is retried after 1, 2, "
          "4\n"
          "... minutes. One line per event on stdout. SIGHUP reads the store again now; SIGTERM or SIGINT\n"
          "stop it (within a second when it sleeps or waits to retry).\n"
          "Exit codes: 0 stopped by a signal; 2 usage, or a misconfigured job (no endpoint).\n"
          "Example: rotary agent --store /var/lib/rotary/token.store --key-file /etc/rotary/store.key\n"
          "Details: docs/agent.md");
      return [o] { return run(*o); };
    });
