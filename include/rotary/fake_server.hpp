// rotary/fake_server.hpp: the /rotatetoken endpoint without the real service, for tests.
//
// A faithful stand-in for `POST /api/index/v1/rotatetoken` and the admin console, on a clock the
// test owns, with faults it injects. Two lines in a test:
//
//     rotary::manual_clock clock{rotary::parse_time("2027-01-01T00:00:00Z").value()};
//     rotary::fake_server server{{.clock = clock}};
//     const std::string url = server.start();       // "http://127.0.0.1:41237" (port 0: any free one)
//
//     using namespace std::chrono_literals;
//     auto token = server.create_token({.rotation_period = 3600min,
//                                       .expires_at = clock.now() + rotary::days{365}}).value();
//     auto child = rotary::rotate(url, token.raw_secret).value();  // client.hpp: POST rotatetoken
//     // -> 200 {"rawSecret": "...", "createdAt": 1798761600, "rotationPeriodMinutes": 3600}
//     clock.advance(10min);                                      // the parent's buffer is over
//     rotary::check_token(url, token.raw_secret).error().code;   // "token-unusable"
//     rotary::check_token(url, child.raw_secret).has_value();    // true
//
// Every answer about validity and rotation comes from `standard_policy` (policy.hpp) with the
// configured buffer; the server holds no rule of its own. Time for every decision is the
// clock's `now()`. What the admin API offers over HTTP (`/admin/v1/...`) is here in C++ too, so
// a test needs no HTTP for setup: create_token, revoke, advance_clock, set_faults, events.
// All member functions are thread-safe. The endpoints, status codes, error codes, faults and
// the state file are documented in docs/fake-server.md.
#pragma once

#include <rotary/detail/http_config.hpp>  // first: one clear #error without cpp-httplib and OpenSSL
#if ROTARY_DETAIL_HTTP_READY              // otherwise nothing here is compiled after that #error

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <rotary/clock.hpp>
#include <rotary/detail/json_rules.hpp>
#include <rotary/detail/json_wire.hpp>
#include <rotary/detail/server_connection.hpp>
#include <rotary/detail/server_crypto.hpp>
#include <rotary/detail/server_faults.hpp>
#include <rotary/detail/server_net.hpp>
#include <rotary/detail/server_state.hpp>
#include <rotary/detail/server_table.hpp>
#include <rotary/outcome.hpp>
#include <rotary/policy.hpp>
#include <rotary/time.hpp>
#include <rotary/wire.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace rotary {

// The clock a fake server decides with, and whether it may move it (admin API, advance_clock).
// Converts from a manual_clock or warp_clock (movable; the caller keeps it alive), a
// real_clock or any clock_ref (read-only). Default: a warp_clock of the server's own, started
// at the real time, running at real speed.
class server_clock {
 public:
  server_clock() : server_clock(warped(real_clock{}.now(), 1.0)) {}
  server_clock(manual_clock& c) noexcept : ref_(c), manual_(&c) {}  // NOLINT: implicit on purpose
  server_clock(warp_clock& c) noexcept : ref_(c), warp_(&c) {}      // NOLINT
  server_clock(real_clock& c) noexcept : ref_(c) {}                 // NOLINT
  server_clock(clock_ref c) noexcept : ref_(c) {}                   // NOLINT
  // A warp clock owned by the server (what `rotary serve` uses): factor 0 freezes it.
  static server_clock warped(sys_seconds start, double factor) {
    auto owned = std::make_shared<warp_clock>(start, factor);
    server_clock c(*owned);
    c.owned_ = std::move(owned);
    return c;
  }

  [[nodiscard]] sys_seconds now() const { return ref_.now(); }
  [[nodiscard]] bool movable() const noexcept { return manual_ != nullptr || warp_ != nullptr; }
  [[nodiscard]] bool warpable() const noexcept { return warp_ != nullptr; }
  // 0 for a manual clock, 1 for a clock that is neither manual nor warp (real time).
  [[nodiscard]] double warp() const { return warp_ ? warp_->factor() : manual_ ? 0.0 : 1.0; }
  // These throw std::logic_error when the clock cannot do it, std::invalid_argument for a
  // negative advance or a warp factor outside [0, 1e9], std::out_of_range past
  // 9999-12-31T23:59:59Z (`warp_clock_max`, for every kind of clock).
  void set(sys_seconds t);
  void advance(seconds d);
  void set_warp(double factor);
  // Throws what set (when `moves`) and set_warp (when `warp`) would throw, changing nothing.
  void check_change(bool moves, std::optional<double> warp) const;

 private:
  clock_ref ref_;
  manual_clock* manual_ = nullptr;
  warp_clock* warp_ = nullptr;
  std::shared_ptr<warp_clock> owned_;
};

struct fake_server_options {
  std::string bind = "127.0.0.1";            // an IPv4 or IPv6 address ("::1", "0.0.0.0")
  int port = 0;                              // 0: any free port (start() returns the URL with it)
  server_clock clock{};                      // "now" for every decision
  rerotation rerotate = rerotation::reject;  // what rotating an already rotated token does
  seconds buffer = minutes{10};              // how long a rotated parent keeps working
  minutes min_period{1440};                  // the shortest rotation period a new token may have
  bool require_expiry = true;                // whether a new token must have an expiry
  std::string admin_key{};                   // bearer key of /admin/v1/*; empty: a random one (admin_key())
  std::vector<std::string> greenlist{};      // CIDR ranges allowed to call /api/index/v1/*; empty: all
  std::filesystem::path state_file{};        // persist tokens and clock here; empty: memory only
  bool restore_clock = true;         // on load, set a movable clock to the state file's instant and warp
  std::filesystem::path tls_cert{};  // PEM certificate and key: serve https
  std::filesystem::path tls_key{};
  std::uint64_t seed = 0;                    // of the fault generator
  std::size_t threads = 64;                  // worker threads: one per concurrent keep-alive connection
  std::size_t max_body_bytes = 16 * 1024;    // larger request bodies get 413 (after decoding)
  std::size_t max_header_fields = 100;       // more header lines get 431
  std::size_t max_header_bytes = 32 * 1024;  // more bytes of header lines get 431
  // A request must arrive whole within this time of its worker starting to wait for it (else
  // 408 and the connection closes); a keep-alive connection idle for idle_timeout is closed.
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{5'000};
  std::size_t max_events = 100'000;  // the audit log keeps the latest ones
  // Called for every event (from server threads, after it is recorded; must not block long).
  std::function<void(const wire::event&)> on_event{};
};

// Thrown for options the server cannot use and for a state file it refuses.
class fake_server_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by a change (create_token, revoke, advance_clock, set_clock, set_warp) when the state
// file could not be saved: the change was not made, in memory either.
class state_not_saved : public fake_server_error {
 public:
  using fake_server_error::fake_server_error;
};

class fake_server {
 public:
  using options = fake_server_options;

