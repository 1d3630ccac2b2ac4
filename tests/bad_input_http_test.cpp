// Bad input tables for every endpoint of the fake server (docs/hardening.md, "Bad input"): the
// rotate endpoint, a protected endpoint, and the admin tokens, clock, faults and events
// endpoints each get empty, huge (1 MB), binary, wrongly typed, invalid UTF-8, negative and
// overflowing input, dates before 1970 and past the range, and malformed Authorization headers,
// over a raw socket (so that no client library cleans the bytes up). Each gets its exact status
// and JSON body, and the state file is unchanged byte for byte. Complements
// fake_server_test.cpp (every_malformed_request_gets_its_exact_status_and_body), which holds
// the first cases.
#define BOOST_TEST_MODULE bad_input_http
#include <boost/test/unit_test.hpp>

#include <rotary/fake_server.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "files.hpp"
#include "net.hpp"

namespace fs = std::filesystem;
using rotary::test::binary_bytes;
using rotary::test::read_file;
using rotary::test::temp_dir;

namespace {

struct answer {
  int status = 0;
  std::string body;
};

// One request on its own connection, bytes exactly as given.
answer raw_request(int port, const std::string& method, const std::string& target,
                   const std::optional<std::string>& authorization, const std::optional<std::string>& body) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (authorization) request += "Authorization: " + *authorization + "\r\n";
  if (body)
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body->size()) + "\r\n";
  request += "\r\n";
  if (body) request += *body;
  const auto reply = rotary::test::raw_exchange(port, request, std::chrono::seconds{60});
  return {rotary::test::status_of(reply), rotary::test::body_of(reply)};
}

struct http_case {
  std::string method;
  std::string target;
  std::optional<std::string> authorization;
  std::optional<std::string> body;
  int status;
  std::string response;
  bool refused;  // nothing may change
};

