#define BOOST_TEST_MODULE store
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <rotary/detail/random.hpp>
#include <rotary/store.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "files.hpp"
#include "print.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rotary::save_step;
using rotary::store_contents;
using rotary::store_error;
using rotary::store_key;
using rotary::token_store;

using rotary::test::temp_dir;

namespace {

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

const rotary::sys_seconds t0 = rotary::parse_time("2027-01-01T00:00:00Z").value();

store_contents sample(std::string secret = "secret-1") {
  store_contents c;
  c.current = {std::move(secret),
               {t0, std::chrono::minutes{3600}, t0 + std::chrono::days{365}, std::nullopt}};
  c.previous = rotary::stored_token{
      "secret-0", {t0 - std::chrono::hours{50}, std::chrono::minutes{3600}, t0 + std::chrono::days{365}, t0}};
  c.endpoint = "https://example.test/api/index/v1/rotatetoken";
  return c;
}

const store_key key = store_key::generate();
const store_key other_key = store_key::generate();

// A store with one record in it; returns the store.
token_store make_store(const fs::path& file, const store_key& k = key) {
  token_store s{file, k};
  auto lock = s.lock().value();
  BOOST_REQUIRE(s.create(lock, sample()).has_value());
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_saved_record_loads_back_equal) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_store s{file, key};
  auto lock = s.lock().value();
  BOOST_TEST(s.create(lock, sample()).value() == 1u);
  auto c = s.load().value();
  auto want = sample();
  want.generation = 1;
  BOOST_TEST((c == want));
  c.current.secret = "secret-2";
  c.unanswered_rotation = t0 + std::chrono::minutes{5};
  c.unverified = true;
  BOOST_TEST(s.save(lock, c).value() == 2u);
  const auto again = s.load().value();
  BOOST_TEST(again.generation == 2u);
  BOOST_TEST(again.current.secret == "secret-2");
  BOOST_TEST(again.unanswered_rotation == std::optional{t0 + std::chrono::minutes{5}});
  BOOST_TEST(again.unverified);
}

BOOST_AUTO_TEST_CASE(the_file_is_mode_0600_and_holds_no_secret_in_clear) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  ::umask(022);
  make_store(file);
  struct stat st {};
  BOOST_REQUIRE(::stat(file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  const auto bytes = read_bytes(file);
  BOOST_TEST(bytes.substr(0, 8) == "ROTSTORE");
  BOOST_TEST(bytes.find("secret-1") == std::string::npos);
  BOOST_TEST(bytes.find("createdAt") == std::string::npos);
  BOOST_TEST(!fs::exists(token_store{file, key}.temp_file()));
}

BOOST_AUTO_TEST_CASE(each_save_uses_a_fresh_nonce) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  auto s = make_store(file);
  auto lock = s.lock().value();
  const auto first = read_bytes(file);
  auto c = s.load().value();
  c.generation = 0;  // same generation, same contents: only the nonce differs
  BOOST_REQUIRE(s.save(lock, c).has_value());
  const auto second = read_bytes(file);
  BOOST_TEST(first.size() == second.size());
  BOOST_TEST(first.substr(20, 12) != second.substr(20, 12));
  BOOST_TEST(first.substr(36) != second.substr(36));
}

BOOST_AUTO_TEST_CASE(key_text_round_trips_and_has_one_form) {
  const auto text = key.text();
  BOOST_TEST(text.rfind("rotary-key-v1:", 0) == 0u);
  BOOST_TEST(text.size() == 58u);
  BOOST_TEST(store_key::parse(text).value().id_hex() == key.id_hex());
  BOOST_TEST(store_key::parse(text + "\n").value().id_hex() == key.id_hex());
  BOOST_TEST(store_key::parse(text + "\r\n").value().id_hex() == key.id_hex());
  BOOST_TEST(key.id_hex().size() == 16u);
  BOOST_TEST(key.id_hex() != other_key.id_hex());
}

