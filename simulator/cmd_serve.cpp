// rotary serve: the fake /rotatetoken server as a program (rotary::fake_server, see
// docs/fake-server.md). Prints one JSON line once listening, logs one line per request on
// stderr, stops cleanly on SIGINT or SIGTERM.
#include "command.hpp"

#include <signal.h>

#include <nlohmann/json.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>

namespace {

using namespace rotary;

struct options {
  std::string bind = "127.0.0.1";
  std::string port = "8080", threads = "64", seed = "0";
  std::string admin_key, start, warp, state, rerotate = "reject", buffer = "10", min_period = "1440";
  bool allow_no_expiry = false, json = false;
  std::vector<std::string> greenlist;
  std::string tls_cert, tls_key;
};

// "2027-01-01T00:30:00Z POST /api/index/v1/rotatetoken 200 rotation token=tok_1 child=tok_2"
std::string log_line(const wire::event& e) {
  std::string line = format_time(e.at);
  if (!e.method.empty())
    line += " " + e.method + " " + e.path + " " + (e.status == 0 ? "-" : std::to_string(e.status));
  line += " " + e.kind;
  if (!e.token_id.empty()) line += " token=" + e.token_id;
  if (!e.child_id.empty()) line += " child=" + e.child_id;
  if (!e.error.empty()) line += " error=" + e.error;
  if (!e.fault.empty()) line += " fault=" + e.fault;
  return line;
}

int run(const options& o) {
  fake_server_options s;
  s.bind = o.bind;
  if (!detail::parse_ip(o.bind)) throw cli::usage_error{"--bind " + o.bind + ": not an IPv4 or IPv6 address"};
  s.port = static_cast<int>(cli::integer_flag("--port", o.port, 0, 65535));
  double warp = 1.0;
  if (!o.warp.empty()) {
    try {
      std::size_t used = 0;
      warp = std::stod(o.warp, &used);
      if (used != o.warp.size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      throw cli::usage_error{"--warp " + o.warp + ": expected a number (0 freezes the clock)"};
    }
    if (!(warp >= 0 && warp <= 1e9))
      throw cli::usage_error{"--warp " + o.warp + ": must be between 0 and 1e9"};
  }
  // A year of five digits or more: past the latest instant rotary keeps (parse_time would
  // otherwise read its first four digits as the year).
  if (o.start.size() > 4 &&
      std::all_of(o.start.begin(), o.start.begin() + 5, [](char c) { return c >= '0' && c <= '9'; }))
    throw cli::usage_error{"--start " + o.start + ": the clock cannot go past 9999-12-31T23:59:59Z"};
  const auto start = o.start.empty() ? real_clock{}.now() : cli::time_flag("--start", o.start);
  s.clock = server_clock::warped(start, warp);
  s.restore_clock = o.start.empty() && o.warp.empty();  // flags given win over the state file
  if (o.rerotate == "reject")
    s.rerotate = rerotation::reject;
  else if (o.rerotate == "fork")
    s.rerotate = rerotation::fork;
  else if (o.rerotate == "idempotent")
    s.rerotate = rerotation::idempotent;
  else
    throw cli::usage_error{"--rerotate " + o.rerotate + ": expected reject, fork or idempotent"};
  s.buffer = cli::duration_flag("--buffer", o.buffer, bare_number::in_minutes);
  s.min_period = cli::minutes_flag("--min-period", o.min_period);
  s.require_expiry = !o.allow_no_expiry;
  s.admin_key = o.admin_key;
  const char* key_source = "--admin-key";
  if (s.admin_key.empty())
    if (const char* env = std::getenv("ROTARY_ADMIN_KEY")) {
      s.admin_key = env;
      key_source = "ROTARY_ADMIN_KEY";
    }
  if (!s.admin_key.empty())
    if (const auto problem = detail::admin_key_problem(s.admin_key))
      throw cli::usage_error{std::string(key_source) + ": " + *problem};
  for (const auto& range : o.greenlist) {
    std::string error;
    if (!detail::parse_cidr(range, error)) throw cli::usage_error{"--greenlist " + range + ": " + error};
  }
  s.greenlist = o.greenlist;
  s.state_file = o.state;
  if (o.tls_cert.empty() != o.tls_key.empty())
    throw cli::usage_error{"--tls-cert and --tls-key go together: give both or neither"};
  s.tls_cert = o.tls_cert;
  s.tls_key = o.tls_key;
  s.seed = static_cast<std::uint64_t>(
      cli::integer_flag("--seed", o.seed, 0, std::numeric_limits<std::int64_t>::max()));
  s.threads = static_cast<std::size_t>(cli::integer_flag("--threads", o.threads, 1, 4096));
  const bool json_log = o.json;
  s.on_event = [json_log](const wire::event& e) {
    // One write per line, so lines from many threads never interleave.
    const std::string line = (json_log ? nlohmann::json(e).dump() : log_line(e)) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  };

  // The signals are waited for here, so every server thread must inherit them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  fake_server server{s};
  const auto url = server.start();
  const nlohmann::ordered_json hello = {{"url", url}, {"adminKey", server.admin_key()}};
  std::cout << hello.dump() << std::endl;  // flushed: a test reads this line to know it may start

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server.stop();
  std::cerr << "rotary serve: stopped by " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM") << "\n";
  return cli::exit_ok;
}

}  // namespace

ROTARY_COMMAND(
    "serve", "Run the fake /rotatetoken server (and its admin API) for integration tests", [](CLI::App& app) {
      auto o = std::make_shared<options>();
      app.add_option("--bind", o->bind, "Address to listen on (IPv4 or IPv6)")->default_str("127.0.0.1");
      app.add_option("--port", o->port, "Port (0: any free port)")->default_str("8080");
      app.add_option("--admin-key", o->admin_key,
                     "Bearer key of /admin/v1/*: 8 to 1024 printable ASCII characters, no spaces "
                     "(default: $ROTARY_ADMIN_KEY, else random)");
      app.add_option("--start", o->start, "Initial instant of the server clock (ISO-8601; default: now)");
      app.add_option("--warp", o->warp,
                     "Clock speed: 1 real time, 3600 an hour per second, 0 frozen (moved by the "
                     "admin API only)")
          ->default_str("1");
      app.add_option("--state", o->state, "Persist tokens and clock in this file (atomic replace)");
      app.add_option("--rerotate", o->rerotate,
                     "Rotating an already rotated token: reject (401), fork (another child), "
                     "idempotent (the same child)")
          ->default_str("reject");
      app.add_option("--buffer", o->buffer, "Buffer after rotation, minutes or a duration")
          ->default_str("10");
      app.add_option("--min-period", o->min_period, "Minimum rotation period of new tokens, minutes")
          ->default_str("1440");
      app.add_flag("--allow-no-expiry", o->allow_no_expiry, "Let new tokens have no expiry");
      app.add_option("--greenlist", o->greenlist,
                     "CIDR range allowed to call /api/index/v1/* (repeatable; default: all)");
      app.add_option("--tls-cert", o->tls_cert, "PEM certificate: serve https (with --tls-key)");
      app.add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
      app.add_option("--seed", o->seed, "Seed of the fault generator")->default_str("0");
      app.add_option("--threads", o->threads, "Worker threads (one per concurrent connection)")
          ->default_str("64");
      app.add_flag("--json", o->json, "Log events on stderr as JSON lines");
      app.footer(
          "Prints {\"url\": ..., \"adminKey\": ...} on one line once listening; logs one line per "
          "request on stderr (never a secret).\n"
          "Example: rotary serve --port 0 --warp 0 --start 2027-01-01T00:00:00Z --min-period 1 "
          "--allow-no-expiry");
      return [o] { return run(*o); };
    });