  // Checks the options (greenlist syntax, TLS pair, limits, admin key); throws fake_server_error.
  explicit fake_server(options o = {});
  ~fake_server();  // stops
  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;

  // Loads the state file (if any), listens, and returns the base URL ("http://127.0.0.1:PORT",
  // "https://[::1]:PORT"). Throws fake_server_error when the port cannot be bound, the TLS
  // files are unusable, or the state file is corrupt or foreign (it is then left untouched).
  std::string start();
  // Stops listening, ends open connections, waits for the worker threads and saves the state
  // file (with the clock's instant now). Idempotent.
  void stop();
  [[nodiscard]] bool running() const noexcept { return running_.load(); }
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] const std::string& admin_key() const noexcept { return admin_key_; }
  [[nodiscard]] const standard_policy& policy() const noexcept { return policy_; }

  // --- what the admin API does, in C++ -----------------------------------------------------
  // A token created now, as POST /admin/v1/tokens would with the same body; or why the limits
  // (min_period, require_expiry) refuse it. Both fields are optional: no rotation_period makes a
  // token that cannot rotate; no expires_at needs `require_expiry = false`. Every change
  // (create_token, revoke, the clock's moves) is saved to the state file before it is made:
  // when the save fails it throws state_not_saved and nothing changed.
  //     server.create_token({.rotation_period = 3600min, .expires_at = clock.now() + rotary::days{365}})
  [[nodiscard]] outcome<wire::created_token, creation_error> create_token(
      const wire::create_token_request& request);
  // Revokes a token (it answers 401 "token-revoked" from now on); false for an unknown id.
  bool revoke(std::string_view id);
  [[nodiscard]] std::vector<wire::token_view> tokens() const;
  [[nodiscard]] std::optional<wire::token_view> token(std::string_view id) const;
  [[nodiscard]] std::size_t token_count() const;
  [[nodiscard]] wire::clock_view clock() const;
  [[nodiscard]] sys_seconds now() const { return options_.clock.now(); }
  // Move the clock; throw fake_server_error when it cannot move (a real clock; a manual clock
  // cannot warp), std::invalid_argument for a negative advance or a bad factor,
  // std::out_of_range("the clock cannot go past 9999-12-31T23:59:59Z").
  void advance_clock(seconds d);
  void set_clock(sys_seconds t);
  void set_warp(double factor);
  void set_faults(wire::fault_config faults);
  [[nodiscard]] wire::fault_config faults() const { return faults_.config(); }
  // The audit log, oldest first; only events with seq > after.
  [[nodiscard]] std::vector<wire::event> events(std::uint64_t after = 0) const;

  // --- one request without a socket ----------------------------------------------------------
  // Serves a request as if cpp-httplib had read it from a connection: the body limit, routing,
  // the greenlist (`req.remote_addr`), authentication and the handlers, with the events they
  // record; an exception becomes the 500 "internal-error" the server sends. Needs no start().
  // An empty POST needs no Content-Length here. Faults apply as configured: a latency fault
  // sleeps, and a fault that drops the connection (reset, empty, commit-drop) leaves in `res`
  // the 500 that would never have arrived, touching no socket. For tests and fuzzing.
  void handle(const httplib::Request& req, httplib::Response& res);

 private:
  struct http_error {
    int status;
    std::string code;
    std::string message;
    [[nodiscard]] std::string describe() const {
      return std::to_string(status) + " " + code + ": " + message;
    }
  };
  struct credentials {
    std::string secret;
  };

  void serve(const httplib::Request& req, httplib::Response& res);
  void serve_api(const httplib::Request& req, httplib::Response& res);
  void serve_admin(const httplib::Request& req, httplib::Response& res);
  void rotate(const httplib::Request& req, httplib::Response& res, const detail::fault_decision& faults);
  void access(const httplib::Request& req, httplib::Response& res);
  static void reply(httplib::Response& res, int status, const nlohmann::json& body);
  static void reply_error(httplib::Response& res, const http_error& e);
  // An exception out of a handler: the 500 "internal-error" answer and its event.
  void reply_internal_error(const httplib::Request& req, httplib::Response& res, const std::string& what);
  void end_connection(const httplib::Request& req, bool reset) const;
  static std::optional<std::string> bearer(const httplib::Request& req, bool allow_basic);
  // A request refused before routing (a limit, an unreadable body): the answer, its event, and
  // the connection closes after it.
  void refuse_request(const httplib::Request& req, httplib::Response& res, const http_error& e);
  [[nodiscard]] http_error body_too_large() const;
  template <class T>
  static T parse_body(const httplib::Request& req);

  wire::token_view view_locked(std::uint32_t index, sys_seconds now,
                               const std::vector<std::uint32_t>* children) const;
  void record(wire::event e, sys_seconds at);
  // Moves the clock (any of the three, in this order), saved first: throws state_not_saved,
  // std::out_of_range past the max, std::logic_error or std::invalid_argument as server_clock.
  void change_clock(std::optional<sys_seconds> set, std::optional<seconds> advance,
                    std::optional<double> warp);
  template <class Move>
  void move_clock(Move&& move);
  void save_locked();  // the table and the clock as they are
  void save_locked(sys_seconds now, double warp);
  [[noreturn]] void throw_not_saved(const state_file_error& e) const;
  void load_state();
  std::string derive_child_secret(std::string_view parent_secret) const;
  outcome<wire::created_token, creation_error> create(const wire::create_token_request& request,
                                                      const httplib::Request* req);
  bool revoke(std::string_view id, const httplib::Request* req);
  void sleep_for(std::chrono::milliseconds d);
  // Set while handle() runs on this thread: end_connection() then touches no socket.
  static inline thread_local bool detached_ = false;

  options options_;
  standard_policy policy_;
  creation_limits limits_;
  std::string admin_key_;
  detail::digest admin_key_hash_{};
  std::vector<detail::cidr> greenlist_;

  mutable std::mutex table_mutex_;  // the tokens, the replay key and the state file
  detail::token_table table_;
  detail::digest replay_key_{};

  detail::fault_injector faults_;

