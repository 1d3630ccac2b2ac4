// rotary/client.hpp: one call to POST /api/index/v1/rotatetoken, with every way it can fail
// named.
//
//     auto r = rotary::rotate("https://customer-be.example.com", secret);
//     if (r) {
//       r->raw_secret;        // the child's secret: save it before anything uses it
//       r->created_at;        // 2027-01-03T11:00:00Z (the server's clock)
//       r->rotation_period;   // 3600min
//     } else if (r.error().transient()) {
//       r.error().retry_after;         // from a 429's Retry-After, when the server sent one
//       r.error().may_have_committed;  // the answer was lost: the server may have rotated
//     }
//
// Whether a token still works, without rotating it:
//
//     auto ok = rotary::check_token("https://customer-be.example.com", secret);
//     if (!ok) ok.error().code;   // "token-revoked", "token-unusable", "unknown-token", ...
//
// The endpoint is a base URL (`https://host[:port]`, the rotate path is appended) or the full
// URL of the rotate endpoint (any URL with a path is used as it is). HTTPS verifies the server
// against the system CA store, or only against `client_options::ca_file` when one is given.
// Certificate verification cannot be turned off.
//
// `createdAt` is read as Unix seconds. Some servers send milliseconds; a value above 1e11
// (1e11 seconds is the year 5138, 1e11 milliseconds is March 1973) is taken as milliseconds and
// floored to the second. A fractional value is floored too.
//
// No error message, and nothing this header prints, ever contains the secret sent or the
// secret received: texts from the server are scrubbed of the secret sent, and a response that
// cannot be read is described by its size, never quoted.
//
// Against a misbehaving endpoint every request is bounded twice: in time, by one deadline for
// the whole exchange (`client_options::total_timeout`: connect, TLS handshake, send, status
// line, headers, body), and in size, by `answer_limits`, checked while the bytes arrive (nothing
// past a limit is read, and no Content-Encoding is decoded: the request asks for `identity`).
//
//     rotary::rotate(url, secret, {.total_timeout = std::chrono::seconds{5}});
//     // a server that drips a header line every second: transport "timeout",
//     // "no complete answer from host:443 within 5s (while reading the answer's headers)"
#pragma once

#include <rotary/detail/http_config.hpp>  // first: one clear #error without cpp-httplib and OpenSSL
#if ROTARY_DETAIL_HTTP_READY              // otherwise nothing here is compiled after that #error

#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <rotary/detail/escape.hpp>
#include <rotary/detail/json_read.hpp>
#include <rotary/detail/safe_file.hpp>
#include <rotary/outcome.hpp>
#include <rotary/time.hpp>
#include <rotary/wire.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace rotary {

struct client_options {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{10}};
  std::chrono::milliseconds read_timeout{std::chrono::seconds{30}};  // each read; also each write
  // The whole request, from the first connect to the last byte of the answer; nothing outlives
  // it (but a DNS lookup, which cannot be interrupted). Unset: connect_timeout + read_timeout
  // (40 s by default). connect_timeout and read_timeout are cut to it.
  std::optional<std::chrono::milliseconds> total_timeout{};
  std::filesystem::path ca_file{};  // PEM certificates to trust instead of the system store
  std::string user_agent = "rotary";
};

// How much of an answer rotate() and check_token() read, at most. Each bound is checked as the
// bytes arrive: past one, reading stops and the answer is malformed_response, but for a non-2xx
// status over the body limit, which keeps its kind (the first 64 KiB are its body).
struct answer_limits {
  static constexpr std::size_t header_lines = 100;      // after the status line
  static constexpr std::size_t line_bytes = 8 * 1024;   // one line, CRLF included (cpp-httplib's own)
  static constexpr std::size_t head_bytes = 32 * 1024;  // the status line and every header line
  static constexpr std::size_t body_bytes = 64 * 1024;  // as received: chunk framing included
};

// Why a rotation did not return a new token, or why a token check (`check_token`) did not
// answer "usable".
struct rotate_error {
  enum kind_type {
    unauthorized,        // 401: unknown, expired, revoked or already rotated token
    bad_request,         // 400 (and other 4xx but 401/403/408/429): retrying cannot help
    forbidden,           // 403: e.g. this host is not in the token's greenlist
    rate_limited,        // 429, with Retry-After when sent
    server_error,        // 5xx, 408
    transport,           // no HTTP answer: refused, timeout, reset, TLS failure
    malformed_response,  // a 2xx whose body is not the expected JSON
  };
  kind_type kind = transport;
  int status = 0;       // the HTTP status; 0 when none arrived
  std::string code;     // the server's machine code ("already-rotated"), or for transport errors
                        // "connect-failed", "connect-timeout", "read-timeout", "timeout" (the
                        // total_timeout), "connection-closed", "send-failed", "tls-handshake",
                        // "tls-verify", "ca-file", "bad-url"; "malformed-response" for every
                        // malformed_response;
                        // "invalid-secret" for a secret that cannot be sent
  std::string message;  // for people; never a secret
  std::optional<seconds> retry_after;  // 429/503 Retry-After
  // The request reached the server and its answer is missing or unreadable: the server may
  // have made the rotation (a lost response). Always false for a check.
  bool may_have_committed = false;

