// Tests of `rotary serve`: the program started as a user starts it, driven over HTTP, stopped
// with a signal.
#define BOOST_TEST_MODULE cli_serve
#include <boost/test/unit_test.hpp>

#include "cli.hpp"
#include "files.hpp"
#include "print.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <rotary/detail/json_wire.hpp>  // until rotary/json.hpp includes it
#include <rotary/json.hpp>
#include <rotary/wire.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

using rotary::test::read_file;
using rotary::test::temp_dir;

namespace {

// A running `rotary serve`: started with its stdout and stderr on pipes; the first stdout line
// is read (it says the server listens), then nothing is read until stop() sends a signal and
// collects the rest of both pipes.
class serve_process {
 public:
  explicit serve_process(const std::vector<std::string>& args,
                         const std::vector<std::string>& extra_env = {}) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    for (int fd : {out[0], out[1], err[0], err[1]}) posix_spawn_file_actions_addclose(&actions, fd);
    std::vector<std::string> storage{ROTARY_BINARY, "serve"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
    env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, ROTARY_BINARY, &actions, nullptr, argv.data(), envp.data()) != 0)
      throw std::runtime_error("cannot start rotary");
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    first_line_ = read_line(10s);
  }
  ~serve_process() {
    if (pid_ > 0) stop(SIGKILL);
  }

  [[nodiscard]] const std::string& first_line() const { return first_line_; }
  [[nodiscard]] nlohmann::json hello() const { return nlohmann::json::parse(first_line_); }
  [[nodiscard]] std::string url() const { return hello().at("url").get<std::string>(); }
  [[nodiscard]] std::string admin_key() const { return hello().at("adminKey").get<std::string>(); }

  struct ending {
    int exit = -1;
    std::string out;  // after the first line
    std::string err;
  };
  ending stop(int sig = SIGTERM) {
    kill(pid_, sig);
    ending e;
    drain(e.out, e.err);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    close(out_);
    close(err_);
    e.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return e;
  }

 private:
  std::string read_line(std::chrono::milliseconds wait) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    char c = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      if (read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return line;
  }
  // Reads both pipes at once until both end: the program may be waiting to write either.
  void drain(std::string& out, std::string& err) const {
    bool out_open = true, err_open = true;
    char buf[4096];
    while (out_open || err_open) {
      pollfd p[2] = {{out_open ? out_ : -1, POLLIN, 0}, {err_open ? err_ : -1, POLLIN, 0}};
      if (poll(p, 2, 10'000) <= 0) break;  // 10 s without a byte: give up (the test fails)
      for (int i = 0; i < 2; ++i) {
        if (p[i].revents == 0) continue;
        const auto n = read(p[i].fd, buf, sizeof buf);
        if (n <= 0) {
          (i == 0 ? out_open : err_open) = false;
          continue;
        }
        (i == 0 ? out : err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }

  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  std::string first_line_;
};

const std::vector<std::string> test_flags = {
    "--port",       "0", "--warp",           "0", "--start", "2027-01-01T00:00:00Z",
    "--min-period", "1", "--allow-no-expiry"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

httplib::Result admin_call(const std::string& url, const std::string& key, const std::string& method,
                           const std::string& path, const std::string& body = {}) {
  httplib::Client c(url);
  const httplib::Headers h{{"Authorization", "Bearer " + key}};
  if (method == "GET") return c.Get(path, h);
  return c.Post(path, h, body, "application/json");
}

httplib::Result rotate(const std::string& url, const std::string& secret) {
  httplib::Client c(url);
  return c.Post(std::string(rotary::wire::rotate_path), {{"Authorization", "Bearer " + secret}}, "",
                "text/plain");
}

}  // namespace

BOOST_AUTO_TEST_CASE(serve_prints_one_json_line_and_stops_cleanly_on_sigterm) {
  serve_process p(test_flags);
  const auto hello = p.hello();
  BOOST_TEST(hello.size() == 2u);
  BOOST_TEST(p.url().starts_with("http://127.0.0.1:"));
  BOOST_TEST(p.admin_key().size() == 43u);  // random: 32 bytes, base64url
  BOOST_TEST(p.first_line().starts_with("{\"url\":"));
  const auto end = p.stop(SIGTERM);
  BOOST_TEST(end.exit == 0);
  BOOST_TEST(end.out == "");  // exactly one line on stdout
  BOOST_TEST(end.err.find("rotary serve: stopped by SIGTERM") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sigint_stops_it_cleanly_too) {
  serve_process p(test_flags);
  BOOST_TEST(p.stop(SIGINT).exit == 0);
}

BOOST_AUTO_TEST_CASE(a_rotation_through_the_program_logs_ids_and_never_secrets) {
  serve_process p(with(test_flags, {"--log", "-"}));
  const auto url = p.url(), key = p.admin_key();
  const auto created = admin_call(url, key, "POST", "/admin/v1/tokens", R"j({"rotationPeriodMinutes": 60})j");
  BOOST_REQUIRE(created->status == 201);
  const auto token = nlohmann::json::parse(created->body).get<rotary::wire::created_token>();
  BOOST_TEST(token.created_at == rotary::parse_time("2027-01-01T00:00:00Z").value());
  const auto r = rotate(url, token.raw_secret);
  BOOST_REQUIRE(r->status == 200);
  const auto child = nlohmann::json::parse(r->body).get<rotary::wire::rotate_response>();
  BOOST_TEST(rotate(url, token.raw_secret)->status == 401);
  const auto end = p.stop();
  BOOST_TEST(end.err.find("2027-01-01T00:00:00Z POST /admin/v1/tokens 201 token-created token=tok_1\n") !=
             std::string::npos);
  BOOST_TEST(
      end.err.find(
          "2027-01-01T00:00:00Z POST /api/index/v1/rotatetoken 200 rotation token=tok_1 child=tok_2\n") !=
      std::string::npos);
  BOOST_TEST(end.err.find(
                 "POST /api/index/v1/rotatetoken 401 rotation-refused token=tok_1 error=already-rotated\n") !=
             std::string::npos);
  BOOST_TEST(end.err.find(token.raw_secret) == std::string::npos);
  BOOST_TEST(end.err.find(child.raw_secret) == std::string::npos);
  BOOST_TEST(end.err.find(key) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(warp_zero_freezes_the_clock_until_the_admin_api_moves_it) {
  serve_process p(test_flags);
  const auto url = p.url(), key = p.admin_key();
  std::this_thread::sleep_for(1100ms);
  BOOST_TEST(admin_call(url, key, "GET", "/admin/v1/clock")->body == R"j({"now":1798761600,"warp":0.0})j");
  BOOST_TEST(admin_call(url, key, "POST", "/admin/v1/clock", R"j({"advanceSeconds": 3600})j")->body ==
             R"j({"now":1798765200,"warp":0.0})j");
}

BOOST_AUTO_TEST_CASE(the_admin_key_comes_from_the_flag_or_the_environment) {
  {
    serve_process p(test_flags, {"ROTARY_ADMIN_KEY=from-env"});
    BOOST_TEST(p.admin_key() == "from-env");
    BOOST_TEST(admin_call(p.url(), "from-env", "GET", "/admin/v1/tokens")->status == 200);
  }
  serve_process p(with(test_flags, {"--admin-key", "from-flag"}), {"ROTARY_ADMIN_KEY=from-env"});
  BOOST_TEST(p.admin_key() == "from-flag");
  BOOST_TEST(admin_call(p.url(), "from-env", "GET", "/admin/v1/tokens")->status == 401);
}

// The admin key is checked before anything starts: 8 to 1024 printable ASCII characters, no
// spaces (a key that breaks the header it travels in, or one easy to guess, is refused).
BOOST_AUTO_TEST_CASE(an_unusable_admin_key_is_a_usage_error) {
  struct row {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string err;
  };
  const std::vector<row> rows = {
      {{"--admin-key", "short"},
       {},
       "rotary: error: --admin-key: must be at least 8 characters long (it has 5)\n"},
      {{"--admin-key", "has a space"},
       {},
       "rotary: error: --admin-key: must be printable ASCII without spaces: character 4 is a space, a "
       "control "
       "character or not ASCII\n"},
      {{"--admin-key", "trailing-newline\n"},
       {},
       "rotary: error: --admin-key: must be printable ASCII without spaces: character 17 is a space, a "
       "control "
       "character or not ASCII\n"},
      {{},
       {"ROTARY_ADMIN_KEY=bad key!"},
       "rotary: error: ROTARY_ADMIN_KEY: must be printable ASCII without spaces: character 4 is a space, a "
       "control character or not ASCII\n"},
      {{},
       {"ROTARY_ADMIN_KEY=seven77"},
       "rotary: error: ROTARY_ADMIN_KEY: must be at least 8 characters long (it has 7)\n"},
  };
  for (const auto& r : rows) {
    const auto got = rotary::test::run_rotary(with(with({"serve"}, test_flags), r.args), {}, r.env);
    BOOST_TEST_CONTEXT(r.err) {
      BOOST_TEST(got.exit == 2);
      BOOST_TEST(got.out == "");
      BOOST_TEST(got.err == r.err);
    }
  }
}

// --start at the last instant rotary keeps: the clock runs there and stays (it used to hold
// nanoseconds, which wrap after 2262-04-11); one year later is refused.
BOOST_AUTO_TEST_CASE(the_clock_starts_at_9999_12_31_and_stays_there) {
  serve_process p({"--port", "0", "--start", "9999-12-31T23:59:58Z", "--warp", "2"});
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(admin_call(p.url(), p.admin_key(), "GET", "/admin/v1/clock")->body ==
             R"j({"now":253402300799,"warp":2.0})j");
  const auto r = rotary::test::run_rotary({"serve", "--port", "0", "--start", "10000-01-01T00:00:00Z"});
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.err ==
             "rotary: error: --start 10000-01-01T00:00:00Z: the clock cannot go past 9999-12-31T23:59:59Z\n");
}

BOOST_AUTO_TEST_CASE(a_restart_with_the_state_file_resumes_tokens_and_clock) {
  temp_dir dir;
  const auto state = (dir.path / "state.json").string();
  std::string parent_secret;
  rotary::wire::rotate_response child;
  {
    serve_process p({"--port", "0", "--warp", "0", "--start", "2027-01-01T00:00:00Z", "--min-period", "60",
                     "--allow-no-expiry", "--state", state});
    const auto url = p.url(), key = p.admin_key();
    parent_secret =
        nlohmann::json::parse(
            admin_call(url, key, "POST", "/admin/v1/tokens", R"j({"rotationPeriodMinutes": 600})j")->body)
            .at("rawSecret");
    admin_call(url, key, "POST", "/admin/v1/clock", R"j({"advanceSeconds": 120})j");
    child = nlohmann::json::parse(rotate(url, parent_secret)->body).get<rotary::wire::rotate_response>();
    BOOST_TEST(p.stop().exit == 0);
  }
  const auto text = read_file(state);
  BOOST_TEST(text.find(parent_secret) == std::string::npos);
  BOOST_TEST(text.find(child.raw_secret) == std::string::npos);

  // No --start, no --warp: the clock resumes from the file.
  serve_process again({"--port", "0", "--min-period", "60", "--allow-no-expiry", "--state", state});
  const auto url = again.url(), key = again.admin_key();
  BOOST_TEST(admin_call(url, key, "GET", "/admin/v1/clock")->body == R"j({"now":1798761720,"warp":0.0})j");
  BOOST_TEST(rotate(url, parent_secret)->status == 401);
  const auto next = rotate(url, child.raw_secret);
  BOOST_TEST(next->status == 200);
  BOOST_TEST(nlohmann::json::parse(next->body).at("createdAt") == 1798761720);
}

BOOST_AUTO_TEST_CASE(a_corrupt_state_file_stops_the_program_and_is_left_untouched) {
  temp_dir dir;
  const auto state = dir.path / "state.json";
  const std::string junk = "{\"format\": \"something-else\"}\n";
  {
    std::ofstream out(state, std::ios::binary);
    out << junk;
  }
  const auto r = rotary::test::run_rotary(with(with({"serve"}, test_flags), {"--state", state.string()}));
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.out == "");
  BOOST_TEST(r.err ==
             "rotary: error: state file " + state.string() +
                 ": not a rotary fake server state file (no \"format\": \"rotary-fake-server-state\")\n");
  BOOST_TEST(read_file(state) == junk);
}

BOOST_AUTO_TEST_CASE(bad_flags_are_usage_errors) {
  struct row {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<row> rows = {
      {{"--rerotate", "maybe"}, "rotary: error: --rerotate maybe: expected reject, fork or idempotent\n"},
      {{"--greenlist", "10.0.0.0/33"},
       "rotary: error: --greenlist 10.0.0.0/33: prefix length \"33\" must be a number from 0 to 32\n"},
      {{"--greenlist", "example.com"},
       "rotary: error: --greenlist example.com: \"example.com\" is not an IPv4 or IPv6 address\n"},
      {{"--tls-cert", "cert.pem"},
       "rotary: error: --tls-cert and --tls-key go together: give both or neither\n"},
      {{"--warp", "-1"}, "rotary: error: --warp -1: must be between 0 and 1e9\n"},
      {{"--warp", "fast"}, "rotary: error: --warp fast: expected a number (0 freezes the clock)\n"},
      {{"--bind", "localhost"}, "rotary: error: --bind localhost: not an IPv4 or IPv6 address\n"},
      {{"--min-period", "0"}, "rotary: error: --min-period 0: must be a positive whole number of minutes\n"},
      {{"--start", "2027-01-01T00:00:00"},
       "rotary: error: --start 2027-01-01T00:00:00: missing time zone designator: add Z for UTC or an offset "
       "like "
       "+05:30 (column 20)\n"},
  };
  for (const auto& r : rows) {
    const auto got = rotary::test::run_rotary(with({"serve", "--port", "0"}, r.args));
    BOOST_TEST_CONTEXT(r.args[0] << " " << r.args[1]) {
      BOOST_TEST(got.exit == 2);
      BOOST_TEST(got.out == "");
      BOOST_TEST(got.err == r.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_a_clear_error) {
  serve_process first(test_flags);
  const auto port = first.url().substr(first.url().rfind(':') + 1);
  const auto r = rotary::test::run_rotary({"serve", "--port", port});
  BOOST_TEST(r.exit == 1);
  BOOST_TEST(r.err == "rotary: error: cannot listen on 127.0.0.1 port " + port + "\n");
}

// Without --log nothing but the stop line reaches stderr, however many requests come.
BOOST_AUTO_TEST_CASE(without_log_stderr_has_only_the_stop_line) {
  serve_process p(test_flags);
  const auto url = p.url(), key = p.admin_key();
  BOOST_TEST(admin_call(url, key, "GET", "/admin/v1/clock")->status == 200);
  BOOST_TEST(rotate(url, "no-such-secret")->status == 401);
  const auto events = admin_call(url, key, "GET", "/admin/v1/events");
  BOOST_TEST(nlohmann::json::parse(events->body).at("events").size() >= 2u);  // the audit log is kept
  const auto end = p.stop();
  BOOST_TEST(end.err == "rotary serve: stopped by SIGTERM\n");
  BOOST_TEST(end.out == "");
}

// stderr and stdout on pipes the test never reads while it sends 3000 requests: every one is
// answered (a blocking log write used to stall the server after a few hundred). With --log -
// the lines the full pipe cannot take are dropped and counted in the stop line.
BOOST_AUTO_TEST_CASE(pipes_nobody_reads_never_stall_the_server) {
  for (const auto& log : std::vector<std::vector<std::string>>{{}, {"--log", "-"}}) {
    BOOST_TEST_CONTEXT((log.empty() ? "no --log" : "--log -")) {
      serve_process p(with(test_flags, log));
      const auto url = p.url(), key = p.admin_key();
      httplib::Client c(url);
      c.set_keep_alive(true);
      c.set_read_timeout(10, 0);
      const httplib::Headers admin_auth{{"Authorization", "Bearer " + key}};
      const httplib::Headers bad_secret{{"Authorization", "Bearer no-such-secret"}};
      int answered = 0;
      const auto started = std::chrono::steady_clock::now();
      for (int i = 0; i < 3000; ++i) {
        const auto r = i % 2 == 0
                           ? c.Get("/admin/v1/clock", admin_auth)
                           : c.Post(std::string(rotary::wire::rotate_path), bad_secret, "", "text/plain");
        if (!r) break;
        if (r->status == (i % 2 == 0 ? 200 : 401)) ++answered;
      }
      BOOST_TEST(answered == 3000);
      BOOST_TEST((std::chrono::steady_clock::now() - started < 120s));  // generous: about 1 s here
      const auto end = p.stop();
      BOOST_TEST(end.exit == 0);
      if (log.empty()) {
        BOOST_TEST(end.err == "rotary serve: stopped by SIGTERM\n");
      } else {
        // 3000 lines of about 50 bytes overflow a 64 KiB pipe: some are dropped, and counted.
        BOOST_TEST(end.err.find(" log lines dropped: the log did not take them at once)\n") !=
                   std::string::npos);
        BOOST_TEST(end.err.find("rotary serve: stopped by SIGTERM (") != std::string::npos);
      }
    }
  }
}

// --log FILE appends one line per request to FILE (created mode 0600, earlier lines kept).
BOOST_AUTO_TEST_CASE(log_file_gets_one_line_per_request_appended) {
  temp_dir dir;
  const auto file = dir.path / "requests.log";
  {
    serve_process p(with(test_flags, {"--log", file.string()}));
    BOOST_TEST(admin_call(p.url(), p.admin_key(), "GET", "/admin/v1/clock")->status == 200);
    const auto end = p.stop();
    BOOST_TEST(end.err == "rotary serve: stopped by SIGTERM\n");
  }
  BOOST_TEST(read_file(file) == "2027-01-01T00:00:00Z GET /admin/v1/clock 200 admin\n");
  BOOST_TEST(((std::filesystem::status(file).permissions() & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)));
  {
    serve_process p(with(test_flags, {"--log", file.string(), "--json"}));
    BOOST_TEST(rotate(p.url(), "no-such-secret")->status == 401);
    p.stop();
  }
  const auto text = read_file(file);
  BOOST_TEST(text.starts_with("2027-01-01T00:00:00Z GET /admin/v1/clock 200 admin\n{"));
  BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 2);
  // A decoded %0A in the path cannot forge a line: the path is escaped.
  const auto forged = dir.path / "forged.log";
  {
    serve_process p(with(test_flags, {"--log", forged.string()}));
    httplib::Client c(p.url());
    BOOST_TEST(c.Get("/x%0A2027-01-01T00:00:00Z%20POST%20/admin/v1/tokens%20200")->status == 404);
    p.stop();
  }
  BOOST_TEST(read_file(forged) ==
             "2027-01-01T00:00:00Z GET /x\\n2027-01-01T00:00:00Z POST /admin/v1/tokens 200 404 request "
             "error=not-found\n");
  const auto second = nlohmann::json::parse(text.substr(text.find('\n') + 1));
  BOOST_TEST(second.at("path") == "/api/index/v1/rotatetoken");
  BOOST_TEST(second.at("status") == 401);
}

BOOST_AUTO_TEST_CASE(a_log_file_that_cannot_be_opened_is_a_usage_error) {
  temp_dir dir;
  const auto file = (dir.path / "missing" / "requests.log").string();
  const auto r = rotary::test::run_rotary(with(with({"serve"}, test_flags), {"--log", file}));
  BOOST_TEST(r.exit == 2);
  BOOST_TEST(r.out == "");
  BOOST_TEST(r.err ==
             "rotary: error: --log " + file + ": cannot open for appending: No such file or directory\n");
}

BOOST_AUTO_TEST_CASE(help_lists_the_admin_endpoints_and_typed_flags) {
  const auto r = rotary::test::run_rotary({"serve", "--help"});
  BOOST_TEST(r.exit == 0);
  for (const auto* text :
       {"POST   /admin/v1/tokens       {\"rotationPeriodMinutes\"?: minutes, \"expiresAt\"?: instant}",
        "POST   /admin/v1/clock        {\"advanceSeconds\": seconds} or {\"set\": instant}",
        "GET    /admin/v1/events", "GET    /admin/v1/faults", "DELETE revokes it", "docs/fake-server.md",
        "--start INSTANT", "--buffer DURATION", "--bind ADDRESS", "--port PORT", "--log FILE|-",
        "--admin-key KEY", "--threads N"})
    BOOST_TEST_CONTEXT(text) { BOOST_TEST(r.out.find(text) != std::string::npos); }
  BOOST_TEST(r.out.find("TEXT") == std::string::npos);
}
