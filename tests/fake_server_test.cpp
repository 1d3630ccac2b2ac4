// Tests of rotary/fake_server.hpp over loopback HTTP, with a manual clock moved by the test.
#define BOOST_TEST_MODULE fake_server
#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "net.hpp"
#include "print.hpp"
#include "tls.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>

#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using rotary::sys_seconds;
namespace wire = rotary::wire;

using rotary::test::body_of;
using rotary::test::raw_exchange;
using rotary::test::read_file;
using rotary::test::temp_dir;

namespace {

const sys_seconds midnight = rotary::parse_time("2027-01-01T00:00:00Z").value();

// Options for tests: a manual clock, and tokens of any period, with or without expiry.
rotary::fake_server_options test_options(rotary::manual_clock& clock) {
  rotary::fake_server_options o;
  o.clock = clock;
  o.min_period = 1min;
  o.require_expiry = false;
  o.admin_key = "admin-key-for-tests";
  o.threads = 48;
  return o;
}

struct reply {
  int status = 0;  // 0: no response (connection error)
  std::string body;
  httplib::Headers headers;
  [[nodiscard]] nlohmann::json json() const { return nlohmann::json::parse(body); }
};

reply to_reply(const httplib::Result& r) {
  if (!r) return {};
  return {r->status, r->body, r->headers};
}

reply call(const std::string& url, const std::string& method, const std::string& path,
           const httplib::Headers& headers = {}, const std::string& body = {}) {
  httplib::Client c(url);
  c.set_read_timeout(5, 0);
  if (url.starts_with("https")) c.enable_server_certificate_verification(false);
  if (method == "GET") return to_reply(c.Get(path, headers));
  if (method == "POST") return to_reply(c.Post(path, headers, body, "application/json"));
  if (method == "PUT") return to_reply(c.Put(path, headers, body, "application/json"));
  if (method == "DELETE") return to_reply(c.Delete(path, headers, body, "application/json"));
  if (method == "PATCH") return to_reply(c.Patch(path, headers, body, "application/json"));
  throw std::logic_error("method");
}

reply rotate(const std::string& url, const std::string& secret, const std::string& scheme = "Bearer") {
  return call(url, "POST", std::string(wire::rotate_path), {{"Authorization", scheme + " " + secret}});
}

// The bytes an /api/index/v1/ path answers for `secret`.
reply ping(const std::string& url, const std::string& secret) {
  return call(url, "GET", "/api/index/v1/ping", {{"Authorization", "Bearer " + secret}});
}

// Whether the server takes `secret` now, as the client asks it (check_token): "usable", or the
// refusal's code ("token-unusable", "token-revoked", "injected-fault", ...).
std::string check(const std::string& url, const std::string& secret, const rotary::client_options& o = {}) {
  const auto r = rotary::check_token(url, secret, o);
  return r ? "usable" : r.error().code;
}

reply admin(const rotary::fake_server& s, const std::string& method, const std::string& path,
            const std::string& body = {}) {
  return call(s.url(), method, path, {{"Authorization", "Bearer " + s.admin_key()}}, body);
}

std::string error_of(const reply& r) { return r.json().at("error").get<std::string>(); }

}  // namespace

// --- the worked example of docs/design.md ("The token rules"), end to end ---------------------------

BOOST_AUTO_TEST_CASE(worked_example_of_design_section_2_holds_over_http) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();

  // Period 60 min, created 00:00: valid at 00:59:59, unusable at 01:00:00.
  const auto a = server.create_token({.rotation_period = 60min}).value();
  clock.set(midnight + 59min + 59s);
  BOOST_TEST(check(url, a.raw_secret) == "usable");
  clock.set(midnight + 60min);
  const auto dead = ping(url, a.raw_secret);
  BOOST_TEST(dead.status == 401);
  BOOST_TEST(
      dead.body ==
      R"j({"error":"token-unusable","message":"the token is unusable: its rotation period ran out"})j");

  // Rotated at 00:30: parent usable until 00:40, child until 01:30.
  clock.set(midnight);
  const auto b = server.create_token({.rotation_period = 60min}).value();
  clock.set(midnight + 30min);
  const auto r = rotate(url, b.raw_secret);
  BOOST_REQUIRE(r.status == 200);
  const auto child = r.json().get<wire::rotate_response>();
  BOOST_TEST(child.created_at == midnight + 30min);
  BOOST_TEST(child.rotation_period == 60min);
  BOOST_TEST(child.raw_secret.size() == 43u);  // 32 bytes, base64url
  clock.set(midnight + 39min + 59s);
  BOOST_TEST(check(url, b.raw_secret) == "usable");
  clock.set(midnight + 40min);
  BOOST_TEST(
      ping(url, b.raw_secret).body ==
      R"j({"error":"token-unusable","message":"the token is unusable: it was rotated and its buffer period is over"})j");
  clock.set(midnight + 89min + 59s);
  BOOST_TEST(check(url, child.raw_secret) == "usable");
  clock.set(midnight + 90min);
  BOOST_TEST(check(url, child.raw_secret) == "token-unusable");

  // Rotated at 00:55: the parent is usable until 01:00, the period still binds.
  clock.set(midnight);
  const auto c = server.create_token({.rotation_period = 60min}).value();
  clock.set(midnight + 55min);
  BOOST_REQUIRE(rotate(url, c.raw_secret).status == 200);
  clock.set(midnight + 59min + 59s);
  BOOST_TEST(check(url, c.raw_secret) == "usable");
  clock.set(midnight + 60min);
  BOOST_TEST(check(url, c.raw_secret) == "token-unusable");
  BOOST_TEST(server.token(c.id)->status == "expired");
  BOOST_TEST(server.token(c.id)->ended_by == "rotation-period");

  // With expires_at 01:15 the child is unusable at 01:15.
  clock.set(midnight);
  const auto d = server.create_token({.rotation_period = 60min, .expires_at = midnight + 75min}).value();
  clock.set(midnight + 30min);
  const auto dc = rotate(url, d.raw_secret).json().get<wire::rotate_response>();
  clock.set(midnight + 74min + 59s);
  BOOST_TEST(check(url, dc.raw_secret) == "usable");
  clock.set(midnight + 75min);
  BOOST_TEST(ping(url, dc.raw_secret).body ==
             R"j({"error":"token-unusable","message":"the token is unusable: it reached its expiry"})j");
  // The dead child cannot rotate either.
  BOOST_TEST(rotate(url, dc.raw_secret).status == 401);
}

BOOST_AUTO_TEST_CASE(the_configured_buffer_decides_when_a_rotated_parent_dies) {
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.buffer = 2min;
  rotary::fake_server server{o};
  const auto url = server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  BOOST_REQUIRE(rotate(url, t.raw_secret).status == 200);
  clock.advance(1min + 59s);
  BOOST_TEST(check(url, t.raw_secret) == "usable");
  clock.advance(1s);
  BOOST_TEST(check(url, t.raw_secret) == "token-unusable");
}

