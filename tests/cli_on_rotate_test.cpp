#define BOOST_TEST_MODULE cli_on_rotate
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/store.hpp>

#include <chrono>
#include <filesystem>
#include <string>

#include "cli.hpp"
#include "files.hpp"
#include "job_fixture.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rotary::test::read_file;
using rotary::test::run_rotary;
using rotary::test::temp_dir;

namespace {

using rotary::test::one_line;
using rotary::test::with;

// cli_rotate_test's world, and the file a consumer reads.
struct fixture : rotary::test::job_fixture {
  std::string secret_file = path("app-token");
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(the_hook_sees_the_metadata_and_not_the_secret) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const auto env = f.path("env");
  const auto r = run_rotary(with(f.rotate(), {"--json", "--on-rotate", "env > " + env + "; echo to-stdout"}));
  BOOST_TEST(r.exit == 0, r.out << r.err);
  BOOST_TEST(one_line(r.out));
  BOOST_TEST(r.err == "to-stdout\n");  // the hook's stdout goes to the job's stderr
  f.no_secret_in(r);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["status"] == "rotated");
  BOOST_TEST(j["onRotate"]["exitCode"] == 0);
  BOOST_TEST(j["onRotate"]["timedOut"] == false);
  BOOST_TEST(j["onRotate"]["signal"].is_null());
  BOOST_TEST(j["onRotate"]["seconds"].is_number());
  BOOST_TEST(j["secretFileError"].is_null());
  const auto seen = read_file(env);
  const auto c = f.load();
  BOOST_TEST(has(seen, "ROTARY_CREATED_AT=" + rotary::format_time(c.current.state.created_at) + "\n"));
  BOOST_TEST(has(seen, "ROTARY_ROTATE_BY=" + j["usableUntil"].get<std::string>() + "\n"));
  BOOST_TEST(has(seen, "ROTARY_PREVIOUS_USABLE_UNTIL=" + j["previousUsableUntil"].get<std::string>() + "\n"));
  BOOST_TEST(has(seen, "ROTARY_STORE=" + f.store + "\n"));
  BOOST_TEST(!has(seen, c.current.secret));
  BOOST_TEST(!has(seen, f.token.raw_secret));
}

BOOST_AUTO_TEST_CASE(the_secret_goes_only_into_the_named_variable_and_the_store_key_env_is_unset) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  auto key = read_file(f.key_file);
  if (!key.empty() && key.back() == '\n') key.pop_back();
  const auto env = f.path("env");
  auto args = f.rotate();
  args[3] = "--key-env";
  args[4] = "ROTARY_TEST_STORE_KEY";
  const auto r =
      run_rotary(with(args, {"--on-rotate", "env > " + env, "--on-rotate-secret-env", "APP_TOKEN"}), {},
                 {"ROTARY_TEST_STORE_KEY=" + key});
  BOOST_TEST(r.exit == 0, r.out << r.err);
  f.no_secret_in(r);
  const auto seen = read_file(env);
  const auto c = f.load();
  BOOST_TEST(has(seen, "APP_TOKEN=" + c.current.secret + "\n"));
  BOOST_TEST(!has(seen, "ROTARY_TEST_STORE_KEY"));
  BOOST_TEST(!has(seen, key));
}

BOOST_AUTO_TEST_CASE(the_hook_runs_after_the_save) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const auto before = f.load().generation;
  const auto copy = f.path("copy.store");
  const auto r = run_rotary(with(f.rotate(), {"--on-rotate", "cp '" + f.store + "' '" + copy + "'"}));
  BOOST_TEST(r.exit == 0, r.out << r.err);
  const auto now = f.load();
  const auto seen = f.load(copy);
  BOOST_TEST(now.generation > before);
  BOOST_TEST(seen.generation == now.generation);
  BOOST_TEST(seen.current.secret == now.current.secret);
  BOOST_TEST(seen.current.secret != f.token.raw_secret);
}

BOOST_AUTO_TEST_CASE(a_failing_hook_exits_4_and_says_so) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const auto r = run_rotary(with(f.rotate(), {"--on-rotate", "exit 3"}));
  BOOST_TEST(r.exit == 4, r.out << r.err);
  BOOST_TEST(one_line(r.out));
  BOOST_TEST(has(r.out, " rotated: new token created "));
  BOOST_TEST(has(r.out, "; on-rotate: exit 3"));
  BOOST_TEST(has(r.out, "the consumer may not have it"));
  f.no_secret_in(r);
  BOOST_TEST(f.load().current.secret != f.token.raw_secret);  // the rotation stays saved
  const auto j = nlohmann::json::parse(run_rotary(with(f.rotate(), {"--json", "--on-rotate", "exit 5"})).out);
  BOOST_TEST(j["status"] == "rotated");
  BOOST_TEST(j["exitCode"] == 4);
  BOOST_TEST(j["onRotate"]["exitCode"] == 5);
  BOOST_TEST(j["onRotate"]["timedOut"] == false);
  BOOST_TEST(has(j["line"].get<std::string>(), "; on-rotate: exit 5"));
}

