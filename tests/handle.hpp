// A fake server with a manual clock, served without a socket through fake_server::handle(): for
// tests of request handling that need no network.
//
//     BOOST_FIXTURE_TEST_CASE(x, rotary::test::handle_fixture) {
//       BOOST_TEST(call("GET", "/admin/v1/tokens", admin).status == 200);
//     }
#pragma once

#include <httplib.h>

#include <rotary/clock.hpp>
#include <rotary/fake_server.hpp>

#include <string>

namespace rotary::test {

struct handle_fixture {
  static inline const std::string admin = "Bearer admin-key";  // the server's admin key, as a header

  manual_clock clock{from_unix(1'798'761'600)};  // 2027-01-01T00:00:00Z
  fake_server server{make_options(clock)};

  static fake_server_options make_options(manual_clock& c) {
    fake_server_options o;
    o.clock = c;
    o.admin_key = "admin-key";
    return o;
  }

  // One request from 127.0.0.1; no Authorization header when `authorization` is empty.
  httplib::Response call(const std::string& method, const std::string& path,
                         const std::string& authorization = {}, const std::string& body = {}) {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.remote_addr = "127.0.0.1";
    if (!authorization.empty()) req.headers.emplace("Authorization", authorization);
    req.body = body;
    httplib::Response res;
    server.handle(req, res);
    return res;
  }
};

}  // namespace rotary::test