// --- re-rotation ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(reject_refuses_a_second_rotation_of_a_rotated_parent_with_401) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  const auto first = rotate(url, t.raw_secret);
  BOOST_REQUIRE(first.status == 200);
  clock.advance(1min);
  const auto second = rotate(url, t.raw_secret);
  BOOST_TEST(second.status == 401);
  BOOST_TEST(
      second.body ==
      R"j({"error":"already-rotated","message":"the token was already rotated: only the current token can be rotated"})j");
  // The parent still works for requests inside its buffer; the child rotates normally.
  BOOST_TEST(check(url, t.raw_secret) == "usable");
  const auto child = first.json().get<wire::rotate_response>();
  BOOST_TEST(rotate(url, child.raw_secret).status == 200);
  BOOST_TEST(server.tokens().size() == 3u);
}

BOOST_AUTO_TEST_CASE(fork_makes_another_child_and_keeps_the_buffer_of_the_first_rotation) {
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.rerotate = rotary::rerotation::fork;
  rotary::fake_server server{o};
  const auto url = server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  const auto one = rotate(url, t.raw_secret).json().get<wire::rotate_response>();
  clock.advance(5min);
  const auto two = rotate(url, t.raw_secret).json().get<wire::rotate_response>();
  BOOST_TEST(one.raw_secret != two.raw_secret);
  BOOST_TEST(two.created_at == midnight + 5min);
  const auto parent = server.token(t.id).value();
  BOOST_TEST(parent.child_ids == (std::vector<std::string>{"tok_2", "tok_3"}));
  BOOST_TEST(parent.state.rotated_at == midnight);  // the first rotation fixes the buffer end
  clock.set(midnight + 10min);
  BOOST_TEST(check(url, t.raw_secret) == "token-unusable");
  BOOST_TEST(check(url, one.raw_secret) == "usable");
  BOOST_TEST(check(url, two.raw_secret) == "usable");
}

BOOST_AUTO_TEST_CASE(idempotent_answers_the_same_child_again) {
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.rerotate = rotary::rerotation::idempotent;
  rotary::fake_server server{o};
  const auto url = server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  const auto one = rotate(url, t.raw_secret);
  clock.advance(3min);
  const auto two = rotate(url, t.raw_secret);
  BOOST_REQUIRE(two.status == 200);
  BOOST_TEST(one.body == two.body);  // same secret, same createdAt (00:00)
  BOOST_TEST(two.json().get<wire::rotate_response>().created_at == midnight);
  BOOST_TEST(server.tokens().size() == 2u);
  clock.set(midnight + 10min);
  BOOST_TEST(rotate(url, t.raw_secret).status == 401);  // after the buffer, the parent is dead
}

BOOST_AUTO_TEST_CASE(a_token_without_period_cannot_rotate_and_gets_400) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  const auto t = server.create_token({.expires_at = midnight + 24h}).value();
  const auto r = rotate(url, t.raw_secret);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(
      r.body ==
      R"j({"error":"not-rotatable","message":"the token has no rotation period: it cannot be rotated"})j");
  BOOST_TEST(check(url, t.raw_secret) == "usable");
}

BOOST_AUTO_TEST_CASE(a_revoked_token_gets_401_everywhere) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  BOOST_TEST(admin(server, "DELETE", "/admin/v1/tokens/" + t.id).status == 200);
  BOOST_TEST(rotate(url, t.raw_secret).body ==
             R"j({"error":"token-revoked","message":"the token was revoked"})j");
  BOOST_TEST(check(url, t.raw_secret) == "token-revoked");
  BOOST_TEST(server.token(t.id)->status == "revoked");
}

BOOST_AUTO_TEST_CASE(basic_and_bearer_are_accepted_in_any_case) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  std::string secret = server.create_token({.rotation_period = 60min}).value().raw_secret;
  for (std::string scheme : {"Basic", "bearer", "BASIC", "BeArEr"}) {
    const auto r = rotate(url, secret, scheme);
    BOOST_TEST_REQUIRE(r.status == 200, scheme);
    secret = r.json().at("rawSecret").get<std::string>();
  }
}

// --- the requests the official client and the guide's curl sample send --------------------------

BOOST_AUTO_TEST_CASE(an_empty_post_without_content_length_is_answered_at_once) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  // What `curl -X POST URL -H 'Authorization: ...'` sends: no body, no Content-Length.
  const auto started = std::chrono::steady_clock::now();
  const auto raw = raw_exchange(server.port(),
                                "POST /api/index/v1/rotatetoken HTTP/1.1\r\nHost: localhost\r\n"
                                "Authorization: Bearer " +
                                    t.raw_secret + "\r\n\r\n");
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(raw.starts_with("HTTP/1.1 200 OK\r\n"));
  BOOST_TEST(took < 1s);
  const auto body = nlohmann::json::parse(body_of(raw)).get<wire::rotate_response>();
  BOOST_TEST(body.rotation_period == 60min);
}

BOOST_AUTO_TEST_CASE(the_guide_curl_sample_with_an_empty_form_body_works) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  // curl -X POST URL -H 'Authorization: Basic <Token>' -d ''
  const auto raw = raw_exchange(server.port(),
                                "POST /api/index/v1/rotatetoken HTTP/1.1\r\nHost: localhost\r\n"
                                "User-Agent: curl/7.88.1\r\nAccept: */*\r\n"
                                "Authorization: Basic " +
                                    t.raw_secret +
                                    "\r\nContent-Length: 0\r\n"
                                    "Content-Type: application/x-www-form-urlencoded\r\n\r\n");
  BOOST_TEST(raw.starts_with("HTTP/1.1 200 OK\r\n"));
  BOOST_TEST(raw.find("Content-Type: application/json") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(any_body_up_to_the_limit_is_accepted_on_rotate) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  std::string secret = server.create_token({.rotation_period = 60min}).value().raw_secret;
  for (const std::string& body :
       std::vector<std::string>{"{}", "not json at all", std::string(16 * 1024, 'x')}) {
    const auto r =
        call(url, "POST", std::string(wire::rotate_path), {{"Authorization", "Bearer " + secret}}, body);
    BOOST_TEST_REQUIRE(r.status == 200);
    secret = r.json().at("rawSecret").get<std::string>();
  }
}

BOOST_AUTO_TEST_CASE(one_keep_alive_connection_serves_many_requests) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  std::string secret = server.create_token({.rotation_period = 60min}).value().raw_secret;
  httplib::Client c(url);
  c.set_keep_alive(true);
  for (int i = 0; i < 50; ++i) {
    const auto r =
        c.Post(std::string(wire::rotate_path), {{"Authorization", "Bearer " + secret}}, "", "text/plain");
    BOOST_TEST_REQUIRE(r->status == 200);
    secret = nlohmann::json::parse(r->body).at("rawSecret").get<std::string>();
    const auto g = c.Get("/api/index/v1/ping", {{"Authorization", "Bearer " + secret}});
    BOOST_TEST_REQUIRE(g->status == 200);
    BOOST_TEST_REQUIRE(g->body == "{}");
  }
}