struct fixture {
  temp_dir dir;
  fs::path state = dir.path / "state.json";
  rotary::manual_clock clock{rotary::parse_time("2027-01-01T00:00:00Z").value()};
  rotary::fake_server server{
      {.clock = clock, .min_period = std::chrono::minutes{1}, .admin_key = "admin-key", .state_file = state}};
  int port = 0;
  fixture() {
    server.start();
    port = server.port();
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(every_endpoint_answers_bad_input_exactly_and_changes_nothing, fixture) {
  const auto token = server
                         .create_token({.rotation_period = std::chrono::minutes{60},
                                        .expires_at = clock.now() + std::chrono::days{365}})
                         .value();
  const std::vector<http_case> cases = {
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"), std::string(""), 400,
       "{\"error\":\"expiry-required\",\"message\":\"expiresAt is required\"}", true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"),
       std::string("") + std::string(1000000, 'x') + "", 413,
       "{\"error\":\"body-too-large\",\"message\":\"the request body is larger than 16384 bytes\"}", true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"), binary_bytes(), 400,
       "{\"error\":\"malformed-json\",\"message\":\"request body is not JSON: parse error at line 1, column "
       "1: a NUL byte, which JSON text cannot hold\"}",
       true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"),
       std::string("{\"rotationPeriodMinutes\": 1440, \"expiresAt\": 4102444800}\0junk", 61), 400,
       "{\"error\":\"malformed-json\",\"message\":\"request body is not JSON: parse error at line 1, column "
       "57: a NUL byte, which JSON text cannot hold\"}",
       true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"),
       std::string("{\"rotationPeriodMinutes\": 60, \"expiresAt\": \"\xff\"}"), 400,
       "{\"error\":\"malformed-json\",\"message\":\"request body is not JSON: parse error at line 1, column "
       "45: syntax error while parsing value - invalid string: ill-formed UTF-8 byte; last read: "
       "'\\\"\xef\xbf\xbd'\"}",
       true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"),
       std::string("{\"rotationPeriodMinutes\": \"60\", \"expiresAt\": 1830297600}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"rotationPeriodMinutes: expected minutes (an integer), "
       "got a string\"}",
       true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"),
       std::string("{\"rotationPeriodMinutes\": -60, \"expiresAt\": 1830297600}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"rotationPeriodMinutes: expected minutes between 1 and "
       "100000000, got -60\"}",
       true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"),
       std::string("{\"rotationPeriodMinutes\": 99999999999999999999, \"expiresAt\": 1830297600}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"rotationPeriodMinutes: expected minutes (an integer), "
       "got a fractional number\"}",
       true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"),
       std::string("{\"rotationPeriodMinutes\": 60, \"expiresAt\": -1}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"expiresAt: expected Unix seconds between 0 and "
       "253402300799, got -1\"}",
       true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"),
       std::string("{\"rotationPeriodMinutes\": 60, \"expiresAt\": 99999999999999999999}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"expiresAt: expected Unix seconds (an integer), got a "
       "fractional number\"}",
       true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"),
       std::string("{\"rotationPeriodMinutes\": 60, \"expiresAt\": 253402300800}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"expiresAt: expected Unix seconds (at most "
       "253402300799), got 253402300800\"}",
       true},
      {"POST", "/admin/v1/tokens", std::string("Bearer admin-key"), std::string("[]"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"request body: expected a JSON object, got an array\"}",
       true},
      {"POST", "/admin/v1/clock", std::string("Bearer admin-key"), std::string("{\"advanceSeconds\": -1}"),
       400,
       "{\"error\":\"invalid-request\",\"message\":\"advanceSeconds: expected seconds between 0 and "
       "253402300799, got -1\"}",
       true},
      {"POST", "/admin/v1/clock", std::string("Bearer admin-key"),
       std::string("{\"advanceSeconds\": 99999999999999999999}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"advanceSeconds: expected seconds (an integer), got a "
       "fractional number\"}",
       true},
      {"POST", "/admin/v1/clock", std::string("Bearer admin-key"),
       std::string("{\"advanceSeconds\": \"60\"}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"advanceSeconds: expected seconds (an integer), got a "
       "string\"}",
       true},
      {"POST", "/admin/v1/clock", std::string("Bearer admin-key"), std::string("{\"set\": -1}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"set: expected Unix seconds between 0 and 253402300799, "
       "got -1\"}",
       true},
      {"POST", "/admin/v1/clock", std::string("Bearer admin-key"), std::string("{\"warp\": -1}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"warp: expected a number between 0.0 and 1000000000.0, "
       "got -1\"}",
       true},
      {"POST", "/admin/v1/clock", std::string("Bearer admin-key"), std::string("{\"warp\": 1e400}"), 400,
       "{\"error\":\"malformed-json\",\"message\":\"request body is not JSON: number overflow parsing "
       "'1e400'\"}",
       true},
      {"POST", "/admin/v1/clock", std::string("Bearer admin-key"), std::string("{\"warp\": \"fast\"}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"warp: expected a number, got a string\"}", true},
      {"POST", "/admin/v1/clock", std::string("Bearer admin-key"), std::string("\xff"), 400,
       "{\"error\":\"malformed-json\",\"message\":\"request body is not JSON: parse error at line 1, column "
       "1: syntax error while parsing value - invalid literal; last read: '\xef\xbf\xbd'\"}",
       true},
      {"PUT", "/admin/v1/faults", std::string("Bearer admin-key"),
       std::string("{\"faults\": [{\"kind\": \"status\", \"probability\": 2}]}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"faults[0].probability: expected a number between 0.0 "
       "and 1.0, got 2\"}",
       true},
      {"PUT", "/admin/v1/faults", std::string("Bearer admin-key"),
       std::string("{\"faults\": [{\"kind\": \"latency\", \"latencyMs\": -5}]}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"faults[0].latencyMs: expected milliseconds between 0 "
       "and 60000, got -5\"}",
       true},
      {"PUT", "/admin/v1/faults", std::string("Bearer admin-key"),
       std::string("{\"faults\": [{\"kind\": \"status\", \"status\": 99999999999999999999}]}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"faults[0].status: expected an HTTP status (an integer), "
       "got a fractional number\"}",
       true},
      {"PUT", "/admin/v1/faults", std::string("Bearer admin-key"), std::string("{\"faults\": \"none\"}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"faults: expected an array, got a string\"}", true},
      {"PUT", "/admin/v1/faults", std::string("Bearer admin-key"),
       std::string("{\"faults\": [], \"seed\": -1}"), 400,
       "{\"error\":\"invalid-request\",\"message\":\"seed: expected a non-negative integer, got a number\"}",
       true},
      {"PUT", "/admin/v1/faults", std::string("Bearer admin-key"),
       std::string("{\"faults\": [{\"kind\": \"\xff\"}]}"), 400,
       "{\"error\":\"malformed-json\",\"message\":\"request body is not JSON: parse error at line 1, column "
       "23: syntax error while parsing value - invalid string: ill-formed UTF-8 byte; last read: "
       "'\\\"\xef\xbf\xbd'\"}",
       true},
      {"GET", "/admin/v1/events?after=-1", std::string("Bearer admin-key"), std::nullopt, 400,
       "{\"error\":\"invalid-request\",\"message\":\"after: expected an event sequence number, got "
       "\\\"-1\\\"\"}",
       true},
      {"GET", "/admin/v1/events?after=99999999999999999999", std::string("Bearer admin-key"), std::nullopt,
       400,
       "{\"error\":\"invalid-request\",\"message\":\"after: expected an event sequence number, got "
       "\\\"99999999999999999999\\\"\"}",
       true},
      {"GET", "/admin/v1/events?after=", std::string("Bearer admin-key"), std::nullopt, 400,
       "{\"error\":\"invalid-request\",\"message\":\"after: expected an event sequence number, got "
       "\\\"\\\"\"}",
       true},
      {"GET", "/admin/v1/events?after=%FF", std::string("Bearer admin-key"), std::nullopt, 400,
       "{\"error\":\"invalid-request\",\"message\":\"after: expected an event sequence number, got "
       "\\\"\xef\xbf\xbd\\\"\"}",
       true},
      {"GET", "/admin/v1/tokens/tok_99999999999999999999", std::string("Bearer admin-key"), std::nullopt, 404,
       "{\"error\":\"unknown-token-id\",\"message\":\"no token with id \\\"tok_99999999999999999999\\\"\"}",
       true},
      {"GET", "/admin/v1/tokens/tok_-1", std::string("Bearer admin-key"), std::nullopt, 404,
       "{\"error\":\"unknown-token-id\",\"message\":\"no token with id \\\"tok_-1\\\"\"}", true},
      {"GET", "/admin/v1/tokens/%FF", std::string("Bearer admin-key"), std::nullopt, 404,
       "{\"error\":\"unknown-token-id\",\"message\":\"no token with id \\\"\xef\xbf\xbd\\\"\"}", true},
      {"POST", "/api/index/v1/rotatetoken", std::string("Bearer \xff\xfe"), std::nullopt, 401,
       "{\"error\":\"malformed-credentials\",\"message\":\"the Authorization header must be \\\"Bearer "
       "<token>\\\" or \\\"Basic <token>\\\"\"}",
       true},
      {"GET", "/api/index/v1/projects", std::string("Bearer \xff\xfe"), std::nullopt, 401,
       "{\"error\":\"malformed-credentials\",\"message\":\"the Authorization header must be \\\"Bearer "
       "<token>\\\" or \\\"Basic <token>\\\"\"}",
       true},
      {"GET", "/admin/v1/tokens", std::string("Bearer \xff\xfe"), std::nullopt, 401,
       "{\"error\":\"admin-unauthorized\",\"message\":\"the admin key is wrong or the header is not "
       "\\\"Bearer <admin key>\\\"\"}",
       true},
      {"POST", "/api/index/v1/rotatetoken", std::string("Bearer ") + std::string(1000000, 'a'), std::nullopt,
       431,
       "{\"error\":\"headers-too-large\",\"message\":\"the request's header fields are too large (at most "
       "100 fields, 32768 bytes in all, 8192 bytes a line)\"}",
       true},
      {"GET", "/api/index/v1/projects", std::string("Bearer ") + std::string(1000000, 'a'), std::nullopt, 431,
       "{\"error\":\"headers-too-large\",\"message\":\"the request's header fields are too large (at most "
       "100 fields, 32768 bytes in all, 8192 bytes a line)\"}",
       true},
      {"GET", "/admin/v1/tokens", std::string("Bearer ") + std::string(1000000, 'a'), std::nullopt, 431,
       "{\"error\":\"headers-too-large\",\"message\":\"the request's header fields are too large (at most "
       "100 fields, 32768 bytes in all, 8192 bytes a line)\"}",
       true},
      {"POST", "/api/index/v1/rotatetoken", std::string("Bearer ") + std::string(8000, 'a') + "",
       std::nullopt, 401, "{\"error\":\"unknown-token\",\"message\":\"no such token\"}", true},
      {"GET", "/api/index/v1/projects", std::string("Bearer ") + std::string(8000, 'a') + "", std::nullopt,
       401, "{\"error\":\"unknown-token\",\"message\":\"no such token\"}", true},
      {"GET", "/admin/v1/tokens", std::string("Bearer ") + std::string(8000, 'a') + "", std::nullopt, 401,
       "{\"error\":\"admin-unauthorized\",\"message\":\"the admin key is wrong or the header is not "
       "\\\"Bearer <admin key>\\\"\"}",
       true},
      {"POST", "/api/index/v1/rotatetoken", std::string("\xff"), std::nullopt, 401,
       "{\"error\":\"malformed-credentials\",\"message\":\"the Authorization header must be \\\"Bearer "
       "<token>\\\" or \\\"Basic <token>\\\"\"}",
       true},
      {"GET", "/api/index/v1/projects", std::string("\xff"), std::nullopt, 401,
       "{\"error\":\"malformed-credentials\",\"message\":\"the Authorization header must be \\\"Bearer "
       "<token>\\\" or \\\"Basic <token>\\\"\"}",
       true},
      {"GET", "/admin/v1/tokens", std::string("\xff"), std::nullopt, 401,
       "{\"error\":\"admin-unauthorized\",\"message\":\"the admin key is wrong or the header is not "
       "\\\"Bearer <admin key>\\\"\"}",
       true},
      {"POST", "/api/index/v1/rotatetoken", std::string("Bearer"), std::nullopt, 401,
       "{\"error\":\"malformed-credentials\",\"message\":\"the Authorization header must be \\\"Bearer "
       "<token>\\\" or \\\"Basic <token>\\\"\"}",
       true},
      {"GET", "/api/index/v1/projects", std::string("Bearer"), std::nullopt, 401,
       "{\"error\":\"malformed-credentials\",\"message\":\"the Authorization header must be \\\"Bearer "
       "<token>\\\" or \\\"Basic <token>\\\"\"}",
       true},
      {"GET", "/admin/v1/tokens", std::string("Bearer"), std::nullopt, 401,
       "{\"error\":\"admin-unauthorized\",\"message\":\"the admin key is wrong or the header is not "
       "\\\"Bearer <admin key>\\\"\"}",
       true},
      {"POST", "/api/index/v1/rotatetoken",
       std::string("Bearer a\x01"
                   "b"),
       std::nullopt, 401,
       "{\"error\":\"malformed-credentials\",\"message\":\"the Authorization header must be \\\"Bearer "
       "<token>\\\" or \\\"Basic <token>\\\"\"}",
       true},
      {"GET", "/api/index/v1/projects",
       std::string("Bearer a\x01"
                   "b"),
       std::nullopt, 401,
       "{\"error\":\"malformed-credentials\",\"message\":\"the Authorization header must be \\\"Bearer "
       "<token>\\\" or \\\"Basic <token>\\\"\"}",
       true},
      {"GET", "/admin/v1/tokens",
       std::string("Bearer a\x01"
                   "b"),
       std::nullopt, 401,
       "{\"error\":\"admin-unauthorized\",\"message\":\"the admin key is wrong or the header is not "
       "\\\"Bearer <admin key>\\\"\"}",
       true},
      {"POST", "/api/index/v1/rotatetoken", std::string("Basic 99999999999999999999"), std::nullopt, 401,
       "{\"error\":\"unknown-token\",\"message\":\"no such token\"}", true},
      {"GET", "/api/index/v1/projects", std::string("Basic 99999999999999999999"), std::nullopt, 401,
       "{\"error\":\"unknown-token\",\"message\":\"no such token\"}", true},
      {"GET", "/admin/v1/tokens", std::string("Basic 99999999999999999999"), std::nullopt, 401,
       "{\"error\":\"admin-unauthorized\",\"message\":\"the admin key is wrong or the header is not "
       "\\\"Bearer <admin key>\\\"\"}",
       true},
      // the routes a real client uses, with bodies it should never send: ignored or refused
      {"POST", "/api/index/v1/rotatetoken", std::nullopt, std::string(1'000'000, 'x'), 413,
       "{\"error\":\"body-too-large\",\"message\":\"the request body is larger than 16384 bytes\"}", true},
      {"GET", "/api/index/v1/projects", std::nullopt, binary_bytes(), 401,
       "{\"error\":\"missing-credentials\",\"message\":\"no Authorization header: send Authorization: Bearer "
       "<token>\"}",
       true},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.method << " " << c.target << " auth "
                                << (c.authorization ? c.authorization->substr(0, 30) : "-") << " body "
                                << (c.body ? c.body->substr(0, 60) : "-")) {
      const auto before = read_file(state);
      const auto tokens_before = server.token_count();
      const auto a = raw_request(port, c.method, c.target, c.authorization, c.body);
      BOOST_TEST(a.status == c.status);
      BOOST_TEST(a.body == c.response);
      if (c.refused) {
        BOOST_TEST(read_file(state) == before);
        BOOST_TEST(server.token_count() == tokens_before);
      }
    }
  }
  // The token made first is untouched by all of it: it still rotates, once.
  const auto ok =
      raw_request(port, "POST", "/api/index/v1/rotatetoken", "Bearer " + token.raw_secret, std::nullopt);
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(server.token_count() == 2U);
}

// Instants after 2100 are valid up to 9999-12-31T23:59:59Z: an expiry in 2101 is accepted and a
// rotation keeps it; a clock set to 2101 works; one second past 9999 is refused (see the table).
BOOST_FIXTURE_TEST_CASE(instants_after_2100_are_valid_up_to_9999, fixture) {
  auto a = raw_request(port, "POST", "/admin/v1/tokens", "Bearer admin-key",
                       std::string("{\"rotationPeriodMinutes\": 60, \"expiresAt\": 4133980800}"));
  BOOST_TEST(a.status == 201);
  const auto created = nlohmann::json::parse(a.body);
  BOOST_TEST(created.at("expiresAt").get<std::int64_t>() == 4133980800);
  const auto secret = created.at("rawSecret").get<std::string>();
  a = raw_request(port, "POST", "/api/index/v1/rotatetoken", "Bearer " + secret, std::nullopt);
  BOOST_TEST(a.status == 200);
  const auto child = server.tokens().back().state.expires_at;
  BOOST_TEST((child == rotary::sys_seconds{std::chrono::seconds{4133980800}}));
  a = raw_request(port, "POST", "/admin/v1/clock", "Bearer admin-key", std::string("{\"set\": 4133980800}"));
  BOOST_TEST(a.status == 200);
  BOOST_TEST(a.body == "{\"now\":4133980800,\"warp\":0.0}");
  a = raw_request(port, "POST", "/admin/v1/clock", "Bearer admin-key",
                  std::string("{\"set\": 253402300799}"));
  BOOST_TEST(a.status == 200);
  BOOST_TEST(a.body == "{\"now\":253402300799,\"warp\":0.0}");
}
