// rotary serve: the fake /rotatetoken server as a program (rotary::fake_server, see
// docs/fake-server.md). Prints one JSON line once listening, logs one line per request only
// when asked (--log FILE|-), never blocking a request on the log; stops cleanly on SIGINT or
// SIGTERM.
#include "command.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>

namespace {

using namespace rotary;

struct options {
  std::string bind = "127.0.0.1";
  std::string port = "8080", threads = "64", seed = "0";
  std::string admin_key, start, warp, state, rerotate = "reject", buffer = "10", min_period = "1440";
  bool allow_no_expiry = false, json = false;
  std::vector<std::string> greenlist;
  std::string tls_cert, tls_key;
  std::string log;  // "": no per-request log; "-": stderr; else a file opened for appending
};

// The per-request log: a request never waits for it. The descriptor is non-blocking (stderr is
// switched to O_NONBLOCK while the server runs, and back when it stops), each line is one
// write(2) of at most PIPE_BUF bytes (a pipe takes it whole or not at all), and a line
// the descriptor does not take at once (a full pipe nobody reads, a full disk, an I/O error)
// is dropped and counted; the count is in the stop line.
class request_log {
 public:
  request_log() = default;
  request_log(const request_log&) = delete;
  request_log& operator=(const request_log&) = delete;
  ~request_log() { close_log(); }