BOOST_AUTO_TEST_CASE(malformed_keys_are_refused_with_a_reason) {
  auto msg = [](std::string_view t) { return store_key::parse(t, "key file k").error().message; };
  BOOST_TEST(msg("") ==
             "key file k: empty; expected \"rotary-key-v1:\" and base64 (make one with `rotary keygen`)");
  BOOST_TEST(
      msg("hunter2") ==
      "key file k: not a rotary key: it must start with \"rotary-key-v1:\" (make one with `rotary keygen`)");
  BOOST_TEST(msg("rotary-key-v1:AAAA") == "key file k: the key holds 3 bytes; it must hold 32");
  BOOST_TEST(msg("rotary-key-v1:not base64!") ==
             "key file k: the text after \"rotary-key-v1:\" is not valid base64 on one line");
  BOOST_TEST(msg(key.text() + "\n\n") ==
             "key file k: the text after \"rotary-key-v1:\" is not valid base64 on one line");
  BOOST_TEST(
      msg(" " + key.text()) ==
      "key file k: not a rotary key: it must start with \"rotary-key-v1:\" (make one with `rotary keygen`)");
  BOOST_TEST((store_key::parse("x").error().kind == store_error::bad_key));
}

BOOST_AUTO_TEST_CASE(a_key_file_others_can_read_is_refused) {
  temp_dir dir;
  const auto file = dir.path / "key";
  write_bytes(file, key.text() + "\n");
  ::chmod(file.c_str(), 0644);
  const auto r = store_key::from_file(file);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().kind == store_error::key_permissions));
  BOOST_TEST(r.error().message == "key file " + file.string() +
                                      ": group or others can access it (mode 0644); run: chmod 600 " +
                                      file.string());
  ::chmod(file.c_str(), 0640);
  BOOST_TEST(!store_key::from_file(file));
  ::chmod(file.c_str(), 0600);
  BOOST_TEST(store_key::from_file(file).value().id_hex() == key.id_hex());
  ::chmod(file.c_str(), 0400);
  BOOST_TEST(store_key::from_file(file).has_value());
  const auto missing = store_key::from_file(dir.path / "nope");
  BOOST_TEST(missing.error().message ==
             "key file " + (dir.path / "nope").string() + ": No such file or directory");
}

BOOST_AUTO_TEST_CASE(a_key_comes_from_an_environment_variable) {
  ::setenv("ROTARY_TEST_KEY", key.text().c_str(), 1);
  BOOST_TEST(store_key::from_env("ROTARY_TEST_KEY").value().id_hex() == key.id_hex());
  ::unsetenv("ROTARY_TEST_KEY");
  BOOST_TEST(store_key::from_env("ROTARY_TEST_KEY").error().message ==
             "environment variable ROTARY_TEST_KEY: not set or empty");
  ::setenv("ROTARY_TEST_KEY", "rotary-key-v1:", 1);
  BOOST_TEST(store_key::from_env("ROTARY_TEST_KEY").error().message ==
             "environment variable ROTARY_TEST_KEY: the key holds 0 bytes; it must hold 32");
}

BOOST_AUTO_TEST_CASE(a_wrong_key_is_told_apart_and_the_file_untouched) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  make_store(file);
  const auto before = read_bytes(file);
  const auto r = token_store(file, other_key).load();
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == "wrong-key");
  BOOST_TEST(r.error().message == file.string() + ": wrong key: the store was encrypted with key " +
                                      key.id_hex() + ", this key is " + other_key.id_hex());
  BOOST_TEST(read_bytes(file) == before);
}

BOOST_AUTO_TEST_CASE(every_flipped_byte_is_an_error_never_a_token) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  make_store(file);
  const auto good = read_bytes(file);
  int tampered = 0, wrong_key = 0, other = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    auto bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    write_bytes(file, bad);
    const auto r = token_store(file, key).load();
    BOOST_REQUIRE_MESSAGE(!r, "byte " << i << " flipped and the store still loaded");
    if (r.error().kind == store_error::tampered)
      ++tampered;
    else if (r.error().kind == store_error::wrong_key)
      ++wrong_key;
    else
      ++other;
    BOOST_REQUIRE(read_bytes(file) == bad);
  }
  BOOST_TEST(wrong_key == 8);  // the key id
  // magic, version, mode, reserved: foreign or unsupported; the length: truncated or trailing
  // bytes; the nonce, the ciphertext and the tag: authentication fails.
  BOOST_TEST(other >= 8 + 1 + 1 + 2);
  BOOST_TEST(tampered >= static_cast<int>(good.size()) - 24);
  write_bytes(file, good);
  auto bad = good;
  bad[good.size() / 2] ^= 0x40;
  write_bytes(file, bad);
  BOOST_TEST(token_store(file, key).load().error().message ==
             file.string() +
                 ": authentication failed: the file was modified or damaged after it was written");
}

