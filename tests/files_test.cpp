// Files that are not what they seem (detail/safe_file.hpp), and the one escaping rule of
// one-line errors (detail/escape.hpp): every file rotary reads (a key file, a token store, the
// fake server's state file) refuses a FIFO, a device, a directory or a socket at once, with its
// exact sentence, and reads at most its cap.
#define BOOST_TEST_MODULE files
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <rotary/client.hpp>
#include <rotary/detail/escape.hpp>
#include <rotary/detail/safe_file.hpp>
#include <rotary/detail/server_state.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/store.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bounded.hpp"
#include "files.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rotary::detail::escape;
using rotary::test::returns_within;
using rotary::test::temp_dir;
using rotary::test::write_file;

namespace {

// A Unix socket bound at `path` (kept open while the object lives).
struct bound_socket {
  int fd = -1;
  explicit bound_socket(const fs::path& path) {
    fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  }
  ~bound_socket() { ::close(fd); }
  bound_socket(const bound_socket&) = delete;
  bound_socket& operator=(const bound_socket&) = delete;
};

// A place that is not a regular file, and the words its refusal uses.
struct special_file {
  fs::path path;
  std::string what;  // "a FIFO"
};

// What a reader of files said: its error message, or "" when it read the file.
using reader = std::function<std::string(const fs::path&)>;

struct reader_case {
  std::string name;
  reader read;
  std::string prefix;  // before "PATH: "
};

std::vector<reader_case> readers() {
  const auto key = rotary::store_key::generate();
  return {
      {"store_key::from_file",
       [](const fs::path& p) {
         const auto k = rotary::store_key::from_file(p);
         return k ? std::string() : std::string(k.error().code()) + " " + k.error().message;
       },
       "bad-key key file "},
      {"token_store::load",
       [key](const fs::path& p) {
         const auto c = rotary::token_store(p, key).load();
         return c ? std::string() : std::string(c.error().code()) + " " + c.error().message;
       },
       "not-regular "},
      {"token_store::lock",
       [key](const fs::path& p) {
         const auto l = rotary::token_store(p, key).lock();
         return l ? std::string() : std::string(l.error().code()) + " " + l.error().message;
       },
       "not-regular "},
      {"detail::read_state_file",
       [](const fs::path& p) {
         try {
           (void)rotary::detail::read_state_file(p);
           return std::string();
         } catch (const rotary::state_file_error& e) {
           return p.string() + ": " + e.what();  // fake_server says "state file PATH: ..."
         }
       },
       ""},
      // Files a library reads by path (OpenSSL, through cpp-httplib): looked at first.
      {"client_options::ca_file",
       [](const fs::path& p) {
         const auto r = rotary::check_token("https://127.0.0.1:1/", "s3cret-secret", {.ca_file = p});
         return r ? std::string() : r.error().code + " " + r.error().message;
       },
       "ca-file CA file "},
      {"fake_server_options::tls_cert",
       [](const fs::path& p) {
         try {
           const rotary::fake_server server({.tls_cert = p, .tls_key = p});
           return std::string();
         } catch (const rotary::fake_server_error& e) {
           return std::string(e.what());
         }
       },
       "TLS certificate "},
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(escape_writes_each_byte_that_is_not_printable_text_as_text) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plain text, 'quotes' and \"doubles\"", "plain text, 'quotes' and \"doubles\""},
      {"a\nb\rc\td", "a\\nb\\rc\\td"},
      {"\x1b[31mred", "\\x1b[31mred"},
      {std::string("nul\0byte", 8), "nul\\x00byte"},
      {"del\x7f", "del\\x7f"},
      {"60\xff", "60\\xff"},
      {"\xc3\x28", "\\xc3("},                        // a lead byte without its continuation
      {"\xc0\xaf", "\\xc0\\xaf"},                    // an overlong '/'
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},           // a surrogate
      {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},  // past U+10FFFF
      {"cut \xe2\x82", "cut \\xe2\\x82"},            // a sequence cut off at the end
      {"Europe/Z\xc3\xbcrich \xe2\x9c\x93 \xf0\x9f\x98\x80",
       "Europe/Z\xc3\xbcrich \xe2\x9c\x93 \xf0\x9f\x98\x80"},
      {"c1 \xc2\x9b", "c1 \\xc2\\x9b"},    // U+009B, a CSI to some terminals
      {"nel \xc2\x85", "nel \\xc2\\x85"},  // U+0085, NEXT LINE
      {"ls \xe2\x80\xa8 ps \xe2\x80\xa9", "ls \\xe2\\x80\\xa8 ps \\xe2\\x80\\xa9"},  // U+2028, U+2029
      {"rlo \xe2\x80\xae", "rlo \\xe2\\x80\\xae"},          // U+202E, RIGHT-TO-LEFT OVERRIDE
      {"isolate \xe2\x81\xa6", "isolate \\xe2\\x81\\xa6"},  // U+2066
      {"back\\slash \\n", "back\\slash \\n"},               // kept: the rule is idempotent
      {"", ""},
  };
  for (const auto& [in, out] : cases) {
    BOOST_TEST_CONTEXT(out) {
      BOOST_TEST(escape(in) == out);
      BOOST_TEST(escape(escape(in)) == escape(in));
    }
  }
}

