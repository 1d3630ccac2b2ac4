#define BOOST_TEST_MODULE client
#include <boost/test/unit_test.hpp>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "files.hpp"
#include "print.hpp"
#include "tls.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rotary::rotate_error;
using rotary::wire::fault;
using rotary::wire::fault_kind;

using rotary::test::temp_dir;
using rotary::test::throwaway_ca;

namespace {

const rotary::sys_seconds t0 = rotary::parse_time("2027-01-01T00:00:00Z").value();

// A fake server on a manual clock with one 3600-minute token.
struct fixture {
  rotary::manual_clock clock{t0};
  rotary::fake_server server;
  std::string url;
  rotary::wire::created_token token;
  explicit fixture(rotary::fake_server_options o = {}) : server(with_clock(std::move(o))) {
    url = server.start();
    token = server
                .create_token({.rotation_period = std::chrono::minutes{3600},
                               .expires_at = t0 + std::chrono::days{365}})
                .value();
  }
  rotary::fake_server_options with_clock(rotary::fake_server_options o) {
    o.clock = clock;
    return o;
  }
  void fail_next(fault f) { server.set_faults({{f}, 1}); }
  std::size_t rotations() const {
    std::size_t n = 0;
    for (const auto& e : server.events())
      if (e.kind == "rotation") ++n;
    return n;
  }
};

fault make_fault(fault_kind kind, int status = 503) {
  fault f;
  f.kind = kind;
  f.status = status;
  f.count = 1;
  return f;
}

const rotary::client_options fast{.connect_timeout = 2s, .read_timeout = 2s};

}  // namespace

BOOST_AUTO_TEST_CASE(a_rotation_returns_the_child) {
  fixture f;
  f.clock.advance(std::chrono::hours{5});
  const auto r = rotary::rotate(f.url, f.token.raw_secret, fast);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->raw_secret != f.token.raw_secret);
  BOOST_TEST(r->created_at == t0 + std::chrono::hours{5});
  BOOST_TEST(r->rotation_period == std::chrono::minutes{3600});
  BOOST_TEST(f.rotations() == 1u);
  // The child rotates in turn; the full endpoint URL works as well as the base URL.
  BOOST_TEST(rotary::rotate(f.url + "/api/index/v1/rotatetoken", r->raw_secret, fast).has_value());
}

BOOST_AUTO_TEST_CASE(endpoints_parse_with_the_rotate_path_by_default) {
  BOOST_TEST(rotary::parse_endpoint("https://a.example").value().url() ==
             "https://a.example:443/api/index/v1/rotatetoken");
  BOOST_TEST(rotary::parse_endpoint("http://127.0.0.1:8080/").value().url() ==
             "http://127.0.0.1:8080/api/index/v1/rotatetoken");
  BOOST_TEST(rotary::parse_endpoint("http://[::1]:9/custom/rotate").value().url() ==
             "http://[::1]:9/custom/rotate");
  BOOST_TEST(rotary::parse_endpoint("ftp://x").error().message ==
             "endpoint ftp://x: expected http://HOST[:PORT][/PATH] or https://...");
  BOOST_TEST(rotary::parse_endpoint("http://x:99999").error().message ==
             "endpoint http://x:99999: the port must be a number from 1 to 65535");
  BOOST_TEST(rotary::parse_endpoint("https://user:pw@x").error().message ==
             "endpoint: credentials in the URL are not allowed (the token goes in the store)");
  BOOST_TEST(!rotary::parse_endpoint("http://"));
  BOOST_TEST(rotary::parse_endpoint("https://xn--bcher-kva.example").has_value());
  BOOST_TEST(rotary::parse_endpoint("https://b\xc3\xbc"
                                    "cher.example")
                 .error()
                 .message ==
             "endpoint https://b\xc3\xbc"
             "cher.example: the host must be a DNS name or an IP address (ASCII "
             "letters, digits, '-', '.'; an international name in its xn-- form)");
  BOOST_TEST(rotary::parse_endpoint("http://\xff/").error().message ==
             "endpoint http://\xff/: the host must be a DNS name or an IP address (ASCII letters, digits, "
             "'-', '.'; an international name in its xn-- form)");
  BOOST_TEST(rotary::parse_endpoint("http://a%2fb").error().message.ends_with("its xn-- form)"));
  BOOST_TEST(rotary::parse_endpoint("http://[::g]:80").error().message ==
             "endpoint http://[::g]:80: the host is not an IPv6 address");
  BOOST_TEST(rotary::parse_endpoint("http://[fe80::1%eth0]").error().message ==
             "endpoint http://[fe80::1%eth0]: the host is not an IPv6 address");
}

