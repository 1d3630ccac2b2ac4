// Tests of the fake server against failures and hostile clients (docs/fake-server.md, "Limits"
// and "State file"): a change whose save fails is not made; the clock reaches
// 9999-12-31T23:59:59Z and its state file reads back; bodies, header fields and slow clients are
// cut off at their limits while they are read, before any authentication; the Authorization
// header is read exactly; a temporary file left by a killed save is removed at start.
#define BOOST_TEST_MODULE fake_server_limits
#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "net.hpp"
#include "print.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace wire = rotary::wire;
using rotary::to_unix;
using rotary::test::body_of;
using rotary::test::connection;
using rotary::test::raw_exchange;
using rotary::test::read_file;
using rotary::test::status_of;
using rotary::test::temp_dir;

namespace {

const rotary::sys_seconds midnight = rotary::from_unix(1'798'761'600);  // 2027-01-01T00:00:00Z
const std::string admin_key = "admin-key-for-tests";

rotary::fake_server_options test_options(rotary::manual_clock& clock) {
  rotary::fake_server_options o;
  o.clock = clock;
  o.min_period = 1min;
  o.require_expiry = false;
  o.admin_key = admin_key;
  o.threads = 8;
  return o;
}

std::string request(const std::string& method, const std::string& path, const std::string& authorization,
                    const std::string& body = {}) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!authorization.empty()) r += "Authorization: " + authorization + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

std::string chunked(const std::string& body, std::size_t chunk) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); i += chunk) {
    const auto part = body.substr(i, chunk);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out += size + part + "\r\n";
  }
  return out;
}

}  // namespace

// --- 1. a change is made only once it is saved -----------------------------------------------------

// The state file is replaced by a directory: rename() onto it fails (as root too). Each change
// then answers 500 and leaves the server as it was; once saving works again the same token
// rotates (it was never rotated), and the audit log claims no rotation that did not happen.
BOOST_AUTO_TEST_CASE(a_change_whose_save_fails_answers_500_and_is_not_made) {
  temp_dir dir;
  const auto state = dir.path / "state.json";
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.state_file = state;
  rotary::fake_server server{o};
  server.start();
  const auto token = server.create_token({.rotation_period = 60min}).value();
  const auto saved = read_file(state);

  fs::remove(state);
  fs::create_directory(state);  // the next save cannot replace it
  const std::string not_saved_admin = "state file " + state.string() + ": cannot replace " + state.string() +
                                      ": Is a directory (nothing was changed)";

  auto raw =
      raw_exchange(server.port(), request("POST", "/api/index/v1/rotatetoken", "Bearer " + token.raw_secret));
  BOOST_TEST(status_of(raw) == 500);
  BOOST_TEST(
      body_of(raw) ==
      R"j({"error":"state-not-saved","message":"the server could not save its state file: the token was not rotated, try again"})j");
  raw = raw_exchange(server.port(), request("POST", "/admin/v1/tokens", "Bearer " + admin_key, "{}"));
  BOOST_TEST(status_of(raw) == 500);
  BOOST_TEST(body_of(raw) ==
             nlohmann::json({{"error", "state-not-saved"}, {"message", not_saved_admin}}).dump());
  raw = raw_exchange(server.port(), request("DELETE", "/admin/v1/tokens/tok_1", "Bearer " + admin_key));
  BOOST_TEST(status_of(raw) == 500);
  BOOST_TEST(body_of(raw) ==
             nlohmann::json({{"error", "state-not-saved"}, {"message", not_saved_admin}}).dump());
  raw = raw_exchange(server.port(), request("POST", "/admin/v1/clock", "Bearer " + admin_key,
                                            R"j({"advanceSeconds": 600})j"));
  BOOST_TEST(status_of(raw) == 500);
  BOOST_TEST(body_of(raw) ==
             nlohmann::json({{"error", "state-not-saved"}, {"message", not_saved_admin}}).dump());
  BOOST_CHECK_THROW((void)server.create_token({.rotation_period = 60min}), rotary::state_not_saved);
  BOOST_CHECK_THROW(server.revoke("tok_1"), rotary::state_not_saved);
  BOOST_CHECK_THROW(server.advance_clock(10min), rotary::state_not_saved);
  BOOST_CHECK_THROW(server.set_clock(midnight + 1h), rotary::state_not_saved);

  // Nothing of it happened.
  BOOST_TEST(server.token_count() == 1U);
  const auto view = server.token("tok_1").value();
  BOOST_TEST(view.status == "active");
  BOOST_TEST(view.child_ids.empty());
  BOOST_TEST(!view.state.rotated_at.has_value());
  BOOST_TEST(to_unix(server.now()) == to_unix(midnight));
  bool claims_rotation = false;
  for (const auto& e : server.events()) claims_rotation = claims_rotation || e.kind == "rotation";
  BOOST_TEST(!claims_rotation);
  const auto last = server.events();
  BOOST_TEST(std::count_if(last.begin(), last.end(), [](const wire::event& e) {
               return e.kind == "rotation-refused" && e.status == 500 && e.error == "state-not-saved" &&
                      e.token_id == "tok_1";
             }) == 1);

  // Saving works again: the same token rotates, once, and the file says so.
  fs::remove(state);
  raw =
      raw_exchange(server.port(), request("POST", "/api/index/v1/rotatetoken", "Bearer " + token.raw_secret));
  BOOST_TEST(status_of(raw) == 200);
  BOOST_TEST(server.token_count() == 2U);
  BOOST_TEST(server.token("tok_1").value().status == "rotated");
  const auto file = nlohmann::json::parse(read_file(state));
  BOOST_TEST(file.at("tokens").size() == 2U);
  BOOST_TEST(file.at("tokens").at(1).at("parentId") == "tok_1");
  raw =
      raw_exchange(server.port(), request("POST", "/api/index/v1/rotatetoken", "Bearer " + token.raw_secret));
  BOOST_TEST(status_of(raw) == 401);  // now it was rotated
  BOOST_TEST(body_of(raw).find("already-rotated") != std::string::npos);
}

