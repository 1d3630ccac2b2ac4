// rotary agent end to end, on the real clock: a fake server with one-minute tokens, the agent
// as a child process rotating each one as it comes due, SIGHUP and SIGTERM.
#define BOOST_TEST_MODULE cli_agent
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <rotary/client.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/store.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "files.hpp"

extern char** environ;

using namespace std::chrono_literals;
using rotary::test::run_rotary;
using rotary::test::temp_dir;

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A fake server on the real clock, a one-minute token, a store made by `rotate --init`.
struct fixture {
  rotary::fake_server server{options()};
  std::string url = server.start();
  temp_dir dir;
  std::string key = (dir.path / "key").string();
  std::string store = (dir.path / "token.store").string();
  std::string secret;

  fixture() {
    BOOST_REQUIRE(run_rotary({"keygen", "--out", key}).exit == 0);
    const auto t = server.create_token({.rotation_period = std::chrono::minutes{1}}).value();
    secret = t.raw_secret;
    const auto init = run_rotary({"rotate", "--init", "--store", store, "--key-file", key, "--endpoint", url,
                                  "--period", "1", "--created", rotary::format_time(t.created_at)},
                                 t.raw_secret + "\n");
    BOOST_REQUIRE_MESSAGE(init.exit == 0, init.out + init.err);
  }
  static rotary::fake_server_options options() {
    rotary::fake_server_options o;
    o.min_period = std::chrono::minutes{1};
    o.require_expiry = false;
    o.threads = 4;
    return o;
  }
};

// `rotary agent ARGS` with stdout and stderr in files.
struct agent_process {
  pid_t pid = -1;
  std::filesystem::path out, err;
  agent_process(const std::vector<std::string>& args, const std::filesystem::path& dir)
      : out(dir / "agent.out"), err(dir / "agent.err") {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> storage{ROTARY_BINARY, "agent"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid, ROTARY_BINARY, &actions, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start rotary agent");
    posix_spawn_file_actions_destroy(&actions);
  }
  agent_process(const agent_process&) = delete;
  agent_process& operator=(const agent_process&) = delete;
  ~agent_process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  // Waits (real time, bounded) until stdout holds `n` times `what`.
  bool wait_for(const std::string& what, std::size_t n, std::chrono::seconds limit) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (count_of(read_all(out), what) >= n) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  // Sends `sig` and waits for the exit: the status, and how long it took.
  std::pair<int, std::chrono::milliseconds> stop(int sig = SIGTERM) {
    const auto start = std::chrono::steady_clock::now();
    kill(pid, sig);
    int status = 0;
    for (int i = 0; i < 1000; ++i) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return {
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
      }
      std::this_thread::sleep_for(10ms);
    }
    return {-1, 0ms};
  }
};

}  // namespace

// One-minute tokens, due 55 s before their end: the agent rotates one every 5 s or so, each
// while it still works; SIGHUP makes it read the store again at once; SIGTERM stops it with 0.
BOOST_AUTO_TEST_CASE(the_agent_rotates_each_token_as_it_comes_due_on_the_real_clock) {
  fixture f;
  agent_process agent({"--store", f.store, "--key-file", f.key, "--strategy", "when-due:55s", "--max-jitter",
                       "0s", "--retry-delay", "1s"},
                      f.dir.path);
  BOOST_TEST(agent.wait_for(" rotated: ", 2, 40s), read_all(agent.out) + read_all(agent.err));
  const auto before = count_of(read_all(agent.out), " not-due: ");
  kill(agent.pid, SIGHUP);
  BOOST_TEST(agent.wait_for(" woken: reading the store again", 1, 10s));
  BOOST_TEST(agent.wait_for(" not-due: ", before + 1, 10s));  // the run after the wake-up
  const auto [status, took] = agent.stop();
  BOOST_TEST(status == 0);
  BOOST_TEST(took < 5s);  // generous: it sleeps, so it stops at once
  BOOST_TEST_MESSAGE("stopped " << took.count() << " ms after SIGTERM");
  const auto out = read_all(agent.out);
  BOOST_TEST(out.find(" agent started\n") != std::string::npos);
  BOOST_TEST(out.ends_with(" agent stopped\n"), out);
  BOOST_TEST(out.find(" sleeping until ") != std::string::npos);
  BOOST_TEST(out.find(f.secret) == std::string::npos);  // never a secret
  BOOST_TEST(read_all(agent.err) == "");
  // The store holds a token the server accepts, and the first one was rotated.
  const auto held = rotary::token_store(f.store, rotary::store_key::from_file(f.key).value()).load().value();
  BOOST_TEST(held.current.secret != f.secret);
  BOOST_TEST(rotary::check_token(f.url, held.current.secret).has_value());
}

