// The embedded fake server in a Catch2 suite (Debian catch2, version 2: link Catch2::Catch2 and
// rotary::http). Each SECTION runs on a fresh clock and server.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>

#include <string>

using namespace std::chrono_literals;

TEST_CASE("a token rotated on the embedded fake server", "[fake_server]") {
  rotary::manual_clock clock{rotary::parse_time("2027-01-01T00:00:00Z").value()};
  rotary::fake_server server{{.clock = clock}};
  const std::string url = server.start();
  const auto token =
      server.create_token({.rotation_period = 3600min, .expires_at = clock.now() + rotary::days{365}})
          .value();

  SECTION("the child has the same period and starts now") {
    const auto child = rotary::rotate(url, token.raw_secret);
    REQUIRE(child.has_value());
    CHECK(child->rotation_period == 3600min);
    CHECK(child->created_at == clock.now());
  }
  SECTION("the parent works for exactly its 10-minute buffer") {
    REQUIRE(rotary::rotate(url, token.raw_secret).has_value());
    clock.advance(9min + 59s);
    CHECK(rotary::check_token(url, token.raw_secret).has_value());
    clock.advance(1s);
    const auto late = rotary::check_token(url, token.raw_secret);
    REQUIRE_FALSE(late.has_value());
    CHECK(late.error().status == 401);
  }
  SECTION("a token past its period cannot rotate") {
    clock.advance(3600min);
    const auto late = rotary::rotate(url, token.raw_secret);
    REQUIRE_FALSE(late.has_value());
    CHECK(late.error().status == 401);
  }
}