BOOST_AUTO_TEST_CASE(every_truncation_is_an_error_with_the_sizes) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  make_store(file);
  const auto good = read_bytes(file);
  for (std::size_t n = 0; n < good.size(); ++n) {
    write_bytes(file, good.substr(0, n));
    const auto r = token_store(file, key).load();
    BOOST_REQUIRE_MESSAGE(!r, "a store cut to " << n << " bytes loaded");
    const auto kind = r.error().kind;
    BOOST_TEST((n == 0 ? kind == store_error::empty : kind == store_error::truncated), "at " << n);
  }
  write_bytes(file, good.substr(0, good.size() - 1));
  BOOST_TEST(token_store(file, key).load().error().message ==
             file.string() + ": truncated: " + std::to_string(good.size() - 1) +
                 " bytes, but its header announces " + std::to_string(good.size()));
  write_bytes(file, good.substr(0, 10));
  BOOST_TEST(token_store(file, key).load().error().message ==
             file.string() + ": truncated: 10 bytes, shorter than the smallest store (52 bytes)");
  write_bytes(file, good + "x");
  BOOST_TEST(token_store(file, key).load().error().message ==
             file.string() + ": 1 unexpected bytes after the end of the record: the file was modified");
}

BOOST_AUTO_TEST_CASE(empty_missing_and_foreign_files_have_their_own_errors) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  const token_store s{file, key};
  BOOST_TEST(s.load().error().message ==
             file.string() + ": no such store; create one with `rotary rotate --init`");
  BOOST_TEST(s.load().error().code() == "not-found");
  write_bytes(file, "");
  BOOST_TEST(s.load().error().message ==
             file.string() + ": the file is empty (0 bytes), not a rotary token store");
  for (const std::string& foreign : {std::string("{\"rawSecret\": \"abc\"}\n"), std::string("#!/bin/sh\n"),
                                     std::string("ROTSTORX"), std::string(100, '\0')}) {
    write_bytes(file, foreign);
    const auto r = s.load();
    BOOST_TEST(r.error().code() == "foreign");
    BOOST_TEST(r.error().message ==
               file.string() + ": not a rotary token store (it does not start with \"ROTSTORE\")");
    BOOST_TEST(read_bytes(file) == foreign);
  }
}

BOOST_AUTO_TEST_CASE(a_future_version_is_refused_by_name) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  make_store(file);
  auto bytes = read_bytes(file);
  bytes[8] = 2;
  write_bytes(file, bytes);
  BOOST_TEST(token_store(file, key).load().error().message ==
             file.string() + ": store format version 2 is not supported (this rotary reads version 1)");
}

BOOST_AUTO_TEST_CASE(plain_text_is_explicit_and_marked_in_the_header) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_store plain{file, rotary::plaintext};
  BOOST_TEST(!plain.encrypted());
  {
    auto lock = plain.lock().value();
    BOOST_REQUIRE(plain.create(lock, sample()).has_value());
  }
  const auto bytes = read_bytes(file);
  BOOST_TEST(static_cast<int>(bytes[9]) == 2);
  BOOST_TEST(bytes.find("\"secret\":\"secret-1\"") != std::string::npos);
  BOOST_TEST(plain.load().value().current.secret == "secret-1");
  BOOST_TEST(
      token_store(file, key).load().error().message ==
      file.string() +
          ": the store is in plain text (its header says so): open it with --plaintext, or re-create it "
          "encrypted");
  auto bad = bytes;
  bad[bytes.find("secret-1")] = 'S';
  write_bytes(file, bad);
  BOOST_TEST(plain.load().error().message ==
             file.string() + ": checksum mismatch: the file was modified or damaged after it was written");

  const auto enc = dir.path / "enc.store";
  make_store(enc);
  BOOST_TEST(token_store(enc, rotary::plaintext).load().error().message ==
             enc.string() +
                 ": the store is encrypted: give its key (--key-file or --key-env), not --plaintext");
}

BOOST_AUTO_TEST_CASE(create_never_replaces_an_existing_store) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  auto s = make_store(file);
  const auto before = read_bytes(file);
  auto lock = s.lock().value();
  const auto r = s.create(lock, sample("other"));
  BOOST_TEST(r.error().code() == "already-exists");
  BOOST_TEST(read_bytes(file) == before);
}