  // "unauthorized", "bad-request", "forbidden", "rate-limited", "server-error", "transport",
  // "malformed-response".
  [[nodiscard]] std::string_view kind_name() const noexcept;
  // Worth retrying: rate_limited, server_error, transport (but bad-url, ca-file and
  // tls-verify: an untrusted certificate does not fix itself in a minute), malformed_response.
  [[nodiscard]] bool transient() const noexcept;
  // One line: "server-error 503 service-unavailable: the service is down". What
  // `rotate(...).value()` and `check_token(...).value()` put in their `bad_outcome_access`.
  [[nodiscard]] std::string describe() const;
  friend bool operator==(const rotate_error&, const rotate_error&) = default;
};

using rotate_outcome = outcome<wire::rotate_response, rotate_error>;

// Where the rotate endpoint is.
struct endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // "example.com", "127.0.0.1", "[::1]"
  int port = 0;
  std::string path;  // "/api/index/v1/rotatetoken" unless the URL named another
  [[nodiscard]] std::string origin() const { return scheme + "://" + host + ":" + std::to_string(port); }
  [[nodiscard]] std::string url() const { return origin() + path; }
};

// Why a URL is not an endpoint; the message starts with "endpoint <url>: " (never a password).
struct endpoint_error {
  std::string message;
  [[nodiscard]] std::string describe() const { return message; }
};

// Parses `http[s]://host[:port][/path]`. Example: parse_endpoint("https://a.example")->url() ==
// "https://a.example:443/api/index/v1/rotatetoken".
[[nodiscard]] outcome<endpoint, endpoint_error> parse_endpoint(std::string_view url);

// Whether `secret` can be sent in an Authorization header: 1 to 8192 printable ASCII
// characters without spaces.
[[nodiscard]] constexpr bool is_valid_secret(std::string_view secret) noexcept {
  if (secret.empty() || secret.size() > 8192) return false;
  for (char c : secret)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// POSTs to the rotate endpoint with `Authorization: Bearer <secret>` and an empty body.
[[nodiscard]] rotate_outcome rotate(std::string_view url, std::string_view secret,
                                    const client_options& options = {});

// What `rotate` makes of an answer that arrived (status, headers, body), without a socket: a
// non-2xx status is its error; a 2xx must have no Content-Encoding but identity, a framing
// rotary reads (Transfer-Encoding chunked or a Content-Length within answer_limits), and the
// JSON body. `secret` is the secret sent: scrubbed from every text quoted.
//
//     httplib::Response res;
//     res.status = 200;
//     res.set_header("Content-Encoding", "gzip");
//     interpret_rotate_response(res, "s3cret").error().message
//     // "the answer is in Content-Encoding gzip, which the request did not ask for (it sent
//     //  Accept-Encoding: identity)"
[[nodiscard]] rotate_outcome interpret_rotate_response(const httplib::Response& answer,
                                                       std::string_view secret);

// Asks the server whether it accepts `secret` now, without rotating it: a GET of an
// `/api/index/v1/` path with `Authorization: Bearer <secret>`. Success is a 2xx (the fake server
// answers 200 `{}`); otherwise the reason, as for a rotation:
//
//     check_token(url, secret).error().code      // 401: "unknown-token", "token-revoked",
//                                                 // "token-unusable" (expired, past its buffer)
//     check_token(url, secret).error().kind      // forbidden (403), server_error, transport, ...
//
// `url` is a base URL (then `wire::ping_path`, "/api/index/v1/ping", is asked: the fake server
// answers every such path; the real service wants a path the token may call) or a full URL
// whose path is under `/api/index/v1/`. Any other path, and the rotate path (a check must never
// rotate), is refused before anything is sent: transport, code "bad-url". Same timeouts, TLS
// verification and scrubbing as `rotate`.
[[nodiscard]] outcome<void, rotate_error> check_token(std::string_view url, std::string_view secret,
                                                      const client_options& options = {});

// ---------------------------------------------------------------------------------------------

inline std::string_view rotate_error::kind_name() const noexcept {
  switch (kind) {
    case unauthorized:
      return "unauthorized";
    case bad_request:
      return "bad-request";
    case forbidden:
      return "forbidden";
    case rate_limited:
      return "rate-limited";
    case server_error:
      return "server-error";
    case malformed_response:
      return "malformed-response";
    case transport:
      break;
  }
  return "transport";
}

inline bool rotate_error::transient() const noexcept {
  switch (kind) {
    case rate_limited:
    case server_error:
    case malformed_response:
      return true;
    case transport:
      return code != "bad-url" && code != "ca-file" && code != "tls-verify";
    default:
      return false;
  }
}

inline std::string rotate_error::describe() const {
  std::string s(kind_name());
  if (status != 0) s += " " + std::to_string(status);
  if (!code.empty()) s += " " + code;
  if (!message.empty()) s += ": " + message;
  return s;
}

namespace detail {

// Replaces every occurrence of `secret` in `text`, cuts at 300 bytes and escapes the rest onto
// one line (detail::escape: control characters and invalid UTF-8 as \xHH, the rule of every
// value rotary quotes): what a server says is shown, never what it could echo back.
inline std::string scrub(std::string text, std::string_view secret) {
  if (secret.size() >= 4) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
      text.replace(at, secret.size(), "<secret>");
  }
  const bool cut = text.size() > 300;
  if (cut) text.resize(300);
  return escape(text) + (cut ? "..." : "");
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate), nullopt otherwise.
inline std::optional<sys_seconds> parse_http_date(std::string_view s) {
  static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s[3] != ',' || s.substr(25) != " GMT") return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) -> int {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int day = num(5, 2), year = num(12, 4), hh = num(17, 2), mm = num(20, 2), ss = num(23, 2);
  int month = 0;
  for (int i = 0; i < 12; ++i)
    if (s.substr(8, 3) == months[i]) month = i + 1;
  if (day < 1 || year < 1970 || month == 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
    return std::nullopt;
  if (day > days_in_month(year, month)) return std::nullopt;
  return sys_seconds{days{days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day))} +
                     hours{hh} + minutes{mm} + seconds{ss}};
}