// --- malformed requests: exact status and body ---------------------------------------------------

BOOST_AUTO_TEST_CASE(every_malformed_request_gets_its_exact_status_and_body) {
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.max_body_bytes = 1024;
  rotary::fake_server server{o};
  const auto url = server.start();
  const std::string admin_auth = "Bearer " + server.admin_key();
  struct row {
    std::string method, path, authorization, body;
    int status;
    std::string expected;
  };
  const std::string rotate_path(wire::rotate_path);
  const std::vector<row> rows = {
      {"POST", rotate_path, "", "", 401,
       R"j({"error":"missing-credentials","message":"no Authorization header: send Authorization: Bearer <token>"})j"},
      {"POST", rotate_path, "Bearer", "", 401,
       R"j({"error":"malformed-credentials","message":"the Authorization header must be \"Bearer <token>\" or \"Basic <token>\""})j"},
      {"POST", rotate_path, "Token abc", "", 401,
       R"j({"error":"malformed-credentials","message":"the Authorization header must be \"Bearer <token>\" or \"Basic <token>\""})j"},
      {"POST", rotate_path, "Bearer a b", "", 401,
       R"j({"error":"malformed-credentials","message":"the Authorization header must be \"Bearer <token>\" or \"Basic <token>\""})j"},
      {"POST", rotate_path, "Bearer ", "", 401,
       R"j({"error":"malformed-credentials","message":"the Authorization header must be \"Bearer <token>\" or \"Basic <token>\""})j"},
      {"POST", rotate_path, "Bearer no-such-token", "", 401,
       R"j({"error":"unknown-token","message":"no such token"})j"},
      {"GET", rotate_path, "Bearer x", "", 405,
       R"j({"error":"method-not-allowed","message":"GET is not allowed on /api/index/v1/rotatetoken; use POST"})j"},
      {"GET", "/api/index/v1/anything", "", "", 401,
       R"j({"error":"missing-credentials","message":"no Authorization header: send Authorization: Bearer <token>"})j"},
      {"GET", "/nowhere", "", "", 404, R"j({"error":"not-found","message":"no such path: /nowhere"})j"},
      {"POST", "/", "", "x", 404, R"j({"error":"not-found","message":"no such path: /"})j"},
      {"POST", rotate_path, "Bearer x", std::string(1025, 'x'), 413,
       R"j({"error":"body-too-large","message":"the request body is larger than 1024 bytes"})j"},
      {"GET", "/admin/v1/tokens", "", "", 401,
       R"j({"error":"admin-unauthorized","message":"no Authorization header: send Authorization: Bearer <admin key>"})j"},
      {"GET", "/admin/v1/tokens", "Bearer wrong", "", 401,
       R"j({"error":"admin-unauthorized","message":"the admin key is wrong or the header is not \"Bearer <admin key>\""})j"},
      {"GET", "/admin/v1/tokens", "Basic " + server.admin_key(), "", 401,
       R"j({"error":"admin-unauthorized","message":"the admin key is wrong or the header is not \"Bearer <admin key>\""})j"},
      {"GET", "/admin/v1/nothing", admin_auth, "", 404,
       R"j({"error":"not-found","message":"no such path: /admin/v1/nothing"})j"},
      {"PUT", "/admin/v1/tokens", admin_auth, "{}", 405,
       R"j({"error":"method-not-allowed","message":"PUT is not allowed on /admin/v1/tokens; use GET, POST"})j"},
      {"POST", "/admin/v1/events", admin_auth, "", 405,
       R"j({"error":"method-not-allowed","message":"POST is not allowed on /admin/v1/events; use GET"})j"},
      {"POST", "/admin/v1/tokens", admin_auth, "{", 400,
       R"j({"error":"malformed-json","message":"request body is not JSON: parse error at line 1, column 2: syntax error while parsing object key - unexpected end of input; expected string literal"})j"},
      {"POST", "/admin/v1/tokens", admin_auth, "[]", 400,
       R"j({"error":"invalid-request","message":"request body: expected a JSON object, got an array"})j"},
      {"POST", "/admin/v1/tokens", admin_auth, R"j({"rotationPeriodMinutes": "60"})j", 400,
       R"j({"error":"invalid-request","message":"rotationPeriodMinutes: expected minutes (an integer), got a string"})j"},
      {"POST", "/admin/v1/tokens", admin_auth, R"j({"rotationPeriodMinutes": 60, "expires": 5})j", 400,
       R"j({"error":"invalid-request","message":"expires: unknown field (expected rotationPeriodMinutes or expiresAt)"})j"},
      {"POST", "/admin/v1/tokens", admin_auth, R"j({"rotationPeriodMinutes": 0})j", 400,
       R"j({"error":"invalid-request","message":"rotationPeriodMinutes: expected minutes between 1 and 100000000, got 0"})j"},
      {"POST", "/admin/v1/tokens", admin_auth, R"j({"expiresAt": 1798761600})j", 400,
       R"j({"error":"expiry-not-after-creation","message":"expiresAt must be after the clock's now"})j"},
      {"POST", "/admin/v1/clock", admin_auth, "{}", 400,
       R"j({"error":"invalid-request","message":"request body: expected advanceSeconds, set or warp"})j"},
      {"POST", "/admin/v1/clock", admin_auth, R"j({"advanceSecond": 5})j", 400,
       R"j({"error":"invalid-request","message":"advanceSecond: unknown field (expected advanceSeconds, set or warp)"})j"},
      {"POST", "/admin/v1/clock", admin_auth, R"j({"advanceSeconds": -5})j", 400,
       R"j({"error":"invalid-request","message":"advanceSeconds: expected seconds between 0 and 253402300799, got -5"})j"},
      {"POST", "/admin/v1/clock", admin_auth, R"j({"advanceSeconds": 5, "set": 1})j", 400,
       R"j({"error":"invalid-request","message":"set: give advanceSeconds or set, not both"})j"},
      {"POST", "/admin/v1/clock", admin_auth, R"j({"warp": 10})j", 409,
       R"j({"error":"clock-not-warpable","message":"the server's clock is not a warp clock: it cannot run at a factor"})j"},
      {"PUT", "/admin/v1/faults", admin_auth, R"j({"faults": [{"kind": "explode"}]})j", 400,
       R"j({"error":"invalid-request","message":"faults[0].kind: expected status, latency, reset, empty, malformed or commit-drop, got \"explode\""})j"},
      {"PUT", "/admin/v1/faults", admin_auth, R"j({"faults": [{"kind": "status", "status": 404}]})j", 400,
       R"j({"error":"invalid-request","message":"faults[0].status: expected 500, 502, 503 or 429, got 404"})j"},
      {"PUT", "/admin/v1/faults", admin_auth, R"j({"faults": [{"kind": "latency"}]})j", 400,
       R"j({"error":"invalid-request","message":"faults[0].latencyMs: missing (milliseconds, for kind \"latency\")"})j"},
      {"PUT", "/admin/v1/faults", admin_auth, R"j({"faults": [{"kind": "reset", "probability": 2}]})j", 400,
       R"j({"error":"invalid-request","message":"faults[0].probability: expected a number between 0.0 and 1.0, got 2"})j"},
      {"PUT", "/admin/v1/faults", admin_auth, R"j({})j", 400,
       R"j({"error":"invalid-request","message":"faults: missing (an array of faults; [] clears them)"})j"},
      {"GET", "/admin/v1/events?after=x", admin_auth, "", 400,
       R"j({"error":"invalid-request","message":"after: expected an event sequence number, got \"x\""})j"},
      {"GET", "/admin/v1/tokens/tok_99", admin_auth, "", 404,
       R"j({"error":"unknown-token-id","message":"no token with id \"tok_99\""})j"},
  };
  for (const auto& r : rows) {
    httplib::Headers h;
    if (!r.authorization.empty()) h.emplace("Authorization", r.authorization);
    const auto got = call(url, r.method, r.path, h, r.body);
    BOOST_TEST_CONTEXT(r.method << " " << r.path << " [" << r.authorization << "] " << r.body.substr(0, 40)) {
      BOOST_TEST(got.status == r.status);
      BOOST_TEST(got.body == r.expected);
      BOOST_TEST(got.headers.find("Content-Type")->second == "application/json");
    }
  }
  // Nothing changed: no token was made by any of them.
  BOOST_TEST(server.tokens().empty());
  // An unparsable request line still gets JSON.
  const auto raw = raw_exchange(server.port(), "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(raw.starts_with("HTTP/1.1 400 Bad Request\r\n"));
  BOOST_TEST(body_of(raw) == R"j({"error":"bad-request","message":"the request could not be parsed"})j");
}