  // Throws cli::usage_error when the file cannot be opened.
  void open(const std::string& where) {
    if (where.empty()) return;
    if (where == "-") {
      fd_ = STDERR_FILENO;
      stderr_flags_ = ::fcntl(fd_, F_GETFL);
      if (stderr_flags_ != -1) ::fcntl(fd_, F_SETFL, stderr_flags_ | O_NONBLOCK);
      return;
    }
    fd_ = ::open(where.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
    if (fd_ < 0) {
      const int error = errno;
      throw cli::usage_error{"--log " + detail::escape(where) +
                             ": cannot open for appending: " + std::strerror(error)};
    }
    owned_ = true;
  }
  [[nodiscard]] bool enabled() const { return fd_ >= 0; }
  void write_line(std::string line) {
    // A pipe takes a write of up to PIPE_BUF bytes whole or not at all; a longer line (a path
    // near the 8 KiB limit) is cut, so that no partial line is ever written.
    if (line.size() > PIPE_BUF) line = line.substr(0, PIPE_BUF - 4) + "...\n";
    const std::lock_guard lock{mutex_};  // whole lines, in order, from many threads
    const auto n = ::write(fd_, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) dropped_.fetch_add(1, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // The stop line on stderr. When stderr is the log it may be a full pipe nobody reads: wait a
  // second at most for room rather than hang the exit.
  void stop_line(const std::string& line) {
    const std::lock_guard lock{mutex_};
    if (owned_ || fd_ < 0) {
      std::cerr << line << std::flush;
      return;
    }
    for (int tries = 0; tries < 10; ++tries) {
      if (::write(fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size())) return;
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 100);
    }
  }
  // Stops logging: closes the file, or gives stderr its blocking mode back.
  void close_log() {
    const std::lock_guard lock{mutex_};
    if (owned_) ::close(fd_);
    if (!owned_ && fd_ >= 0 && stderr_flags_ != -1) ::fcntl(fd_, F_SETFL, stderr_flags_);
    fd_ = -1;
    owned_ = false;
  }

 private:
  std::mutex mutex_;
  int fd_ = -1;
  bool owned_ = false;
  int stderr_flags_ = -1;
  std::atomic<std::uint64_t> dropped_{0};
};

// "2027-01-01T00:30:00Z POST /api/index/v1/rotatetoken 200 rotation token=tok_1 child=tok_2"
std::string log_line(const wire::event& e) {
  std::string line = format_time(e.at);
  if (!e.method.empty())
    // The path is the decoded request target: escaped, a %0A in it cannot start a forged line.
    line += " " + cli::escape(e.method) + " " + cli::escape(e.path) + " " +
            (e.status == 0 ? "-" : std::to_string(e.status));
  line += " " + e.kind;
  if (!e.token_id.empty()) line += " token=" + e.token_id;
  if (!e.child_id.empty()) line += " child=" + e.child_id;
  if (!e.error.empty()) line += " error=" + e.error;
  if (!e.fault.empty()) line += " fault=" + e.fault;
  return line;
}

int run(const options& o) {
  request_log log;
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
  log.open(o.log);  // last: every flag was checked before a file is created
  if (log.enabled()) {
    const bool json_log = o.json;
    s.on_event = [json_log, &log](const wire::event& e) {
      log.write_line((json_log ? nlohmann::json(e).dump() : log_line(e)) + "\n");
    };
  }

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
  std::string stop_line =
      std::string("rotary serve: stopped by ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  if (const auto dropped = log.dropped(); dropped != 0)
    stop_line += " (" + std::to_string(dropped) + " log line" + (dropped == 1 ? "" : "s") +
                 " dropped: the log did not take them at once)";
  log.stop_line(stop_line + "\n");
  log.close_log();
  return cli::exit_ok;
}

}  // namespace

ROTARY_COMMAND(
    "serve", "Run the fake /rotatetoken server (and its admin API) for integration tests", [](CLI::App& app) {
      auto o = std::make_shared<options>();
      app.add_option("--bind", o->bind, "Address to listen on (IPv4 or IPv6)")
          ->type_name("ADDRESS")
          ->default_str("127.0.0.1");
      app.add_option("--port", o->port, "Port (0: any free port)")->type_name("PORT")->default_str("8080");
      app.add_option("--admin-key", o->admin_key,
                     "Bearer key of /admin/v1/*: 8 to 1024 printable ASCII characters, no spaces "
                     "(default: $ROTARY_ADMIN_KEY, else random)")
          ->type_name("KEY");
      app.add_option("--start", o->start, "Initial instant of the server clock (ISO-8601; default: now)")
          ->type_name("INSTANT");
      app.add_option("--warp", o->warp,
                     "Clock speed: 1 real time, 3600 an hour per second, 0 frozen (moved by the "
                     "admin API only)")
          ->type_name("FACTOR")
          ->default_str("1");
      app.add_option("--state", o->state, "Persist tokens and clock in this file (atomic replace)")
          ->type_name("FILE");
      app.add_option("--rerotate", o->rerotate,
                     "Rotating an already rotated token: reject (401), fork (another child), "
                     "idempotent (the same child)")
          ->type_name("MODE")
          ->default_str("reject");
      app.add_option("--buffer", o->buffer, "Buffer after rotation, minutes or a duration")
          ->type_name("DURATION")
          ->default_str("10");
      app.add_option("--min-period", o->min_period, "Minimum rotation period of new tokens, minutes")
          ->type_name("MINUTES")
          ->default_str("1440");
      app.add_flag("--allow-no-expiry", o->allow_no_expiry, "Let new tokens have no expiry");
      app.add_option("--greenlist", o->greenlist,
                     "CIDR range allowed to call /api/index/v1/* (repeatable; default: all)")
          ->type_name("CIDR");
      app.add_option("--tls-cert", o->tls_cert, "PEM certificate: serve https (with --tls-key)")
          ->type_name("FILE");
      app.add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert")->type_name("FILE");
      app.add_option("--seed", o->seed, "Seed of the fault generator")->type_name("N")->default_str("0");
      app.add_option("--threads", o->threads, "Worker threads (one per concurrent connection)")
          ->type_name("N")
          ->default_str("64");
      app.add_option("--log", o->log,
                     "Log one line per request: FILE appends to a file (created mode 0600), - "
                     "writes to stderr (default: no request log; the audit log is always at "
                     "/admin/v1/events). A line the log cannot take at once is dropped, never "
                     "waited for; the stop line counts them")
          ->type_name("FILE|-");
      app.add_flag("--json", o->json, "Log lines (--log) are the events as JSON");
      app.footer(
          "Prints {\"url\": ..., \"adminKey\": ...} on one line on stdout once listening, and "
          "\"rotary serve: stopped by SIGTERM\" on stderr when stopped (SIGINT or SIGTERM).\n"
          "\n"
          "Admin endpoints (Authorization: Bearer <admin key>; instants are Unix seconds or "
          "ISO-8601 like 2027-01-01T00:00:00Z):\n"
          "  POST   /admin/v1/tokens       {\"rotationPeriodMinutes\"?: minutes, \"expiresAt\"?: instant}\n"
          "  GET    /admin/v1/tokens       all tokens (no secrets)\n"
          "  GET    /admin/v1/tokens/ID    one token; DELETE revokes it\n"
          "  GET    /admin/v1/clock        {\"now\": Unix seconds, \"warp\": factor}\n"
          "  POST   /admin/v1/clock        {\"advanceSeconds\": seconds} or {\"set\": instant}, "
          "optionally with \"warp\": factor\n"
          "  GET    /admin/v1/faults       the fault rules in force; PUT {\"faults\": [...], \"seed\"?: N}\n"
          "  GET    /admin/v1/events       the audit log, ?after=SEQ for newer events only\n"
          "Public: POST /api/index/v1/rotatetoken (Authorization: Bearer <token secret>).\n"
          "\n"
          "Exit: 0 stopped by a signal, 1 cannot listen or a refused state file, 2 bad flag.\n"
          "Details: docs/fake-server.md\n"
          "Example: rotary serve --port 0 --warp 0 --start 2027-01-01T00:00:00Z --min-period 1 "
          "--allow-no-expiry --log -");
      return [o] { return run(*o); };
    });
