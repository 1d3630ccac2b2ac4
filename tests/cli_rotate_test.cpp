#define BOOST_TEST_MODULE cli_rotate
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/store.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli.hpp"
#include "files.hpp"
#include "job_fixture.hpp"
#include "print.hpp"
#include "tls.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rotary::test::run_rotary;
using rotary::wire::fault;
using rotary::wire::fault_kind;

using rotary::test::temp_dir;

namespace {

using fixture = rotary::test::job_fixture;
using rotary::test::one_line;
using rotary::test::with;

fault make_fault(fault_kind kind, int status = 503) {
  fault f;
  f.kind = kind;
  f.status = status;
  return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(keygen_prints_a_key_in_the_documented_format) {
  const auto r = run_rotary({"keygen"});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.rfind("rotary-key-v1:", 0) == 0u);
  BOOST_TEST(r.out.size() == 59u);
  BOOST_TEST(rotary::store_key::parse(r.out).has_value());
  BOOST_TEST(run_rotary({"keygen"}).out != r.out);
  const auto j = nlohmann::json::parse(run_rotary({"keygen", "--json"}).out);
  BOOST_TEST(rotary::store_key::parse(j["key"].get<std::string>()).value().id_hex() == j["keyId"]);
}

BOOST_AUTO_TEST_CASE(keygen_out_writes_a_0600_file_and_never_overwrites) {
  temp_dir dir;
  const auto file = (dir.path / "key").string();
  const auto r = run_rotary({"keygen", "--out", file});
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("rotary-key-v1:") == std::string::npos);
  struct stat st {};
  BOOST_REQUIRE(::stat(file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(rotary::store_key::from_file(file).has_value());
  const auto again = run_rotary({"keygen", "--out", file});
  BOOST_TEST(again.exit == 2);
  BOOST_TEST(again.err == "rotary: error: --out " + file + ": exists; keygen never overwrites a key\n");
}

BOOST_AUTO_TEST_CASE(init_reads_the_token_from_stdin_into_an_encrypted_store) {
  fixture f;
  const auto r = f.init();
  BOOST_TEST(r.exit == 0, r.err);
  BOOST_TEST(one_line(r.out));
  BOOST_TEST(r.out.find(" initialized: " + f.store +
                        " encrypted (AES-256-GCM); the token is usable until ") != std::string::npos);
  f.no_secret_in(r);
  const auto c = f.load();
  BOOST_TEST(c.current.secret == f.token.raw_secret);
  BOOST_TEST(c.current.state.rotation_period == std::optional{std::chrono::minutes{3600}});
  BOOST_TEST(!c.unverified);
  // Never over an existing store.
  const auto again = f.init();
  BOOST_TEST(again.exit == 1);
  BOOST_TEST(again.out.find("not-initialized: " + f.store + ": a store already exists") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(init_refuses_what_it_cannot_trust) {
  fixture f;
  auto base = std::vector<std::string>{"rotate", "--init", "--store", f.store};
  auto r = run_rotary(with(base, {"--key-file", f.key_file}));
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err == "rotary: error: --init reads the token from stdin, and stdin is empty\n");
  r = run_rotary(with(base, {"--key-file", f.key_file}), "two words\n");
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err.find("two words") == std::string::npos);
  r = run_rotary(base, "secret\n");
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err == "rotary: error: give exactly one of --key-file FILE, --key-env VAR or --plaintext\n");
  r = run_rotary(with(base, {"--key-file", f.key_file, "--plaintext"}), "secret\n");
  BOOST_TEST(r.exit == 2);
  ::chmod(f.key_file.c_str(), 0644);
  r = run_rotary(with(base, {"--key-file", f.key_file}), "secret\n");
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err == "rotary: error: key file " + f.key_file +
                          ": group or others can access it (mode 0644); run: chmod 600 " + f.key_file + "\n");
  BOOST_TEST(!fs::exists(f.store));
}