  mutable std::mutex events_mutex_;
  std::deque<wire::event> events_;
  std::uint64_t next_seq_ = 1;

  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::atomic<bool> running_{false};
  std::string url_;
  int port_ = 0;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

// ---------------------------------------------------------------------------------------------

inline void server_clock::check_change(bool moves, std::optional<double> warp) const {
  if (moves && !movable())
    throw std::logic_error("the server's clock cannot be moved (it is not a manual or warp clock)");
  if (!warp) return;
  if (!warp_ && !(manual_ && *warp == 0))
    throw std::logic_error(manual_ ? "a manual clock cannot run: its warp is always 0"
                                   : "the server's clock cannot be warped (it is not a warp clock)");
  if (!(*warp >= 0 && *warp <= 1e9)) throw std::invalid_argument("warp factor must be between 0 and 1e9");
}

inline void server_clock::set(sys_seconds t) {
  check_change(true, std::nullopt);
  if (t > warp_clock_max) detail::throw_past_warp_clock_max();
  if (manual_) return manual_->set(t);
  warp_->set(t);
}

inline void server_clock::advance(seconds d) {
  check_change(true, std::nullopt);
  if (d > warp_clock_max - now()) detail::throw_past_warp_clock_max();
  if (manual_) return manual_->advance(d);
  warp_->advance(d);
}

inline void server_clock::set_warp(double factor) {
  check_change(false, factor);
  if (warp_) warp_->set_factor(factor);
}

namespace detail {

// Case-insensitive ASCII comparison of a header's scheme.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// "Bearer <credential>" (or "Basic <credential>" when `allow_basic`): the scheme in any case,
// exactly one space, and one or more visible ASCII characters (0x21-0x7e) to the end of the
// value; nullopt for anything else (another scheme, no credential, a second space, a tab, a
// trailing space, a NUL or any other control byte, a byte over 0x7e).
//     parse_credential("bearer abc", false) == "abc";  parse_credential("Bearer  abc", false) == nullopt
inline std::optional<std::string_view> parse_credential(std::string_view value, bool allow_basic) {
  const auto space = value.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto scheme = value.substr(0, space);
  if (!iequals(scheme, "Bearer") && !(allow_basic && iequals(scheme, "Basic"))) return std::nullopt;
  const auto credential = value.substr(space + 1);
  if (credential.empty()) return std::nullopt;
  for (char c : credential)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return std::nullopt;
  return credential;
}

// The largest TLS certificate or key file read (a certificate chain is a few KiB).
inline constexpr std::size_t max_tls_file = std::size_t{1} << 20;

// What is wrong with an admin key chosen by the user (nullopt: nothing). It must be 8 to 1024
// visible ASCII characters (0x21-0x7e): it travels in a header as "Bearer <key>". The key's
// own characters are never quoted.
inline std::optional<std::string> admin_key_problem(std::string_view key) {
  if (key.size() < 8) return "must be at least 8 characters long (it has " + std::to_string(key.size()) + ")";
  if (key.size() > 1024)
    return "must be at most 1024 characters long (it has " + std::to_string(key.size()) + ")";
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x21 || c > 0x7e)
      return "must be printable ASCII without spaces: character " + std::to_string(i + 1) +
             " is a space, a control character or not ASCII";
  }
  return std::nullopt;
}

// {"<key>": [items...]}, built key by key and element by element (see json_wire.hpp: a braced
// list would instantiate nlohmann's constructors for each key length and for the vector).
template <class T>
nlohmann::json list_body(const char* key, std::vector<T> items) {
  nlohmann::json body = nlohmann::json::object();
  auto& list = body[key] = nlohmann::json::array();
  for (auto& item : items) list.push_back(std::move(item));
  return body;
}

