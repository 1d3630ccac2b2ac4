// Regression tests: each input here once crashed a fuzz target (tests/fuzz/, scripts/fuzz).
// docs/hardening.md tells the story of each.
#define BOOST_TEST_MODULE fuzz_regression
#include <boost/test/unit_test.hpp>

#include <httplib.h>

#include "handle.hpp"

#include <nlohmann/json.hpp>
#include <rotary/detail/server_state.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/json.hpp>

#include <chrono>
#include <string>
#include <tuple>

using namespace std::chrono_literals;

namespace {

using server_fixture = rotary::test::handle_fixture;

nlohmann::json body_of(const httplib::Response& res) { return nlohmann::json::parse(res.body); }

}  // namespace

// fuzz_server_request: a path (or method) that is not UTF-8 made the JSON error body throw
// (type_error 316: "no such path: ..." quotes it), a 500 "internal-error"; worse, the event kept
// the bytes, so every later GET /admin/v1/events failed the same way. Over HTTP the path is
// percent-decoded, so "GET /%FF" was enough.
BOOST_FIXTURE_TEST_CASE(path_and_method_that_are_not_utf8, server_fixture) {
  // The crashing input: method "\0POS\xfbT", path "/api/index/v0/rot\xcbtetoken".
  const std::string method("\0POS\xfbT", 6);
  const auto res = call(method, "/api/index/v0/rot\xcbtetoken", admin);
  BOOST_TEST(res.status == 404);
  const auto body = body_of(res);
  BOOST_TEST(body["error"] == "not-found");
  BOOST_TEST(body["message"] == "no such path: /api/index/v0/rot\xef\xbf\xbdtetoken");  // U+FFFD
  BOOST_TEST(call("GET", "/admin/v1/tokens/\xff", admin).status == 404);
  BOOST_TEST(call("\xff", "/api/index/v1/rotatetoken", "Bearer x").status == 405);
  // The events keep valid UTF-8, and the admin API can list them.
  const auto events = call("GET", "/admin/v1/events", admin);
  BOOST_TEST(events.status == 200);
  const auto list = body_of(events)["events"];
  BOOST_REQUIRE(list.size() >= 3u);
  BOOST_TEST(list[0]["path"] == "/api/index/v0/rot\xef\xbf\xbdtetoken");
  BOOST_TEST(list[0]["method"] == std::string("\0POS\xef\xbf\xbdT", 8));
  for (const auto& e : server.events()) BOOST_TEST(nlohmann::json(e).dump().size() > 0u);
}

// The same over a socket: cpp-httplib percent-decodes "/%FF" into the byte 0xff.
BOOST_FIXTURE_TEST_CASE(percent_encoded_bytes_over_http, server_fixture) {
  const auto url = server.start();
  httplib::Client client(url);
  const auto res = client.Get("/%FF%FE");
  BOOST_REQUIRE(res);
  BOOST_TEST(res->status == 404);
  BOOST_TEST(body_of(*res)["error"] == "not-found");
  const auto events = client.Get("/admin/v1/events", {{"Authorization", "Bearer admin-key"}});
  BOOST_REQUIRE(events);
  BOOST_TEST(events->status == 200);
  BOOST_TEST(!body_of(*events)["events"].empty());
  server.stop();
}

// fuzz_state_file: a number too large for a double ("now": 179876e600) made nlohmann throw
// out_of_range (406), not parse_error, past state_from_text's catch: start() threw something
// other than fake_server_error.
BOOST_AUTO_TEST_CASE(state_file_with_a_number_past_a_double) {
  const std::string text =
      R"({"format": "rotary-fake-server-state", "version": 1, "clock": {"now": 179876e600, "warp": 0},)"
      R"( "replayKey": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "tokens": []})";
  try {
    (void)rotary::detail::state_from_text(text);
    BOOST_FAIL("no error");
  } catch (const rotary::state_file_error& e) {
    BOOST_TEST(std::string(e.what()).starts_with("not JSON (number overflow"));
  }
}

// fuzz_admin_json: the same number in an admin body was a 500 "internal-error".
BOOST_FIXTURE_TEST_CASE(admin_body_with_a_number_past_a_double, server_fixture) {
  for (const auto& [method, path, body] :
       {std::tuple{"POST", "/admin/v1/tokens", R"({"rotationPeriodMinutes": 1e999})"},
        std::tuple{"POST", "/admin/v1/clock", R"({"advanceSeconds": -1e400})"},
        std::tuple{"PUT", "/admin/v1/faults", R"({"faults": [{"kind": "status", "probability": 1e309}]})"}}) {
    const auto res = call(method, path, admin, body);
    BOOST_TEST(res.status == 400);
    BOOST_TEST(body_of(res)["error"] == "malformed-json");
  }
}
