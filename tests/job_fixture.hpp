// The world of the rotation job's CLI tests (cli_rotate_test, cli_on_rotate_test,
// cli_secret_test): a fake server whose manual clock starts at the real now (the commands run
// on the real clock), a 3600-minute token on it, a key made by `rotary keygen`, and helpers to
// run `rotate --init` and `rotate` on a store in a temporary directory.
//
//     rotary::test::job_fixture f;
//     BOOST_REQUIRE(f.init().exit == 0);
//     const auto r = rotary::test::run_rotary(f.rotate());
#pragma once

#include <boost/test/unit_test.hpp>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/store.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "cli.hpp"
#include "files.hpp"

namespace rotary::test {

inline std::vector<std::string> with(std::vector<std::string> args, std::initializer_list<std::string> more) {
  args.insert(args.end(), more);
  return args;
}

// Exactly one line, ending in a newline.
inline bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

struct job_fixture {
  manual_clock clock{real_clock{}.now()};
  fake_server server;
  std::string url;
  wire::created_token token;
  temp_dir dir;
  std::string store = (dir.path / "token.store").string();
  std::string key_file = (dir.path / "key").string();

  explicit job_fixture(fake_server_options o = {}) : server(with_clock(std::move(o))) {
    url = server.start();
    token = server
                .create_token({.rotation_period = std::chrono::minutes{3600},
                               .expires_at = clock.now() + std::chrono::days{365}})
                .value();
    const auto k = run_rotary({"keygen", "--out", key_file});
    BOOST_REQUIRE_MESSAGE(k.exit == 0, k.err);
  }
  fake_server_options with_clock(fake_server_options o) {
    o.clock = clock;
    return o;
  }
  [[nodiscard]] std::vector<std::string> rotate() const {
    return {"rotate", "--store",       store, "--key-file", key_file, "--endpoint",
            url,      "--retry-delay", "1s",  "--timeout",  "5s"};
  }
  run_result init(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"rotate",     "--init",
                                     "--store",    store,
                                     "--key-file", key_file,
                                     "--period",   "3600",
                                     "--created",  format_time(token.created_at),
                                     "--expires",  format_time(*token.expires_at)};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_rotary(args, token.raw_secret + "\n");
  }
  [[nodiscard]] store_contents load(const std::string& file) const {
    return token_store(file, store_key::from_file(key_file).value()).load().value();
  }
  [[nodiscard]] store_contents load() const { return load(store); }
  void fail_next(wire::fault f, std::uint64_t n = 1) {
    f.count = n;
    server.set_faults({{f}, 1});
  }
  [[nodiscard]] bool works(const std::string& secret) const { return check_token(url, secret).has_value(); }
  // Nothing the command printed holds a secret.
  void no_secret_in(const run_result& r) const {
    BOOST_TEST(r.out.find(token.raw_secret) == std::string::npos);
    BOOST_TEST(r.err.find(token.raw_secret) == std::string::npos);
    const auto now = load().current.secret;
    BOOST_TEST(r.out.find(now) == std::string::npos);
    BOOST_TEST(r.err.find(now) == std::string::npos);
  }
  [[nodiscard]] std::string path(const std::string& name) const { return (dir.path / name).string(); }
};

}  // namespace rotary::test