BOOST_AUTO_TEST_CASE(a_rotation_prints_one_line_and_exits_0) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const auto r = run_rotary(f.rotate());
  BOOST_TEST(r.exit == 0, r.out << r.err);
  BOOST_TEST(one_line(r.out));
  BOOST_TEST(r.out.find(" rotated: new token created ") == 20u);
  BOOST_TEST(r.err == "");
  f.no_secret_in(r);
  const auto c = f.load();
  BOOST_TEST(c.current.secret != f.token.raw_secret);
  BOOST_TEST(f.works(c.current.secret));
  BOOST_TEST(c.previous->secret == f.token.raw_secret);
  BOOST_TEST(c.endpoint == f.url);
  // The endpoint is remembered.
  auto no_endpoint = f.rotate();
  no_endpoint.erase(no_endpoint.begin() + 5, no_endpoint.begin() + 7);
  BOOST_TEST(run_rotary(no_endpoint).exit == 0);
}

BOOST_AUTO_TEST_CASE(json_output_is_one_document) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const auto r = run_rotary(with(f.rotate(), {"--json", "--strategy", "when-due:24h"}));
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(one_line(r.out));
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["status"] == "not-due");
  BOOST_TEST(j["exitCode"] == 0);
  BOOST_TEST(j["attempts"] == 0);
  BOOST_TEST(j["token"]["rotationPeriodMinutes"] == 3600);
  BOOST_TEST(j["secondsLeft"].get<std::int64_t>() > 59 * 3600);
  BOOST_TEST(j["error"].is_null());
  f.no_secret_in(r);
}

BOOST_AUTO_TEST_CASE(a_transient_failure_is_retried_and_an_exhausted_one_exits_1) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  f.fail_next(make_fault(fault_kind::status, 503));
  const auto ok = run_rotary(f.rotate());
  BOOST_TEST(ok.exit == 0, ok.out);
  BOOST_TEST(ok.out.find("(2 attempts)") != std::string::npos);
  f.fail_next(make_fault(fault_kind::status, 503), 5);
  const auto failed = run_rotary(with(f.rotate(), {"--retries", "0"}));
  BOOST_TEST(failed.exit == 1);
  BOOST_TEST(one_line(failed.out));
  BOOST_TEST(failed.out.find(" failed: failed after 1 attempt (server-error 503 ") == 20u);
  BOOST_TEST(failed.out.find("the token is usable until ") != std::string::npos);
  // A 503 may come from a gateway whose server committed: the rotation stays in doubt.
  BOOST_TEST(failed.out.find(" got a 503 (a gateway may have passed it on): if the server committed it, the "
                             "chain may be broken") != std::string::npos,
             failed.out);
  BOOST_TEST(f.load().unanswered_rotation.has_value());
}

BOOST_AUTO_TEST_CASE(a_retry_after_of_hours_ends_the_run_at_once) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  auto limit = make_fault(fault_kind::status, 429);
  limit.retry_after = 2h;
  f.fail_next(limit, 5);
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_rotary(f.rotate());
  BOOST_TEST(std::chrono::steady_clock::now() - start < 10s);
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(one_line(r.out));
  BOOST_TEST(r.out.find(" failed: failed after 1 attempt (rate-limited 429 rate-limited: too many requests "
                        "(injected fault)); the server asked to retry in 2h (at ") == 20u,
             r.out);
  BOOST_TEST(
      r.out.find("), longer than a run waits between tries (10m); not waiting; the token is usable until ") !=
          std::string::npos,
      r.out);
}