BOOST_AUTO_TEST_CASE(one_lock_at_a_time_and_the_second_waits_then_gives_up) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  token_store s{file, key};
  auto first = s.lock().value();
  const auto start = std::chrono::steady_clock::now();
  const auto second = s.lock(150ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  BOOST_REQUIRE(!second);
  BOOST_TEST(second.error().code() == "locked");
  BOOST_TEST(second.error().message == file.string() + ": another run holds the lock " + file.string() +
                                           ".lock (pid " + std::to_string(::getpid()) + "); waited 0s");
  BOOST_TEST(waited >= 150ms);
  BOOST_TEST(waited < 2s);
  // Released by another thread while we wait: the waiter gets it.
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    auto gone = std::move(first);
  });
  const auto third = s.lock(5s);
  releaser.join();
  BOOST_TEST(third.has_value());
}

BOOST_AUTO_TEST_CASE(a_save_needs_this_stores_lock) {
  temp_dir dir;
  auto a = make_store(dir.path / "a.store");
  auto b = make_store(dir.path / "b.store");
  auto lock_b = b.lock().value();
  const auto before = read_bytes(dir.path / "a.store");
  const auto r = a.save(lock_b, sample("x"));
  BOOST_TEST(r.error().code() == "locked");
  BOOST_TEST(read_bytes(dir.path / "a.store") == before);
}

// The lock belongs to the store file, not to the path string. Every path the store accepts
// for one file finds the same FILE.lock, so a second store object on another path to it is
// `locked`; a symbolic link to the file and a second hard link, which would find another lock
// file (and which a save would split from the file), are refused before any lock file is made.
BOOST_AUTO_TEST_CASE(two_paths_to_one_store_never_take_two_locks) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  make_store(file);
  fs::create_directory(dir.path / "sub");
  fs::create_directory_symlink(dir.path, dir.path / "dirlink");
  fs::create_symlink("token.store", dir.path / "link.store");
  fs::create_symlink(file, dir.path / "sub" / "abs.store");
  const std::string lock_busy = "another run holds the lock ";
  const std::string via_link =
      ": not a regular file (a symbolic link to %); a save replaces the store by rename, which would "
      "replace the link, not its target: give the target's path";
  struct path_case {
    fs::path path;
    std::string error;  // after "PATH"
  };
  const std::vector<path_case> cases = {
      {dir.path / "." / "token.store", ": " + lock_busy},
      {dir.path / "sub" / ".." / "token.store", ": " + lock_busy},
      {dir.path / "dirlink" / "token.store", ": " + lock_busy},
      {dir.path.string() + "//token.store", ": " + lock_busy},
      {dir.path / "link.store", std::string(via_link).replace(via_link.find('%'), 1, "token.store")},
      {dir.path / "sub" / "abs.store", std::string(via_link).replace(via_link.find('%'), 1, file.string())},
  };
  token_store first{file, key};
  const auto held = first.lock().value();
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.path) {
      const token_store other{c.path, key};
      const auto second = other.lock();
      BOOST_REQUIRE(!second);
      BOOST_TEST(second.error().message.substr(0, c.path.string().size() + c.error.size()) ==
                 c.path.string() + c.error);
      BOOST_TEST((!fs::exists(c.path.string() + ".lock") ||
                  fs::equivalent(c.path.string() + ".lock", file.string() + ".lock")));
    }
  }
  // A hard link: both names are refused while it lasts, whichever lock is asked for.
  fs::create_hard_link(file, dir.path / "hard.store");
  const std::string split =
      ": the store has 2 hard links; a save replaces it by rename, which would leave the other names on the "
      "old record: keep one name";
  for (const auto& p : {dir.path / "hard.store", file}) {
    BOOST_TEST_CONTEXT(p) {
      const auto l = token_store{p, key}.lock();
      BOOST_REQUIRE(!l);
      BOOST_TEST(l.error().code() == "hard-linked");
      BOOST_TEST(l.error().message == p.string() + split);
    }
  }
  BOOST_TEST(!fs::exists(dir.path / "hard.store.lock"));
}