// Whatever the bytes, the escaped text has no control character and is valid UTF-8.
BOOST_AUTO_TEST_CASE(escaped_text_is_always_one_printable_line) {
  std::string every;
  for (int i = 0; i < 256; ++i) every.push_back(static_cast<char>(i));
  for (int i = 0; i < 256; ++i) every += std::string("\xc2") + static_cast<char>(i);
  const auto e = escape(every);
  BOOST_TEST(escape(e) == e);
  for (std::size_t i = 0; i < e.size();) {
    char32_t cp = 0;
    const auto n = rotary::detail::utf8_sequence(e, i, cp);
    BOOST_TEST_REQUIRE(n != 0u, "invalid UTF-8 at " << i);
    BOOST_TEST_REQUIRE(!rotary::detail::is_control_character(cp), "control at " << i);
    i += n;
  }
}

// A FIFO would block the read until a writer comes, /dev/zero would never end, a directory
// fails late with EISDIR: each is refused at once, without being opened, with the same words.
BOOST_AUTO_TEST_CASE(every_file_read_refuses_fifos_devices_directories_and_sockets_at_once) {
  temp_dir dir;
  const auto fifo = dir.path / "fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fs::create_directory(dir.path / "directory");
  const bound_socket socket(dir.path / "socket");
  const std::vector<special_file> specials = {
      {fifo, "a FIFO"},
      {dir.path / "directory", "a directory"},
      {"/dev/null", "a character device"},
      {"/dev/zero", "a character device"},
      {dir.path / "socket", "a socket"},
  };
  for (const auto& r : readers()) {
    for (const auto& s : specials) {
      BOOST_TEST_CONTEXT(r.name << " of " << s.path) {
        std::string said;
        const bool in_time = returns_within(2s, [&] { said = r.read(s.path); }, {fifo});
        BOOST_TEST(in_time);
        BOOST_TEST(said == r.prefix + s.path.string() + ": not a regular file (" + s.what + ")");
        BOOST_TEST(!fs::exists(s.path.string() + ".lock"));  // no lock file beside it
      }
    }
  }
}