// --- 2. the clock reaches 9999-12-31T23:59:59Z --------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_clock_reaches_9999_and_its_state_file_reads_back) {
  temp_dir dir;
  const auto state = dir.path / "state.json";
  const auto last = rotary::warp_clock_max;
  BOOST_TEST(rotary::format_time(last) == "9999-12-31T23:59:59Z");
  {
    rotary::fake_server_options o;
    o.clock = rotary::server_clock::warped(midnight, 1.0);
    o.admin_key = admin_key;
    o.state_file = state;
    rotary::fake_server server{o};
    server.start();
    auto raw = raw_exchange(server.port(), request("POST", "/admin/v1/clock", "Bearer " + admin_key,
                                                   R"j({"set": 253402300790, "warp": 10})j"));
    BOOST_TEST(status_of(raw) == 200);
    BOOST_TEST(body_of(raw) == R"j({"now":253402300790,"warp":10.0})j");
    std::this_thread::sleep_for(1500ms);  // 15 virtual seconds: it stops at the last instant
    BOOST_TEST(to_unix(server.now()) == 253402300799);
    raw = raw_exchange(server.port(), request("POST", "/admin/v1/clock", "Bearer " + admin_key,
                                              R"j({"advanceSeconds": 1})j"));
    BOOST_TEST(status_of(raw) == 400);
    BOOST_TEST(
        body_of(raw) ==
        R"j({"error":"invalid-request","message":"advanceSeconds: the clock cannot go past 9999-12-31T23:59:59Z"})j");
    raw = raw_exchange(server.port(), request("POST", "/admin/v1/clock", "Bearer " + admin_key,
                                              R"j({"set": 253402300799, "warp": 0})j"));
    BOOST_TEST(body_of(raw) == R"j({"now":253402300799,"warp":0.0})j");
    BOOST_CHECK_EXCEPTION(server.advance_clock(1s), std::out_of_range, [](const std::out_of_range& e) {
      return std::string(e.what()) == "the clock cannot go past 9999-12-31T23:59:59Z";
    });
    server.stop();
  }
  const auto file = nlohmann::json::parse(read_file(state));
  BOOST_TEST(file.at("clock").at("now").get<std::int64_t>() == 253402300799);
  rotary::fake_server_options o;
  o.clock = rotary::server_clock::warped(midnight, 1.0);
  o.admin_key = admin_key;
  o.state_file = state;
  rotary::fake_server again{o};
  again.start();
  BOOST_TEST(to_unix(again.now()) == 253402300799);
  BOOST_TEST(again.clock().warp == 0.0);
}

// --- 3. limits before authentication ------------------------------------------------------------------