// --- admin API -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_admin_api_creates_lists_and_moves_the_clock) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{rotary::fake_server_options{.clock = clock}};  // production limits
  const auto url = server.start();
  BOOST_TEST(server.admin_key().size() == 43u);  // random when not given

  const auto refused = admin(server, "POST", "/admin/v1/tokens",
                             R"j({"rotationPeriodMinutes": 60, "expiresAt": 1830297600})j");
  BOOST_TEST(refused.body ==
             R"j({"error":"period-below-minimum","message":"rotationPeriodMinutes must be at least 1440"})j");
  BOOST_TEST(admin(server, "POST", "/admin/v1/tokens", R"j({"rotationPeriodMinutes": 3600})j").body ==
             R"j({"error":"expiry-required","message":"expiresAt is required"})j");

  const auto created = admin(server, "POST", "/admin/v1/tokens",
                             R"j({"rotationPeriodMinutes": 3600, "expiresAt": 1830297600})j");
  BOOST_TEST(created.status == 201);
  const auto token = created.json().get<wire::created_token>();
  BOOST_TEST(token.id == "tok_1");
  BOOST_TEST(token.created_at == midnight);
  BOOST_TEST(token.rotation_period == 3600min);
  BOOST_TEST(rotary::to_unix(*token.expires_at) == 1830297600);

  const auto moved = admin(server, "POST", "/admin/v1/clock", R"j({"advanceSeconds": 7200})j");
  BOOST_TEST(moved.body == R"j({"now":1798768800,"warp":0.0})j");
  BOOST_TEST(clock.now() == midnight + 2h);
  BOOST_TEST(admin(server, "POST", "/admin/v1/clock", R"j({"set": 1798761600})j").json().at("now") ==
             1798761600);
  BOOST_TEST(admin(server, "GET", "/admin/v1/clock").json().get<wire::clock_view>().now == midnight);

  BOOST_REQUIRE(rotate(url, token.raw_secret).status == 200);
  const auto list = admin(server, "GET", "/admin/v1/tokens").json().at("tokens");
  BOOST_REQUIRE(list.size() == 2u);
  BOOST_TEST(list[0].at("status") == "rotated");
  BOOST_TEST(list[0].at("childIds") == nlohmann::json::array({"tok_2"}));
  BOOST_TEST(list[1].at("parentId") == "tok_1");
  BOOST_TEST(list[1].at("status") == "active");
  BOOST_TEST(list.dump().find(token.raw_secret) == std::string::npos);
  const auto one = admin(server, "GET", "/admin/v1/tokens/tok_2").json().get<wire::token_view>();
  BOOST_TEST(one.usable_until == midnight + 3600min);
}

BOOST_AUTO_TEST_CASE(a_warp_clock_runs_and_freezes_through_the_admin_api) {
  rotary::warp_clock clock{midnight, 0};
  rotary::fake_server server{rotary::fake_server_options{.clock = clock}};
  server.start();
  BOOST_TEST(admin(server, "POST", "/admin/v1/clock", R"j({"warp": 3600})j").json().at("warp") == 3600.0);
  std::this_thread::sleep_for(20ms);  // 72 virtual seconds
  const auto frozen =
      admin(server, "POST", "/admin/v1/clock", R"j({"warp": 0})j").json().get<wire::clock_view>();
  BOOST_TEST(frozen.now > midnight);
  BOOST_TEST(server.clock().now == frozen.now);
}

BOOST_AUTO_TEST_CASE(a_real_clock_cannot_be_moved) {
  rotary::real_clock clock;
  rotary::fake_server server{rotary::fake_server_options{.clock = clock}};
  server.start();
  BOOST_TEST(
      admin(server, "POST", "/admin/v1/clock", R"j({"advanceSeconds": 1})j").body ==
      R"j({"error":"clock-not-movable","message":"the server's clock is the system clock: it cannot be moved"})j");
  BOOST_CHECK_THROW(server.advance_clock(1s), rotary::fake_server_error);
}

BOOST_AUTO_TEST_CASE(events_name_tokens_by_id_and_never_hold_a_secret) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  const auto child = rotate(url, t.raw_secret).json().get<wire::rotate_response>();
  BOOST_TEST(rotate(url, t.raw_secret).status == 401);
  BOOST_TEST(check(url, child.raw_secret) == "usable");
  const auto events = admin(server, "GET", "/admin/v1/events");
  BOOST_TEST(events.body.find(t.raw_secret) == std::string::npos);
  BOOST_TEST(events.body.find(child.raw_secret) == std::string::npos);
  BOOST_TEST(events.body.find(server.admin_key()) == std::string::npos);
  const auto list = server.events();
  BOOST_REQUIRE(list.size() == 5u);  // the GET /admin/v1/events itself is the fifth
  BOOST_TEST(list[0].kind == "token-created");
  BOOST_TEST(list[1].kind == "rotation");
  BOOST_TEST(list[1].token_id == "tok_1");
  BOOST_TEST(list[1].child_id == "tok_2");
  BOOST_TEST(list[1].status == 200);
  BOOST_TEST(list[2].kind == "rotation-refused");
  BOOST_TEST(list[2].error == "already-rotated");
  BOOST_TEST(list[3].kind == "access");
  BOOST_TEST(list[3].token_id == "tok_2");
  BOOST_TEST(list[4].kind == "admin");
  BOOST_TEST(list[4].path == "/admin/v1/events");
  BOOST_TEST(server.events(3).size() == 2u);
  const auto after = admin(server, "GET", "/admin/v1/events?after=4").json().at("events");
  BOOST_REQUIRE(after.size() == 1u);
  BOOST_TEST(after[0].at("seq") == 5);
}