BOOST_AUTO_TEST_CASE(a_timed_out_hook_exits_4) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const auto r =
      run_rotary(with(f.rotate(), {"--json", "--on-rotate", "sleep 100", "--on-rotate-timeout", "1s"}));
  BOOST_TEST(r.exit == 4, r.out << r.err);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["onRotate"]["timedOut"] == true);
  BOOST_TEST(j["onRotate"]["exitCode"].is_null());
  BOOST_TEST(j["onRotate"]["seconds"].get<double>() < 20.0);
  BOOST_TEST(has(j["line"].get<std::string>(), "; on-rotate: timed out after 1s"));
  f.no_secret_in(r);
}

BOOST_AUTO_TEST_CASE(a_not_due_run_runs_no_hook) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const auto mark = f.path("ran");
  const auto r =
      run_rotary(with(f.rotate(), {"--json", "--strategy", "when-due:24h", "--on-rotate", "touch " + mark}));
  BOOST_TEST(r.exit == 0, r.out << r.err);
  const auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["status"] == "not-due");
  BOOST_TEST(j["onRotate"].is_null());
  BOOST_TEST(!fs::exists(mark));
}

BOOST_AUTO_TEST_CASE(the_secret_file_is_written_by_init_and_each_rotation) {
  fixture f;
  const auto i = f.init({"--secret-file", f.secret_file});
  BOOST_TEST(i.exit == 0, i.out << i.err);
  f.no_secret_in(i);
  BOOST_TEST(read_file(f.secret_file) == f.token.raw_secret + "\n");
  struct stat st {};
  BOOST_REQUIRE(::stat(f.secret_file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  for (int k = 0; k < 2; ++k) {
    const auto r = run_rotary(with(f.rotate(), {"--secret-file", f.secret_file}));
    BOOST_TEST(r.exit == 0, r.out << r.err);
    f.no_secret_in(r);
    BOOST_TEST(read_file(f.secret_file) == f.load().current.secret + "\n");
    BOOST_REQUIRE(::stat(f.secret_file.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);
  }
  // The hook runs after the file is written.
  const auto copy = f.path("copy");
  BOOST_TEST(run_rotary(with(f.rotate(), {"--secret-file", f.secret_file, "--on-rotate",
                                          "cp '" + f.secret_file + "' '" + copy + "'"}))
                 .exit == 0);
  BOOST_TEST(read_file(copy) == f.load().current.secret + "\n");
}

BOOST_AUTO_TEST_CASE(a_failing_secret_file_exits_4_and_the_rotation_stays_saved) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  const auto bad = f.path("missing-dir/app-token");
  const auto r = run_rotary(with(f.rotate(), {"--secret-file", bad}));
  BOOST_TEST(r.exit == 4, r.out << r.err);
  BOOST_TEST(has(r.out, "; secret-file: cannot create a temporary file in " + f.path("missing-dir") +
                            ": No such file or directory"));
  f.no_secret_in(r);
  BOOST_TEST(f.load().current.secret != f.token.raw_secret);
  fixture g;
  const auto i = g.init({"--secret-file", g.path("missing-dir/app-token")});
  BOOST_TEST(i.exit == 4, i.out << i.err);
  BOOST_TEST(has(i.out, " initialized: "));
  BOOST_TEST(has(i.out, "; secret-file: cannot create a temporary file in "));
  BOOST_TEST(g.load().current.secret == g.token.raw_secret);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2_on_one_line) {
  fixture f;
  BOOST_REQUIRE(f.init().exit == 0);
  auto check = [&](std::initializer_list<std::string> more, const std::string& error) {
    const auto r = run_rotary(with(f.rotate(), more));
    BOOST_TEST(r.exit == 2, r.out << r.err);
    BOOST_TEST(r.err == "rotary: error: " + error + "\n");
    BOOST_TEST(r.out == "");
  };
  check({"--secret-file", f.store}, "--secret-file " + f.store + ": is the store itself");
  check({"--secret-file", f.store + ".lock"}, "--secret-file " + f.store + ".lock: is the store's lock file");
  check({"--on-rotate-secret-env", "APP_TOKEN"}, "--on-rotate-secret-env needs --on-rotate");
  check({"--on-rotate", "true", "--on-rotate-secret-env", "1X"},
        "--on-rotate-secret-env 1X: not a variable name (letters, digits and _, not starting with a digit)");
  check({"--on-rotate", "true", "--on-rotate-secret-env", "ROTARY_X"},
        "--on-rotate-secret-env ROTARY_X: ROTARY_ names are rotary's own");
  check({"--on-rotate", "true", "--on-rotate-timeout", "0s"}, "--on-rotate-timeout 0s: at least 1s");
  const auto i = f.init({"--on-rotate", "true"});
  BOOST_TEST(i.exit == 2);
  BOOST_TEST(i.err == "rotary: error: --on-rotate runs after a rotation, not with --init\n");
  BOOST_TEST(f.load().current.secret == f.token.raw_secret);  // nothing rotated by any of these
}