// A chunked body is cut off at the limit as it arrives: the answer comes while the client is
// still sending (before: read to its end, 300 MB buffered, then refused).
BOOST_AUTO_TEST_CASE(a_chunked_body_is_refused_at_the_limit_while_it_is_read) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  server.start();
  connection c(server.port());
  BOOST_REQUIRE(
      c.send("POST /api/index/v1/rotatetoken HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  BOOST_REQUIRE(c.send(chunked(std::string(20 * 1024, 'x'), 1000)));  // and no last chunk: more to come
  const auto started = std::chrono::steady_clock::now();
  const auto raw = c.receive(3s);
  BOOST_TEST(std::chrono::steady_clock::now() - started < 2s);
  BOOST_TEST(status_of(raw) == 413);
  BOOST_TEST(body_of(raw) ==
             R"j({"error":"body-too-large","message":"the request body is larger than 16384 bytes"})j");
  BOOST_TEST(raw.find("\r\nConnection: close\r\n") != std::string::npos);
  const auto e = server.events().back();
  BOOST_TEST(e.kind == "request");
  BOOST_TEST(e.status == 413);
  BOOST_TEST(e.error == "body-too-large");
}

// Up to the limit, chunked or not, a body is read and ignored on rotate.
BOOST_AUTO_TEST_CASE(a_chunked_body_up_to_the_limit_is_accepted) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  server.start();
  const auto t = server.create_token({.rotation_period = 60min}).value();
  const auto raw =
      raw_exchange(server.port(),
                   "POST /api/index/v1/rotatetoken HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer " +
                       t.raw_secret + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                       chunked(std::string(16 * 1024, 'x'), 1000) + "0\r\n\r\n");
  BOOST_TEST(status_of(raw) == 200);
  BOOST_TEST(server.token_count() == 2U);
}