// Retry-After: delay-seconds, or an HTTP-date measured from the response's Date header (without
// one the date cannot be turned into a delay). Capped at a day.
inline std::optional<seconds> parse_retry_after(std::string_view value, std::string_view date_header) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  constexpr std::int64_t cap = 86'400;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t v = 0;
    for (char c : value) {
      v = v * 10 + (c - '0');
      if (v > cap) return seconds{cap};
    }
    return seconds{v};
  }
  const auto at = parse_http_date(value);
  const auto now = parse_http_date(date_header);
  if (!at || !now) return std::nullopt;
  if (*at <= *now) return seconds{0};
  return std::min(*at - *now, seconds{cap});
}

// The 2xx body: {"rawSecret", "createdAt", "rotationPeriodMinutes"}; unknown keys ignored.
inline outcome<wire::rotate_response, std::string> read_rotate_response(const std::string& body) {
  if (body.size() > 64 * 1024) return std::string("the response body is larger than 64 KiB");
  nlohmann::json j;
  try {
    j = detail::parse_json_text(body);
  } catch (const nlohmann::json::exception&) {
    // Never quote the body: it may hold the new secret.
    return "the response body is not valid JSON (" + std::to_string(body.size()) + " bytes; cut off?)";
  }
  if (!j.is_object()) return std::string("the response body is not a JSON object");
  wire::rotate_response r;
  const auto secret = j.find("rawSecret");
  if (secret == j.end() || !secret->is_string()) return std::string("rawSecret: missing or not a string");
  r.raw_secret = secret->get<std::string>();
  if (!is_valid_secret(r.raw_secret))
    return std::string(
        "rawSecret: not a usable secret (empty, too long, or with spaces or control characters)");
  const auto created = j.find("createdAt");
  if (created == j.end() || created->is_null()) return std::string("createdAt: missing");
  if (!created->is_number()) return std::string("createdAt: expected Unix seconds (a number)");
  double v = created->is_number_float()      ? created->get<double>()
             : created->is_number_unsigned() ? static_cast<double>(created->get<std::uint64_t>())
                                             : static_cast<double>(created->get<std::int64_t>());
  if (!std::isfinite(v) || v < 0) return std::string("createdAt: expected non-negative Unix seconds");
  if (v > 1e11) v /= 1000;  // milliseconds (see the file comment)
  if (v > 253'402'300'799.0) return std::string("createdAt: after the year 9999");
  r.created_at = sys_seconds{seconds{static_cast<std::int64_t>(std::floor(v))}};
  const auto period = j.find("rotationPeriodMinutes");
  if (period == j.end() || !period->is_number_integer())
    return std::string("rotationPeriodMinutes: missing or not an integer");
  const auto p =
      period->is_number_unsigned()
          ? static_cast<std::int64_t>(std::min<std::uint64_t>(period->get<std::uint64_t>(), 1'000'000'000))
          : period->get<std::int64_t>();
  if (p <= 0 || p > 100'000'000)
    return std::string("rotationPeriodMinutes: expected a positive number of minutes");
  r.rotation_period = minutes{p};
  return r;
}

// parse_endpoint, with `default_path` for a URL without a path.
inline outcome<endpoint, endpoint_error> parse_endpoint_with(std::string_view url,
                                                             std::string_view default_path) {
  const std::string original(url);
  auto fail = [&](const std::string& why) { return endpoint_error{"endpoint " + original + ": " + why}; };
  endpoint e;
  if (url.starts_with("https://")) {
    e.scheme = "https";
    e.port = 443;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    e.scheme = "http";
    e.port = 80;
    url.remove_prefix(7);
  } else {
    return fail("expected http://HOST[:PORT][/PATH] or https://...");
  }
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return fail("contains a space or a control character");
  const auto slash = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? std::string_view{} : url.substr(slash);
  if (authority.find('@') != std::string_view::npos)  // never echoed: the URL holds a password
    return endpoint_error{"endpoint: credentials in the URL are not allowed (the token goes in the store)"};
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in the host");
    e.host = std::string(authority.substr(0, close + 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the host");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (e.host.empty() || e.host == "[]") return fail("no host");
  // A DNS name or IPv4 address in ASCII (an international name in its xn-- form), or a
  // bracketed IPv6 address: refused here rather than failing later as a network error.
  const bool bracketed = e.host.front() == '[';
  const std::string_view name =
      bracketed ? std::string_view{e.host}.substr(1, e.host.size() - 2) : std::string_view{e.host};
  for (char c : name) {
    const bool digit = c >= '0' && c <= '9';
    const bool hex = digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    const bool alnum = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (bracketed ? !(hex || c == ':' || c == '.') : !(alnum || c == '-' || c == '.' || c == '_'))
      return fail(bracketed ? "the host is not an IPv6 address"
                            : "the host must be a DNS name or an IP address (ASCII letters, digits, '-', "
                              "'.'; an international name in its xn-- form)");
  }
  if (!port_text.empty() || authority.ends_with(':')) {
    if (port_text.empty() || port_text.size() > 5 ||
        port_text.find_first_not_of("0123456789") != std::string_view::npos)
      return fail("the port must be a number from 1 to 65535");
    e.port = std::stoi(std::string(port_text));
    if (e.port < 1 || e.port > 65535) return fail("the port must be a number from 1 to 65535");
  }
  if (rest.starts_with('#')) rest = {};
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  if (rest.empty() || rest == "/")
    e.path = std::string(default_path);
  else if (rest.starts_with('?'))
    e.path = std::string(default_path) + std::string(rest);
  else
    e.path = std::string(rest);
  return e;
}

// The largest CA file read (Debian's whole ca-certificates bundle is about 220 KB).
inline constexpr std::size_t max_ca_file = std::size_t{16} << 20;

// What can be refused before anything is sent: the URL, the secret, the CA file.
inline std::optional<rotate_error> refuse_before_sending(const outcome<endpoint, endpoint_error>& where,
                                                         std::string_view secret,
                                                         const client_options& options) {
  if (!where) return rotate_error{rotate_error::transport, 0, "bad-url", where.error().message, {}, false};
  if (!is_valid_secret(secret))
    return rotate_error{
        rotate_error::bad_request,
        0,
        "invalid-secret",
        "the token's secret cannot be sent: it is empty, too long, or has spaces or control characters",
        {},
        false};
  if (!options.ca_file.empty()) {
    // OpenSSL reads it by its path: a FIFO or a device is refused before it can block the job.
    if (auto ca = check_regular(options.ca_file.string(), links::follow, max_ca_file); !ca) {
      const auto& e = ca.error();
      return rotate_error{rotate_error::transport,
                          0,
                          "ca-file",
                          "CA file " + escape(options.ca_file.string()) + ": " +
                              (e.kind == file_error::os && e.err == ENOENT ? "not found" : e.describe()),
                          {},
                          false};
    }
  }
  return std::nullopt;
}

// The whole request's time: total_timeout, or connect_timeout + read_timeout.
inline std::chrono::milliseconds total_timeout(const client_options& options) {
  return options.total_timeout.value_or(options.connect_timeout + options.read_timeout);
}

// "30s", "1m30s"; "1500ms" for what is not whole seconds.
inline std::string format_timeout(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return format_duration(std::chrono::duration_cast<seconds>(d));
  return std::to_string(d.count()) + "ms";
}

// The options' timeouts (cut to the total), no keep-alive, no redirects, no decompression
// (identity is asked for), and certificate verification for https.
inline void configure(httplib::ClientImpl& client, const endpoint& e, const client_options& options) {
  auto split = [](std::chrono::milliseconds d) {
    return std::pair<time_t, time_t>{static_cast<time_t>(d.count() / 1000),
                                     static_cast<time_t>(d.count() % 1000 * 1000)};
  };
  const auto total = total_timeout(options);
  const auto [cs, cus] = split(std::min(options.connect_timeout, total));
  const auto [rs, rus] = split(std::min(options.read_timeout, total));
  client.set_connection_timeout(cs, cus);
  client.set_read_timeout(rs, rus);
  client.set_write_timeout(rs, rus);
  client.set_keep_alive(false);
  client.set_follow_location(false);
  client.set_decompress(false);
  if (e.scheme == "https") {
    client.enable_server_certificate_verification(true);
    if (!options.ca_file.empty()) client.set_ca_cert_path(options.ca_file.string());
  }
}

// How far one exchange got and why it stopped, shared by its stream, its watchdog and the
// callbacks of its request (all on the calling thread but the watchdog, which has its own lock).
struct exchange_state {
  enum class phase { connecting, sending, waiting, head, body };
  enum class stop { none, deadline, read_timeout, head_bytes, header_lines, line_bytes, body_bytes };
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds read_timeout;  // each read and each write, cut to the deadline
  phase at = phase::connecting;
  stop stopped = stop::none;
  std::size_t head_bytes = 0;          // of the status line and headers, handed to cpp-httplib
  std::size_t lines = 0;               // complete lines among them
  std::size_t line = 0;                // bytes of the line being read
  std::size_t body_bytes = 0;          // of the body as received
  bool closed = false;                 // the peer closed or reset the connection
  std::optional<std::string> refusal;  // a 2xx whose headers say the body cannot be read
  bool answered = false;               // a check's 2xx: the body is not needed
};

// Shuts the connection down at the deadline, whatever the request is doing then (connecting, in
// the TLS handshake, inside an SSL_read of a record that drips in): cpp-httplib's own stop()
// waits for the socket lock, which connect and the handshake hold. It holds its own duplicate of
// the socket (from the client's socket_options hook), so it never touches a descriptor number
// the client closed and the process reused.
class watchdog {
 public:
  explicit watchdog(std::chrono::steady_clock::time_point deadline) : deadline_(deadline) {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!done_cv_.wait_until(lock, deadline_, [this] { return done_; })) {
        fired_ = true;
        if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
      }
    });
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  ~watchdog() { finish(); }

  // The socket of the connection being made (called before its connect).
  void watch(socket_t sock) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::fcntl(sock, F_DUPFD_CLOEXEC, 0);
    if (fired_ && fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  // Stops watching; whether the deadline came first.
  bool finish() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return fired_;
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool fired_ = false;
  int fd_ = -1;
  std::thread thread_;
};

// Keeps SIGPIPE from the calling thread while it lives: OpenSSL writes with write(2), so a peer
// that closed (or the watchdog's shutdown) would otherwise end a process that does not ignore
// SIGPIPE. One raised meanwhile is consumed, unless it was pending before.
class sigpipe_guard {
 public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;
  ~sigpipe_guard() {
    if (!blocked_) return;
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false, blocked_ = false;
};

// The connection as cpp-httplib reads and writes it, over the plain socket or its SSL: every
// wait is cut to the deadline, and the bytes handed out are counted against answer_limits
// (the status line and headers until the response handler marks the body's start).
class bounded_stream final : public httplib::Stream {
 public:
  bounded_stream(socket_t sock, SSL* ssl, exchange_state& state) : sock_(sock), ssl_(ssl), state_(state) {
    if (ssl_ != nullptr) SSL_clear_mode(ssl_, SSL_MODE_AUTO_RETRY);  // as cpp-httplib's own
  }

  bool is_readable() const override {
    return len_ > pos_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0) || wait(POLLIN) == waited::ready;
  }
  bool is_writable() const override { return wait(POLLOUT) == waited::ready; }

  ssize_t read(char* ptr, size_t size) override {
    if (state_.at < exchange_state::phase::waiting) state_.at = exchange_state::phase::waiting;
    if (pos_ == len_) {
      const auto n = fill();
      if (n <= 0) return n;
    }
    const std::size_t n = admit(std::min(size, len_ - pos_));
    if (n == 0) return -1;
    std::memcpy(ptr, buffer_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (state_.at < exchange_state::phase::sending) state_.at = exchange_state::phase::sending;
    for (;;) {
      if (const auto w = wait(POLLOUT); w != waited::ready) {
        if (w == waited::deadline) state_.stopped = exchange_state::stop::deadline;
        return -1;
      }
      if (ssl_ != nullptr) {
        ERR_clear_error();
        const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT_MAX)));
        if (n > 0) return n;
        const int e = SSL_get_error(ssl_, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) continue;
        return -1;
      }
      const auto n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(false, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  enum class waited { ready, timeout, deadline, failed };

  // Until `events` on the socket, the read timeout or the deadline, whichever comes first.
  waited wait(short events) const {
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= state_.deadline) return waited::deadline;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(state_.deadline - now);
      const bool by_timeout = state_.read_timeout < left;
      const auto limit = std::min<std::int64_t>((by_timeout ? state_.read_timeout : left).count(), INT_MAX);
      pollfd p{sock_, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(limit));
      if (n > 0) return waited::ready;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return waited::failed;
      if (!by_timeout || std::chrono::steady_clock::now() >= state_.deadline) return waited::deadline;
      return waited::timeout;
    }
  }

  // Reads what the connection has (at most a buffer); 0 at its end, -1 on a failure.
  ssize_t fill() {
    for (;;) {
      if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
        if (const auto w = wait(POLLIN); w != waited::ready) {
          if (w != waited::failed)
            state_.stopped =
                w == waited::deadline ? exchange_state::stop::deadline : exchange_state::stop::read_timeout;
          return -1;
        }
      }
      ssize_t n = 0;
      if (ssl_ != nullptr) {
        ERR_clear_error();
        const int r = SSL_read(ssl_, buffer_.data(), static_cast<int>(buffer_.size()));
        if (r <= 0) {
          const int e = SSL_get_error(ssl_, r);
          if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
          state_.closed = true;
          return r;
        }
        n = r;
      } else {
        n = ::recv(sock_, buffer_.data(), buffer_.size(), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n <= 0) {
          state_.closed = true;
          return n;
        }
      }
      pos_ = 0;
      len_ = static_cast<std::size_t>(n);
      return n;
    }
  }

  // How many of the next `n` buffered bytes may be handed out; 0 (and why) past a limit.
  std::size_t admit(std::size_t n) {
    using stop = exchange_state::stop;
    if (state_.at == exchange_state::phase::body) {
      const std::size_t room = answer_limits::body_bytes - state_.body_bytes;
      if (room == 0) state_.stopped = stop::body_bytes;
      n = std::min(n, room);
      state_.body_bytes += n;
      return n;
    }
    state_.at = exchange_state::phase::head;
    std::size_t k = 0;
    for (; k < n; ++k) {
      // The status line, the header lines and the blank line that ends them.
      if (state_.lines >= answer_limits::header_lines + 2) {
        state_.stopped = stop::header_lines;
      } else if (state_.head_bytes >= answer_limits::head_bytes) {
        state_.stopped = stop::head_bytes;
      } else if (state_.line >= answer_limits::line_bytes) {
        state_.stopped = stop::line_bytes;
      }
      if (state_.stopped != stop::none) break;
      ++state_.head_bytes;
      ++state_.line;
      if (buffer_[pos_ + k] == '\n') {
        ++state_.lines;
        state_.line = 0;
      }
    }
    return k;
  }

  void address(bool remote, std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    auto* a = reinterpret_cast<sockaddr*>(&addr);
    if ((remote ? ::getpeername(sock_, a, &len) : ::getsockname(sock_, a, &len)) != 0) return;
    std::array<char, NI_MAXHOST> host{};
    std::array<char, NI_MAXSERV> serv{};
    if (::getnameinfo(a, len, host.data(), host.size(), serv.data(), serv.size(),
                      NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
      ip = host.data();
      port = std::atoi(serv.data());
    }
  }

  socket_t sock_;
  SSL* ssl_;
  exchange_state& state_;
  std::array<char, 4096> buffer_{};
  std::size_t pos_ = 0, len_ = 0;
};

// cpp-httplib's ClientImpl or SSLClient, reading and writing through a bounded_stream.
// (process_socket is a private virtual in 0.11.4: overriding it is allowed, calling it is not.)
template <class Base>
class bounded_client final : public Base {
 public:
  bounded_client(const std::string& host, int port, exchange_state& state)
      : Base(host, port), state_(state) {}

 private:
  bool process_socket(const typename Base::Socket& socket,
                      std::function<bool(httplib::Stream&)> callback) override {
    bounded_stream stream(socket.sock, socket.ssl, state_);
    return callback(stream);
  }
  exchange_state& state_;
};

// No HTTP answer, as cpp-httplib reports it (the deadline, read timeouts and limits are told
// apart before). `sent_effect`: whether the request, once sent, may have changed something on
// the server (a rotation may have been made).
inline rotate_error transport_error(httplib::Error error, const endpoint& e, const client_options& options,
                                    bool sent_effect) {
  const std::string target = e.host + ":" + std::to_string(e.port);
  rotate_error err{rotate_error::transport, 0, "", "", {}, false};
  switch (error) {
    case httplib::Error::Connection:
      err.code = "connect-failed";
      err.message = "could not connect to " + target + " (refused, unreachable or unknown host)";
      break;
    case httplib::Error::ConnectionTimeout:
      err.code = "connect-timeout";
      err.message = "no connection to " + target + " within " +
                    format_timeout(std::min(options.connect_timeout, total_timeout(options)));
      break;
    case httplib::Error::Write:
      err.code = "send-failed";
      err.message = "the connection to " + target + " failed while sending the request";
      break;
    case httplib::Error::Read:
      err.may_have_committed = sent_effect;
      err.code = "connection-closed";
      err.message = "the connection to " + target +
                    " was closed or reset after the request was sent, without an answer";
      break;
    case httplib::Error::SSLConnection:
      err.code = "tls-handshake";
      err.message = "the TLS handshake with " + target + " failed";
      break;
    case httplib::Error::SSLServerVerification:
      err.code = "tls-verify";
      err.message =
          "the certificate of " + target + " is not trusted" +
          (options.ca_file.empty() ? std::string(" by the system CA store (a private CA needs --ca-file)")
                                   : " by " + options.ca_file.string());
      break;
    case httplib::Error::SSLLoadingCerts:
      err.code = "ca-file";
      err.message = options.ca_file.empty() ? "cannot load the system CA certificates"
                                            : "cannot load CA certificates from " + options.ca_file.string();
      break;
    default:
      err.code = "transport";
      err.message = "request to " + target + " failed: " + httplib::to_string(error);
      break;
  }
  return err;
}

// A 2xx whose headers say its body cannot be read as sent: an encoding other than identity (the
// request asked for identity), a transfer coding but chunked, a Content-Length that is not a
// number or over the limit. nullopt when the body may be read. Values quoted are scrubbed.
inline std::optional<std::string> refuse_head(const httplib::Response& res, std::string_view secret) {
  auto trimmed = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  auto is = [](std::string_view v, std::string_view word) {
    return v.size() == word.size() && std::equal(v.begin(), v.end(), word.begin(), [](char a, char b) {
             return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
           });
  };
  const auto [ce_begin, ce_end] = res.headers.equal_range("Content-Encoding");
  for (auto h = ce_begin; h != ce_end; ++h)
    if (!is(trimmed(h->second), "identity"))
      return "the answer is in Content-Encoding " + scrub(std::string(trimmed(h->second)), secret) +
             ", which the request did not ask for (it sent Accept-Encoding: identity)";
  bool chunked = false;
  const auto [te_begin, te_end] = res.headers.equal_range("Transfer-Encoding");
  for (auto h = te_begin; h != te_end; ++h) {
    if (!is(trimmed(h->second), "chunked"))
      return "the answer has Transfer-Encoding " + scrub(std::string(trimmed(h->second)), secret) +
             "; rotary reads only chunked";
    chunked = true;
  }
  if (chunked) return std::nullopt;  // cpp-httplib reads the chunks and ignores a Content-Length
  std::optional<std::string_view> length;
  const auto [cl_begin, cl_end] = res.headers.equal_range("Content-Length");
  for (auto h = cl_begin; h != cl_end; ++h) {
    const auto v = trimmed(h->second);
    if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos)
      return "the answer's Content-Length (" + scrub(std::string(v), secret) + ") is not a number of bytes";
    if (length && *length != v) return std::string("the answer has two different Content-Length headers");
    length = v;
  }
  if (length) {
    const auto digits = length->substr(std::min(length->find_first_not_of('0'), length->size()));
    if (digits.size() > 7 ||
        std::stoul(std::string(digits.empty() ? "0" : digits)) > answer_limits::body_bytes)
      return "the response body is larger than 64 KiB (Content-Length " +
             scrub(std::string(*length), secret) + ")";
  }
  return std::nullopt;
}

// An answer that is not 2xx: {"error": "...", "message": "..."} when the server sent it (scrubbed
// of `secret`); otherwise the status alone. `sent_effect`: the request may change something on
// the server (a rotation; false for a check). Then a 502, 503 or 504 may have committed: a gateway
// answers so when it passed the request on and lost its backend, which may have rotated. A 500
// is the server's own answer that it failed: not committed (docs/rotation-job.md).
inline rotate_error status_error(const httplib::Response& res, std::string_view secret,
                                 bool sent_effect = true) {
  const int status = res.status;
  rotate_error err{rotate_error::bad_request, status, "", "", {}, false};
  try {
    const auto j = detail::parse_json_text(res.body);
    if (j.is_object()) {
      if (auto c = j.find("error"); c != j.end() && c->is_string())
        err.code = detail::scrub(c->get<std::string>(), secret);
      if (auto m = j.find("message"); m != j.end() && m->is_string())
        err.message = detail::scrub(m->get<std::string>(), secret);
    }
  } catch (const nlohmann::json::exception&) {
  }
  if (err.code.empty()) err.code = "http-" + std::to_string(status);
  if (status == 401)
    err.kind = rotate_error::unauthorized;
  else if (status == 403)
    err.kind = rotate_error::forbidden;
  else if (status == 429)
    err.kind = rotate_error::rate_limited;
  else if (status >= 500 || status == 408)
    err.kind = rotate_error::server_error;
  else if (status >= 300 && status < 400 && err.message.empty())
    err.message =
        "unexpected redirect" + (res.has_header("Location")
                                     ? " to " + detail::scrub(res.get_header_value("Location"), secret)
                                     : std::string());
  if (status == 429 || status == 503) {
    if (res.has_header("Retry-After"))
      err.retry_after =
          detail::parse_retry_after(res.get_header_value("Retry-After"), res.get_header_value("Date"));
  }
  err.may_have_committed = sent_effect && (status == 502 || status == 503 || status == 504);
  return err;
}

// A 2xx whose body is not the rotate response, or an answer that cannot be read.
inline rotate_error malformed(int status, std::string message, bool sent_effect) {
  return rotate_error{rotate_error::malformed_response,
                      std::max(status, 0),
                      "malformed-response",
                      std::move(message),
                      {},
                      sent_effect};
}

// One request to `e` (`method` "POST" with an empty body, or "GET") with `Authorization: Bearer
// <secret>`, bounded by the options' deadline and by answer_limits; the headers' copy of the
// secret is wiped after it. The answer, whatever its status (its body is empty for a 2xx when
// `body_needed` is false: a check reads no further than the status); or the error that stopped
// it (`sent_effect` as for transport_error).
inline outcome<httplib::Response, rotate_error> exchange(std::string_view url, const endpoint& e,
                                                         std::string_view secret,
                                                         const client_options& options, bool sent_effect,
                                                         const std::string& method, bool body_needed) {
  using phase = exchange_state::phase;
  using stop = exchange_state::stop;
  const auto total = total_timeout(options);
  exchange_state state;
  state.deadline = std::chrono::steady_clock::now() + total;
  state.read_timeout = std::min(options.read_timeout, total);
  const std::string host = e.host.starts_with('[') ? e.host.substr(1, e.host.size() - 2) : e.host;
  const sigpipe_guard no_sigpipe;  // before the client: its destructor may still write
  std::unique_ptr<httplib::ClientImpl> client;
  if (e.scheme == "https")
    client = std::make_unique<bounded_client<httplib::SSLClient>>(host, e.port, state);
  else
    client = std::make_unique<bounded_client<httplib::ClientImpl>>(host, e.port, state);
  if (!client->is_valid())
    return rotate_error{
        rotate_error::transport, 0, "bad-url", "endpoint " + std::string(url) + ": not usable", {}, false};
  configure(*client, e, options);
  watchdog dog(state.deadline);
  client->set_socket_options([&dog](socket_t sock) { dog.watch(sock); });

  httplib::Request req;
  req.method = method;
  req.path = e.path;
  req.headers = {{"Authorization", "Bearer " + std::string(secret)},
                 {"Accept", "application/json"},
                 {"Accept-Encoding", "identity"},
                 {"User-Agent", options.user_agent}};
  if (method == "POST") req.headers.emplace("Content-Type", "application/json");
  std::string body;
  req.response_handler = [&](const httplib::Response& head) {
    state.at = phase::body;
    if (head.status < 200 || head.status >= 300) return true;
    if (!body_needed) {
      state.answered = true;
      return false;
    }
    state.refusal = refuse_head(head, secret);
    return !state.refusal;
  };
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    body.append(data, n);
    return true;
  };
  httplib::Response res;
  auto error = httplib::Error::Success;
  const bool done = client->send(req, res, error);
  const bool out_of_time = dog.finish() || state.stopped == stop::deadline;
  for (auto [h, end] = req.headers.equal_range("Authorization"); h != end; ++h)
    OPENSSL_cleanse(h->second.data(), h->second.size());
  res.body = std::move(body);

  if (done || state.answered) return res;
  const int status = std::max(res.status, 0);
  if (state.refusal) return malformed(status, std::move(*state.refusal), sent_effect);
  // A non-2xx status whose body ends early (cut off, too large, too slow) is still its status.
  if (state.at == phase::body && (status < 200 || status >= 300)) return res;
  const std::string target = e.host + ":" + std::to_string(e.port);
  const bool sent = state.at >= phase::waiting;
  switch (state.stopped) {
    case stop::head_bytes:
      return malformed(status, "the answer's status line and headers are larger than 32 KiB", sent_effect);
    case stop::header_lines:
      return malformed(status, "the answer has more than 100 header lines", sent_effect);
    case stop::line_bytes:
      return malformed(status, "the answer has a header line longer than 8 KiB", sent_effect);
    case stop::body_bytes:
      return malformed(status, "the response body is larger than 64 KiB", sent_effect);
    default:
      break;
  }
  if (out_of_time) {
    static constexpr std::string_view where[] = {
        "while connecting", "while sending the request", "while waiting for the answer",
        "while reading the answer's headers", "while reading the answer's body"};
    return rotate_error{rotate_error::transport,
                        0,
                        "timeout",
                        "no complete answer from " + target + " within " + format_timeout(total) + " (" +
                            std::string(where[static_cast<int>(state.at)]) + ")",
                        {},
                        sent_effect && sent};
  }
  if (state.stopped == stop::read_timeout)
    return rotate_error{
        rotate_error::transport,
        0,
        "read-timeout",
        "no answer from " + target + " within " + format_timeout(state.read_timeout) +
            (state.at == phase::waiting ? " after the request was sent" : " between two reads"),
        {},
        sent_effect};
  if (error == httplib::Error::Read && state.at == phase::head && !state.closed && res.status <= 0)
    return malformed(0, "the answer does not begin with an HTTP/1.0 or HTTP/1.1 status line", sent_effect);
  auto err = transport_error(error, e, options, sent_effect);
  if (err.code == "connection-closed" && state.at >= phase::head)
    err.message = "the connection to " + target + " was closed or reset in the middle of the answer's " +
                  (state.at == phase::head ? "headers" : "body");
  return err;
}

}  // namespace detail