// The caps: a key file 4 KiB, a store 1 MiB + 4 KiB, a state file 64 MiB; one byte more is
// refused by its own sentence, without reading on.
BOOST_AUTO_TEST_CASE(every_file_read_has_a_cap) {
  temp_dir dir;
  const auto key = dir.path / "key";
  write_file(key, std::string(4097, 'k'));
  const auto k = rotary::store_key::from_file(key);
  BOOST_REQUIRE(!k);
  BOOST_TEST(k.error().message == "key file " + key.string() +
                                      ": larger than 4 KiB, not a rotary key (one line of 58 characters)");
  write_file(key, std::string(4096, 'k'));  // at the cap: read, then refused as text
  BOOST_TEST(rotary::store_key::from_file(key).error().message ==
             "key file " + key.string() +
                 ": not a rotary key: it must start with \"rotary-key-v1:\" (make one with `rotary keygen`)");

  const auto store = dir.path / "token.store";
  write_file(store, std::string((1 << 20) + 4097, 'R'));
  const auto c = rotary::token_store(store, rotary::store_key::generate()).load();
  BOOST_TEST(c.error().message == store.string() + ": larger than any rotary token store (over 1 MiB)");

  const auto state = dir.path / "state.json";
  write_file(state, "");
  fs::resize_file(state, (std::uintmax_t{64} << 20) + 1);  // sparse
  try {
    (void)rotary::detail::read_state_file(state);
    BOOST_FAIL("a state file over 64 MiB was read");
  } catch (const rotary::state_file_error& e) {
    BOOST_TEST(std::string(e.what()) == "larger than 64 MiB");
  }

  // Files OpenSSL reads by path: looked at, never read by rotary; over the cap, not handed on.
  const auto pem = dir.path / "big.pem";
  write_file(pem, "");
  fs::resize_file(pem, (std::uintmax_t{16} << 20) + 1);  // sparse
  const auto ca = rotary::check_token("https://127.0.0.1:1/", "s3cret-secret", {.ca_file = pem});
  BOOST_TEST(ca.error().message == "CA file " + pem.string() + ": larger than 16 MiB");
  fs::resize_file(pem, (std::uintmax_t{1} << 20) + 1);
  const rotary::fake_server_options tls{.tls_cert = pem, .tls_key = pem};
  BOOST_CHECK_EXCEPTION(
      rotary::fake_server{tls}, rotary::fake_server_error, [&](const rotary::fake_server_error& e) {
        return std::string(e.what()) == "TLS certificate " + pem.string() + ": larger than 1 MiB";
      });

  for (const std::size_t cap :
       {std::size_t{0}, std::size_t{1}, std::size_t{8191}, std::size_t{8192}, std::size_t{100'000}}) {
    BOOST_TEST_CONTEXT("cap " << cap) {
      write_file(state, std::string(cap, 'x'));
      BOOST_TEST(
          rotary::detail::read_regular_file(state.string(), cap, rotary::detail::links::refuse).value() ==
          std::string(cap, 'x'));
      write_file(state, std::string(cap + 1, 'x'));
      const auto over = rotary::detail::read_regular_file(state.string(), cap, rotary::detail::links::refuse);
      BOOST_TEST((!over && over.error().kind == rotary::detail::file_error::too_large));
    }
  }
}

// Files read for their contents follow a symbolic link (a Kubernetes secret is one); the store,
// which is replaced by rename, does not (store_test has the details).
BOOST_AUTO_TEST_CASE(a_key_file_or_state_file_behind_a_symbolic_link_is_read) {
  temp_dir dir;
  const auto key = rotary::store_key::generate();
  write_file(dir.path / "key.real", key.text() + "\n");
  fs::create_symlink("key.real", dir.path / "key");
  BOOST_TEST(rotary::store_key::from_file(dir.path / "key").value().id_hex() == key.id_hex());
  write_file(dir.path / "state.real", "{}");
  fs::create_symlink(dir.path / "state.real", dir.path / "state.json");
  BOOST_TEST(rotary::detail::read_state_file(dir.path / "state.json").value() == "{}");
  fs::create_symlink("nowhere", dir.path / "dangling");
  BOOST_TEST(!rotary::detail::read_state_file(dir.path / "dangling").has_value());  // like a missing file
}