// An over-limit Content-Length is refused from the headers alone (before: cpp-httplib read the
// whole announced body, here 1 GB that never comes, until its read timeout).
BOOST_AUTO_TEST_CASE(an_over_limit_content_length_is_refused_before_its_body_is_read) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  server.start();
  connection c(server.port());
  BOOST_REQUIRE(c.send("POST /admin/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n" +
                       std::string(1000, '{')));
  const auto started = std::chrono::steady_clock::now();
  const auto raw = c.receive(3s);
  BOOST_TEST(std::chrono::steady_clock::now() - started < 2s);
  BOOST_TEST(status_of(raw) == 413);
  BOOST_TEST(body_of(raw) ==
             R"j({"error":"body-too-large","message":"the request body is larger than 16384 bytes"})j");
  BOOST_TEST(raw.find("\r\nConnection: close\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(too_many_or_too_large_header_fields_get_431) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  server.start();
  const std::string too_large =
      R"j({"error":"headers-too-large","message":"the request's header fields are too large (at most 100 fields, 32768 bytes in all, 8192 bytes a line)"})j";
  const auto with_fields = [](int n, std::size_t bytes_each) {
    std::string r = "GET /api/index/v1/ping HTTP/1.1\r\nConnection: close\r\n";  // one field
    for (int i = 1; i < n; ++i)
      r += "X-" + std::to_string(1000 + i) + ": " + std::string(bytes_each, 'v') + "\r\n";
    return r + "\r\n";
  };
  struct row {
    int fields;
    std::size_t bytes_each;
    int status;
  };
  for (const auto& r : std::vector<row>{
           {100, 10, 401}, {101, 10, 431}, {5000, 10, 431}, {4, 8000, 401}, {6, 8000, 431}, {2, 8200, 431}}) {
    BOOST_TEST_CONTEXT(r.fields << " fields of " << r.bytes_each << " bytes") {
      const auto raw = raw_exchange(server.port(), with_fields(r.fields, r.bytes_each));
      BOOST_TEST(status_of(raw) == r.status);
      if (r.status == 431) BOOST_TEST(body_of(raw) == too_large);
      if (r.status == 401) BOOST_TEST(body_of(raw).find("missing-credentials") != std::string::npos);
    }
  }
}

// --- 4. slow and idle connections ----------------------------------------------------------------------

// As many slow connections as worker threads, each dripping a header byte every 100 ms (under
// cpp-httplib's 5-second read timeout, so before this they held every worker forever): each is
// answered 408 and closed at the request timeout, and a legitimate request waiting behind them
// is served within that bound.
BOOST_AUTO_TEST_CASE(slow_connections_hold_a_worker_at_most_the_request_timeout) {
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.threads = 2;
  o.request_timeout = 1s;
  rotary::fake_server server{o};
  server.start();
  std::vector<std::unique_ptr<connection>> slow;
  for (std::size_t i = 0; i < o.threads; ++i) {
    slow.push_back(std::make_unique<connection>(server.port()));
    BOOST_REQUIRE(slow.back()->send("GET /api/index/v1/ping HTTP/1.1\r\n"));
  }
  std::atomic<bool> done{false};
  std::thread drip([&] {
    while (!done) {
      for (auto& c : slow) (void)c->send("X");
      std::this_thread::sleep_for(100ms);
    }
  });
  std::this_thread::sleep_for(200ms);  // both workers are taken
  const auto started = std::chrono::steady_clock::now();
  const auto raw =
      raw_exchange(server.port(), "GET /api/index/v1/ping HTTP/1.1\r\nConnection: close\r\n\r\n", 6s);
  const auto took = std::chrono::steady_clock::now() - started;
  std::vector<std::string> slow_answers;
  for (auto& c : slow) slow_answers.push_back(c->receive(3s));
  done = true;
  drip.join();
  BOOST_TEST(status_of(raw) == 401);
  BOOST_TEST(took < 3s);  // the request timeout (1 s), then a worker is free
  BOOST_TEST_MESSAGE("legitimate request served after " << std::chrono::duration<double>(took).count()
                                                        << " s");
  for (const auto& a : slow_answers) {
    BOOST_TEST(status_of(a) == 408);
    BOOST_TEST(body_of(a) ==
               R"j({"error":"request-timeout","message":"the request did not arrive in time"})j");
    BOOST_TEST(a.find("\r\nConnection: close\r\n") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(an_idle_connection_is_closed_after_the_idle_timeout) {
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.idle_timeout = 300ms;
  rotary::fake_server server{o};
  server.start();
  connection c(server.port());
  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST(c.closed_within(3s));
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(took >= 250ms);
  BOOST_TEST(took < 2s);
}

// --- 5. the Authorization header, exactly -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_authorization_header_is_read_exactly_as_documented) {
  rotary::manual_clock clock{midnight};
  rotary::fake_server server{test_options(clock)};
  server.start();
  const auto s = server.create_token({.rotation_period = 60min}).value().raw_secret;
  const std::string malformed =
      R"j({"error":"malformed-credentials","message":"the Authorization header must be \"Bearer <token>\" or \"Basic <token>\""})j";
  const std::string unknown = R"j({"error":"unknown-token","message":"no such token"})j";
  const std::string admin_refused =
      R"j({"error":"admin-unauthorized","message":"the admin key is wrong or the header is not \"Bearer <admin key>\""})j";
  struct row {
    std::string header_lines;  // raw, each with its CRLF
    std::string path;
    int status;
    std::string body;  // empty: {} (200)
  };
  const std::string ping = "/api/index/v1/ping", admin = "/admin/v1/clock";
  const std::vector<row> rows = {
      {"Authorization: Bearer " + s + "\r\n", ping, 200, "{}"},
      {"authorization: bEaReR " + s + "\r\n", ping, 200, "{}"},
      {"Authorization: Basic " + s + "\r\n", ping, 200, "{}"},
      {"Authorization:Bearer " + s + "\r\n", ping, 200, "{}"},         // no space after the colon
      {"Authorization: \t Bearer " + s + "\r\n", ping, 200, "{}"},     // any before the value
      {"Authorization: Bearer " + s + " \r\n", ping, 401, malformed},  // trailing space
      {"Authorization: Bearer " + s + "\t\r\n", ping, 401, malformed},
      {"Authorization: Bearer  " + s + "\r\n", ping, 401, malformed},  // two spaces
      {"Authorization: Bearer\t" + s + "\r\n", ping, 401, malformed},
      {"Authorization: Bearer%20" + s + "\r\n", ping, 401, malformed},  // not percent-decoded
      {"Authorization: Bearer " + s + "%00\r\n", ping, 401, unknown},   // "%00" is three characters
      {"Authorization: Bearer " + s + std::string(1, '\0') + "\r\n", ping, 401, malformed},
      {"Authorization: Bearer " + s.substr(0, 5) + std::string(1, '\0') + s.substr(5) + "\r\n", ping, 401,
       malformed},
      {"Authorization: Bearer " + s + "\x7f\r\n", ping, 401, malformed},
      {"Authorization: Bearer " + s + "\r\nAuthorization: Bearer " + s + "\r\n", ping, 401, malformed},
      {"Authorization: Token " + s + "\r\n", ping, 401, malformed},
      {"Authorization: Bearer\r\n", ping, 401, malformed},
      {"Authorization: \r\n", ping, 401, malformed},
      {"Authorization: Bearer " + admin_key + "\r\n", admin, 200, ""},
      {"Authorization: Bearer " + admin_key + " \r\n", admin, 401, admin_refused},
      {"Authorization: Bearer  " + admin_key + "\r\n", admin, 401, admin_refused},
      {"Authorization: Basic " + admin_key + "\r\n", admin, 401, admin_refused},
      {"Authorization: Bearer " + admin_key + "\r\nAuthorization: Bearer " + admin_key + "\r\n", admin, 401,
       admin_refused},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    BOOST_TEST_CONTEXT("row " << i) {
      const auto raw =
          raw_exchange(server.port(), "GET " + r.path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                                          r.header_lines + "\r\n");
      BOOST_TEST(status_of(raw) == r.status);
      if (!r.body.empty()) BOOST_TEST(body_of(raw) == r.body);
      if (r.status == 401) BOOST_TEST(raw.find("\r\nWWW-Authenticate: Bearer realm=") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_credential_is_the_scheme_one_space_and_visible_ascii) {
  using rotary::detail::parse_credential;
  BOOST_TEST(parse_credential("Bearer abc", false).value() == "abc");
  BOOST_TEST(parse_credential("BASIC a=b/c+d", true).value() == "a=b/c+d");
  for (const std::string v : {"Basic abc", "Bearer", "Bearer ", "Bearer  abc", "Bearer abc ", "Bearer a c",
                              "Bearer\tabc", " Bearer abc", "Bearer abc\x7f", "Bearer \xc3\xa9", "Bearerabc"})
    BOOST_TEST(!parse_credential(v, false).has_value(), v);
  BOOST_TEST(!parse_credential(std::string("Bearer ab\0c", 11), true).has_value());
}

// --- 5b. the admin key -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_unusable_admin_key_is_refused_when_constructed) {
  rotary::manual_clock clock{midnight};
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"short", "admin key must be at least 8 characters long (it has 5)"},
      {"has a space",
       "admin key must be printable ASCII without spaces: character 4 is a space, a control "
       "character or not ASCII"},
      {"tab\there-",
       "admin key must be printable ASCII without spaces: character 4 is a space, a control "
       "character or not ASCII"},
      {"caf\xc3\xa9-key",
       "admin key must be printable ASCII without spaces: character 4 is a space, a control "
       "character or not ASCII"},
      {std::string(1025, 'k'), "admin key must be at most 1024 characters long (it has 1025)"},
  };
  for (const auto& row : rows) {
    const std::string& message = row.second;
    auto o = test_options(clock);
    o.admin_key = row.first;
    BOOST_CHECK_EXCEPTION(
        rotary::fake_server{o}, rotary::fake_server_error,
        [&](const rotary::fake_server_error& e) { return std::string(e.what()) == message; });
  }
  auto o = test_options(clock);
  o.admin_key = "8chars!!";
  BOOST_CHECK_NO_THROW(rotary::fake_server{o});
}