BOOST_AUTO_TEST_CASE(a_refused_token_reports_the_time_it_has_left) {
  {
    fixture f;
    BOOST_REQUIRE(f.init().exit == 0);
    BOOST_REQUIRE(f.server.revoke(f.token.id));
    const auto r = run_rotary(with(f.rotate(), {"--json"}));
    BOOST_TEST(r.exit == 3);
    const auto j = nlohmann::json::parse(r.out);
    BOOST_TEST(j["status"] == "unusable");
    BOOST_TEST(j["exitCode"] == 3);
    BOOST_TEST(j["endedBy"] == "token-revoked");
    BOOST_TEST(j["secondsLeft"] == 0);
    BOOST_TEST(j["usableUntil"].get<std::string>() <= j["finishedAt"].get<std::string>());
    BOOST_TEST(j["line"].get<std::string>().find(
                   "(unauthorized 401 token-revoked: the token was revoked); the "
                   "held token no longer works; a person must create") != std::string::npos);
    f.no_secret_in(r);
  }
  {
    // Someone else rotated it: a buffer from now at most, not the day its period promised.
    fixture f;
    BOOST_REQUIRE(f.init().exit == 0);
    BOOST_REQUIRE(rotary::rotate(f.url, f.token.raw_secret).has_value());
    const auto r = run_rotary(with(f.rotate(), {"--json"}));
    BOOST_TEST(r.exit == 3);
    const auto j = nlohmann::json::parse(r.out);
    BOOST_TEST(j["status"] == "chain-broken");
    BOOST_TEST(j["secondsLeft"].get<std::int64_t>() <= 600);
    BOOST_TEST(j["secondsLeft"].get<std::int64_t>() >= 590);
    BOOST_TEST(
        j["line"].get<std::string>().find(
            "; someone else rotated this token, the chain may be broken; the held token works until at "
            "most ") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_server_clock_hours_away_is_not_trusted) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  f.clock.advance(2h);  // the server's clock; the command runs on the real one
  const auto r = run_rotary(f.rotate());
  BOOST_TEST(r.exit == 1, r.out);
  BOOST_TEST(one_line(r.out));
  BOOST_TEST(r.out.find(" failed: failed after 1 attempt (malformed-response 200 implausible-created-at: "
                        "createdAt ") == 20u,
             r.out);
  BOOST_TEST(
      r.out.find(" ahead of this job's clock, more than the 1h it trusts); the new token was not stored") !=
          std::string::npos,
      r.out);
  BOOST_TEST(r.out.find("a person must check this host's clock and the server's (NTP)") != std::string::npos);
  const auto c = f.load();
  BOOST_TEST(c.current.secret == f.token.raw_secret);
  BOOST_TEST(c.unanswered_rotation.has_value());
  f.no_secret_in(r);
}

BOOST_AUTO_TEST_CASE(a_plain_http_endpoint_that_is_not_loopback_is_warned_about) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const std::string w =
      "warning: plain http to rotary-test.invalid (not loopback): the token and the new one cross the "
      "network "
      "unencrypted; use https://";
  auto args = f.rotate();
  args[6] = "http://rotary-test.invalid";
  const auto r = run_rotary(with(args, {"--strategy", "when-due:1h"}));
  BOOST_TEST(r.exit == 0, r.out);
  BOOST_TEST(one_line(r.out));
  BOOST_TEST(r.out.find(" not-due: ") == 20u);
  BOOST_TEST(r.out.ends_with("; " + w + "\n"), r.out);
  BOOST_TEST(r.err == "");
  const auto j = nlohmann::json::parse(run_rotary(with(args, {"--strategy", "when-due:1h", "--json"})).out);
  BOOST_TEST(j["warnings"] == nlohmann::json::array({w.substr(9)}));
  // Loopback (the fake server at 127.0.0.1) is not warned about.
  const auto local = nlohmann::json::parse(run_rotary(with(f.rotate(), {"--json"})).out);
  BOOST_TEST(local["status"] == "rotated");
  BOOST_TEST(local["warnings"] == nlohmann::json::array());
  // --init with such an endpoint says so at once, not only at the first run.
  fs::remove(f.store);
  const auto init = f.init({"--endpoint", "http://rotary-test.invalid", "--json"});
  BOOST_TEST(init.exit == 0, init.out);
  const auto ij = nlohmann::json::parse(init.out);
  BOOST_TEST(ij["warnings"] == nlohmann::json::array({w.substr(9)}));
  BOOST_TEST(ij["line"].get<std::string>().ends_with("; " + w), ij["line"]);
}

BOOST_AUTO_TEST_CASE(a_lost_response_under_reject_exits_3_with_what_to_do) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  f.fail_next(make_fault(fault_kind::commit_drop));
  const auto r = run_rotary(f.rotate());
  BOOST_TEST(r.exit == 3);
  BOOST_TEST(one_line(r.out));
  BOOST_TEST(r.out.find(" chain-broken: ") == 20u);
  BOOST_TEST(
      r.out.find(
          "a person must create a new token in the admin console and run: rotary rotate --init --store " +
          f.store) != std::string::npos);
  f.no_secret_in(r);
}

