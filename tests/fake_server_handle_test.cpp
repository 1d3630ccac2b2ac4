// Tests of fake_server::handle(): one request served without a socket (no start()).
#define BOOST_TEST_MODULE fake_server_handle
#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "handle.hpp"
#include "print.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>

using namespace std::chrono_literals;
namespace wire = rotary::wire;

namespace {

using fixture = rotary::test::handle_fixture;

std::string error_code(const httplib::Response& res) { return nlohmann::json::parse(res.body).at("error"); }

}  // namespace

BOOST_FIXTURE_TEST_CASE(rotates_an_empty_post_without_a_socket, fixture) {
  const auto token =
      server.create_token({.rotation_period = 3600min, .expires_at = clock.now() + std::chrono::days{365}})
          .value();
  const auto res = call("POST", "/api/index/v1/rotatetoken", "Bearer " + token.raw_secret);
  BOOST_TEST(res.status == 200);
  const auto r = nlohmann::json::parse(res.body).get<wire::rotate_response>();
  BOOST_TEST(r.created_at == clock.now());
  BOOST_TEST(r.rotation_period == 3600min);
  BOOST_TEST(server.token_count() == 2u);
  BOOST_TEST(!server.running());
  // The child works, the parent is in its buffer, a second rotation of the parent is refused.
  BOOST_TEST(call("GET", "/api/index/v1/check", "bearer " + r.raw_secret).status == 200);
  BOOST_TEST(call("GET", "/api/index/v1/check", "Basic " + token.raw_secret).status == 200);
  const auto again = call("POST", "/api/index/v1/rotatetoken", "Bearer " + token.raw_secret);
  BOOST_TEST(again.status == 401);
  BOOST_TEST(error_code(again) == "already-rotated");
}

BOOST_FIXTURE_TEST_CASE(authorization_and_routing_errors, fixture) {
  BOOST_TEST(error_code(call("POST", "/api/index/v1/rotatetoken")) == "missing-credentials");
  BOOST_TEST(error_code(call("POST", "/api/index/v1/rotatetoken", "Bearer")) == "malformed-credentials");
  BOOST_TEST(error_code(call("POST", "/api/index/v1/rotatetoken", "Token abc")) == "malformed-credentials");
  BOOST_TEST(error_code(call("POST", "/api/index/v1/rotatetoken", "Bearer nope")) == "unknown-token");
  BOOST_TEST(call("GET", "/api/index/v1/rotatetoken", "Bearer nope").status == 405);
  BOOST_TEST(call("GET", "/elsewhere").status == 404);
  BOOST_TEST(error_code(call("GET", "/admin/v1/tokens", "Basic admin-key")) == "admin-unauthorized");
  BOOST_TEST(call("GET", "/admin/v1/tokens", "Bearer admin-key").status == 200);
}

BOOST_FIXTURE_TEST_CASE(admin_bodies_and_clock, fixture) {
  const auto created = call("POST", "/admin/v1/tokens", "Bearer admin-key",
                            R"({"rotationPeriodMinutes": 3600, "expiresAt": 1830297600})");
  BOOST_TEST(created.status == 201);
  BOOST_TEST(call("POST", "/admin/v1/clock", "Bearer admin-key", R"({"advanceSeconds": 600})").status == 200);
  BOOST_TEST(clock.now() == rotary::from_unix(1'798'762'200));
  BOOST_TEST(error_code(call("POST", "/admin/v1/tokens", "Bearer admin-key", "{")) == "malformed-json");
  BOOST_TEST(error_code(call("POST", "/admin/v1/tokens", "Bearer admin-key", "[]")) == "invalid-request");
}

BOOST_FIXTURE_TEST_CASE(connection_faults_touch_no_socket, fixture) {
  const auto token =
      server.create_token({.rotation_period = 3600min, .expires_at = clock.now() + std::chrono::days{365}})
          .value();
  wire::fault_config faults;
  faults.faults.push_back(wire::fault{.kind = wire::fault_kind::commit_drop});
  server.set_faults(faults);
  // The rotation commits; the 500 in the response is what would never have arrived.
  const auto res = call("POST", "/api/index/v1/rotatetoken", "Bearer " + token.raw_secret);
  BOOST_TEST(res.status == 500);
  BOOST_TEST(server.token_count() == 2u);
  const auto events = server.events();
  BOOST_TEST(events.back().kind == "rotation");
  BOOST_TEST(events.back().status == 0);
}

BOOST_FIXTURE_TEST_CASE(records_events_like_the_server, fixture) {
  (void)call("GET", "/nothing");
  const auto events = server.events();
  BOOST_REQUIRE(!events.empty());
  BOOST_TEST(events.back().kind == "request");
  BOOST_TEST(events.back().status == 404);
  BOOST_TEST(events.back().path == "/nothing");
}

// An exception out of a handler (here: the event callback throws on a rotation) is the 500
// "internal-error" the server sends, with its event, and the server keeps serving.
BOOST_AUTO_TEST_CASE(an_exception_in_a_handler_is_a_500_internal_error_with_its_event) {
  rotary::manual_clock clock{rotary::from_unix(1'798'761'600)};
  auto o = rotary::test::handle_fixture::make_options(clock);
  o.on_event = [](const rotary::wire::event& e) {
    if (e.kind == "rotation") throw std::runtime_error("the event callback failed");
  };
  rotary::fake_server server{o};
  const auto token =
      server.create_token({.rotation_period = 3600min, .expires_at = clock.now() + std::chrono::days{365}})
          .value();
  httplib::Request req;
  req.method = "POST";
  req.path = "/api/index/v1/rotatetoken";
  req.remote_addr = "127.0.0.1";
  req.headers.emplace("Authorization", "Bearer " + token.raw_secret);
  httplib::Response res;
  server.handle(req, res);
  BOOST_TEST(res.status == 500);
  BOOST_TEST(error_code(res) == "internal-error");
  BOOST_TEST(res.body == R"({"error":"internal-error","message":"the event callback failed"})");
  const auto events = server.events();
  BOOST_REQUIRE(!events.empty());
  BOOST_TEST(events.back().kind == "request");
  BOOST_TEST(events.back().status == 500);
  BOOST_TEST(events.back().error == "internal-error");
  BOOST_TEST(events.back().path == "/api/index/v1/rotatetoken");
  req.path = "/nothing";
  res = httplib::Response{};
  server.handle(req, res);
  BOOST_TEST(res.status == 404);  // still serving
}