// --- faults --------------------------------------------------------------------------------------

namespace {
struct faulty {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  std::string url = server.start();
  wire::created_token token = server.create_token({.rotation_period = 60min}).value();
  void set(const std::string& json) {
    const auto r = admin(server, "PUT", "/admin/v1/faults", json);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
  }
  [[nodiscard]] std::size_t children() const { return server.token(token.id)->child_ids.size(); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_status_fault_answers_the_next_request_only) {
  faulty f;
  f.set(R"j({"faults": [{"kind": "status", "status": 503, "count": 1}]})j");
  const auto r = rotate(f.url, f.token.raw_secret);
  BOOST_TEST(r.status == 503);
  BOOST_TEST(r.body == R"j({"error":"injected-fault","message":"injected fault: status 503"})j");
  BOOST_TEST(f.children() == 0u);
  BOOST_TEST(rotate(f.url, f.token.raw_secret).status == 200);
  BOOST_TEST(f.server.faults().faults.empty());
}

BOOST_AUTO_TEST_CASE(a_rate_limit_fault_sends_429_with_retry_after) {
  faulty f;
  f.set(R"j({"faults": [{"kind": "status", "status": 429, "retryAfterSeconds": 30, "count": 2}]})j");
  for (int i = 0; i < 2; ++i) {
    const auto r = rotate(f.url, f.token.raw_secret);
    BOOST_TEST(r.status == 429);
    BOOST_TEST(r.headers.find("Retry-After")->second == "30");
    BOOST_TEST(error_of(r) == "rate-limited");
  }
  BOOST_TEST(rotate(f.url, f.token.raw_secret).status == 200);
}

BOOST_AUTO_TEST_CASE(a_latency_fault_delays_the_answer) {
  faulty f;
  f.set(R"j({"faults": [{"kind": "latency", "latencyMs": 150, "count": 1}]})j");
  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST(rotate(f.url, f.token.raw_secret).status == 200);
  BOOST_TEST(std::chrono::steady_clock::now() - started >= 150ms);
}

BOOST_AUTO_TEST_CASE(a_reset_fault_breaks_the_connection_and_rotates_nothing) {
  faulty f;
  f.set(R"j({"faults": [{"kind": "reset", "count": 1}]})j");
  BOOST_TEST(rotate(f.url, f.token.raw_secret).status == 0);
  BOOST_TEST(f.children() == 0u);
  BOOST_TEST(f.server.events().back().fault == "reset", f.server.events().back().kind
                                                            << " " << f.server.events().back().status << " "
                                                            << f.server.events().back().path);
  BOOST_TEST(rotate(f.url, f.token.raw_secret).status == 200);
}

BOOST_AUTO_TEST_CASE(an_empty_response_fault_closes_without_an_answer_and_rotates_nothing) {
  faulty f;
  f.set(R"j({"faults": [{"kind": "empty", "count": 1}]})j");
  const auto raw = raw_exchange(f.server.port(),
                                "POST /api/index/v1/rotatetoken HTTP/1.1\r\nHost: x\r\n"
                                "Authorization: Bearer " +
                                    f.token.raw_secret + "\r\n\r\n");
  BOOST_TEST(raw.empty());
  BOOST_TEST(f.children() == 0u);
}

BOOST_AUTO_TEST_CASE(a_malformed_fault_rotates_and_sends_a_broken_body) {
  faulty f;
  f.set(R"j({"faults": [{"kind": "malformed", "count": 1}]})j");
  const auto r = rotate(f.url, f.token.raw_secret);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(!nlohmann::json::accept(r.body));
  BOOST_TEST(f.children() == 1u);
}

BOOST_AUTO_TEST_CASE(commit_then_drop_rotates_but_the_client_never_hears) {
  faulty f;
  f.set(R"j({"faults": [{"kind": "commit-drop", "count": 1}]})j");
  BOOST_TEST(rotate(f.url, f.token.raw_secret).status == 0);
  BOOST_TEST(f.children() == 1u);
  const auto e = f.server.events().back();
  BOOST_TEST(e.kind == "rotation");
  BOOST_TEST(e.status == 0);
  BOOST_TEST(e.fault == "commit-drop");
  // Under reject, the client holding the parent is now stuck: the lost rotation's trap.
  BOOST_TEST(error_of(rotate(f.url, f.token.raw_secret)) == "already-rotated");
}

BOOST_AUTO_TEST_CASE(faults_can_cover_every_api_path) {
  faulty f;
  f.set(R"j({"faults": [{"kind": "status", "status": 500, "scope": "api"}]})j");
  BOOST_TEST(check(f.url, f.token.raw_secret) == "injected-fault");
  f.set(R"j({"faults": [{"kind": "status", "status": 500}]})j");  // scope rotate by default
  BOOST_TEST(check(f.url, f.token.raw_secret) == "usable");
  BOOST_TEST(admin(f.server, "GET", "/admin/v1/clock").status == 200);  // never the admin API
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_faults) {
  auto run = [](std::uint64_t seed) {
    faulty f;
    f.server.set_faults({{wire::fault{.kind = wire::fault_kind::status,
                                      .probability = 0.5,
                                      .status = 502,
                                      .scope = wire::fault_scope::api}},
                         seed});
    std::string pattern;
    for (int i = 0; i < 40; ++i) pattern += check(f.url, f.token.raw_secret) == "injected-fault" ? 'x' : '.';
    return pattern;
  };
  const auto a = run(7);
  BOOST_TEST(a == run(7));
  BOOST_TEST(a != run(8));
  BOOST_TEST(a.find('x') != std::string::npos);
  BOOST_TEST(a.find('.') != std::string::npos);
}

// --- greenlist -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_address_outside_the_greenlist_gets_403) {
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.greenlist = {"10.0.0.0/8", "2001:db8::/32"};
  rotary::fake_server outside{o};
  const auto url = outside.start();
  const auto t = outside.create_token({.rotation_period = 60min}).value();
  const auto r = rotate(url, t.raw_secret);
  BOOST_TEST(r.status == 403);
  BOOST_TEST(
      r.body ==
      R"j({"error":"address-not-allowed","message":"client address 127.0.0.1 is outside the greenlist"})j");
  BOOST_TEST(admin(outside, "GET", "/admin/v1/tokens").status == 200);  // the console is not limited