BOOST_AUTO_TEST_CASE(an_unusable_token_or_store_exits_3) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  BOOST_REQUIRE(f.server.revoke(f.token.id));
  const auto revoked = run_rotary(f.rotate());
  BOOST_TEST(revoked.exit == 3);
  BOOST_TEST(revoked.out.find(" unusable: the server refused the token (unauthorized 401 token-revoked") ==
             20u);

  const auto other_key = (f.dir.path / "other-key").string();
  BOOST_REQUIRE(run_rotary({"keygen", "--out", other_key}).exit == 0);
  auto args = f.rotate();
  args[4] = other_key;
  const auto wrong = run_rotary(args);
  BOOST_TEST(wrong.exit == 3);
  BOOST_TEST(wrong.out.find(" store-error: " + f.store + ": wrong key: ") == 20u);

  std::ofstream(f.store, std::ios::trunc) << "";
  const auto empty = run_rotary(f.rotate());
  BOOST_TEST(empty.exit == 3);
  BOOST_TEST(empty.out.find("the file is empty (0 bytes)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_second_run_exits_busy_while_the_first_holds_the_lock) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const rotary::token_store s(f.store, rotary::store_key::from_file(f.key_file).value());
  auto lock = s.lock().value();
  const auto r = run_rotary(with(f.rotate(), {"--lock-wait", "0s"}));
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.out.find(" busy: " + f.store + ": another run holds the lock") == 20u);
  BOOST_TEST(r.out.find("nothing done; the token is usable until ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(key_env_and_plaintext_stores) {
  fixture f;
  const auto key = rotary::store_key::generate().text();
  const std::vector<std::string> env = {"ROTARY_TEST_STORE_KEY=" + key};
  auto r = run_rotary({"rotate", "--init", "--store", f.store, "--key-env", "ROTARY_TEST_STORE_KEY"},
                      f.token.raw_secret + "\n", env);
  BOOST_TEST(r.exit == 0, r.err);
  BOOST_TEST(r.out.find("the first run rotates to learn the token's facts") != std::string::npos);
  r = run_rotary({"rotate", "--store", f.store, "--key-env", "ROTARY_TEST_STORE_KEY", "--endpoint", f.url,
                  "--strategy", "when-due:1h"},
                 "", env);
  BOOST_TEST(r.exit == 0, r.out);
  BOOST_TEST(r.out.find(" rotated: ") == 20u);
  // The encrypted store refuses --plaintext, and a plain-text store says what it is.
  r = run_rotary({"rotate", "--store", f.store, "--plaintext", "--endpoint", f.url});
  BOOST_TEST(r.exit == 3);
  const auto plain = (f.dir.path / "plain.store").string();
  const auto token = f.server
                         .create_token({.rotation_period = std::chrono::minutes{3600},
                                        .expires_at = f.clock.now() + std::chrono::days{30}})
                         .value();
  r = run_rotary({"rotate", "--init", "--store", plain, "--plaintext"}, token.raw_secret + "\n");
  BOOST_TEST(r.exit == 0);
  BOOST_TEST(r.out.find("in PLAIN TEXT (--plaintext)") != std::string::npos);
  r = run_rotary({"rotate", "--store", plain, "--plaintext", "--endpoint", f.url});
  BOOST_TEST(r.exit == 0, r.out);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2_on_one_line) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  auto r = run_rotary(with(f.rotate(), {"--strategy", "sometimes"}));
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err ==
             "rotary: error: --strategy sometimes: expected always or when-due:DUR (e.g. when-due:24h)\n");
  r = run_rotary(with(f.rotate(), {"--retries", "-1"}));
  BOOST_TEST(r.exit == 2);
  r = run_rotary({"rotate", "--key-file", f.key_file});
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err == "rotary: error: --store FILE is required\n");
  r = run_rotary(with(f.rotate(), {"--endpoint", "ftp://x"}));
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.out == "");
}

BOOST_AUTO_TEST_CASE(https_with_ca_file) {
  const rotary::test::throwaway_ca ca("rotary cli test CA");
  fixture f({.tls_cert = ca.cert, .tls_key = ca.key});
  BOOST_REQUIRE(f.init().exit == 0);
  const auto untrusted = run_rotary(with(f.rotate(), {"--retries", "0"}));
  BOOST_TEST(untrusted.exit == 1);
  BOOST_TEST(untrusted.out.find("tls-verify") != std::string::npos);
  const auto r = run_rotary(with(f.rotate(), {"--ca-file", ca.ca.string()}));
  BOOST_TEST(r.exit == 0, r.out);
  BOOST_TEST(f.load().current.secret != f.token.raw_secret);
}