BOOST_AUTO_TEST_CASE(json_prints_one_event_per_line) {
  fixture f;
  agent_process agent({"--store", f.store, "--key-file", f.key, "--strategy", "when-due:10s", "--json"},
                      f.dir.path);
  BOOST_TEST(agent.wait_for("\"event\":\"sleeping\"", 1, 10s));
  BOOST_TEST(agent.stop(SIGINT).first == 0);
  std::istringstream lines(read_all(agent.out));
  std::vector<std::string> kinds;
  for (std::string line; std::getline(lines, line);) kinds.push_back(nlohmann::json::parse(line).at("event"));
  BOOST_REQUIRE(kinds.size() == 4u);
  BOOST_TEST(kinds[0] == "started");
  BOOST_TEST(kinds[1] == "run");
  BOOST_TEST(kinds[2] == "sleeping");
  BOOST_TEST(kinds[3] == "stopped");
}

BOOST_AUTO_TEST_CASE(a_misconfigured_job_exits_2_with_its_report) {
  temp_dir dir;
  const auto key = (dir.path / "key").string();
  const auto store = (dir.path / "token.store").string();
  BOOST_REQUIRE(run_rotary({"keygen", "--out", key}).exit == 0);
  BOOST_REQUIRE(
      run_rotary({"rotate", "--init", "--store", store, "--key-file", key, "--period", "60"}, "secret-1\n")
          .exit == 0);
  const auto r = run_rotary({"agent", "--store", store, "--key-file", key});
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(
      r.out.find(" misconfigured: no endpoint: the store has none, give --endpoint URL") != std::string::npos,
      r.out);
  BOOST_TEST(r.out.ends_with(" agent stopped\n"));
}

BOOST_AUTO_TEST_CASE(bad_agent_flags_exit_2_with_one_line) {
  temp_dir dir;
  const auto key = (dir.path / "key").string();
  BOOST_REQUIRE(run_rotary({"keygen", "--out", key}).exit == 0);
  const std::vector<std::string> base = {"agent", "--store", (dir.path / "s").string(), "--key-file", key};
  auto with = [&](std::vector<std::string> extra) {
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--strategy", "always"},
       "--strategy always: an agent needs when-due:DUR (it would rotate at every wake-up)"},
      {{"--recheck", "10s"}, "--recheck 10s: at least 1m"},
      {{"--recheck", "soon"}, "--recheck soon: expected a number, found 's' (column 1)"},
      {{"--max-jitter", "5x"}, "--max-jitter 5x: unknown unit 'x': expected s, m, h, d or w (column 2)"},
      {{"--seed", "x"}, "--seed x: expected a whole number"},
      {{"--on-rotate-secret-env", "X"}, "--on-rotate-secret-env needs --on-rotate"},
  };
  for (const auto& [extra, error] : cases) {
    BOOST_TEST_CONTEXT(extra.front()) {
      const auto r = run_rotary(with(extra));
      BOOST_TEST(r.exit == 2);
      BOOST_TEST(r.err == "rotary: error: " + error + "\n");
      BOOST_TEST(r.out == "");
    }
  }
  BOOST_TEST(run_rotary({"agent", "--help"}).out.find("SIGHUP reads the store again now") !=
             std::string::npos);
}
