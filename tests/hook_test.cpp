#define BOOST_TEST_MODULE hook
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <rotary/hook.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "files.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rotary::hook_command;
using rotary::run_hook;
using rotary::test::read_file;
using rotary::test::temp_dir;

namespace {
hook_command cmd(std::string command) {
  hook_command h;
  h.command = std::move(command);
  return h;
}
}  // namespace

BOOST_AUTO_TEST_CASE(exit_codes_are_reported) {
  const auto ok = run_hook(cmd("true"), {}, nullptr);
  BOOST_TEST(ok.started);
  BOOST_TEST(ok.exit_code == 0);
  BOOST_TEST(ok.ok());
  BOOST_TEST(ok.describe() == "exit 0");
  const auto three = run_hook(cmd("exit 3"), {}, nullptr);
  BOOST_TEST(three.exit_code == 3);
  BOOST_TEST(!three.ok());
  BOOST_TEST(three.describe() == "exit 3");
  BOOST_TEST(!three.timed_out);
  BOOST_TEST(three.signal == 0);
}

BOOST_AUTO_TEST_CASE(a_signal_is_reported) {
  const auto r = run_hook(cmd("kill -KILL $$"), {}, nullptr);
  BOOST_TEST(r.started);
  BOOST_TEST(r.signal == SIGKILL);
  BOOST_TEST(r.exit_code == -1);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.describe() == "killed by signal 9");
}

BOOST_AUTO_TEST_CASE(a_timeout_kills_the_whole_process_group) {
  temp_dir dir;
  const auto pids = dir.path / "pids";
  auto h = cmd("sleep 100 & echo $! > " + pids.string() + "; sleep 100");
  h.timeout = 1s;
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_hook(h, {}, nullptr);
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(r.timed_out);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.describe() == "timed out after 1s");
  BOOST_TEST(r.signal == SIGTERM);
  BOOST_TEST((took < 20s));  // the timeout, the grace, and room for a slow machine
  const auto background = std::stoi(read_file(pids));
  // The background sleep got the SIGTERM too: gone (or a zombie until init reaps it).
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    const auto stat = read_file("/proc/" + std::to_string(background) + "/stat");
    gone = stat.empty() || stat.find(") Z ") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(gone);
}

BOOST_AUTO_TEST_CASE(a_command_ignoring_sigterm_is_killed_after_the_grace) {
  auto h = cmd("trap '' TERM; sleep 100 & wait; sleep 100");
  h.timeout = 1s;
  h.kill_grace = 1s;
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_hook(h, {}, nullptr);
  BOOST_TEST(r.timed_out);
  BOOST_TEST((std::chrono::steady_clock::now() - start < 20s));
  BOOST_TEST(r.signal == SIGKILL);
}

BOOST_AUTO_TEST_CASE(the_environment_is_the_parents_plus_the_variables) {
  temp_dir dir;
  const auto out = dir.path / "env";
  ::setenv("ROTARY_HOOK_TEST_PARENT", "inherited", 1);
  ::setenv("ROTARY_STORE", "replaced", 1);
  ::setenv("ROTARY_HOOK_TEST_UNSET", "hidden", 1);
  auto h = cmd("env > " + out.string());
  h.unset_env = {"ROTARY_HOOK_TEST_UNSET"};
  const std::string secret = "s3cr3t-value-for-the-hook";
  const auto r = run_hook(
      h, {{"ROTARY_STORE", "/var/lib/x.store"}, {"ROTARY_CREATED_AT", "2027-01-01T00:00:00Z"}}, &secret);
  BOOST_TEST(r.ok());
  const auto env = read_file(out);
  BOOST_TEST(env.find("ROTARY_HOOK_TEST_PARENT=inherited\n") != std::string::npos);
  BOOST_TEST(env.find("ROTARY_STORE=/var/lib/x.store\n") != std::string::npos);
  BOOST_TEST(env.find("ROTARY_STORE=replaced") == std::string::npos);
  BOOST_TEST(env.find("ROTARY_CREATED_AT=2027-01-01T00:00:00Z\n") != std::string::npos);
  BOOST_TEST(env.find("ROTARY_HOOK_TEST_UNSET") == std::string::npos);
  BOOST_TEST(env.find(secret) == std::string::npos);  // no secret_env: no secret
  ::unsetenv("ROTARY_HOOK_TEST_PARENT");
  ::unsetenv("ROTARY_STORE");
  ::unsetenv("ROTARY_HOOK_TEST_UNSET");
}

BOOST_AUTO_TEST_CASE(the_secret_goes_only_into_the_named_variable) {
  temp_dir dir;
  const auto out = dir.path / "env";
  auto h = cmd("env > " + out.string() + "; printf %s \"$APP_TOKEN\" > " + (dir.path / "token").string());
  h.secret_env = "APP_TOKEN";
  const std::string secret = "s3cr3t-value-for-the-hook";
  BOOST_TEST(run_hook(h, {}, &secret).ok());
  BOOST_TEST(read_file(dir.path / "token") == secret);
  const auto env = read_file(out);
  BOOST_TEST(env.find("APP_TOKEN=" + secret + "\n") != std::string::npos);
  BOOST_TEST(env.find(secret) == env.rfind(secret));  // once
}

BOOST_AUTO_TEST_CASE(stdout_goes_to_stderr_and_stdin_is_empty) {
  temp_dir dir;
  // fd 1 of the command is the same file as its fd 2; stdin reads nothing.
  const auto out = dir.path / "out";
  const auto r =
      run_hook(cmd("[ \"$(readlink /proc/$$/fd/1)\" = \"$(readlink /proc/$$/fd/2)\" ] && echo same > " +
                   out.string() + "; cat > " + (dir.path / "in").string()),
               {}, nullptr);
  BOOST_TEST(r.ok());
  BOOST_TEST(read_file(out) == "same\n");
  BOOST_TEST(read_file(dir.path / "in").empty());
}

BOOST_AUTO_TEST_CASE(a_shell_that_cannot_start_is_reported) {
  auto h = cmd("true");
  h.shell = "/nonexistent/sh";
  const auto r = run_hook(h, {}, nullptr);
  BOOST_TEST(!r.started);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.describe() == "cannot start: /nonexistent/sh: No such file or directory");
}

BOOST_AUTO_TEST_CASE(env_names) {
  BOOST_TEST(rotary::is_env_name("APP_TOKEN"));
  BOOST_TEST(rotary::is_env_name("_x1"));
  BOOST_TEST(!rotary::is_env_name(""));
  BOOST_TEST(!rotary::is_env_name("1A"));
  BOOST_TEST(!rotary::is_env_name("A=B"));
  BOOST_TEST(!rotary::is_env_name("A B"));
}

BOOST_AUTO_TEST_CASE(the_secret_file_is_written_atomically_with_mode_0600) {
  temp_dir dir;
  const auto file = dir.path / "token";
  BOOST_TEST(rotary::write_secret_file(file, "first") == "");
  BOOST_TEST(read_file(file) == "first\n");
  struct stat st {};
  BOOST_REQUIRE(::stat(file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(rotary::write_secret_file(file, "second") == "");
  BOOST_TEST(read_file(file) == "second\n");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
  BOOST_TEST(entries == 1);  // no temporary left
  const auto missing = dir.path / "no" / "token";
  BOOST_TEST(rotary::write_secret_file(missing, "x") == "cannot create a temporary file in " +
                                                            (dir.path / "no").string() +
                                                            ": No such file or directory");
}