// `s` as valid UTF-8: each invalid byte becomes U+FFFD. A request's path and method are bytes
// (a path may percent-decode to anything, "/%FF"); events and JSON bodies need text.
inline std::string valid_utf8(std::string s) {
  if (std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) return s;
  const auto quoted =
      nlohmann::json(std::move(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(quoted).get<std::string>();
}

}  // namespace detail

inline fake_server::fake_server(options o)
    : options_(std::move(o)),
      policy_(fixed_period{}, buffer_period{options_.buffer}, hard_expiry{}),
      limits_{options_.min_period, options_.require_expiry},
      faults_(options_.seed) {
  if (options_.buffer < seconds{0}) throw fake_server_error("buffer must not be negative");
  if (options_.min_period < minutes{1}) throw fake_server_error("minimum period must be at least 1 minute");
  if (options_.threads < 1 || options_.threads > 4096)
    throw fake_server_error("threads must be between 1 and 4096");
  if (options_.tls_cert.empty() != options_.tls_key.empty())
    throw fake_server_error("TLS needs both a certificate and a key");
  // OpenSSL reads them by their paths: a FIFO or a device is refused before it can block start().
  for (const auto& [what, path] :
       {std::pair{"TLS certificate ", &options_.tls_cert}, {"TLS key ", &options_.tls_key}})
    if (!path->empty())
      if (auto ok = detail::check_regular(path->string(), detail::links::follow, detail::max_tls_file); !ok)
        throw fake_server_error(what + detail::escape(path->string()) + ": " + ok.error().describe());
  if (options_.port < 0 || options_.port > 65535) throw fake_server_error("port must be between 0 and 65535");
  if (!detail::parse_ip(options_.bind))
    throw fake_server_error("bind address \"" + options_.bind + "\" is not an IP address");
  for (const auto& text : options_.greenlist) {
    std::string error;
    const auto range = detail::parse_cidr(text, error);
    if (!range) throw fake_server_error("greenlist " + text + ": " + error);
    greenlist_.push_back(*range);
  }
  if (!options_.admin_key.empty())
    if (const auto problem = detail::admin_key_problem(options_.admin_key))
      throw fake_server_error("admin key " + *problem);
  if (options_.max_body_bytes > 64 * 1024 * 1024)
    throw fake_server_error("max_body_bytes must be at most 64 MiB");
  if (options_.max_header_fields < 1 || options_.max_header_bytes < 1024)
    throw fake_server_error("max_header_fields must be at least 1 and max_header_bytes at least 1024");
  if (options_.request_timeout < std::chrono::milliseconds{1} ||
      options_.idle_timeout < std::chrono::milliseconds{1})
    throw fake_server_error("request_timeout and idle_timeout must be positive");
  admin_key_ = options_.admin_key.empty() ? detail::new_secret() : options_.admin_key;
  admin_key_hash_ = detail::sha256(admin_key_);
  detail::random_bytes(replay_key_.data(), replay_key_.size());
}

inline fake_server::~fake_server() {
  try {
    stop();
  } catch (const std::exception&) {  // a state file that cannot be written: nothing to tell anyone now
  }
}

inline std::string fake_server::start() {
  if (running_) return url_;
  {
    std::lock_guard lock(table_mutex_);
    load_state();
  }
  detail::connection_limits limits;
  limits.max_header_fields = options_.max_header_fields;
  limits.max_header_bytes = options_.max_header_bytes;
  limits.max_body_wire_bytes = 8 * options_.max_body_bytes + 1024;  // chunk framing: 1-byte chunks take 6
  limits.request_timeout = options_.request_timeout;
  limits.idle_timeout = options_.idle_timeout;
  std::function<int()> listening_socket;
  if (!options_.tls_cert.empty()) {
    auto s = std::make_unique<detail::tuned_server<httplib::SSLServer>>(options_.tls_cert.c_str(),
                                                                        options_.tls_key.c_str());
    if (!s->is_valid())
      throw fake_server_error("cannot use TLS certificate " + options_.tls_cert.string() + " with key " +
                              options_.tls_key.string());
    s->set_limits(limits);
    listening_socket = [p = s.get()] { return p->listening_socket(); };
    server_ = std::move(s);
  } else {
    auto s = std::make_unique<detail::tuned_server<httplib::Server>>();
    s->set_limits(limits);
    listening_socket = [p = s.get()] { return p->listening_socket(); };
    server_ = std::move(s);
  }
  auto& svr = *server_;
  const std::size_t threads = options_.threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_tcp_nodelay(true);
  // cpp-httplib's default sets SO_REUSEPORT: a second server on the same port would then share
  // it silently. SO_REUSEADDR only: a port in use is an error, a port in TIME_WAIT is not.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Keep-alive and timeouts are guarded_stream's (server_connection.hpp); these values only
  // fill cpp-httplib's "Keep-Alive: timeout=5, max=..." answer header.
  svr.set_keep_alive_max_count(1'000'000'000);
  svr.set_keep_alive_timeout(std::max<time_t>(1, std::chrono::ceil<seconds>(options_.idle_timeout).count()));
  svr.set_payload_max_length(options_.max_body_bytes);
  // Runs once the headers are read, before any byte of the body. A request without a body is
  // served here (cpp-httplib would answer a POST without Content-Length with 400 after a read
  // timeout); one whose Content-Length is over the limit is refused without reading the body;
  // a body on a method that takes none is not read (the connection closes after the answer).
  svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    using handled = httplib::Server::HandlerResponse;
    auto* connection = detail::guarded_stream::current();
    const bool coded = req.has_header("Transfer-Encoding");
    std::optional<std::uint64_t> length;
    if (req.has_header("Content-Length")) {
      const auto v = req.get_header_value("Content-Length");
      std::uint64_t n = 0;
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc{} || p != v.data() + v.size() ||
          req.get_header_value_count("Content-Length") != 1) {
        refuse_request(req, res, {400, "bad-request", "Content-Length is not one decimal number"});
        return handled::Handled;
      }
      length = n;
    }
    if (coded && (length || !detail::iequals(req.get_header_value("Transfer-Encoding"), "chunked") ||
                  req.get_header_value_count("Transfer-Encoding") != 1)) {
      refuse_request(req, res,
                     {400, "bad-request", "Transfer-Encoding must be chunked, without Content-Length"});
      return handled::Handled;
    }
    if (!coded && (!length || *length == 0)) {
      serve(req, res);
      return handled::Handled;
    }
    if (length && *length > options_.max_body_bytes) {
      refuse_request(req, res, body_too_large());
      return handled::Handled;
    }
    const std::string& m = req.method;
    // cpp-httplib reads no body for other methods, nor a DELETE's without Content-Length.
    if (m == "POST" || m == "PUT" || m == "PATCH" || (m == "DELETE" && length)) return handled::Unhandled;
    serve(req, res);
    if (connection != nullptr) connection->close_after_response();
    return handled::Handled;
  });
  // The body, read through a receiver that stops at the limit (after chunked decoding and any
  // Content-Encoding, so neither a chunked stream nor a compressed one is buffered past it).
  auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& read) {
    std::string body;
    std::size_t received = 0;
    bool over = false;
    const bool multipart = req.is_multipart_form_data();  // cpp-httplib parses it: its parts are dropped
    const auto receive = [&](const char* data, std::size_t n) {
      if (n > options_.max_body_bytes - received) {
        over = true;
        return false;
      }
      received += n;
      if (!multipart) body.append(data, n);
      return true;
    };
    const bool ok =
        multipart ? read([](const httplib::MultipartFormData&) { return true; }, receive) : read(receive);
    if (!ok) {
      auto* connection = detail::guarded_stream::current();
      const auto hit = connection != nullptr ? connection->hit() : detail::limit_hit::none;
      if (over || hit == detail::limit_hit::body_too_large) return refuse_request(req, res, body_too_large());
      if (hit == detail::limit_hit::timed_out)
        return refuse_request(req, res, {408, "request-timeout", "the request did not arrive in time"});
      return refuse_request(req, res, {400, "bad-request", "the request body could not be read"});
    }
    httplib::Request with = req;
    with.body = std::move(body);
    serve(with, res);
  };
  svr.Post(".*", with_body);
  svr.Put(".*", with_body);
  svr.Patch(".*", with_body);
  svr.Delete(".*", with_body);
  // Whatever cpp-httplib refuses itself (unparsable requests, and the limits of guarded_stream)
  // still gets a JSON body.
  svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                    httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    http_error e{res.status, "http-" + std::to_string(res.status),
                 "HTTP status " + std::to_string(res.status)};
    if (res.status == 400) e = {400, "bad-request", "the request could not be parsed"};
    if (res.status == 404) e = {404, "not-found", "no such path: " + req.path};
    if (res.status == 413) e = body_too_large();
    if (res.status == 414) e = {414, "uri-too-long", "the request target is too long"};
    // What follows an unparsable request on the connection cannot be trusted: it closes.
    auto* connection = detail::guarded_stream::current();
    if (connection != nullptr) connection->close_after_response();
    switch (connection != nullptr ? connection->hit() : detail::limit_hit::none) {
      case detail::limit_hit::line_too_long:
        e = {414, "uri-too-long", "the request target is too long"};
        break;
      case detail::limit_hit::headers_too_large:
        e = {431, "headers-too-large",
             "the request's header fields are too large (at most " +
                 std::to_string(options_.max_header_fields) + " fields, " +
                 std::to_string(options_.max_header_bytes) + " bytes in all, 8192 bytes a line)"};
        break;
      case detail::limit_hit::body_too_large:
        e = body_too_large();
        break;
      case detail::limit_hit::timed_out:
        e = {408, "request-timeout", "the request did not arrive in time"};
        break;
      case detail::limit_hit::none:
        break;
    }
    reply_error(res, e);
    record({.kind = "request", .method = req.method, .path = req.path, .status = e.status, .error = e.code},
           now());
    return httplib::Server::HandlerResponse::Handled;
  }));
  // A connection that ends after this answer says so.
  svr.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    const auto* connection = detail::guarded_stream::current();
    if (connection == nullptr || !connection->closing()) return;
    res.headers.erase("Keep-Alive");
    res.headers.erase("Connection");
    res.set_header("Connection", "close");
  });
  svr.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        reply_internal_error(req, res, what);
      });

  if (!svr.bind_to_port(options_.bind, options_.port)) {
    server_.reset();
    throw fake_server_error("cannot listen on " + options_.bind + " port " + std::to_string(options_.port));
  }
  const int fd = listening_socket();
  ::listen(fd, SOMAXCONN);  // cpp-httplib listens with a backlog of 5: bursts of connections would be dropped
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = detail::sockaddr_ip(addr).value().second;
  const bool v6 = options_.bind.find(':') != std::string::npos;
  url_ = std::string(options_.tls_cert.empty() ? "http" : "https") + "://" +
         (v6 ? "[" + options_.bind + "]" : options_.bind) + ":" + std::to_string(port_);
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = false;
  }
  running_ = true;
  auto done = std::make_shared<std::atomic<bool>>(false);
  listener_ = std::thread([&svr, done] {
    svr.listen_after_bind();
    done->store(true);
  });
  // cpp-httplib's stop() does nothing until the listening loop runs: wait for it.
  while (!svr.is_running() && !done->load()) std::this_thread::sleep_for(std::chrono::microseconds{50});
  return url_;
}

