// The fake /rotatetoken server in a test: start it on a clock the test owns, make a token,
// rotate it over HTTP, and watch the parent die when the buffer ends.
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>

#include <iostream>

int main() {
  using namespace std::chrono_literals;
  rotary::manual_clock clock{rotary::parse_time("2027-01-01T00:00:00Z").value()};
  rotary::fake_server server{{.clock = clock}};  // these two lines are the whole setup
  const std::string url = server.start();

  // A token as the admin console makes it: 3600-minute period, expiry in a year.
  const auto token =
      server.create_token({.rotation_period = 3600min, .expires_at = clock.now() + rotary::days{365}})
          .value();

  // POST /api/index/v1/rotatetoken, as the rotation job does.
  const auto child = rotary::rotate(url, token.raw_secret).value();
  std::cout << "rotate: child created " << rotary::format_time(child.created_at) << ", period "
            << child.rotation_period.count() << " min\n";

  // Does the token still work? Any other /api/index/v1/ path answers 200, or 401 and why.
  auto works = [&](const std::string& secret) {
    const auto ok = rotary::check_token(url, secret);
    return ok ? std::string("usable") : ok.error().describe();
  };
  clock.advance(9min + 59s);
  std::cout << "parent after 9m59s: " << works(token.raw_secret) << "\n";
  clock.advance(1s);
  std::cout << "parent after 10m: " << works(token.raw_secret) << "\n";
  std::cout << "child after 10m: " << works(child.raw_secret) << "\n";
}