// A NUL byte ends nothing: a 2xx body with one after a valid object is malformed (the text after
// it may be the rest of a cut or spliced answer), and the message never quotes the body.
BOOST_AUTO_TEST_CASE(a_response_body_with_a_nul_byte_is_malformed) {
  const std::string object =
      R"({"rawSecret": "s3cret", "createdAt": 1798761600, "rotationPeriodMinutes": 1440})";
  BOOST_TEST(rotary::detail::read_rotate_response(object).has_value());
  const std::string spliced = object + std::string("\0junk", 5);
  const auto r = rotary::detail::read_rotate_response(spliced);
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error() ==
             "the response body is not valid JSON (" + std::to_string(spliced.size()) + " bytes; cut off?)");
  BOOST_TEST(r.error().find("s3cret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(refusals_are_typed_and_never_retried_blindly) {
  fixture f;
  const auto unknown = rotary::rotate(f.url, "no-such-token-secret", fast);
  BOOST_TEST((unknown.error().kind == rotate_error::unauthorized));
  BOOST_TEST(unknown.error().status == 401);
  BOOST_TEST(unknown.error().code == "unknown-token");
  BOOST_TEST(!unknown.error().transient());
  BOOST_TEST(!unknown.error().may_have_committed);

  BOOST_REQUIRE(rotary::rotate(f.url, f.token.raw_secret, fast).has_value());
  const auto again = rotary::rotate(f.url, f.token.raw_secret, fast);
  BOOST_TEST(again.error().code == "already-rotated");
  BOOST_TEST(again.error().describe().find(f.token.raw_secret) == std::string::npos);
  BOOST_TEST(again.error().describe().rfind("unauthorized 401 already-rotated: ", 0) == 0u);

  const auto fixed = f.server.create_token({.expires_at = t0 + std::chrono::days{30}}).value();
  const auto not_rotatable = rotary::rotate(f.url, fixed.raw_secret, fast);
  BOOST_TEST((not_rotatable.error().kind == rotate_error::bad_request));
  BOOST_TEST(not_rotatable.error().code == "not-rotatable");
}

BOOST_AUTO_TEST_CASE(a_host_outside_the_greenlist_is_forbidden) {
  fixture f({.greenlist = {"10.0.0.0/8"}});
  const auto r = rotary::rotate(f.url, f.token.raw_secret, fast);
  BOOST_TEST((r.error().kind == rotate_error::forbidden));
  BOOST_TEST(r.error().status == 403);
  BOOST_TEST(!r.error().transient());
}

BOOST_AUTO_TEST_CASE(rate_limits_carry_retry_after) {
  fixture f;
  auto limit = make_fault(fault_kind::status, 429);
  limit.retry_after = 7s;
  f.fail_next(limit);
  const auto r = rotary::rotate(f.url, f.token.raw_secret, fast);
  BOOST_TEST((r.error().kind == rotate_error::rate_limited));
  BOOST_TEST(r.error().retry_after == std::optional<rotary::seconds>{7s});
  BOOST_TEST(r.error().transient());
  BOOST_TEST(!r.error().may_have_committed);
  BOOST_TEST(f.rotations() == 0u);
  BOOST_TEST(rotary::rotate(f.url, f.token.raw_secret, fast).has_value());
}

BOOST_AUTO_TEST_CASE(server_errors_are_transient) {
  for (int status : {500, 502, 503}) {
    fixture f;
    f.fail_next(make_fault(fault_kind::status, status));
    const auto r = rotary::rotate(f.url, f.token.raw_secret, fast);
    BOOST_TEST((r.error().kind == rotate_error::server_error));
    BOOST_TEST(r.error().status == status);
    BOOST_TEST(r.error().transient());
    BOOST_TEST(f.rotations() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(a_reset_or_closed_connection_may_have_committed) {
  for (auto kind : {fault_kind::reset, fault_kind::empty, fault_kind::commit_drop}) {
    fixture f;
    f.fail_next(make_fault(kind));
    const auto r = rotary::rotate(f.url, f.token.raw_secret, fast);
    BOOST_TEST_CONTEXT(rotary::wire::to_string(kind)) {
      BOOST_TEST((r.error().kind == rotate_error::transport));
      BOOST_TEST(r.error().code == "connection-closed");
      BOOST_TEST(r.error().may_have_committed);
      BOOST_TEST(r.error().transient());
      BOOST_TEST(f.rotations() == (kind == fault_kind::commit_drop ? 1u : 0u));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_cut_off_body_is_malformed_and_never_quoted) {
  fixture f;
  f.fail_next(make_fault(fault_kind::malformed));
  const auto r = rotary::rotate(f.url, f.token.raw_secret, fast);
  BOOST_TEST((r.error().kind == rotate_error::malformed_response));
  BOOST_TEST(r.error().may_have_committed);
  BOOST_TEST(r.error().message.rfind("the response body is not valid JSON (", 0) == 0u);
  BOOST_TEST(r.error().message.find("rawSecret") == std::string::npos);
  BOOST_TEST(f.rotations() == 1u);
}

BOOST_AUTO_TEST_CASE(a_slow_server_times_out_after_the_read_timeout) {
  fixture f;
  auto slow = make_fault(fault_kind::latency);
  slow.latency = 1500ms;
  f.fail_next(slow);
  const auto start = std::chrono::steady_clock::now();
  const auto r = rotary::rotate(f.url, f.token.raw_secret, {.connect_timeout = 1s, .read_timeout = 300ms});
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(r.error().code == "read-timeout");
  BOOST_TEST(r.error().may_have_committed);
  BOOST_TEST(took < 1400ms);
}

BOOST_AUTO_TEST_CASE(a_closed_port_is_refused_before_anything_is_sent) {
  std::string url;
  {
    fixture f;
    url = f.url;
  }
  const auto r = rotary::rotate(url, "some-secret", fast);
  BOOST_TEST((r.error().kind == rotate_error::transport));
  BOOST_TEST(r.error().code == "connect-failed");
  BOOST_TEST(!r.error().may_have_committed);
}

BOOST_AUTO_TEST_CASE(a_secret_that_cannot_be_a_header_is_never_sent) {
  const auto r = rotary::rotate("http://127.0.0.1:9", "two words", fast);
  BOOST_TEST(r.error().code == "invalid-secret");
  BOOST_TEST(r.error().message.find("two words") == std::string::npos);
  BOOST_TEST(!rotary::rotate("http://127.0.0.1:9", "line\r\nX-Injected: 1", fast));
}

// A server that is not the fake one: createdAt in milliseconds, an error that echoes the secret.
BOOST_AUTO_TEST_CASE(created_at_in_milliseconds_is_read_by_the_documented_rule) {
  httplib::Server svr;
  std::string body;
  int status = 200;
  std::string authorization, content_length;
  svr.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
    authorization = req.get_header_value("Authorization");
    content_length = req.get_header_value("Content-Length");
    res.status = status;
    res.set_content(body, "application/json");
  });
  const int port = svr.bind_to_any_port("127.0.0.1");
  std::thread t([&] { svr.listen_after_bind(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  body =
      R"({"rawSecret": "new-secret", "createdAt": 1798761600123, "rotationPeriodMinutes": 3600, "extra": 1})";
  BOOST_TEST(rotary::rotate(url, "old-secret", fast).value().created_at == t0);
  BOOST_TEST(authorization == "Bearer old-secret");
  BOOST_TEST(content_length == "0");
  body = R"({"rawSecret": "new-secret", "createdAt": 1798761600, "rotationPeriodMinutes": 3600})";
  BOOST_TEST(rotary::rotate(url, "old-secret", fast).value().created_at == t0);
  body = R"({"rawSecret": "new-secret", "createdAt": 1798761600.75, "rotationPeriodMinutes": 3600})";
  BOOST_TEST(rotary::rotate(url, "old-secret", fast).value().created_at == t0);
  body =
      R"({"rawSecret": "new-secret", "createdAt": 16400000, "rotationPeriodMinutes": 3600})";  // the guide's
                                                                                               // sample
  BOOST_TEST(rotary::rotate(url, "old-secret", fast).value().created_at == rotary::from_unix(16400000));
  body = R"({"rawSecret": "new-secret", "createdAt": "yesterday", "rotationPeriodMinutes": 3600})";
  BOOST_TEST(rotary::rotate(url, "old-secret", fast).error().message ==
             "createdAt: expected Unix seconds (a number)");
  body = R"({"rawSecret": "new secret", "createdAt": 1, "rotationPeriodMinutes": 3600})";
  BOOST_TEST((rotary::rotate(url, "old-secret", fast).error().kind == rotate_error::malformed_response));
  body = R"({"rawSecret": "new-secret", "createdAt": 1})";
  BOOST_TEST(rotary::rotate(url, "old-secret", fast).error().message ==
             "rotationPeriodMinutes: missing or not an integer");
  status = 401;
  body = R"({"error": "bad-token", "message": "token old-secret-value is not valid"})";
  const auto echoed = rotary::rotate(url, "old-secret-value", fast);
  BOOST_TEST(echoed.error().message == "token <secret> is not valid");
  // A server's text stays one line, escaped by the rule of every quoted value (docs/errors.md).
  body = R"({"error": "bad\u001btoken", "message": "line one\nline two \u00e9\u2028"})";
  const auto split = rotary::rotate(url, "old-secret-value", fast);
  BOOST_TEST(split.error().code == "bad\\x1btoken");
  BOOST_TEST(split.error().message == "line one\\nline two \xc3\xa9\\xe2\\x80\\xa8");
  status = 404;
  body = "<html>not found</html>";
  const auto missing = rotary::rotate(url, "old-secret", fast);
  BOOST_TEST((missing.error().kind == rotate_error::bad_request));
  BOOST_TEST(missing.error().code == "http-404");
  svr.stop();
  t.join();
}

BOOST_AUTO_TEST_CASE(retry_after_reads_seconds_and_http_dates) {
  using rotary::detail::parse_retry_after;
  BOOST_TEST(parse_retry_after("120", "") == std::optional<rotary::seconds>{120s});
  BOOST_TEST(parse_retry_after("99999999999", "") == std::optional<rotary::seconds>{86400s});
  BOOST_TEST(parse_retry_after("Fri, 01 Jan 2027 00:02:00 GMT", "Fri, 01 Jan 2027 00:00:00 GMT") ==
             std::optional<rotary::seconds>{120s});
  BOOST_TEST(!parse_retry_after("Fri, 01 Jan 2027 00:02:00 GMT", "").has_value());
  BOOST_TEST(!parse_retry_after("soon", "").has_value());
  BOOST_TEST(!parse_retry_after("-5", "").has_value());
}

BOOST_AUTO_TEST_CASE(https_with_a_throwaway_ca) {
  throwaway_ca ca;
  fixture f({.tls_cert = ca.cert, .tls_key = ca.key});
  BOOST_TEST(f.url.rfind("https://127.0.0.1:", 0) == 0u);
  auto options = fast;
  options.ca_file = ca.ca;
  const auto r = rotary::rotate(f.url, f.token.raw_secret, options);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
  BOOST_TEST(r->rotation_period == std::chrono::minutes{3600});

  // The system store does not know the throwaway CA; neither does another CA.
  const auto untrusted = rotary::rotate(f.url, r->raw_secret, fast);
  BOOST_TEST(untrusted.error().code == "tls-verify");
  BOOST_TEST(!untrusted.error().may_have_committed);
  throwaway_ca other("another CA");
  options.ca_file = other.ca;
  BOOST_TEST(rotary::rotate(f.url, r->raw_secret, options).error().code == "tls-verify");
  BOOST_TEST(f.rotations() == 1u);

  // Plain HTTP to a TLS port is not an answer.
  auto plain = f.url;
  plain.replace(0, 5, "http");
  BOOST_TEST(!rotary::rotate(plain, r->raw_secret, fast));
  options.ca_file = ca.dir.path / "missing.pem";
  BOOST_TEST(rotary::rotate(f.url, r->raw_secret, options).error().code == "ca-file");
}

// value() on a client error throws rotary::bad_outcome_access with the error's one line.
BOOST_AUTO_TEST_CASE(value_of_a_client_error_throws_its_one_line_description) {
  auto what_of = [](auto&& o) -> std::pair<std::string, std::string> {
    try {
      (void)o.value();
    } catch (const rotary::bad_outcome_access& e) {
      return {e.what(), e.code()};
    }
    return {"no exception", ""};
  };
  // Refused before anything is sent: no server needed.
  const auto [bad_url, bad_url_code] = what_of(rotary::rotate("ftp://x", "s3cret-secret", fast));
  BOOST_TEST(
      bad_url ==
      "rotary: transport bad-url: endpoint ftp://x: expected http://HOST[:PORT][/PATH] or https://...");
  BOOST_TEST(bad_url_code == "bad-url");
  const rotary::rotate_outcome refused =
      rotate_error{rotate_error::unauthorized, 401, "already-rotated", "only the current token", {}, false};
  BOOST_TEST(what_of(refused).first == "rotary: unauthorized 401 already-rotated: only the current token");
  BOOST_TEST(what_of(refused).second == "already-rotated");
  // An endpoint_error has a message and no code.
  const auto [endpoint, endpoint_code] = what_of(rotary::parse_endpoint("http://x:99999"));
  BOOST_TEST(endpoint == "rotary: endpoint http://x:99999: the port must be a number from 1 to 65535");
  BOOST_TEST(endpoint_code == "");
  // The fake server's wire body describes itself the same way.
  BOOST_TEST((rotary::wire::error_body{"token-revoked", "the token was revoked"}.describe() ==
              "token-revoked: the token was revoked"));
}

// --- check_token: does this token still work? ----------------------------------------------------

BOOST_AUTO_TEST_CASE(a_usable_token_checks_as_usable_without_rotating) {
  fixture f;
  const auto ok = rotary::check_token(f.url, f.token.raw_secret, fast);
  BOOST_REQUIRE_MESSAGE(ok.has_value(), (ok ? std::string() : ok.error().describe()));
  BOOST_CHECK_NO_THROW(ok.value());
  // A base URL asks the default path; a full URL asks its own path.
  BOOST_TEST(
      rotary::check_token(f.url + "/api/index/v1/projects?page=2", f.token.raw_secret, fast).has_value());
  std::vector<std::string> asked;
  for (const auto& e : f.server.events())
    if (e.kind == "access") asked.push_back(e.method + " " + e.path + " " + e.token_id);
  BOOST_TEST(asked == (std::vector<std::string>{"GET /api/index/v1/ping " + f.token.id,
                                                "GET /api/index/v1/projects " + f.token.id}),
             boost::test_tools::per_element());
  BOOST_TEST(f.rotations() == 0u);
}

BOOST_AUTO_TEST_CASE(a_rotated_parent_checks_as_unusable_once_its_buffer_is_over) {
  fixture f;
  const auto child = rotary::rotate(f.url, f.token.raw_secret, fast).value();
  f.clock.advance(9min + 59s);
  BOOST_TEST(rotary::check_token(f.url, f.token.raw_secret, fast).has_value());
  f.clock.advance(1s);
  const auto late = rotary::check_token(f.url, f.token.raw_secret, fast);
  BOOST_REQUIRE(!late);
  BOOST_TEST((late.error().kind == rotate_error::unauthorized));
  BOOST_TEST(late.error().status == 401);
  BOOST_TEST(late.error().code == "token-unusable");
  BOOST_TEST(late.error().message == "the token is unusable: it was rotated and its buffer period is over");
  BOOST_TEST(!late.error().transient());
  BOOST_TEST(!late.error().may_have_committed);
  BOOST_TEST(rotary::check_token(f.url, child.raw_secret, fast).has_value());
}

BOOST_AUTO_TEST_CASE(revoked_and_unknown_tokens_check_as_unauthorized_with_their_codes) {
  fixture f;
  BOOST_REQUIRE(f.server.revoke(f.token.id));
  const auto revoked = rotary::check_token(f.url, f.token.raw_secret, fast);
  BOOST_TEST((revoked.error().kind == rotate_error::unauthorized));
  BOOST_TEST(revoked.error().code == "token-revoked");
  BOOST_TEST(revoked.error().describe() == "unauthorized 401 token-revoked: the token was revoked");
  const auto unknown = rotary::check_token(f.url, "no-such-token-secret", fast);
  BOOST_TEST(unknown.error().code == "unknown-token");
  BOOST_TEST(unknown.error().status == 401);
  try {
    unknown.value();
    BOOST_FAIL("value() did not throw");
  } catch (const rotary::bad_outcome_access& e) {
    BOOST_TEST(e.what() == std::string("rotary: unauthorized 401 unknown-token: no such token"));
    BOOST_TEST(e.code() == "unknown-token");
  }
}

BOOST_AUTO_TEST_CASE(a_check_outside_the_token_api_is_refused_before_anything_is_sent) {
  fixture f;
  const auto before = f.server.events().size();
  const auto admin = rotary::check_token(f.url + "/admin/v1/tokens", f.token.raw_secret, fast);
  BOOST_TEST((admin.error().kind == rotate_error::transport));
  BOOST_TEST(admin.error().code == "bad-url");
  BOOST_TEST(admin.error().message ==
             "endpoint " + f.url +
                 "/admin/v1/tokens: check_token asks a path under /api/index/v1/ other "
                 "than /api/index/v1/rotatetoken (a check must never rotate), not "
                 "/admin/v1/tokens");
  BOOST_TEST(!admin.error().transient());
  // The rotate path, with or without a query, would rotate: refused too.
  BOOST_TEST(
      rotary::check_token(f.url + "/api/index/v1/rotatetoken", f.token.raw_secret, fast).error().code ==
      "bad-url");
  BOOST_TEST(
      rotary::check_token(f.url + "/api/index/v1/rotatetoken?x=1", f.token.raw_secret, fast).error().code ==
      "bad-url");
  BOOST_TEST(rotary::check_token(f.url, "two words", fast).error().code == "invalid-secret");
  BOOST_TEST(rotary::check_token("ftp://x", f.token.raw_secret, fast).error().code == "bad-url");
  BOOST_TEST(f.server.events().size() == before);  // the server saw none of them
  BOOST_TEST(f.rotations() == 0u);
}

BOOST_AUTO_TEST_CASE(a_check_against_a_stopped_server_is_a_transport_error) {
  fixture f;
  f.server.stop();
  const auto down = rotary::check_token(f.url, f.token.raw_secret, fast);
  BOOST_TEST((down.error().kind == rotate_error::transport));
  BOOST_TEST(down.error().code == "connect-failed");
  BOOST_TEST(down.error().status == 0);
  BOOST_TEST(down.error().transient());
  BOOST_TEST(!down.error().may_have_committed);
}

BOOST_AUTO_TEST_CASE(a_check_reports_faults_and_greenlist_refusals_like_a_rotation) {
  fixture f;
  auto busy = make_fault(fault_kind::status, 503);
  busy.scope = rotary::wire::fault_scope::api;
  f.fail_next(busy);
  const auto r = rotary::check_token(f.url, f.token.raw_secret, fast);
  BOOST_TEST((r.error().kind == rotate_error::server_error));
  BOOST_TEST(r.error().status == 503);
  BOOST_TEST(r.error().transient());
  auto reset = make_fault(fault_kind::reset);
  reset.scope = rotary::wire::fault_scope::api;
  f.fail_next(reset);
  const auto closed = rotary::check_token(f.url, f.token.raw_secret, fast);
  BOOST_TEST(closed.error().code == "connection-closed");
  BOOST_TEST(!closed.error().may_have_committed);  // a check changes nothing on the server
  BOOST_TEST(rotary::check_token(f.url, f.token.raw_secret, fast).has_value());

  fixture outside({.greenlist = {"10.0.0.0/8"}});
  const auto forbidden = rotary::check_token(outside.url, outside.token.raw_secret, fast);
  BOOST_TEST((forbidden.error().kind == rotate_error::forbidden));
  BOOST_TEST(forbidden.error().code == "address-not-allowed");
}

BOOST_AUTO_TEST_CASE(a_check_over_https_verifies_the_certificate) {
  throwaway_ca ca;
  fixture f({.tls_cert = ca.cert, .tls_key = ca.key});
  auto options = fast;
  options.ca_file = ca.ca;
  const auto ok = rotary::check_token(f.url, f.token.raw_secret, options);
  BOOST_TEST_MESSAGE((ok ? std::string() : ok.error().describe()));
  BOOST_TEST(ok.has_value());
  BOOST_TEST(rotary::check_token(f.url, f.token.raw_secret, fast).error().code == "tls-verify");
}