// --- 6. what a killed save left -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_temporary_file_left_by_a_killed_save_is_removed_at_start_and_not_followed) {
  temp_dir dir;
  temp_dir elsewhere;
  const auto state = dir.path / "state.json";
  const auto target = elsewhere.path / "precious";
  rotary::test::write_file(target, "not the server's");
  rotary::test::write_file(dir.path / ".state.json.tmp-Ab12Cd", "{\"half a sta");  // a killed save
  fs::create_symlink(target, dir.path / ".state.json.tmp-Zz9999");
  fs::create_directory(dir.path / ".state.json.tmp-dir123");             // not a file: left alone
  rotary::test::write_file(dir.path / ".state.json.tmp-toolong1", "x");  // not mkstemp's name
  rotary::test::write_file(dir.path / ".other.json.tmp-Ab12Cd", "x");    // another file's
  rotary::manual_clock clock{midnight};
  auto o = test_options(clock);
  o.state_file = state;
  rotary::fake_server server{o};
  server.start();
  BOOST_TEST(!fs::exists(fs::symlink_status(dir.path / ".state.json.tmp-Ab12Cd")));
  BOOST_TEST(!fs::exists(fs::symlink_status(dir.path / ".state.json.tmp-Zz9999")));
  BOOST_TEST(read_file(target) == "not the server's");
  BOOST_TEST(fs::is_directory(dir.path / ".state.json.tmp-dir123"));
  BOOST_TEST(fs::exists(dir.path / ".state.json.tmp-toolong1"));
  BOOST_TEST(fs::exists(dir.path / ".other.json.tmp-Ab12Cd"));
  BOOST_TEST(fs::exists(state));
}