  o.greenlist = {"127.0.0.0/8"};
  rotary::fake_server inside{o};
  const auto url2 = inside.start();
  BOOST_TEST(rotate(url2, inside.create_token({.rotation_period = 60min}).value().raw_secret).status == 200);
}

BOOST_AUTO_TEST_CASE(the_greenlist_works_for_ipv6_clients) {
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.bind = "::1";
  o.greenlist = {"::1/128"};
  rotary::fake_server server{o};
  const auto url = server.start();
  BOOST_TEST(url.starts_with("http://[::1]:"));
  BOOST_TEST(rotate(url, server.create_token({.rotation_period = 60min}).value().raw_secret).status == 200);
  o.greenlist = {"fe80::/10"};
  rotary::fake_server other{o};
  const auto url2 = other.start();
  BOOST_TEST(rotate(url2, other.create_token({.rotation_period = 60min}).value().raw_secret).status == 403);
}

BOOST_AUTO_TEST_CASE(a_bad_greenlist_range_is_refused_when_constructed) {
  rotary::fake_server_options o;
  o.greenlist = {"10.0.0.0/33"};
  BOOST_CHECK_EXCEPTION(rotary::fake_server{o}, rotary::fake_server_error, [](const auto& e) {
    return std::string(e.what()) ==
           "greenlist 10.0.0.0/33: prefix length \"33\" must be a number from 0 to 32";
  });
}

// --- state file ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_restart_from_the_state_file_resumes_exactly) {
  temp_dir dir;
  const auto file = dir.path / "state.json";
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.state_file = file;
  wire::created_token t;
  wire::rotate_response child;
  std::vector<wire::token_view> before;
  {
    rotary::fake_server server{o};
    const auto url = server.start();
    t = server.create_token({.rotation_period = 60min, .expires_at = midnight + 24h}).value();
    clock.advance(5min);
    child = rotate(url, t.raw_secret).json().get<wire::rotate_response>();
    before = server.tokens();
  }
  const auto text = read_file(file);
  BOOST_TEST(text.find(t.raw_secret) == std::string::npos);
  BOOST_TEST(text.find(child.raw_secret) == std::string::npos);
  BOOST_TEST(text.find("\"format\": \"rotary-fake-server-state\"") != std::string::npos);
  BOOST_TEST(((std::filesystem::status(file).permissions() & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)));

  rotary::manual_clock fresh{midnight + 100h};
  o.clock = fresh;
  rotary::fake_server again{o};
  const auto url = again.start();
  BOOST_TEST(fresh.now() == midnight + 5min);  // the clock resumes where it was
  BOOST_TEST(again.tokens() == before);
  BOOST_TEST(error_of(rotate(url, t.raw_secret)) == "already-rotated");
  BOOST_TEST(rotate(url, child.raw_secret).status == 200);
  BOOST_TEST(again.token("tok_3")->parent_id == "tok_2");
}

BOOST_AUTO_TEST_CASE(idempotent_replay_survives_a_restart) {
  temp_dir dir;
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.state_file = dir.path / "state.json";
  o.rerotate = rotary::rerotation::idempotent;
  wire::created_token t;
  std::string first;
  {
    rotary::fake_server server{o};
    t = server.create_token({.rotation_period = 60min}).value();
    first = rotate(server.start(), t.raw_secret).body;
  }
  rotary::fake_server again{o};
  BOOST_TEST(rotate(again.start(), t.raw_secret).body == first);
}

// The layout of the state file, byte for byte: its keys in the documented order (written by
// hand, not by a JSON library that would sort them), one space of indent, and what it writes it
// reads back to the same text.
BOOST_AUTO_TEST_CASE(the_state_file_is_written_in_its_documented_layout) {
  rotary::detail::server_snapshot s;
  s.now = rotary::from_unix(1798761720);
  s.warp = 60;
  s.replay_key.fill(0xfb);
  rotary::detail::digest first{}, second{};
  first.fill(0x01);
  second.fill(0xab);
  const auto parent = s.tokens.insert(
      first,
      {rotary::from_unix(1798761600), 600min, rotary::from_unix(1830297600), rotary::from_unix(1798761700)},
      rotary::detail::no_token);
  const auto child =
      s.tokens.insert(second, {rotary::from_unix(1798761700), 600min, std::nullopt, std::nullopt}, parent);
  s.tokens[child].revoked = true;
  const auto hex_of = [](const char* pair) {
    std::string h;
    for (int i = 0; i < 32; ++i) h += pair;
    return h;
  };
  const std::string expected =
      "{\n"
      " \"format\": \"rotary-fake-server-state\",\n"
      " \"version\": 1,\n"
      " \"clock\": {\n"
      "  \"now\": 1798761720,\n"
      "  \"warp\": 60.0\n"
      " },\n"
      " \"replayKey\": \"-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s\",\n"
      " \"tokens\": [\n"
      "  {\n"
      "   \"id\": \"tok_1\",\n"
      "   \"secretSha256\": \"" +
      hex_of("01") +
      "\",\n"
      "   \"createdAt\": 1798761600,\n"
      "   \"expiresAt\": 1830297600,\n"
      "   \"rotatedAt\": 1798761700,\n"
      "   \"rotationPeriodMinutes\": 600,\n"
      "   \"parentId\": null,\n"
      "   \"revoked\": false\n"
      "  },\n"
      "  {\n"
      "   \"id\": \"tok_2\",\n"
      "   \"secretSha256\": \"" +
      hex_of("ab") +
      "\",\n"
      "   \"createdAt\": 1798761700,\n"
      "   \"rotationPeriodMinutes\": 600,\n"
      "   \"parentId\": \"tok_1\",\n"
      "   \"revoked\": true\n"
      "  }\n"
      " ]\n"
      "}\n";
  const auto text = rotary::detail::state_to_text(s);
  BOOST_TEST(text == expected);
  BOOST_TEST(rotary::detail::state_to_text(rotary::detail::state_from_text(text)) == text);
  rotary::detail::server_snapshot empty;
  BOOST_TEST(rotary::detail::state_to_text(empty).find(" \"tokens\": []\n}\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_corrupt_or_foreign_state_file_is_refused_and_left_untouched) {
  temp_dir dir;
  const auto file = dir.path / "state.json";
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.state_file = file;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"format\": \"rotary-fake-server-state\", \"version\": 1, \"tokens\": [",
       "not JSON (parse error at line 1, column 65: syntax error while parsing value - unexpected end of "
       "input; "
       "expected '[', '{', or a literal)"},
      {R"j({"accounts": []})j",
       "not a rotary fake server state file (no \"format\": \"rotary-fake-server-state\")"},
      {R"j({"format": "rotary-fake-server-state", "version": 2})j",
       "version 2 is not supported (this rotary reads version 1)"},
      {R"j({"format": "rotary-fake-server-state", "version": 1, "clock": {"now": 0, "warp": 0}, "replayKey": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "tokens": [{"id": "tok_1", "secretSha256": "xyz", "createdAt": 0}]})j",
       "tokens[0].secretSha256: expected 64 lower-case hex digits"},
      {"",
       "not JSON (parse error at line 1, column 1: syntax error while parsing value - unexpected end of "
       "input; "
       "expected '[', '{', or a literal)"},
  };
  for (const auto& [content, message_] : cases) {
    {
      std::ofstream out(file, std::ios::binary);
      out << content;
    }
    const auto mtime = std::filesystem::last_write_time(file);
    rotary::fake_server server{o};
    // A named copy, not the structured binding: lambdas capture bindings only from clang 16.
    const std::string& message = message_;
    BOOST_CHECK_EXCEPTION(server.start(), rotary::fake_server_error, [&](const rotary::fake_server_error& e) {
      BOOST_TEST(std::string(e.what()) == "state file " + file.string() + ": " + message);
      return true;
    });
    BOOST_TEST(read_file(file) == content);  // byte for byte
    BOOST_TEST((std::filesystem::last_write_time(file) == mtime));
    BOOST_TEST(!server.running());
  }
  BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir.path), {}) == 1);  // no temporary left
}