inline outcome<endpoint, endpoint_error> parse_endpoint(std::string_view url) {
  return detail::parse_endpoint_with(url, wire::rotate_path);
}

inline rotate_outcome interpret_rotate_response(const httplib::Response& answer, std::string_view secret) {
  if (answer.status < 200 || answer.status >= 300) return detail::status_error(answer, secret);
  if (auto refused = detail::refuse_head(answer, secret))
    return detail::malformed(answer.status, std::move(*refused), true);
  auto body = detail::read_rotate_response(answer.body);
  if (!body) return detail::malformed(answer.status, std::move(body).error(), true);
  return std::move(body).value();
}

inline rotate_outcome rotate(std::string_view url, std::string_view secret, const client_options& options) {
  const auto where = parse_endpoint(url);
  if (auto refused = detail::refuse_before_sending(where, secret, options)) return std::move(*refused);
  auto res = detail::exchange(url, *where, secret, options, true, "POST", true);
  if (!res) return std::move(res).error();
  auto out = interpret_rotate_response(res.value(), secret);
  OPENSSL_cleanse(res.value().body.data(), res.value().body.size());
  return out;
}

inline outcome<void, rotate_error> check_token(std::string_view url, std::string_view secret,
                                               const client_options& options) {
  auto where = detail::parse_endpoint_with(url, wire::ping_path);
  if (where) {
    const std::string path = where->path;
    const std::string_view route = std::string_view(path).substr(0, path.find('?'));
    if (!path.starts_with(wire::api_prefix) || route == wire::rotate_path)
      where = endpoint_error{"endpoint " + std::string(url) + ": check_token asks a path under " +
                             std::string(wire::api_prefix) + " other than " + std::string(wire::rotate_path) +
                             " (a check must never rotate), not " + path};
  }
  if (auto refused = detail::refuse_before_sending(where, secret, options)) return std::move(*refused);
  auto res = detail::exchange(url, *where, secret, options, false, "GET", false);
  if (!res) return std::move(res).error();
  const httplib::Response& answer = res.value();
  if (answer.status < 200 || answer.status >= 300) return detail::status_error(answer, secret, false);
  return {};
}

}  // namespace rotary

#endif  // ROTARY_DETAIL_HTTP_READY