inline void fake_server::stop() {
  if (!server_) return;
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  server_->stop();
  const auto bound = detail::parse_ip(options_.bind);
  const bool any = options_.bind == "0.0.0.0" || options_.bind == "::";
  detail::end_connections_to(any ? std::nullopt : bound, port_);
  if (listener_.joinable()) listener_.join();
  server_.reset();
  running_ = false;
  std::lock_guard lock(table_mutex_);
  save_locked();  // the clock's instant at the stop, so a restart resumes there
}

// --- state ---------------------------------------------------------------------------------------

inline void fake_server::load_state() {
  if (options_.state_file.empty()) return;
  const auto name = options_.state_file.string();
  try {
    detail::remove_stale_temporaries(options_.state_file);  // of a save killed midway
    const auto text = detail::read_state_file(options_.state_file);
    if (text) {
      auto snapshot = detail::state_from_text(*text);
      table_ = std::move(snapshot.tokens);
      replay_key_ = snapshot.replay_key;
      if (options_.restore_clock && options_.clock.movable()) {
        options_.clock.set(snapshot.now);
        if (options_.clock.warpable()) options_.clock.set_warp(snapshot.warp);
      }
      return;
    }
    save_locked();  // a new file now: an unwritable path fails at start, not at the first rotation
  } catch (const state_file_error& e) {
    throw fake_server_error("state file " + detail::escape(name) + ": " + e.what());
  }
}

inline void fake_server::save_locked() { save_locked(now(), options_.clock.warp()); }

inline void fake_server::throw_not_saved(const state_file_error& e) const {
  throw state_not_saved("state file " + detail::escape(options_.state_file.string()) + ": " + e.what() +
                        " (nothing was changed)");
}

inline void fake_server::save_locked(sys_seconds at, double warp) {
  if (options_.state_file.empty()) return;
  detail::server_snapshot s;
  s.now = at;
  s.warp = warp;
  s.replay_key = replay_key_;
  // The snapshot writer reads the table; copying it would double the memory, so it is
  // serialised in place.
  std::swap(s.tokens, table_);
  std::string text;
  try {
    text = detail::state_to_text(s);
  } catch (...) {
    std::swap(s.tokens, table_);
    throw;
  }
  std::swap(s.tokens, table_);
  detail::write_file_atomically(options_.state_file, text);
}

// --- direct access ---------------------------------------------------------------------------------

inline outcome<wire::created_token, creation_error> fake_server::create_token(
    const wire::create_token_request& request) {
  return create(request, nullptr);
}

inline bool fake_server::revoke(std::string_view id) { return revoke(id, nullptr); }

inline outcome<wire::created_token, creation_error> fake_server::create(
    const wire::create_token_request& request, const httplib::Request* req) {
  const auto at = now();
  auto state = rotary::create_token(at, request.rotation_period, request.expires_at, limits_);
  if (!state) return state.error();
  std::string secret = detail::new_secret();
  const auto hash = detail::sha256(secret);
  std::uint32_t index = 0;
  {
    std::lock_guard lock(table_mutex_);
    index = table_.insert(hash, *state);
    try {
      save_locked();
    } catch (const state_file_error& e) {
      table_.pop_back();
      throw_not_saved(e);
    }
  }
  wire::created_token t{detail::token_table::id(index), std::move(secret), state->created_at,
                        state->rotation_period, state->expires_at};
  wire::event e{.kind = "token-created", .token_id = t.id};
  if (req) {
    e.method = req->method;
    e.path = req->path;
    e.status = 201;
  }
  record(std::move(e), at);
  return t;
}

inline bool fake_server::revoke(std::string_view id, const httplib::Request* req) {
  const auto at = now();
  {
    std::lock_guard lock(table_mutex_);
    const auto index = table_.parse_id(id);
    if (!index) return false;
    const bool was = std::exchange(table_[*index].revoked, true);
    try {
      save_locked();
    } catch (const state_file_error& e) {
      table_[*index].revoked = was;
      throw_not_saved(e);
    }
  }
  wire::event e{.kind = "token-revoked", .token_id = std::string(id)};
  if (req) {
    e.method = req->method;
    e.path = req->path;
    e.status = 200;
  }
  record(std::move(e), at);
  return true;
}

inline wire::token_view fake_server::view_locked(std::uint32_t index, sys_seconds at,
                                                 const std::vector<std::uint32_t>* children) const {
  const auto& r = table_[index];
  wire::token_view v;
  v.id = detail::token_table::id(index);
  if (r.parent != detail::no_token) v.parent_id = detail::token_table::id(r.parent);
  if (children) {
    for (auto c : *children) v.child_ids.push_back(detail::token_table::id(c));
  } else {
    for (std::uint32_t i = index + 1; i < table_.size(); ++i)
      if (table_[i].parent == index) v.child_ids.push_back(detail::token_table::id(i));
  }
  v.state = r.state;
  v.revoked = r.revoked;
  const auto u = policy_.check(r.state, at);
  v.usable_until = u.until;
  if (r.revoked) {
    v.status = "revoked";
    v.ended_by = "revoked";
  } else if (u.usable) {
    v.status = r.state.rotated() ? "rotated" : "active";
    v.usable = true;
  } else {
    v.ended_by = std::string(u.ended_by);
    v.status = u.ended_by == not_yet_created       ? "pending"
               : u.ended_by == buffer_period::name ? "retired"
                                                   : "expired";
  }
  return v;
}

inline std::vector<wire::token_view> fake_server::tokens() const {
  const auto at = now();
  std::lock_guard lock(table_mutex_);
  std::vector<std::vector<std::uint32_t>> children(table_.size());
  for (std::uint32_t i = 0; i < table_.size(); ++i)
    if (table_[i].parent != detail::no_token) children[table_[i].parent].push_back(i);
  std::vector<wire::token_view> out;
  out.reserve(table_.size());
  for (std::uint32_t i = 0; i < table_.size(); ++i) out.push_back(view_locked(i, at, &children[i]));
  return out;
}

inline std::optional<wire::token_view> fake_server::token(std::string_view id) const {
  const auto at = now();
  std::lock_guard lock(table_mutex_);
  const auto index = table_.parse_id(id);
  if (!index) return std::nullopt;
  return view_locked(*index, at, nullptr);
}

inline std::size_t fake_server::token_count() const {
  std::lock_guard lock(table_mutex_);
  return table_.size();
}