// --- concurrency ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(thirty_two_threads_rotating_one_token_get_exactly_one_200_under_reject) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  constexpr int n = 32;
  std::vector<int> statuses(n);
  std::latch go(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      httplib::Client c(url);
      c.Get("/api/index/v1/warmup");  // connect first, so the rotations race
      go.arrive_and_wait();
      const auto r = c.Post(std::string(wire::rotate_path), {{"Authorization", "Bearer " + t.raw_secret}}, "",
                            "text/plain");
      statuses[static_cast<std::size_t>(i)] = r ? r->status : 0;
    });
  for (auto& th : threads) th.join();
  BOOST_TEST(std::count(statuses.begin(), statuses.end(), 200) == 1);
  BOOST_TEST(std::count(statuses.begin(), statuses.end(), 401) == n - 1);
  BOOST_TEST(server.tokens().size() == 2u);
}

BOOST_AUTO_TEST_CASE(many_tokens_rotated_concurrently_lose_no_rotation) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  constexpr int threads_n = 16, tokens_per_thread = 8, rounds = 5;
  std::vector<std::vector<std::string>> secrets(threads_n);
  for (auto& s : secrets)
    for (int k = 0; k < tokens_per_thread; ++k)
      s.push_back(server.create_token({.rotation_period = 60min}).value().raw_secret);
  std::atomic<int> ok{0}, failed{0};
  std::latch go(threads_n);
  std::vector<std::thread> threads;
  for (int i = 0; i < threads_n; ++i)
    threads.emplace_back([&, i] {
      httplib::Client c(url);
      c.set_keep_alive(true);
      go.arrive_and_wait();
      for (int round = 0; round < rounds; ++round)
        for (auto& secret : secrets[static_cast<std::size_t>(i)]) {
          const auto r = c.Post(std::string(wire::rotate_path), {{"Authorization", "Bearer " + secret}}, "",
                                "text/plain");
          if (r && r->status == 200) {
            secret = nlohmann::json::parse(r->body).at("rawSecret").get<std::string>();
            ++ok;
          } else {
            ++failed;
          }
        }
    });
  for (auto& th : threads) th.join();
  constexpr int total = threads_n * tokens_per_thread * rounds;
  BOOST_TEST(ok.load() == total);
  BOOST_TEST(failed.load() == 0);
  const auto tokens = server.tokens();
  BOOST_TEST(tokens.size() == static_cast<std::size_t>(threads_n * tokens_per_thread + total));
  std::set<std::string> children;
  int rotations = 0;
  for (const auto& e : server.events())
    if (e.kind == "rotation") {
      ++rotations;
      children.insert(e.child_id);
    }
  BOOST_TEST(rotations == total);
  BOOST_TEST(children.size() == static_cast<std::size_t>(total));
  // Every chain is exactly `rounds` long and every final secret still works.
  for (const auto& s : secrets)
    for (const auto& secret : s) BOOST_TEST(check(url, secret) == "usable");
  for (const auto& t : tokens) BOOST_TEST(t.child_ids.size() <= 1u);
}

// --- TLS -----------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(tls_serves_the_same_api_with_a_throwaway_certificate) {
  const rotary::test::throwaway_ca ca;
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.tls_cert = ca.cert;
  o.tls_key = ca.key;
  rotary::fake_server server{o};
  const auto url = server.start();
  BOOST_TEST(url.starts_with("https://127.0.0.1:"));
  const auto t = server.create_token({.rotation_period = 60min}).value();
  const auto r = rotate(url, t.raw_secret);
  BOOST_TEST(r.status == 200);
  const auto child = r.json().get<wire::rotate_response>();
  BOOST_TEST(check(url, child.raw_secret, {.ca_file = ca.ca}) == "usable");
  // commit-then-drop works over TLS too.
  server.set_faults({{wire::fault{.kind = wire::fault_kind::commit_drop, .count = 1}}, std::nullopt});
  BOOST_TEST(rotate(url, child.raw_secret).status == 0);
  BOOST_TEST(server.tokens().size() == 3u);

  // A key file that is missing is refused when constructed; one OpenSSL cannot use, at start.
  o.tls_key = ca.dir.path / "missing.pem";
  BOOST_CHECK_EXCEPTION(
      rotary::fake_server{o}, rotary::fake_server_error, [&](const rotary::fake_server_error& e) {
        return std::string(e.what()) == "TLS key " + o.tls_key.string() + ": No such file or directory";
      });
  o.tls_key = ca.dir.path / "not-a-key.pem";
  rotary::test::write_file(o.tls_key, "not a PEM key\n");
  rotary::fake_server broken{o};
  BOOST_CHECK_THROW(broken.start(), rotary::fake_server_error);
}

BOOST_AUTO_TEST_CASE(stop_returns_promptly_with_idle_keep_alive_connections_open) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  const auto url = server.start();
  httplib::Client c(url);
  c.set_keep_alive(true);
  BOOST_TEST(c.Get("/api/index/v1/x")->status == 401);
  const auto started = std::chrono::steady_clock::now();
  server.stop();
  BOOST_TEST(std::chrono::steady_clock::now() - started < 1s);
  BOOST_TEST(!server.running());
}

// --- internals (rotary/detail/server_*.hpp) ------------------------------------------------------

