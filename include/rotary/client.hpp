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
#pragma once

#include <rotary/detail/http_config.hpp>  // first: one clear #error without cpp-httplib and OpenSSL
#if ROTARY_DETAIL_HTTP_READY              // otherwise nothing here is compiled after that #error

#include <httplib.h>
#include <openssl/crypto.h>

#include <nlohmann/json.hpp>
#include <rotary/detail/json_read.hpp>
#include <rotary/outcome.hpp>
#include <rotary/time.hpp>
#include <rotary/wire.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace rotary {

struct client_options {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{10}};
  std::chrono::milliseconds read_timeout{std::chrono::seconds{30}};  // also the write timeout
  std::filesystem::path ca_file{};  // PEM certificates to trust instead of the system store
  std::string user_agent = "rotary";
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
                        // "connect-failed", "connect-timeout", "read-timeout", "connection-closed",
                        // "send-failed", "tls-handshake", "tls-verify", "ca-file", "bad-url";
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

// Replaces every occurrence of `secret` in `text`, drops control characters and cuts at 300
// characters: what a server says is shown, never what it could echo back.
inline std::string scrub(std::string text, std::string_view secret) {
  if (secret.size() >= 4) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
      text.replace(at, secret.size(), "<secret>");
  }
  std::string out;
  for (char c : text) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  if (out.size() > 300) out = out.substr(0, 300) + "...";
  return out;
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
    std::error_code ec;
    if (!std::filesystem::is_regular_file(options.ca_file, ec))
      return rotate_error{rotate_error::transport,
                          0,
                          "ca-file",
                          "CA file " + options.ca_file.string() + ": not found",
                          {},
                          false};
  }
  return std::nullopt;
}

// The options' timeouts, no keep-alive, no redirects, and certificate verification for https.
inline void configure(httplib::Client& client, const endpoint& e, const client_options& options) {
  auto split = [](std::chrono::milliseconds d) {
    return std::pair<time_t, time_t>{static_cast<time_t>(d.count() / 1000),
                                     static_cast<time_t>(d.count() % 1000 * 1000)};
  };
  const auto [cs, cus] = split(options.connect_timeout);
  const auto [rs, rus] = split(options.read_timeout);
  client.set_connection_timeout(cs, cus);
  client.set_read_timeout(rs, rus);
  client.set_write_timeout(rs, rus);
  client.set_keep_alive(false);
  client.set_follow_location(false);
  if (e.scheme == "https") {
    client.enable_server_certificate_verification(true);
    if (!options.ca_file.empty()) client.set_ca_cert_path(options.ca_file.string());
  }
}

// No HTTP answer. `waited`: from sending to the failure; `sent_effect`: whether the request, once
// sent, may have changed something on the server (a rotation may have been made).
inline rotate_error transport_error(httplib::Error error, const endpoint& e, const client_options& options,
                                    std::chrono::steady_clock::duration waited, bool sent_effect) {
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
                    format_duration(std::chrono::duration_cast<seconds>(options.connect_timeout));
      break;
    case httplib::Error::Write:
      err.code = "send-failed";
      err.message = "the connection to " + target + " failed while sending the request";
      break;
    case httplib::Error::Read:
      err.may_have_committed = sent_effect;
      if (waited + std::chrono::milliseconds{50} >= options.read_timeout) {
        err.code = "read-timeout";
        err.message = "no answer from " + target + " within " +
                      format_duration(std::chrono::duration_cast<seconds>(options.read_timeout)) +
                      " after the request was sent";
      } else {
        err.code = "connection-closed";
        err.message = "the connection to " + target +
                      " was closed or reset after the request was sent, without an answer";
      }
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

// An answer that is not 2xx: {"error": "...", "message": "..."} when the server sent it (scrubbed
// of `secret`); otherwise the status alone.
inline rotate_error status_error(const httplib::Response& res, std::string_view secret) {
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
  return err;
}

// One request to `e` with `Authorization: Bearer <secret>`, made by `send(client, headers)` (a
// Post or a Get); the headers' copy of the secret is wiped after it. The answer, whatever its
// status; or, when none came, the transport error (`sent_effect` as for transport_error).
template <class Send>
outcome<httplib::Result, rotate_error> exchange(std::string_view url, const endpoint& e,
                                                std::string_view secret, const client_options& options,
                                                bool sent_effect, Send send) {
  httplib::Client client(e.origin());
  if (!client.is_valid())
    return rotate_error{
        rotate_error::transport, 0, "bad-url", "endpoint " + std::string(url) + ": not usable", {}, false};
  configure(client, e, options);
  httplib::Headers headers{{"Authorization", "Bearer " + std::string(secret)},
                           {"Accept", "application/json"},
                           {"User-Agent", options.user_agent}};
  const auto started = std::chrono::steady_clock::now();
  httplib::Result res = send(client, headers);
  if (auto h = headers.find("Authorization"); h != headers.end())
    OPENSSL_cleanse(h->second.data(), h->second.size());
  if (!res)
    return transport_error(res.error(), e, options, std::chrono::steady_clock::now() - started, sent_effect);
  return res;
}

}  // namespace detail

inline outcome<endpoint, endpoint_error> parse_endpoint(std::string_view url) {
  return detail::parse_endpoint_with(url, wire::rotate_path);
}

inline rotate_outcome rotate(std::string_view url, std::string_view secret, const client_options& options) {
  const auto where = parse_endpoint(url);
  if (auto refused = detail::refuse_before_sending(where, secret, options)) return std::move(*refused);
  auto res = detail::exchange(url, *where, secret, options, true,
                              [&](httplib::Client& c, const httplib::Headers& h) {
                                return c.Post(where->path, h, std::string(), "application/json");
                              });
  if (!res) return std::move(res).error();
  const httplib::Response& answer = *res.value();
  if (answer.status < 200 || answer.status >= 300) return detail::status_error(answer, secret);
  auto body = detail::read_rotate_response(answer.body);
  OPENSSL_cleanse(res.value()->body.data(), answer.body.size());
  if (!body)
    return rotate_error{
        rotate_error::malformed_response, answer.status, "malformed-response", body.error(), {}, true};
  return std::move(body).value();
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
  auto res =
      detail::exchange(url, *where, secret, options, false,
                       [&](httplib::Client& c, const httplib::Headers& h) { return c.Get(where->path, h); });
  if (!res) return std::move(res).error();
  const httplib::Response& answer = *res.value();
  if (answer.status < 200 || answer.status >= 300) return detail::status_error(answer, secret);
  return {};
}

}  // namespace rotary

#endif  // ROTARY_DETAIL_HTTP_READY
