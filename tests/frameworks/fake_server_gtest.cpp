// The embedded fake server in a GoogleTest suite (Debian libgtest-dev; link GTest::gtest_main
// and rotary::http). A fixture owns the clock and the server; each test gets a fresh pair.
#include <gtest/gtest.h>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>

#include <string>

using namespace std::chrono_literals;

class FakeServerTest : public ::testing::Test {
 protected:
  rotary::manual_clock clock{rotary::parse_time("2027-01-01T00:00:00Z").value()};
  rotary::fake_server server{{.clock = clock}};
  std::string url = server.start();
  rotary::wire::created_token token =
      server.create_token({.rotation_period = 3600min, .expires_at = clock.now() + rotary::days{365}})
          .value();
};

TEST_F(FakeServerTest, RotationGivesAChildWithTheSamePeriod) {
  const auto child = rotary::rotate(url, token.raw_secret);
  ASSERT_TRUE(child.has_value()) << child.error().describe();
  EXPECT_EQ(child->rotation_period, 3600min);
  EXPECT_EQ(child->created_at, clock.now());
  EXPECT_NE(child->raw_secret, token.raw_secret);
}

TEST_F(FakeServerTest, TheParentDiesWhenItsBufferEnds) {
  ASSERT_TRUE(rotary::rotate(url, token.raw_secret).has_value());
  clock.advance(9min + 59s);
  EXPECT_TRUE(rotary::check_token(url, token.raw_secret).has_value());
  clock.advance(1s);
  const auto late = rotary::check_token(url, token.raw_secret);
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().status, 401);
}

TEST_F(FakeServerTest, ASecondRotationOfTheParentIsRefused) {
  ASSERT_TRUE(rotary::rotate(url, token.raw_secret).has_value());
  const auto again = rotary::rotate(url, token.raw_secret);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, "already-rotated");
}