BOOST_AUTO_TEST_CASE(base64url_follows_rfc_4648_without_padding) {
  const auto enc = [](std::string_view s) {
    return rotary::detail::base64url(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  BOOST_TEST(enc("") == "");
  BOOST_TEST(enc("f") == "Zg");
  BOOST_TEST(enc("fo") == "Zm8");
  BOOST_TEST(enc("foo") == "Zm9v");
  BOOST_TEST(enc("foob") == "Zm9vYg");
  BOOST_TEST(enc("\xfb\xff") == "-_8");
  BOOST_TEST(*rotary::detail::base64url_decode("Zm9vYg") == "foob");
  BOOST_TEST(!rotary::detail::base64url_decode("Zm9v+g"));
  BOOST_TEST(rotary::detail::new_secret() != rotary::detail::new_secret());
}

BOOST_AUTO_TEST_CASE(sha256_matches_the_fips_180_example) {
  BOOST_TEST(rotary::detail::hex(rotary::detail::sha256("abc")) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(cidr_ranges_match_ipv4_ipv6_and_mapped_addresses) {
  std::string error;
  const auto v4 = rotary::detail::parse_cidr("10.1.2.3/8", error).value();
  BOOST_TEST(v4.contains(*rotary::detail::parse_ip("10.200.0.1")));
  BOOST_TEST(v4.contains(*rotary::detail::parse_ip("::ffff:10.0.0.9")));
  BOOST_TEST(!v4.contains(*rotary::detail::parse_ip("11.0.0.1")));
  const auto v6 = rotary::detail::parse_cidr("2001:db8::/32", error).value();
  BOOST_TEST(v6.contains(*rotary::detail::parse_ip("2001:db8:1::7")));
  BOOST_TEST(!v6.contains(*rotary::detail::parse_ip("2001:db9::1")));
  const auto host = rotary::detail::parse_cidr("192.0.2.7", error).value();
  BOOST_TEST(host.contains(*rotary::detail::parse_ip("192.0.2.7")));
  BOOST_TEST(!host.contains(*rotary::detail::parse_ip("192.0.2.8")));
  BOOST_TEST(rotary::detail::parse_cidr("0.0.0.0/0", error)->contains(*rotary::detail::parse_ip("8.8.8.8")));
  BOOST_TEST(!rotary::detail::parse_cidr("::1/129", error));
  BOOST_TEST(error == "prefix length \"129\" must be a number from 0 to 128");
}

BOOST_AUTO_TEST_CASE(the_token_table_finds_every_token_after_growing) {
  rotary::detail::token_table table;
  std::vector<rotary::detail::digest> hashes;
  for (int i = 0; i < 5000; ++i) {
    hashes.push_back(rotary::detail::sha256(std::to_string(i)));
    BOOST_TEST_REQUIRE(table.insert(hashes.back(), rotary::token_state{}) == static_cast<std::uint32_t>(i));
  }
  for (std::uint32_t i = 0; i < hashes.size(); ++i) BOOST_TEST_REQUIRE(*table.find(hashes[i]) == i);
  BOOST_TEST(!table.find(rotary::detail::sha256("not there")));
  BOOST_CHECK_THROW(table.insert(hashes[7], rotary::token_state{}), std::invalid_argument);
  BOOST_TEST(*table.parse_id("tok_5000") == 4999u);
  BOOST_TEST(!table.parse_id("tok_5001"));
  BOOST_TEST(!table.parse_id("tok_01"));
  BOOST_TEST(!table.parse_id("tok_"));
}

BOOST_AUTO_TEST_CASE(the_fault_generator_is_the_same_everywhere) {
  rotary::detail::xoshiro256 a(42), b(42);
  for (int i = 0; i < 100; ++i) BOOST_TEST_REQUIRE(a.next() == b.next());
  static_assert(rotary::detail::xoshiro256(0).next() != 0);
  rotary::detail::xoshiro256 c(0);
  const double u = c.uniform();
  BOOST_TEST((u >= 0.0 && u < 1.0));
}

// The admin API reads instants as Unix seconds or ISO-8601 strings (as parse_time reads them):
// expiresAt when creating a token, set when moving the clock. A bad string is 400
// invalid-request naming the field, with parse_time's message and column.
BOOST_AUTO_TEST_CASE(admin_instants_are_unix_seconds_or_iso_8601) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  server.start();
  const auto invalid = [](const std::string& message) {
    return R"j({"error":"invalid-request","message":")j" + message + R"j("})j";
  };

  const auto iso = admin(server, "POST", "/admin/v1/tokens",
                         R"j({"rotationPeriodMinutes": 60, "expiresAt": "2028-01-01T00:00:00Z"})j");
  BOOST_TEST(iso.status == 201);
  BOOST_TEST(iso.json().at("expiresAt") == 1830297600);
  const auto offset = admin(server, "POST", "/admin/v1/tokens",
                            R"j({"rotationPeriodMinutes": 60, "expiresAt": "2028-01-01T05:30:00+05:30"})j");
  BOOST_TEST(offset.status == 201);
  BOOST_TEST(offset.json().at("expiresAt") == 1830297600);
  const auto unix_seconds = admin(server, "POST", "/admin/v1/tokens",
                                  R"j({"rotationPeriodMinutes": 60, "expiresAt": 1830297600})j");
  BOOST_TEST(unix_seconds.status == 201);
  BOOST_TEST(unix_seconds.json().at("expiresAt") == 1830297600);

  struct row {
    std::string path, body, message;
  };
  const std::vector<row> rows = {
      {"/admin/v1/tokens", R"j({"expiresAt": "next year"})j",
       "expiresAt: expected a four-digit year (an ISO-8601 instant looks like 2027-03-14T07:00:00Z) (column "
       "1)"},
      {"/admin/v1/tokens", R"j({"expiresAt": "2028-01-01T00:00:00"})j",
       "expiresAt: missing time zone designator: add Z for UTC or an offset like +05:30 (column 20)"},
      {"/admin/v1/tokens", R"j({"expiresAt": "10000-01-01T00:00:00Z"})j",
       "expiresAt: the instant cannot be past 9999-12-31T23:59:59Z"},
      {"/admin/v1/tokens", R"j({"expiresAt": "9999-12-31T23:59:59-01:00"})j",
       "expiresAt: the instant cannot be past 9999-12-31T23:59:59Z"},
      {"/admin/v1/tokens", R"j({"expiresAt": 253402300800})j",
       "expiresAt: expected Unix seconds (at most 253402300799), got 253402300800"},
      {"/admin/v1/clock", R"j({"set": "tomorrow"})j",
       "set: expected a four-digit year (an ISO-8601 instant looks like 2027-03-14T07:00:00Z) (column 1)"},
      {"/admin/v1/clock", R"j({"set": "2027-02-30T00:00:00Z"})j",
       "set: day 30 does not exist in 2027-02 (column 9)"},
      {"/admin/v1/clock", R"j({"set": "10000-01-01T00:00:00Z"})j",
       "set: the instant cannot be past 9999-12-31T23:59:59Z"},
      {"/admin/v1/clock", R"j({"set": 253402300800})j",
       "set: expected Unix seconds (at most 253402300799), got 253402300800"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.body) {
      const auto got = admin(server, "POST", r.path, r.body);
      BOOST_TEST(got.status == 400);
      BOOST_TEST(got.body == invalid(r.message));
    }
  }

  BOOST_TEST(admin(server, "POST", "/admin/v1/clock", R"j({"set": "2027-01-02T00:00:00Z"})j").body ==
             R"j({"now":1798848000,"warp":0.0})j");
  BOOST_TEST(clock.now() == midnight + 24h);
  BOOST_TEST(admin(server, "POST", "/admin/v1/clock", R"j({"set": 1798761600})j").body ==
             R"j({"now":1798761600,"warp":0.0})j");
  BOOST_TEST(admin(server, "POST", "/admin/v1/clock", R"j({"set": "9999-12-31T23:59:59Z"})j").body ==
             R"j({"now":253402300799,"warp":0.0})j");
}