inline wire::clock_view fake_server::clock() const { return {options_.clock.now(), options_.clock.warp()}; }

inline void fake_server::change_clock(std::optional<sys_seconds> set, std::optional<seconds> advance,
                                      std::optional<double> warp) {
  std::lock_guard lock(table_mutex_);  // also orders this save with the others
  options_.clock.check_change(set || advance, warp);
  // The instant and factor after the change are saved first; the clock moves once they are.
  sys_seconds target = set ? *set : now();
  if (target > warp_clock_max) detail::throw_past_warp_clock_max();
  if (advance) {
    if (*advance < seconds{0}) throw std::invalid_argument("advance: negative duration");
    if (*advance > warp_clock_max - target) detail::throw_past_warp_clock_max();
    target += *advance;
  }
  try {
    save_locked(target, warp ? *warp : options_.clock.warp());
  } catch (const state_file_error& e) {
    throw_not_saved(e);
  }
  if (set || advance) options_.clock.set(target);
  if (warp) options_.clock.set_warp(*warp);
}

// Moves the clock, then logs it: a clock that cannot move is a fake_server_error; a bad
// argument (negative advance, bad factor) stays std::invalid_argument, past the max
// std::out_of_range.
template <class Move>
void fake_server::move_clock(Move&& move) {
  try {
    move();
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::out_of_range&) {
    throw;
  } catch (const std::logic_error& e) {
    throw fake_server_error(e.what());
  }
  record({.kind = "clock"}, now());
}

inline void fake_server::advance_clock(seconds d) {
  move_clock([&] { change_clock(std::nullopt, d, std::nullopt); });
}

inline void fake_server::set_clock(sys_seconds t) {
  move_clock([&] { change_clock(t, std::nullopt, std::nullopt); });
}

inline void fake_server::set_warp(double factor) {
  move_clock([&] { change_clock(std::nullopt, std::nullopt, factor); });
}

inline void fake_server::set_faults(wire::fault_config faults) {
  faults_.configure(std::move(faults));
  record({.kind = "faults"}, now());
}

inline std::vector<wire::event> fake_server::events(std::uint64_t after) const {
  std::lock_guard lock(events_mutex_);
  std::vector<wire::event> out;
  for (const auto& e : events_)
    if (e.seq > after) out.push_back(e);
  return out;
}

inline void fake_server::record(wire::event e, sys_seconds at) {
  e.at = at;
  e.method = detail::valid_utf8(std::move(e.method));
  e.path = detail::valid_utf8(std::move(e.path));
  {
    std::lock_guard lock(events_mutex_);
    e.seq = next_seq_++;
    events_.push_back(e);
    while (events_.size() > options_.max_events) events_.pop_front();
  }
  if (options_.on_event) options_.on_event(e);
}

inline std::string fake_server::derive_child_secret(std::string_view parent_secret) const {
  const auto mac = detail::hmac_sha256(replay_key_, parent_secret);
  return detail::base64url(mac.data(), mac.size());
}

inline void fake_server::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(stop_mutex_);
  stop_cv_.wait_for(lock, d, [&] { return stopping_; });
}

// --- HTTP -----------------------------------------------------------------------------------------

inline void fake_server::reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  // Replace, not throw: an error message may quote a request's bytes ("no such path: /\xff").
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

inline void fake_server::reply_error(httplib::Response& res, const http_error& e) {
  reply(res, e.status, wire::error_body{e.code, e.message});
}

inline void fake_server::reply_internal_error(const httplib::Request& req, httplib::Response& res,
                                              const std::string& what) {
  reply_error(res, {500, "internal-error", what});
  record(
      {.kind = "request", .method = req.method, .path = req.path, .status = 500, .error = "internal-error"},
      now());
}

inline void fake_server::handle(const httplib::Request& req, httplib::Response& res) {
  struct detach {
    bool was = std::exchange(detached_, true);
    ~detach() { detached_ = was; }
  } guard;
  const detail::guarded_stream::current_scope no_connection(nullptr);
  try {
    serve(req, res);
  } catch (const std::exception& e) {
    res = httplib::Response{};
    reply_internal_error(req, res, e.what());
  }
}