// A store path that is a symbolic link is refused by every call, and the file it points to is
// left as it was: a save would rename a new file over the link and leave the target behind.
BOOST_AUTO_TEST_CASE(a_store_path_that_is_a_symbolic_link_is_refused_and_its_target_untouched) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  make_store(file);
  const auto before = read_bytes(file);
  const auto link = dir.path / "link.store";
  fs::create_symlink(file, link);
  const std::string refused = link.string() + ": not a regular file (a symbolic link to " + file.string() +
                              "); a save replaces the store by rename, which would replace the link, not its "
                              "target: give the target's path";
  const token_store via{link, key};
  const auto loaded = via.load();
  BOOST_REQUIRE(!loaded);
  BOOST_TEST(loaded.error().code() == "not-regular");
  BOOST_TEST(loaded.error().message == refused);
  BOOST_TEST(via.lock().error().message == refused);
  BOOST_TEST(!fs::exists(link.string() + ".lock"));
  // Swapped for a link after the lock was taken: the save refuses it too.
  fs::remove(link);
  const token_store later{dir.path / "later.store", key};
  const auto lock = later.lock().value();
  fs::create_symlink(file, dir.path / "later.store");
  const auto saved = later.save(lock, sample("new"));
  BOOST_REQUIRE(!saved);
  BOOST_TEST(saved.error().code() == "not-regular");
  BOOST_TEST(fs::is_symlink(dir.path / "later.store"));
  BOOST_TEST(read_bytes(file) == before);
  // A dangling link is refused as well: create() would otherwise make a file where it points.
  const auto dangling = dir.path / "dangling.store";
  fs::create_symlink(dir.path / "nowhere", dangling);
  BOOST_TEST(token_store(dangling, key).lock().error().code() == "not-regular");
  BOOST_TEST(!fs::exists(dir.path / "nowhere"));
}

// A crash after each step of a save: the store loads as the old or the new record, never
// neither, and recover() finishes or discards what was left.
BOOST_AUTO_TEST_CASE(a_crash_after_each_save_step_leaves_old_or_new) {
  struct simulated_crash {};
  struct expectation {
    save_step step;
    const char* before_recovery;
    rotary::recovery recovered;
    const char* after_recovery;
  };
  const expectation cases[] = {
      {save_step::temp_created, "secret-1", rotary::recovery::removed_partial, "secret-1"},
      {save_step::temp_written, "secret-1", rotary::recovery::rolled_forward, "secret-2"},
      {save_step::temp_synced, "secret-1", rotary::recovery::rolled_forward, "secret-2"},
      {save_step::renamed, "secret-2", rotary::recovery::nothing, "secret-2"},
      {save_step::directory_synced, "secret-2", rotary::recovery::nothing, "secret-2"},
  };
  for (const auto& e : cases) {
    temp_dir dir;
    const auto file = dir.path / "token.store";
    auto s = make_store(file);
    {
      auto lock = s.lock().value();
      auto c = s.load().value();
      c.current.secret = "secret-2";
      s.set_save_hook([&](save_step step) {
        if (step == e.step) throw simulated_crash{};
      });
      BOOST_CHECK_THROW((void)s.save(lock, c), simulated_crash);
      s.set_save_hook({});
    }  // the crashed run's lock goes away with it
    BOOST_TEST(s.load().value().current.secret == e.before_recovery);
    auto lock = s.lock().value();
    BOOST_TEST((s.recover(lock).value() == e.recovered));
    BOOST_TEST(s.load().value().current.secret == e.after_recovery);
    BOOST_TEST(!fs::exists(s.temp_file()));
    // And the next save works.
    auto c = s.load().value();
    c.current.secret = "secret-3";
    BOOST_REQUIRE(s.save(lock, c).has_value());
    BOOST_TEST(s.load().value().current.secret == "secret-3");
  }
}

BOOST_AUTO_TEST_CASE(a_temp_file_from_an_older_generation_is_never_rolled_forward) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  auto s = make_store(file);
  auto lock = s.lock().value();
  fs::copy_file(file, s.temp_file());  // generation 1, like the store
  BOOST_TEST((s.recover(lock).value() == rotary::recovery::removed_partial));
  write_bytes(s.temp_file(), "garbage");
  BOOST_TEST((s.recover(lock).value() == rotary::recovery::removed_partial));
  BOOST_TEST(s.load().value().generation == 1u);
}

