#define BOOST_TEST_MODULE hostile_endpoint
// rotary::rotate, check_token and `rotary rotate` against an endpoint that misbehaves at the
// byte level (tests/hostile_endpoint.cpp): each ends within its deadline, reads no more than
// answer_limits, and says exactly what went wrong. And interpret_rotate_response, the same
// reading without a socket.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <rotary/client.hpp>
#include <rotary/clock.hpp>

#include <array>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "files.hpp"
#include "print.hpp"

using namespace std::chrono_literals;
using rotary::rotate_error;
using rotary::test::temp_dir;

namespace {

const std::string secret_sent = "hostile-test-secret-0123456789";

// tests/hostile_endpoint in MODE, for the life of the object. Its stdin is a pipe this object
// holds: closing it (or this process dying) ends the program.
class hostile {
 public:
  explicit hostile(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::vector<std::string> storage{ROTARY_HOSTILE_ENDPOINT};
    storage.insert(storage.end(), args.begin(), args.end());
    // Slow drips, and a limit that ends an unbounded client's wait with a failure, not a hang.
    storage.insert(storage.end(), {"--interval-ms", "300", "--limit-ms", "15000"});
    std::vector<char*> argv;
    for (auto& a : storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    if (rc != 0) {
      ::close(out[0]);
      throw std::runtime_error("cannot start " + storage[0]);
    }
    std::string line;
    std::array<char, 64> buf{};
    while (line.find('\n') == std::string::npos) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 10'000) <= 0) break;
      const auto n = ::read(out[0], buf.data(), buf.size());
      if (n <= 0) break;
      line.append(buf.data(), static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    port_ = std::atoi(line.c_str());
    if (port_ <= 0) throw std::runtime_error("hostile_endpoint printed no port");
  }
  hostile(const hostile&) = delete;
  hostile& operator=(const hostile&) = delete;
  ~hostile() {
    ::close(stdin_);
    int status = 0;
    for (int n = 0; n < 50; ++n) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(100ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  [[nodiscard]] std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string url(const std::string& scheme = "http") const {
    return scheme + "://" + target();
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

// The peak resident memory of this process so far, in KiB (VmHWM in /proc/self/status).
long peak_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// "{target}" in `text` becomes `target`.
std::string with_target(std::string text, const std::string& target) {
  const auto at = text.find("{target}");
  if (at != std::string::npos) text.replace(at, 8, target);
  return text;
}

// Connects in 1 s, reads and writes with 5 s each, and has 2 s for everything: a drip faster than
// the read timeout is only stopped by the total.
const rotary::client_options bounded{.connect_timeout = 1s, .read_timeout = 5s, .total_timeout = 2s};

struct hostile_case {
  std::vector<std::string> args;  // the mode and its argument
  rotate_error::kind_type kind;
  int status;
  std::string code;
  std::string message;  // "{target}" stands for 127.0.0.1:PORT
  bool may_have_committed;
  std::string scheme = "http";
  rotary::client_options options = bounded;
};

const std::string unasked_gzip =
    "the answer is in Content-Encoding gzip, which the request did not ask for (it sent Accept-Encoding: "
    "identity)";

const std::vector<hostile_case> cases = {
    {{"drip-headers"},
     rotate_error::transport,
     0,
     "timeout",
     "no complete answer from {target} within 2s (while reading the answer's headers)",
     true},
    {{"endless-headers"},
     rotate_error::malformed_response,
     200,
     "malformed-response",
     "the answer has more than 100 header lines",
     true},
    {{"big-headers"},
     rotate_error::malformed_response,
     200,
     "malformed-response",
     "the answer's status line and headers are larger than 32 KiB",
     true},
    {{"huge-header"},
     rotate_error::malformed_response,
     200,
     "malformed-response",
     "the answer has a header line longer than 8 KiB",
     true},
    {{"gzip-bomb"}, rotate_error::malformed_response, 200, "malformed-response", unasked_gzip, true},
    {{"unasked-encoding"}, rotate_error::malformed_response, 200, "malformed-response", unasked_gzip, true},
    {{"endless-body"},
     rotate_error::malformed_response,
     200,
     "malformed-response",
     "the response body is larger than 64 KiB (Content-Length 1099511627776)",
     true},
    {{"endless-chunked"},
     rotate_error::malformed_response,
     200,
     "malformed-response",
     "the response body is larger than 64 KiB",
     true},
    {{"endless-unframed"},
     rotate_error::malformed_response,
     200,
     "malformed-response",
     "the response body is larger than 64 KiB",
     true},
    // A non-2xx keeps its status: its first 64 KiB are its body (spaces: no JSON, no code).
    {{"status-endless-body"}, rotate_error::server_error, 500, "http-500", "", false},
    {{"slow-body"},
     rotate_error::transport,
     0,
     "timeout",
     "no complete answer from {target} within 2s (while reading the answer's body)",
     true},
    {{"silent"},
     rotate_error::transport,
     0,
     "timeout",
     "no complete answer from {target} within 2s (while waiting for the answer)",
     true},
    {{"silent"},
     rotate_error::transport,
     0,
     "read-timeout",
     "no answer from {target} within 500ms after the request was sent",
     true,
     "http",
     {.connect_timeout = 1s, .read_timeout = 500ms, .total_timeout = 2s}},
    {{"close-mid-headers"},
     rotate_error::transport,
     0,
     "connection-closed",
     "the connection to {target} was closed or reset in the middle of the answer's headers",
     true},
    // A TLS record that never completes: only the watchdog ends the handshake. Nothing was sent.
    {{"drip-tls"},
     rotate_error::transport,
     0,
     "timeout",
     "no complete answer from {target} within 2s (while connecting)",
     false,
     "https"},
};

}  // namespace

BOOST_AUTO_TEST_CASE(every_misbehaviour_ends_within_the_deadline_with_its_exact_error) {
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.args[0] << " (" << c.code << ")") {
      hostile h(c.args);
      const long before = peak_kib();
      const auto start = std::chrono::steady_clock::now();
      const auto r = rotary::rotate(h.url(c.scheme), secret_sent, c.options);
      const auto took = std::chrono::steady_clock::now() - start;
      BOOST_TEST_REQUIRE(!r.has_value());
      const auto& e = r.error();
      rotate_error expected_kind;
      expected_kind.kind = c.kind;
      BOOST_TEST(e.kind_name() == expected_kind.kind_name());
      BOOST_TEST(e.status == c.status);
      BOOST_TEST(e.code == c.code);
      BOOST_TEST(e.message == with_target(c.message, h.target()));
      BOOST_TEST(e.may_have_committed == c.may_have_committed);
      BOOST_TEST(e.transient());
      BOOST_TEST(e.describe().find(secret_sent) == std::string::npos);
      BOOST_TEST(took < *c.options.total_timeout + 2s);
      // What was read stayed small: the gzip bomb alone would be 2 GiB once inflated.
      BOOST_TEST(peak_kib() - before < 32 * 1024);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_scripted_well_formed_chunked_answer_still_rotates) {
  temp_dir dir;
  const auto file = dir.path / "answer";
  rotary::test::write_file(
      file,
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
      "Content-Encoding: identity\r\n\r\n"
      "10\r\n{\"rawSecret\":\"ab\r\n"
      "40\r\ncdefghijkl\",\"createdAt\":1798761600,\"rotationPeriodMinutes\":3600}\r\n"
      "0\r\n\r\n");
  hostile h({"raw", file.string()});
  const auto r = rotary::rotate(h.url(), secret_sent, bounded);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().describe()));
  BOOST_TEST(r->raw_secret == "abcdefghijkl");
  BOOST_TEST(r->created_at == rotary::from_unix(1'798'761'600));
  BOOST_TEST(r->rotation_period == std::chrono::minutes{3600});
}

BOOST_AUTO_TEST_CASE(an_answer_that_is_not_http_is_malformed) {
  temp_dir dir;
  const auto file = dir.path / "answer";
  rotary::test::write_file(file, "hello\r\n\r\n");
  hostile h({"raw", file.string()});
  const auto r = rotary::rotate(h.url(), secret_sent, bounded);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().kind == rotate_error::malformed_response));
  BOOST_TEST(r.error().status == 0);
  BOOST_TEST(r.error().message == "the answer does not begin with an HTTP/1.0 or HTTP/1.1 status line");
  BOOST_TEST(r.error().may_have_committed);
}

BOOST_AUTO_TEST_CASE(a_check_against_a_dripping_endpoint_times_out_and_commits_nothing) {
  hostile h({"drip-headers"});
  const auto start = std::chrono::steady_clock::now();
  const auto r = rotary::check_token(h.url(), secret_sent, bounded);
  BOOST_TEST(std::chrono::steady_clock::now() - start < 4s);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code == "timeout");
  BOOST_TEST(r.error().message ==
             "no complete answer from " + h.target() + " within 2s (while reading the answer's headers)");
  BOOST_TEST(!r.error().may_have_committed);
}

BOOST_AUTO_TEST_CASE(a_check_reads_no_body_of_a_2xx) {
  hostile h({"endless-chunked"});  // a 200 whose body never ends: a check needs only the status
  BOOST_TEST(rotary::check_token(h.url(), secret_sent, bounded).has_value());
}

BOOST_AUTO_TEST_CASE(total_timeout_defaults_to_connect_plus_read) {
  BOOST_TEST(rotary::detail::total_timeout({}) == 40s);
  BOOST_TEST(rotary::detail::total_timeout({.connect_timeout = 1s, .read_timeout = 300ms}) == 1300ms);
  BOOST_TEST(rotary::detail::total_timeout({.total_timeout = 5s}) == 5s);
  BOOST_TEST(rotary::detail::format_timeout(1500ms) == "1500ms");
  BOOST_TEST(rotary::detail::format_timeout(90s) == "1m30s");
}

namespace {

httplib::Response answer(int status, std::vector<std::pair<std::string, std::string>> headers,
                         std::string body = R"({"rawSecret":"child-0123","createdAt":1798761600,)"
                                            R"("rotationPeriodMinutes":3600})") {
  httplib::Response r;
  r.status = status;
  for (auto& [k, v] : headers) r.headers.emplace(k, v);
  r.body = std::move(body);
  return r;
}

}  // namespace

// The socket-free reading of an answer (what rotate() does once the bytes arrived), case by case.
BOOST_AUTO_TEST_CASE(interpret_rotate_response_refuses_each_unreadable_framing_with_its_text) {
  struct refusal {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string message;  // empty: accepted
  };
  const std::vector<refusal> table = {
      {{}, ""},
      {{{"Content-Encoding", "identity"}}, ""},
      {{{"content-encoding", " IDENTITY "}}, ""},
      {{{"Content-Encoding", "gzip"}}, unasked_gzip},
      {{{"Content-Encoding", "identity"}, {"Content-Encoding", "br"}},
       "the answer is in Content-Encoding br, which the request did not ask for (it sent Accept-Encoding: "
       "identity)"},
      {{{"Content-Encoding", "x-" + secret_sent + "\x01"}},
       "the answer is in Content-Encoding x-<secret>\\x01, which the request did not ask for (it sent "
       "Accept-Encoding: identity)"},
      {{{"Transfer-Encoding", "chunked"}}, ""},
      {{{"Transfer-Encoding", "gzip, chunked"}},
       "the answer has Transfer-Encoding gzip, chunked; rotary reads only chunked"},
      {{{"Transfer-Encoding", "chunked"}, {"Content-Length", "99999999999"}}, ""},
      {{{"Content-Length", "79"}}, ""},
      {{{"Content-Length", "65536"}}, ""},
      {{{"Content-Length", "0000000000065536"}}, ""},
      {{{"Content-Length", "65537"}}, "the response body is larger than 64 KiB (Content-Length 65537)"},
      {{{"Content-Length", "184467440737095516160"}},
       "the response body is larger than 64 KiB (Content-Length 184467440737095516160)"},
      {{{"Content-Length", "12a"}}, "the answer's Content-Length (12a) is not a number of bytes"},
      {{{"Content-Length", "-1"}}, "the answer's Content-Length (-1) is not a number of bytes"},
      {{{"Content-Length", ""}}, "the answer's Content-Length () is not a number of bytes"},
      {{{"Content-Length", "79"}, {"Content-Length", "80"}},
       "the answer has two different Content-Length headers"},
      {{{"Content-Length", "79"}, {"Content-Length", "79"}}, ""},
  };
  for (const auto& t : table) {
    std::ostringstream name;
    for (const auto& [k, v] : t.headers) name << k << ": " << v << "; ";
    BOOST_TEST_CONTEXT(name.str()) {
      const auto r = rotary::interpret_rotate_response(answer(200, t.headers), secret_sent);
      if (t.message.empty()) {
        BOOST_TEST(r.has_value());
      } else {
        BOOST_TEST_REQUIRE(!r.has_value());
        BOOST_TEST((r.error().kind == rotate_error::malformed_response));
        BOOST_TEST(r.error().status == 200);
        BOOST_TEST(r.error().code == "malformed-response");
        BOOST_TEST(r.error().message == t.message);
        BOOST_TEST(r.error().may_have_committed);
      }
    }
  }
  // A non-2xx is its status whatever its framing; a 2xx body is read as before.
  const auto refused = rotary::interpret_rotate_response(
      answer(401, {{"Content-Encoding", "gzip"}}, R"({"error":"already-rotated","message":"no"})"),
      secret_sent);
  BOOST_TEST(refused.error().code == "already-rotated");
  BOOST_TEST(!refused.error().may_have_committed);
  BOOST_TEST(rotary::interpret_rotate_response(answer(200, {}, "{}"), secret_sent).error().message ==
             "rawSecret: missing or not a string");
}

// `rotary rotate --timeout 2s` against an endpoint that drips headers: each run ends within the
// bound with its one line, so a second run waiting for the lock gets it and is not stacked.
BOOST_AUTO_TEST_CASE(rotary_rotate_against_a_dripping_endpoint_ends_within_timeout_and_frees_the_lock) {
  hostile h({"drip-headers"});
  temp_dir dir;
  const std::string store = (dir.path / "token.store").string();
  const auto now = rotary::real_clock{}.now();
  const auto init =
      rotary::test::run_rotary({"rotate", "--init", "--store", store, "--plaintext", "--period", "3600",
                                "--created", rotary::format_time(now - std::chrono::hours{1}), "--expires",
                                rotary::format_time(now + std::chrono::days{300}), "--endpoint", h.url()},
                               secret_sent + "\n");
  BOOST_REQUIRE_MESSAGE(init.exit == 0, init.out + init.err);
  const std::vector<std::string> run = {"rotate", "--store",   store, "--plaintext", "--retries",
                                        "0",      "--timeout", "2s",  "--lock-wait", "10s"};
  const auto start = std::chrono::steady_clock::now();
  rotary::test::run_result first;
  std::thread t([&] { first = rotary::test::run_rotary(run); });
  std::this_thread::sleep_for(300ms);
  const auto second = rotary::test::run_rotary(run);
  t.join();
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(took < 4s + 3s);  // two runs of at most 2 s each, one after the other
  const std::string expected =
      " failed: failed after 1 attempt (transport timeout: no complete answer from " + h.target() +
      " within 2s (while reading the answer's headers)); the token is usable until ";
  for (const auto* r : std::array<const rotary::test::run_result*, 2>{&first, &second}) {
    BOOST_TEST(r->exit == 1);
    BOOST_TEST(r->err == "");
    BOOST_TEST(r->out.find('\n') == r->out.size() - 1);
    BOOST_TEST(r->out.substr(20, expected.size()) == expected);
    BOOST_TEST(r->out.find(secret_sent) == std::string::npos);
  }
}