inline void fake_server::end_connection(const httplib::Request& req, bool reset) const {
  if (detached_) return;  // handle(): there is no connection
  int fd = -1;
  if (const auto* connection = detail::guarded_stream::current())
    fd = connection->socket();
  else if (req.ssl != nullptr)
    fd = SSL_get_fd(req.ssl);
  else
    fd = detail::find_connection(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  detail::end_connection(fd, reset);
}

// The credential of "Authorization: Bearer <x>" (or "Basic <x>" when allowed), exactly as
// detail::parse_credential reads it; "" when the header is there but malformed (or there are
// several); nullopt when it is missing. Over a connection the header's raw bytes are read
// (cpp-httplib trims the value and percent-decodes it).
inline std::optional<std::string> fake_server::bearer(const httplib::Request& req, bool allow_basic) {
  std::string value;
  std::size_t count = 0;
  if (const auto* connection = detail::guarded_stream::current()) {
    const auto& raw = connection->authorization();
    count = raw.size();
    if (count != 0) value = raw.front();
  } else {
    count = req.get_header_value_count("Authorization");
    if (count != 0) value = req.get_header_value("Authorization");
  }
  if (count == 0) return std::nullopt;
  if (count > 1) return std::string();
  const auto credential = detail::parse_credential(value, allow_basic);
  return credential ? std::string(*credential) : std::string();
}

inline fake_server::http_error fake_server::body_too_large() const {
  return {413, "body-too-large",
          "the request body is larger than " + std::to_string(options_.max_body_bytes) + " bytes"};
}

inline void fake_server::refuse_request(const httplib::Request& req, httplib::Response& res,
                                        const http_error& e) {
  if (auto* connection = detail::guarded_stream::current()) connection->close_after_response();
  res = httplib::Response{};
  reply_error(res, e);
  record({.kind = "request", .method = req.method, .path = req.path, .status = e.status, .error = e.code},
         now());
}

template <class T>
T fake_server::parse_body(const httplib::Request& req) {
  nlohmann::json j = nlohmann::json::object();
  const auto first = req.body.find_first_not_of(" \t\r\n");
  if (first != std::string::npos) {
    try {
      j = detail::parse_json_text(req.body);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
      throw http_error{400, "malformed-json", "request body is not JSON: " + detail::json_parse_message(e)};
    }
  }
  try {
    return j.get<T>();
  } catch (const json_error& e) {
    throw http_error{400, "invalid-request", e.what()};
  }
}

inline void fake_server::serve(const httplib::Request& req, httplib::Response& res) {
  if (req.body.size() > options_.max_body_bytes) {  // handle(): over a connection, never read this far
    const auto e = body_too_large();
    reply_error(res, e);
    record({.kind = "request", .method = req.method, .path = req.path, .status = 413, .error = e.code},
           now());
    return;
  }
  const std::string_view path = req.path;
  if (path.starts_with(wire::api_prefix)) return serve_api(req, res);
  if (path.starts_with(wire::admin_prefix)) return serve_admin(req, res);
  const http_error e{404, "not-found", "no such path: " + req.path};
  reply_error(res, e);
  record({.kind = "request", .method = req.method, .path = req.path, .status = 404, .error = e.code}, now());
}

inline void fake_server::serve_api(const httplib::Request& req, httplib::Response& res) {
  const bool is_rotate = req.path == wire::rotate_path;
  const std::string refused = is_rotate ? "rotation-refused" : "access-refused";
  if (!greenlist_.empty()) {
    const auto ip = detail::parse_ip(req.remote_addr);
    const bool allowed = ip && std::any_of(greenlist_.begin(), greenlist_.end(),
                                           [&](const detail::cidr& c) { return c.contains(*ip); });
    if (!allowed) {
      const http_error e{403, "address-not-allowed",
                         "client address " + req.remote_addr + " is outside the greenlist"};
      reply_error(res, e);
      record({.kind = refused, .method = req.method, .path = req.path, .status = 403, .error = e.code},
             now());
      return;
    }
  }
  const auto faults = faults_.draw(is_rotate);
  if (faults.latency.count() > 0) sleep_for(faults.latency);
  if (faults.action) {
    const auto& f = *faults.action;
    if (f.kind == wire::fault_kind::status) {
      const bool limited = f.status == 429;
      reply_error(res, {f.status, limited ? "rate-limited" : "injected-fault",
                        limited ? "too many requests (injected fault)"
                                : "injected fault: status " + std::to_string(f.status)});
      if (f.retry_after || limited)
        res.set_header("Retry-After", std::to_string(f.retry_after ? f.retry_after->count() : 1));
      record({.kind = "fault",
              .method = req.method,
              .path = req.path,
              .status = f.status,
              .fault = faults.names()},
             now());
      return;
    }
    if (f.kind == wire::fault_kind::reset || f.kind == wire::fault_kind::empty) {
      record({.kind = "fault", .method = req.method, .path = req.path, .status = 0, .fault = faults.names()},
             now());
      end_connection(req, f.kind == wire::fault_kind::reset);
      reply(res, 500, nlohmann::json::object());  // never arrives
      return;
    }
  }
  if (is_rotate && req.method != "POST") {
    reply_error(res,
                {405, "method-not-allowed", req.method + " is not allowed on " + req.path + "; use POST"});
    res.set_header("Allow", "POST");
    record({.kind = refused,
            .method = req.method,
            .path = req.path,
            .status = 405,
            .error = "method-not-allowed"},
           now());
    return;
  }
  if (is_rotate)
    rotate(req, res, faults);
  else
    access(req, res);
  if (faults.action && faults.action->kind == wire::fault_kind::malformed && res.status == 200)
    res.body.resize(res.body.size() / 2);
}

namespace detail {
inline const char* unusable_message(std::string_view ended_by) {
  if (ended_by == fixed_period::name) return "the token is unusable: its rotation period ran out";
  if (ended_by == buffer_period::name)
    return "the token is unusable: it was rotated and its buffer period is over";
  if (ended_by == hard_expiry::name) return "the token is unusable: it reached its expiry";
  if (ended_by == not_yet_created) return "the token is unusable: it is not created yet";
  return "the token is unusable";
}
}  // namespace detail

inline void fake_server::access(const httplib::Request& req, httplib::Response& res) {
  const auto credential = bearer(req, true);
  const auto at = now();
  auto refuse = [&](int status, std::string code, std::string message, std::string token_id = {}) {
    reply_error(res, {status, code, std::move(message)});
    if (status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"rotary\"");
    record({.kind = "access-refused",
            .method = req.method,
            .path = req.path,
            .status = status,
            .token_id = std::move(token_id),
            .error = std::move(code)},
           at);
  };
  if (!credential)
    return refuse(401, "missing-credentials", "no Authorization header: send Authorization: Bearer <token>");
  if (credential->empty())
    return refuse(401, "malformed-credentials",
                  "the Authorization header must be \"Bearer <token>\" or \"Basic <token>\"");
  const auto hash = detail::sha256(*credential);
  std::unique_lock lock(table_mutex_);
  const auto index = table_.find(hash);
  if (!index) {
    lock.unlock();
    return refuse(401, "unknown-token", "no such token");
  }
  const auto& r = table_[*index];
  const auto id = detail::token_table::id(*index);
  if (r.revoked) {
    lock.unlock();
    return refuse(401, "token-revoked", "the token was revoked", id);
  }
  const auto u = policy_.check(r.state, at);
  lock.unlock();
  if (!u.usable) return refuse(401, "token-unusable", detail::unusable_message(u.ended_by), id);
  reply(res, 200, nlohmann::json::object());
  record({.kind = "access", .method = req.method, .path = req.path, .status = 200, .token_id = id}, at);
}

inline void fake_server::rotate(const httplib::Request& req, httplib::Response& res,
                                const detail::fault_decision& faults) {
  const auto credential = bearer(req, true);
  const bool drop = faults.action && faults.action->kind == wire::fault_kind::commit_drop;
  const std::string fault_names = faults.names();
  const auto at = now();
  auto refuse = [&](int status, std::string code, std::string message, std::string token_id = {}) {
    reply_error(res, {status, code, std::move(message)});
    if (status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"rotary\"");
    record({.kind = "rotation-refused",
            .method = req.method,
            .path = req.path,
            .status = status,
            .token_id = std::move(token_id),
            .error = std::move(code),
            .fault = fault_names},
           at);
  };
  if (!credential)
    return refuse(401, "missing-credentials", "no Authorization header: send Authorization: Bearer <token>");
  if (credential->empty())
    return refuse(401, "malformed-credentials",
                  "the Authorization header must be \"Bearer <token>\" or \"Basic <token>\"");
  const auto hash = detail::sha256(*credential);
  // The child's secret is made before taking the lock; wasted if the rotation is refused.
  const bool derived = options_.rerotate == rerotation::idempotent;
  std::string secret = derived ? derive_child_secret(*credential) : detail::new_secret();
  const auto child_hash = detail::sha256(secret);

  std::unique_lock lock(table_mutex_);
  const auto index = table_.find(hash);
  if (!index) {
    lock.unlock();
    return refuse(401, "unknown-token", "no such token");
  }
  const auto id = detail::token_table::id(*index);
  if (table_[*index].revoked) {
    lock.unlock();
    return refuse(401, "token-revoked", "the token was revoked", id);
  }
  const auto result = policy_.rotate(table_[*index].state, at, options_.rerotate);
  if (!result) {
    lock.unlock();
    const auto& refusal = result.error();
    switch (refusal.reason) {
      case refusal::not_rotatable:
        return refuse(400, std::string(refusal.code()),
                      "the token has no rotation period: it cannot be rotated", id);
      case refusal::already_rotated:
        return refuse(401, std::string(refusal.code()),
                      "the token was already rotated: only the current token can be rotated", id);
      case refusal::not_usable:
        break;
    }
    return refuse(401, std::string(refusal.code()), detail::unusable_message(refusal.ended_by), id);
  }
  std::uint32_t child = 0;
  if (result->replayed) {
    child = table_[*index].first_child;
    if (child == detail::no_token || !detail::constant_time_equal(table_[child].hash, child_hash)) {
      lock.unlock();
      return refuse(401, "already-rotated",
                    "the token was already rotated, and not in idempotent mode: its child cannot be replayed",
                    id);
    }
  } else {
    const auto parent_before = table_[*index];
    child = table_.insert(child_hash, result->child, *index);
    table_[*index].state = result->parent;
    if (table_[*index].first_child == detail::no_token) table_[*index].first_child = child;
    try {
      save_locked();
    } catch (const state_file_error&) {  // the rotation is undone: the client may simply retry
      table_.pop_back();
      table_[*index] = parent_before;
      lock.unlock();
      return refuse(500, "state-not-saved",
                    "the server could not save its state file: the token was not rotated, try again", id);
    }
  }
  const auto child_state = table_[child].state;
  const auto child_id = detail::token_table::id(child);
  record({.kind = "rotation",
          .method = req.method,
          .path = req.path,
          .status = drop ? 0 : 200,
          .token_id = id,
          .child_id = child_id,
          .fault = fault_names},
         at);
  lock.unlock();
  if (drop) {
    end_connection(req, false);
    reply(res, 500, nlohmann::json::object());  // never arrives
    return;
  }
  reply(res, 200,
        wire::rotate_response{std::move(secret), child_state.created_at, *child_state.rotation_period});
}

inline void fake_server::serve_admin(const httplib::Request& req, httplib::Response& res) {
  const auto at = now();
  try {
    const auto key = bearer(req, false);
    if (!key || key->empty() || !detail::constant_time_equal(detail::sha256(*key), admin_key_hash_)) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"rotary-admin\"");
      throw http_error{401, "admin-unauthorized",
                       !key ? "no Authorization header: send Authorization: Bearer <admin key>"
                            : "the admin key is wrong or the header is not \"Bearer <admin key>\""};
    }
    std::string_view path = req.path;
    const std::string& m = req.method;
    auto wrong_method = [&](const char* allow) {
      res.set_header("Allow", allow);
      return http_error{405, "method-not-allowed",
                        m + " is not allowed on " + req.path + "; use " + std::string(allow)};
    };
    std::string kind = "admin";
    std::string token_id;
    if (path == wire::admin_tokens_path) {
      if (m == "GET") {
        reply(res, 200, detail::list_body("tokens", tokens()));
      } else if (m == "POST") {
        const auto body = parse_body<wire::create_token_request>(req);
        auto created = create(body, &req);
        if (!created) {
          const auto code = std::string(created.error().code());
          std::string message = code;
          switch (created.error().reason) {
            case creation_error::period_not_positive:
              message = "rotationPeriodMinutes must be positive";
              break;
            case creation_error::period_below_minimum:
              message =
                  "rotationPeriodMinutes must be at least " + std::to_string(limits_.min_period.count());
              break;
            case creation_error::expiry_required:
              message = "expiresAt is required";
              break;
            case creation_error::expiry_not_after_creation:
              message = "expiresAt must be after the clock's now";
              break;
          }
          throw http_error{400, code, message};
        }
        reply(res, 201, *created);
        return;  // create_token recorded the event
      } else {
        throw wrong_method("GET, POST");
      }
    } else if (path.starts_with(wire::admin_tokens_path) && path[wire::admin_tokens_path.size()] == '/') {
      const auto id = std::string(path.substr(wire::admin_tokens_path.size() + 1));
      if (m != "GET" && m != "DELETE") throw wrong_method("GET, DELETE");
      if (m == "DELETE" && !revoke(id, &req))
        throw http_error{404, "unknown-token-id", "no token with id \"" + id + "\""};
      const auto view = token(id);
      if (!view) throw http_error{404, "unknown-token-id", "no token with id \"" + id + "\""};
      reply(res, 200, *view);
      if (m == "DELETE") return;  // revoke recorded the event
      token_id = id;
    } else if (path == wire::admin_clock_path) {
      if (m == "POST") {
        const auto body = parse_body<wire::clock_request>(req);
        try {
          if (body.warp && !options_.clock.warpable() && !(*body.warp == 0 && options_.clock.movable()))
            throw http_error{409, "clock-not-warpable",
                             "the server's clock is not a warp clock: it cannot run at a factor"};
          if (!options_.clock.movable())
            throw http_error{409, "clock-not-movable",
                             "the server's clock is the system clock: it cannot be moved"};
          change_clock(body.set, body.advance, body.warp);
        } catch (const std::out_of_range&) {
          throw http_error{400, "invalid-request",
                           std::string(body.advance ? "advanceSeconds" : "set") +
                               ": the clock cannot go past 9999-12-31T23:59:59Z"};
        } catch (const state_not_saved&) {
          throw;
        } catch (const std::logic_error& e) {
          throw http_error{409, "clock-not-movable", e.what()};
        }
        kind = "clock";
      } else if (m != "GET") {
        throw wrong_method("GET, POST");
      }
      reply(res, 200, clock());
    } else if (path == wire::admin_faults_path) {
      if (m == "PUT") {
        faults_.configure(parse_body<wire::fault_config>(req));
        kind = "faults";
      } else if (m != "GET") {
        throw wrong_method("GET, PUT");
      }
      reply(res, 200, faults());
    } else if (path == wire::admin_events_path) {
      if (m != "GET") throw wrong_method("GET");
      std::uint64_t after = 0;
      if (req.has_param("after")) {
        const auto v = req.get_param_value("after");
        const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), after);
        if (v.empty() || ec != std::errc{} || p != v.data() + v.size())
          throw http_error{400, "invalid-request",
                           "after: expected an event sequence number, got \"" + v + "\""};
      }
      reply(res, 200, detail::list_body("events", events(after)));
    } else {
      throw http_error{404, "not-found", "no such path: " + req.path};
    }
    record({.kind = kind, .method = m, .path = req.path, .status = res.status, .token_id = token_id}, now());
  } catch (const state_not_saved& e) {  // nothing was changed
    res = httplib::Response{};
    reply_error(res, {500, "state-not-saved", e.what()});
    record(
        {.kind = "admin", .method = req.method, .path = req.path, .status = 500, .error = "state-not-saved"},
        at);
  } catch (const http_error& e) {
    reply_error(res, e);
    record({.kind = e.status == 401 ? "admin-refused" : "admin",
            .method = req.method,
            .path = req.path,
            .status = e.status,
            .error = e.code},
           at);
  }
}

}  // namespace rotary

#endif  // ROTARY_DETAIL_HTTP_READY
