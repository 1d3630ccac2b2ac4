#define BOOST_TEST_MODULE cli_secret
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/store.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

#include "cli.hpp"
#include "files.hpp"
#include "job_fixture.hpp"

namespace fs = std::filesystem;
using rotary::test::run_rotary;
using rotary::test::temp_dir;

namespace {

// A token on the fake server, put in a store by `rotate --init` (cli_rotate_test's world).
struct fixture : rotary::test::job_fixture {
  fixture() {
    const auto i = init({"--endpoint", url});
    BOOST_REQUIRE_MESSAGE(i.exit == 0, i.err);
  }
  [[nodiscard]] std::vector<std::string> secret(std::vector<std::string> more = {}) const {
    std::vector<std::string> a{"secret", "--store", store, "--key-file", key_file};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  [[nodiscard]] std::vector<std::string> exec(std::vector<std::string> cmd,
                                              std::vector<std::string> flags = {}) const {
    std::vector<std::string> a{"exec", "--store", store, "--key-file", key_file};
    a.insert(a.end(), flags.begin(), flags.end());
    a.emplace_back("--");
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  }
  [[nodiscard]] std::string current() const {
    return rotary::token_store(store, rotary::store_key::from_file(key_file).value())
        .load()
        .value()
        .current.secret;
  }
};

// A store whose token ended long ago: made 2020-01-01 with a 60-minute period.
struct expired_fixture {
  temp_dir dir;
  std::string store = (dir.path / "token.store").string();
  std::string key_file = (dir.path / "key").string();
  std::string secret_text = "expired-secret-0123456789";
  expired_fixture() {
    BOOST_REQUIRE(run_rotary({"keygen", "--out", key_file}).exit == 0);
    const auto i = run_rotary({"rotate", "--init", "--store", store, "--key-file", key_file, "--period", "60",
                               "--created", "2020-01-01T00:00:00Z"},
                              secret_text + "\n");
    BOOST_REQUIRE_MESSAGE(i.exit == 0, i.err);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(secret_command)

BOOST_FIXTURE_TEST_CASE(prints_exactly_the_secret_and_a_newline, fixture) {
  const auto r = run_rotary(secret());
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out == token.raw_secret + "\n");
  BOOST_TEST(r.err == "");
}

BOOST_FIXTURE_TEST_CASE(after_a_rotation_prints_the_new_one_and_previous_the_old, fixture) {
  const auto before = run_rotary(secret({"--previous"}));
  BOOST_TEST(before.exit == 3);
  BOOST_TEST(before.out == "");
  BOOST_TEST(before.err == "rotary: error: " + store + ": no previous token (none was rotated yet)\n");
  const auto rot = run_rotary({"rotate", "--store", store, "--key-file", key_file, "--retry-delay", "1s"});
  BOOST_REQUIRE_MESSAGE(rot.exit == 0, rot.out + rot.err);
  const std::string now = current();
  BOOST_TEST(now != token.raw_secret);
  BOOST_TEST(run_rotary(secret()).out == now + "\n");
  const auto prev = run_rotary(secret({"--previous"}));
  BOOST_TEST(prev.exit == 0);
  BOOST_TEST(prev.out == token.raw_secret + "\n");
  BOOST_TEST(rotary::check_token(url, run_rotary(secret()).out.substr(0, now.size())).has_value());
}

BOOST_FIXTURE_TEST_CASE(json_has_the_fields_and_only_stdout, fixture) {
  const auto r = run_rotary(secret({"--json"}));
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.err == "");
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j.at("secret").get<std::string>() == token.raw_secret);
  BOOST_TEST(j.at("which").get<std::string>() == "current");
  BOOST_TEST(j.at("createdAt").get<std::string>() == rotary::format_time(token.created_at));
  // 3600 minutes after creation, before the hard expiry a year away.
  BOOST_TEST(j.at("usableUntil").get<std::string>() ==
             rotary::format_time(token.created_at + std::chrono::minutes{3600}));
}

BOOST_FIXTURE_TEST_CASE(an_expired_token_exits_3_without_the_secret, expired_fixture) {
  for (const auto& extra : {std::string{}, std::string{"--json"}}) {
    std::vector<std::string> a{"secret", "--store", store, "--key-file", key_file};
    if (!extra.empty()) a.push_back(extra);
    const auto r = run_rotary(a);
    BOOST_TEST(r.exit == 3);
    BOOST_TEST(r.out == "");
    BOOST_TEST(r.err.find(secret_text) == std::string::npos);
    BOOST_TEST(r.err.rfind("rotary: error: the token stopped working at 2020-01-01T01:00:00Z (", 0) == 0);
    BOOST_TEST(r.err.find("(rotation-period); a person must act: see rotary rotate\n") != std::string::npos);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

BOOST_FIXTURE_TEST_CASE(bad_flags_have_exact_errors, fixture) {
  auto err = [](const std::vector<std::string>& a) {
    const auto r = run_rotary(a);
    BOOST_TEST(r.exit == 2);
    BOOST_TEST(r.out == "");
    return r.err;
  };
  BOOST_TEST(err({"secret", "--key-file", key_file}) == "rotary: error: --store FILE is required\n");
  BOOST_TEST(err({"secret", "--store", store}) ==
             "rotary: error: give exactly one of --key-file FILE, --key-env VAR or --plaintext\n");
  BOOST_TEST(err({"secret", "--store", store, "--key-file", key_file, "--plaintext"}) ==
             "rotary: error: give exactly one of --key-file FILE, --key-env VAR or --plaintext\n");
  BOOST_TEST(
      err({"secret", "--store", store, "--key-env", "ROTARY_TEST_NO_SUCH_VAR"}).rfind("rotary: error: ", 0) ==
      0);
  BOOST_TEST(err({"secret", "--store", store, "--key-file", key_file, "--bogus"}) ==
             "rotary: error: The following argument was not expected: --bogus\n");
  BOOST_TEST(err({"secret", "--store", "", "--key-file", key_file}) ==
             "rotary: error: --store: empty value\n");
  // A store that is not there is a store error: a person must act (3), as rotate says it.
  const auto missing =
      run_rotary({"secret", "--store", (dir.path / "nope").string(), "--key-file", key_file});
  BOOST_TEST(missing.exit == 3);
  BOOST_TEST(missing.out == "");
  BOOST_TEST(missing.err.rfind("rotary: error: " + (dir.path / "nope").string(), 0) == 0);
  // Another key: wrong-key, exit 3, and no secret anywhere.
  const std::string other = (dir.path / "other-key").string();
  BOOST_REQUIRE(run_rotary({"keygen", "--out", other}).exit == 0);
  const auto wrong = run_rotary({"secret", "--store", store, "--key-file", other});
  BOOST_TEST(wrong.exit == 3);
  BOOST_TEST(wrong.out == "");
  BOOST_TEST(wrong.err.find(token.raw_secret) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(exec_command)

BOOST_FIXTURE_TEST_CASE(the_child_gets_the_secret_in_its_environment, fixture) {
  const auto r = run_rotary(exec({"/bin/sh", "-c", "printf %s \"$ROTARY_TOKEN\""}));
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out == token.raw_secret);
  const auto mine = run_rotary(exec({"/bin/sh", "-c", "printf %s \"$MY_TOKEN\""}, {"--env", "MY_TOKEN"}));
  BOOST_TEST(mine.exit == 0);
  BOOST_TEST(mine.out == token.raw_secret);
  const auto until = run_rotary(exec({"/bin/sh", "-c", "printf %s \"$ROTARY_TOKEN_USABLE_UNTIL\""}));
  BOOST_TEST(until.out == rotary::format_time(token.created_at + std::chrono::minutes{3600}));
}

BOOST_FIXTURE_TEST_CASE(the_exit_status_is_the_childs, fixture) {
  BOOST_TEST(run_rotary(exec({"/bin/sh", "-c", "exit 7"})).exit == 7);
  BOOST_TEST(run_rotary(exec({"/bin/sh", "-c", "exit 0"})).exit == 0);
}

BOOST_FIXTURE_TEST_CASE(the_secret_is_not_in_the_childs_argv, fixture) {
  const auto r =
      run_rotary(exec({"/bin/sh", "-c", "cat /proc/$$/cmdline; printf '%s' \"$@\"", "sh", "a", "b"}));
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("/bin/sh") != std::string::npos);  // the child really printed its argv
  BOOST_TEST(r.out.find("ab") != std::string::npos);
  BOOST_TEST(r.out.find(token.raw_secret) == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(the_key_variable_does_not_reach_the_child, fixture) {
  const std::string key = rotary::test::read_file(key_file);
  const std::string line = key.substr(0, key.find('\n'));
  const auto r = run_rotary({"exec", "--store", store, "--key-env", "ROTARY_TEST_KEY", "--", "/bin/sh", "-c",
                             "printf '%s|%s' \"${ROTARY_TEST_KEY-unset}\" \"$ROTARY_TOKEN\""},
                            {}, {"ROTARY_TEST_KEY=" + line});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out == "unset|" + token.raw_secret);
}

BOOST_FIXTURE_TEST_CASE(missing_and_unrunnable_commands, fixture) {
  const auto missing = run_rotary(exec({"rotary-no-such-command-xyz"}));
  BOOST_TEST(missing.exit == 127);
  BOOST_TEST(missing.err == "rotary: error: rotary-no-such-command-xyz: command not found\n");
  const auto file = (dir.path / "not-executable").string();
  rotary::test::write_file(file, "#!/bin/sh\n");
  const auto denied = run_rotary(exec({file}));
  BOOST_TEST(denied.exit == 126);
  BOOST_TEST(denied.err == "rotary: error: " + file + ": cannot run: Permission denied\n");
  BOOST_TEST(missing.out + denied.out == "");
}

BOOST_FIXTURE_TEST_CASE(bad_exec_flags_have_exact_errors, fixture) {
  auto err = [](const std::vector<std::string>& a) {
    const auto r = run_rotary(a);
    BOOST_TEST(r.exit == 2);
    return r.err;
  };
  BOOST_TEST(err(exec({"/bin/true"}, {"--env", "1BAD"})) ==
             "rotary: error: --env 1BAD: not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)\n");
  BOOST_TEST(err(exec({"/bin/true"}, {"--env", "A-B"})) ==
             "rotary: error: --env A-B: not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)\n");
  BOOST_TEST(
      err(exec({"/bin/true"}, {"--env", "ROTARY_TOKEN_USABLE_UNTIL"})) ==
      "rotary: error: --env ROTARY_TOKEN_USABLE_UNTIL: rotary exec sets that one to the token's end\n");
  BOOST_TEST(err({"exec", "--store", store, "--key-file", key_file}) ==
             "rotary: error: no command: give it after --, e.g. rotary exec ... -- CMD ARGS\n");
  BOOST_TEST(err({"exec", "--key-file", key_file, "--", "/bin/true"}) ==
             "rotary: error: --store FILE is required\n");
}

BOOST_FIXTURE_TEST_CASE(an_unusable_token_never_starts_the_command, expired_fixture) {
  const auto marker = dir.path / "ran";
  const auto r = run_rotary({"exec", "--store", store, "--key-file", key_file, "--", "/bin/sh", "-c",
                             "touch '" + marker.string() + "'"});
  BOOST_TEST(r.exit == 3);
  BOOST_TEST(!fs::exists(marker));
  BOOST_TEST(r.err.rfind("rotary: error: the token stopped working at ", 0) == 0);
  BOOST_TEST(r.err.find(secret_text) == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(the_python_consumer_calls_the_api, fixture) {
  const auto r =
      run_rotary(exec({"/usr/bin/python3", std::string(ROTARY_SOURCE_DIR) + "/examples/python_consumer.py",
                       url + "/api/index/v1/ping"}));
  BOOST_TEST(r.exit == 0, r.err);
  BOOST_TEST(r.out == "200\n");
  // And with a secret the server does not know, the same call fails: the check is real.
  const auto bad = rotary::test::run_program(
      "/usr/bin/python3",
      {std::string(ROTARY_SOURCE_DIR) + "/examples/python_consumer.py", url + "/api/index/v1/ping"}, {},
      {"ROTARY_TOKEN=not-a-token"});
  BOOST_TEST(bad.exit == 1);
  BOOST_TEST(bad.out == "401\n");
}

BOOST_AUTO_TEST_SUITE_END()