// A child saves in a loop and is SIGKILLed at random moments, 200 times. After each kill the
// store loads, its secret matches its generation, and the generation never goes back. The random
// delay starts when the child says it holds the lock and is about to save (a pipe), so a slow
// start (a loaded machine, a sanitizer build) cannot make the kills land before any save.
BOOST_AUTO_TEST_CASE(sigkill_mid_save_200_times_leaves_old_or_new) {
  temp_dir dir;
  const auto file = dir.path / "token.store";
  {
    token_store s{file, key};
    auto lock = s.lock().value();
    auto c = sample("secret-1");
    BOOST_REQUIRE(s.create(lock, c).has_value());
  }
  rotary::detail::xoshiro256 rng{20270101};
  std::uint64_t last = 1;
  int advanced = 0, rolled_forward = 0;
  for (int round = 0; round < 200; ++round) {
    int ready[2];
    BOOST_REQUIRE(::pipe(ready) == 0);
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(ready[0]);
      token_store s{file, key};
      auto lock = s.lock(5s);
      if (!lock) ::_exit(3);
      if (!s.recover(*lock)) ::_exit(4);
      auto c = s.load();
      if (!c) ::_exit(5);
      store_contents next = *c;
      if (::write(ready[1], "r", 1) != 1) ::_exit(7);
      for (;;) {
        next.current.secret = "secret-" + std::to_string(next.generation + 1);
        const auto g = s.save(*lock, next);
        if (!g) ::_exit(6);
        next.generation = *g;
        if (::write(ready[1], "s", 1) != 1) ::_exit(8);  // each save acknowledged
      }
    }
    ::close(ready[1]);
    char byte = 0;
    const auto got = ::read(ready[0], &byte, 1);
    if (got != 1) {  // the child failed before its first save: say how
      int status = 0;
      ::waitpid(pid, &status, 0);
      BOOST_FAIL("round " << round << ": the child stopped before saving, status " << status);
    }
    // The kill comes after 0, 1 or 2 acknowledged saves and then up to 2 ms into the next ones:
    // anywhere inside a save, and with progress in two rounds of three however slow the saves
    // are (a sanitizer build, a busy disk), not only when a fixed delay happens to suffice.
    const auto acknowledged = rng.next() % 3;
    for (std::uint64_t k = 0; k < acknowledged; ++k) BOOST_REQUIRE(::read(ready[0], &byte, 1) == 1);
    std::this_thread::sleep_for(std::chrono::microseconds{static_cast<long>(rng.next() % 2000)});
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(ready[0]);
    BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status), "the child exited by itself with " << WEXITSTATUS(status));
    const token_store s{file, key};
    const auto c = s.load();
    BOOST_REQUIRE_MESSAGE(c.has_value(),
                          "round " << round << ": " << (c ? std::string() : c.error().message));
    BOOST_TEST_REQUIRE(c->current.secret == "secret-" + std::to_string(c->generation));
    BOOST_TEST_REQUIRE(c->generation >= last);
    if (c->generation > last) ++advanced;
    if (fs::exists(s.temp_file())) ++rolled_forward;
    last = c->generation;
  }
  BOOST_TEST_MESSAGE("saves seen: " << last << ", kills after progress: " << advanced
                                    << ", kills leaving a temp file: " << rolled_forward);
  BOOST_TEST(advanced > 60);
  BOOST_TEST(rolled_forward > 0);
}

// A store path is quoted into every message escaped (detail::escape), so the report line of a
// run stays one line whatever the path holds.
BOOST_AUTO_TEST_CASE(the_store_path_is_escaped_in_its_messages) {
  temp_dir dir;
  const auto file = dir.path / "a\nb\x1b\xff.store";
  const std::string shown = (dir.path / "a\\nb\\x1b\\xff.store").string();
  const token_store s{file, key};
  BOOST_TEST(s.load().error().message == shown + ": no such store; create one with `rotary rotate --init`");
  const auto held = s.lock().value();
  BOOST_TEST(s.lock().error().message == shown + ": another run holds the lock " + shown + ".lock (pid " +
                                             std::to_string(::getpid()) + "); waited 0s");
  const auto key_file = dir.path / "k\ney";
  BOOST_TEST(store_key::from_file(key_file).error().message ==
             "key file " + (dir.path / "k\\ney").string() + ": No such file or directory");
}
