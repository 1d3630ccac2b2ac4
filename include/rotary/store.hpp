// rotary/store.hpp: the token file of the rotation job: atomic, encrypted, locked.
//
// A `token_store` keeps what the job must never lose: the current token's secret and facts,
// the previous token until its buffer ends, and the policy facts (rotation period, hard expiry,
// buffer). The file is encrypted with AES-256-GCM under a 32-byte key and authenticated as a
// whole, so a wrong key, a flipped byte or a cut-off file is a clear error, never a garbage
// token. Saves replace the file atomically (a crash leaves the old or the new record, never
// neither) and require the run lock, so two runs never rotate at once:
//
//     auto key = rotary::store_key::from_file("/etc/rotary/key").value();   // "rotary-key-v1:..."
//     rotary::token_store store{"/var/lib/rotary/token.store", key};
//     auto lock = store.lock(std::chrono::seconds{10}).value();    // flock on token.store.lock
//     rotary::store_contents c = store.load().value();
//     c.current.secret;                                             // the secret to call the API with
//     c.current.state.rotation_period;                              // 3600min
//     ... rotate ...
//     store.save(lock, c).value();                                  // temp, fsync, rename, fsync dir
//
// A store in plain text exists only when asked for by name (`token_store{path, rotary::plaintext}`)
// and says so in its header; an encrypted store never opens as plain text or the reverse.
// The byte layout, the key format and the decisions are in docs/rotation-job.md.
//
// Errors are values (`store_error`), each kind with its own sentence, and a failing load or
// save leaves the file exactly as it was.
#pragma once

#define ROTARY_DETAIL_NEEDS_OPENSSL_ONLY  // the store needs OpenSSL, not cpp-httplib
#include <rotary/detail/http_config.hpp>  // first: one clear #error without OpenSSL
#if ROTARY_DETAIL_OPENSSL_READY           // otherwise nothing here is compiled after that #error

#include <nlohmann/json.hpp>
#include <rotary/detail/json_read.hpp>
#include <rotary/detail/json_rules.hpp>
#include <rotary/detail/safe_file.hpp>
#include <rotary/detail/store_crypto.hpp>
#include <rotary/detail/store_file.hpp>
#include <rotary/outcome.hpp>
#include <rotary/time.hpp>
#include <rotary/token.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>

namespace rotary {

// --- what is stored ------------------------------------------------------------------------------

// A token: its secret and the facts the rules need.
struct stored_token {
  std::string secret;
  token_state state;
  friend bool operator==(const stored_token&, const stored_token&) = default;
};

// One record of the store.
struct store_contents {
  stored_token current;                  // the token to use and to rotate
  std::optional<stored_token> previous;  // the parent of `current`, kept until its buffer ends
  seconds buffer = minutes{10};          // how long a rotated parent keeps working (the API's 10 min)
  std::string endpoint;                  // the rotate URL last used ("" when unknown)
  // The facts of `current` were given by a person at --init without its creation time or
  // period: the next run rotates to learn them from the server.
  bool unverified = false;
  // A rotation of `current` was sent at this instant and no answer arrived (a lost response):
  // if the server committed it, `current` dies at this instant plus `buffer`.
  std::optional<sys_seconds> unanswered_rotation;
  // Counts saves: the first record is 1; save() writes generation + 1.
  std::uint64_t generation = 0;
  friend bool operator==(const store_contents&, const store_contents&) = default;
};

// --- errors --------------------------------------------------------------------------------------

struct store_error {
  enum kind_type {
    not_found,            // no store file
    empty,                // the file has 0 bytes
    foreign,              // not a rotary store (no ROTSTORE magic)
    unsupported_version,  // a format or protection this version does not read
    truncated,            // shorter than its header says
    wrong_key,            // encrypted under another key (the key ids differ)
    tampered,             // the authentication tag (or plain-text checksum) does not match
    protection_mismatch,  // encrypted store opened as plain text, or the reverse
    bad_contents,         // authenticated, but not a valid record
    already_exists,       // create() over an existing store
    locked,               // another run holds the lock
    bad_key,              // the key text is not "rotary-key-v1:" + base64 of 32 bytes
    key_permissions,      // the key file is accessible to group or others
    unsynced,             // save: the record is in place but the directory fsync failed
    not_regular,          // the path names a FIFO, a device, a directory, a socket or a symbolic link
    hard_linked,          // the store file has more than one name (a rename would split them)
    io,                   // a system call failed (the message has strerror)
  };
  kind_type kind = io;
  // One sentence, starting with the path concerned; never a secret. Every value it quotes (the
  // path included) is escaped (detail::escape), so it stays one line.
  std::string message;

  // A stable machine code: "not-found", "empty", "foreign", ...
  [[nodiscard]] std::string_view code() const noexcept;
  friend bool operator==(const store_error&, const store_error&) = default;
};

// Thrown by `outcome<T, store_error>::value()`.
class store_exception : public std::runtime_error {
 public:
  explicit store_exception(store_error e) : std::runtime_error(e.message), error_(std::move(e)) {}
  [[nodiscard]] const store_error& error() const noexcept { return error_; }

 private:
  store_error error_;
};
[[noreturn]] inline void throw_error(const store_error& e) { throw store_exception(e); }

// --- the key -------------------------------------------------------------------------------------

// 32 random bytes. Text form, one line: "rotary-key-v1:" + standard base64 (with padding) of
// the 32 bytes, e.g. "rotary-key-v1:q0V4n3...Yw=" (58 characters); `rotary keygen` prints one.
class store_key {
 public:
  static constexpr std::size_t size = detail::gcm_key_bytes;
  static constexpr std::string_view prefix = "rotary-key-v1:";

  // A fresh key from the OS CSPRNG.
  [[nodiscard]] static store_key generate();
  // Parses the text form; one trailing "\n" (or "\r\n") is allowed, nothing else.
  // `source` names where the text came from, for the message ("key file /etc/rotary/key").
  [[nodiscard]] static outcome<store_key, store_error> parse(std::string_view text,
                                                             std::string_view source = "the key");
  // Reads a key file (a symbolic link is followed). Refused (key_permissions) when group or
  // others have any access to it: a key is as secret as the tokens it protects (chmod 600, like
  // ssh's private keys); refused (bad_key) when it is not a regular file ("not a regular file
  // (a FIFO)") or holds more than `max_file_bytes`.
  static constexpr std::size_t max_file_bytes = 4096;
  [[nodiscard]] static outcome<store_key, store_error> from_file(const std::filesystem::path& file);
  // Reads the text form from an environment variable.
  [[nodiscard]] static outcome<store_key, store_error> from_env(const std::string& variable);

  [[nodiscard]] std::string text() const;  // "rotary-key-v1:..."
  // The first 8 bytes of SHA-256("rotary-key-id-v1" || key): stored in the header so a wrong
  // key is told apart from a modified file. Reveals nothing usable about the key.
  [[nodiscard]] std::array<unsigned char, 8> id() const;
  [[nodiscard]] std::string id_hex() const;
  [[nodiscard]] const unsigned char* data() const noexcept { return bytes_.data(); }

  store_key(const store_key&) = default;
  store_key& operator=(const store_key&) = default;
  ~store_key() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

 private:
  store_key() = default;
  std::array<unsigned char, size> bytes_{};
};

// Asks for a store in plain text: `token_store{path, rotary::plaintext}`.
struct plaintext_t {
  explicit plaintext_t() = default;
};
inline constexpr plaintext_t plaintext{};

// --- the lock ------------------------------------------------------------------------------------

// An exclusive flock on FILE.lock, held until destroyed (or the process ends, even by SIGKILL).
// The lock file is never removed (removing it would let two runs lock two different files).
// It is found by name in the store's directory, so every path to one store file finds the same
// lock file ("x", "./x", "d/../x", a symbolic link to the directory, a bind mount of it); the
// two kinds of path that would find another one are refused by lock(): a store path that is a
// symbolic link (not_regular) and a store file with several hard links (hard_linked).
class store_lock {
 public:
  store_lock(store_lock&&) noexcept = default;
  store_lock& operator=(store_lock&&) noexcept = default;
  [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }

 private:
  friend class token_store;
  store_lock(detail::unique_fd fd, std::filesystem::path file) : fd_(std::move(fd)), file_(std::move(file)) {}
  detail::unique_fd fd_;
  std::filesystem::path file_;  // the store file it guards
};

// --- the store -----------------------------------------------------------------------------------

// The steps of a save, in order. A test hook may stop a save after any of them.
enum class save_step {
  temp_created,      // .NAME.tmp opened with O_CREAT | O_EXCL, mode 0600
  temp_written,      // the whole record written to it
  temp_synced,       // fsync'd and closed
  renamed,           // renamed over NAME: the new record is in place
  directory_synced,  // the directory fsync'd: the rename is durable
};

// What recover() found.
enum class recovery { nothing, removed_partial, rolled_forward };

// The store path must name a regular file with one name, or nothing yet: a FIFO, a device, a
// directory, a socket or a symbolic link is refused (`not_regular`, "PATH: not a regular file
// (a FIFO)"), and so is a file with several hard links (`hard_linked`), by lock(), load(),
// create() and save(), before anything is opened or created beside it (no /dev/null.lock). A symbolic link
// is refused rather than followed because a save renames a new file over the path, which
// replaces the link, not its target (docs/rotation-job.md, "Paths").
class token_store {
 public:
  token_store(std::filesystem::path file, store_key key)
      : file_(std::move(file)), protection_(std::move(key)) {}
  token_store(std::filesystem::path file, plaintext_t) : file_(std::move(file)), protection_(plaintext) {}

  [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }
  [[nodiscard]] std::filesystem::path lock_file() const { return file_.string() + ".lock"; }
  [[nodiscard]] std::filesystem::path temp_file() const;
  [[nodiscard]] bool encrypted() const noexcept { return std::holds_alternative<store_key>(protection_); }

  // Takes the run lock, waiting up to `wait` (polling; 0: try once). `locked` names the pid
  // that holds it. Checks the store path first (see above).
  [[nodiscard]] outcome<store_lock, store_error> lock(std::chrono::milliseconds wait = {}) const;

  // Reads and authenticates the file (at most detail::store_format::max_file bytes: larger is
  // `foreign`). Needs no lock (saves are atomic renames); never writes.
  [[nodiscard]] outcome<store_contents, store_error> load() const;

  // Creates a new store (already_exists when the file is there). Writes generation 1.
  [[nodiscard]] outcome<std::uint64_t, store_error> create(const store_lock& lock,
                                                           store_contents contents) const;

  // Replaces the record atomically with `contents`, as generation `contents.generation + 1`
  // (returned). On failure the old file is untouched and the temp file removed.
  [[nodiscard]] outcome<std::uint64_t, store_error> save(const store_lock& lock,
                                                         store_contents contents) const;

  // After a crash mid-save a temp file may be left. Under the lock: a temp file that
  // authenticates and is newer than the store is renamed into place (it was complete, only the
  // rename was missing: rolling forward keeps a token the server already issued); any other is
  // removed.
  [[nodiscard]] outcome<recovery, store_error> recover(const store_lock& lock) const;

  // For tests: called after each step of a save. An exception thrown from it ends the save
  // there, as a crash would: nothing is cleaned up.
  void set_save_hook(std::function<void(save_step)> hook) { hook_ = std::move(hook); }

 private:
  [[nodiscard]] store_error error(store_error::kind_type kind, const std::string& what) const {
    return {kind, detail::escape(file_.string()) + ": " + what};
  }
  [[nodiscard]] store_error error(const detail::file_error& e) const;
  [[nodiscard]] std::optional<store_error> check_file() const;
  [[nodiscard]] std::optional<store_error> check_lock(const store_lock& lock) const;
  [[nodiscard]] detail::bytes seal(const store_contents& c) const;
  [[nodiscard]] outcome<store_contents, store_error> open(const detail::bytes& data) const;
  [[nodiscard]] outcome<std::uint64_t, store_error> write(store_contents contents) const;

  std::filesystem::path file_;
  std::variant<store_key, plaintext_t> protection_;
  std::function<void(save_step)> hook_;
};

// --- the format ----------------------------------------------------------------------------------

namespace detail::store_format {
inline constexpr std::array<unsigned char, 8> magic = {'R', 'O', 'T', 'S', 'T', 'O', 'R', 'E'};
inline constexpr unsigned char version = 1;
inline constexpr unsigned char mode_gcm = 1;
inline constexpr unsigned char mode_plaintext = 2;
inline constexpr std::size_t header_bytes =
    36;  // magic 8, version 1, mode 1, reserved 2, key id 8, nonce 12, length 4
inline constexpr std::size_t trailer_bytes = 16;  // GCM tag, or SHA-256 prefix in plain text
inline constexpr std::size_t max_payload = 1 << 20;
inline constexpr std::size_t max_file = max_payload + 4096;  // the read cap: larger is foreign
}  // namespace detail::store_format

// =================================================================================================

inline std::string_view store_error::code() const noexcept {
  switch (kind) {
    case not_found:
      return "not-found";
    case empty:
      return "empty";
    case foreign:
      return "foreign";
    case unsupported_version:
      return "unsupported-version";
    case truncated:
      return "truncated";
    case wrong_key:
      return "wrong-key";
    case tampered:
      return "tampered";
    case protection_mismatch:
      return "protection-mismatch";
    case bad_contents:
      return "bad-contents";
    case already_exists:
      return "already-exists";
    case locked:
      return "locked";
    case bad_key:
      return "bad-key";
    case key_permissions:
      return "key-permissions";
    case unsynced:
      return "unsynced";
    case not_regular:
      return "not-regular";
    case hard_linked:
      return "hard-linked";
    case io:
      break;
  }
  return "io";
}

inline store_key store_key::generate() {
  store_key k;
  detail::store_random(k.bytes_.data(), k.bytes_.size());
  return k;
}

inline outcome<store_key, store_error> store_key::parse(std::string_view text, std::string_view source) {
  auto fail = [&](const std::string& what) {
    return store_error{store_error::bad_key, std::string(source) + ": " + what};
  };
  if (text.ends_with("\r\n"))
    text.remove_suffix(2);
  else if (text.ends_with('\n'))
    text.remove_suffix(1);
  if (text.empty())
    return fail("empty; expected \"rotary-key-v1:\" and base64 (make one with `rotary keygen`)");
  if (!text.starts_with(prefix))
    return fail("not a rotary key: it must start with \"rotary-key-v1:\" (make one with `rotary keygen`)");
  text.remove_prefix(prefix.size());
  auto decoded = detail::base64_decode(text);
  if (!decoded) return fail("the text after \"rotary-key-v1:\" is not valid base64 on one line");
  if (decoded->size() != size) {
    const auto n = decoded->size();
    OPENSSL_cleanse(decoded->data(), decoded->size());
    return fail("the key holds " + std::to_string(n) + " bytes; it must hold 32");
  }
  store_key k;
  std::copy(decoded->begin(), decoded->end(), k.bytes_.begin());
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return k;
}

inline outcome<store_key, store_error> store_key::from_file(const std::filesystem::path& file) {
  const std::string name = "key file " + detail::escape(file.string());
  struct stat st {};
  auto fd = detail::open_regular(file.string(), detail::links::follow, st);  // a symlink: its target
  if (!fd)
    return store_error{
        fd.error().kind == detail::file_error::not_regular ? store_error::bad_key : store_error::io,
        name + ": " + fd.error().describe()};
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return store_error{store_error::key_permissions, name + ": group or others can access it (mode " + mode +
                                                         "); run: chmod 600 " +
                                                         detail::escape(file.string())};
  }
  std::string text;
  auto k = [&]() -> outcome<store_key, store_error> {
    const auto read = detail::read_all(fd->get(), text, max_file_bytes, st.st_size);
    if (read) return parse(text, name);
    if (read.error().kind == detail::file_error::too_large)
      return store_error{store_error::bad_key, name + ": " + read.error().describe() +
                                                   ", not a rotary key (one line of 58 characters)"};
    return store_error{store_error::io, name + ": " + read.error().describe()};
  }();
  OPENSSL_cleanse(text.data(), text.size());
  return k;
}

inline outcome<store_key, store_error> store_key::from_env(const std::string& variable) {
  const char* v = std::getenv(variable.c_str());
  if (v == nullptr || *v == '\0')
    return store_error{store_error::bad_key,
                       "environment variable " + detail::escape(variable) + ": not set or empty"};
  return parse(v, "environment variable " + detail::escape(variable));
}

inline std::string store_key::text() const {
  return std::string(prefix) + detail::base64_encode(bytes_.data(), bytes_.size());
}

inline std::array<unsigned char, 8> store_key::id() const {
  constexpr std::string_view label = "rotary-key-id-v1";
  std::array<unsigned char, label.size() + size> in{};
  std::copy(label.begin(), label.end(), in.begin());
  std::copy(bytes_.begin(), bytes_.end(), in.begin() + static_cast<std::ptrdiff_t>(label.size()));
  const auto digest = detail::store_sha256(in.data(), in.size());
  OPENSSL_cleanse(in.data(), in.size());
  std::array<unsigned char, 8> out{};
  std::copy_n(digest.begin(), out.size(), out.begin());
  return out;
}

namespace detail {
inline std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 15]);
  }
  return s;
}

inline nlohmann::json stored_token_json(const stored_token& t) {
  nlohmann::json j = t.state;
  j["secret"] = t.secret;
  return j;
}

inline stored_token stored_token_from_json(const nlohmann::json& j, std::string_view field) {
  if (!j.is_object()) json_fail(field, "expected an object, got " + json_kind(j));
  stored_token t;
  const auto* s = json_find(j, "secret");
  if (!s || !s->is_string() || s->get_ref<const std::string&>().empty())
    json_fail(std::string(field) + ".secret", "expected a non-empty string");
  t.secret = s->get<std::string>();
  try {
    t.state = j.get<token_state>();
  } catch (const json_error& e) {
    json_fail(field, e.what());
  }
  return t;
}
}  // namespace detail

inline std::string store_key::id_hex() const {
  const auto i = id();
  return detail::hex(i.data(), i.size());
}

inline std::filesystem::path token_store::temp_file() const {
  const auto dir = file_.parent_path();
  return dir / ("." + file_.filename().string() + ".tmp");
}

inline store_error token_store::error(const detail::file_error& e) const {
  if (e.kind == detail::file_error::os && e.err == ENOENT)
    return error(store_error::not_found, "no such store; create one with `rotary rotate --init`");
  if (e.kind == detail::file_error::too_large)
    return error(store_error::foreign, "larger than any rotary token store (over 1 MiB)");
  if (e.kind == detail::file_error::os) return error(store_error::io, "cannot read: " + e.describe());
  if (e.type == S_IFLNK)
    return error(
        store_error::not_regular,
        e.describe() +
            "; a save replaces the store by rename, which would replace the link, not its target: give "
            "the target's path");
  return error(store_error::not_regular, e.describe());
}

// Nothing there yet, or a regular file with one name: what the lock, the temp file and the
// rename can own. Opens nothing.
inline std::optional<store_error> token_store::check_file() const {
  const auto st = detail::stat_regular(file_.string(), detail::links::refuse);
  if (!st) {
    if (st.error().kind == detail::file_error::os && st.error().err == ENOENT) return std::nullopt;
    return error(st.error());
  }
  if (st->st_nlink > 1)
    return error(
        store_error::hard_linked,
        "the store has " + std::to_string(st->st_nlink) +
            " hard links; a save replaces it by rename, which would leave the other names on the old "
            "record: keep one name");
  return std::nullopt;
}

inline outcome<store_lock, store_error> token_store::lock(std::chrono::milliseconds wait) const {
  if (auto e = check_file()) return *e;  // before the lock file: no /dev/null.lock
  const auto path = lock_file();
  const std::string shown = detail::escape(path.string());
  auto not_regular = [&](mode_t type) {
    return store_error{store_error::not_regular, shown + ": " + detail::file_error::of_type(type).describe()};
  };
  if (auto seen = detail::stat_regular(path.string(), detail::links::refuse);
      !seen && seen.error().kind == detail::file_error::not_regular)
    return not_regular(seen.error().type);  // a FIFO or a device is not opened, a link not followed
  detail::unique_fd fd(
      ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600));
  if (!fd) return store_error{store_error::io, shown + ": " + detail::errno_text(errno)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return store_error{store_error::io, shown + ": " + detail::errno_text(errno)};
  if (!S_ISREG(st.st_mode)) return not_regular(st.st_mode & S_IFMT);  // swapped in since the look
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const int err = detail::try_flock(fd.get());
    if (err == 0) break;
    if (err != EWOULDBLOCK)
      return store_error{store_error::io, shown + ": flock: " + detail::errno_text(err)};
    if (std::chrono::steady_clock::now() - start >= wait) {
      char buf[32] = {};
      const ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
      std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) pid = "unknown";
      return error(store_error::locked, "another run holds the lock " + shown + " (pid " + pid +
                                            "); waited " +
                                            format_duration(std::chrono::duration_cast<seconds>(wait)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) (void)::pwrite(fd.get(), pid.data(), pid.size(), 0);  // informative only
  return store_lock(std::move(fd), file_);
}

inline std::optional<store_error> token_store::check_lock(const store_lock& lock) const {
  if (!lock.fd_ || lock.file_ != file_)
    return error(store_error::locked, "save needs this store's lock (token_store::lock)");
  return std::nullopt;
}

inline detail::bytes token_store::seal(const store_contents& c) const {
  namespace f = detail::store_format;
  nlohmann::json j = {
      {"rotaryStore", 1},
      {"generation", c.generation},
      {"endpoint", c.endpoint},
      {"bufferSeconds", c.buffer.count()},
      {"unverified", c.unverified},
      {"unansweredRotation",
       c.unanswered_rotation ? nlohmann::json(to_unix(*c.unanswered_rotation)) : nlohmann::json()},
      {"current", detail::stored_token_json(c.current)},
      {"previous", c.previous ? detail::stored_token_json(*c.previous) : nlohmann::json()}};
  std::string text = j.dump();
  if (text.size() > f::max_payload) throw std::length_error("token store record larger than 1 MiB");
  detail::bytes out(f::header_bytes);
  std::copy(f::magic.begin(), f::magic.end(), out.begin());
  out[8] = f::version;
  const bool gcm = encrypted();
  out[9] = gcm ? f::mode_gcm : f::mode_plaintext;
  if (gcm) {
    const auto& key = std::get<store_key>(protection_);
    const auto id = key.id();
    std::copy(id.begin(), id.end(), out.begin() + 12);
    detail::store_random(out.data() + 20, detail::gcm_nonce_bytes);
  }
  const auto n = static_cast<std::uint32_t>(text.size());
  for (int k = 0; k < 4; ++k)
    out[32 + static_cast<std::size_t>(k)] = static_cast<unsigned char>(n >> (24 - 8 * k));
  if (gcm) {
    const auto sealed =
        detail::gcm_seal(std::get<store_key>(protection_).data(), out.data() + 20, out.data(),
                         f::header_bytes, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    out.insert(out.end(), sealed.begin(), sealed.end());
  } else {
    out.insert(out.end(), text.begin(), text.end());
    const auto sum = detail::store_sha256(out.data(), out.size());
    out.insert(out.end(), sum.begin(), sum.begin() + f::trailer_bytes);
  }
  OPENSSL_cleanse(text.data(), text.size());
  return out;
}

inline outcome<store_contents, store_error> token_store::open(const detail::bytes& data) const {
  namespace f = detail::store_format;
  if (data.empty()) return error(store_error::empty, "the file is empty (0 bytes), not a rotary token store");
  const std::size_t head = std::min(data.size(), f::magic.size());
  if (!std::equal(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(head), f::magic.begin()))
    return error(store_error::foreign, "not a rotary token store (it does not start with \"ROTSTORE\")");
  if (data.size() < f::header_bytes + f::trailer_bytes)
    return error(store_error::truncated, "truncated: " + std::to_string(data.size()) +
                                             " bytes, shorter than the smallest store (" +
                                             std::to_string(f::header_bytes + f::trailer_bytes) + " bytes)");
  if (data[8] != f::version)
    return error(store_error::unsupported_version, "store format version " + std::to_string(data[8]) +
                                                       " is not supported (this rotary reads version 1)");
  const unsigned char mode = data[9];
  if ((mode != f::mode_gcm && mode != f::mode_plaintext) || data[10] != 0 || data[11] != 0)
    return error(store_error::unsupported_version, "unknown protection mode " + std::to_string(mode) +
                                                       " in the header (this rotary knows 1 and 2)");
  std::uint32_t n = 0;
  for (int k = 0; k < 4; ++k) n = (n << 8) | data[32 + static_cast<std::size_t>(k)];
  const std::size_t want = f::header_bytes + std::size_t{n} + f::trailer_bytes;
  if (data.size() < want)
    return error(store_error::truncated, "truncated: " + std::to_string(data.size()) +
                                             " bytes, but its header announces " + std::to_string(want));
  if (data.size() > want)
    return error(store_error::tampered,
                 std::to_string(data.size() - want) +
                     " unexpected bytes after the end of the record: the file was modified");
  const bool gcm = encrypted();
  if (mode == f::mode_gcm && !gcm)
    return error(store_error::protection_mismatch,
                 "the store is encrypted: give its key (--key-file or --key-env), not --plaintext");
  if (mode == f::mode_plaintext && gcm)
    return error(store_error::protection_mismatch,
                 "the store is in plain text (its header says so): open it with --plaintext, or re-create it "
                 "encrypted");
  std::string text;
  if (gcm) {
    const auto& key = std::get<store_key>(protection_);
    const auto id = key.id();
    if (!std::equal(id.begin(), id.end(), data.begin() + 12))
      return error(store_error::wrong_key, "wrong key: the store was encrypted with key " +
                                               detail::hex(data.data() + 12, 8) + ", this key is " +
                                               key.id_hex());
    auto plain = detail::gcm_open(key.data(), data.data() + 20, data.data(), f::header_bytes,
                                  data.data() + f::header_bytes, std::size_t{n} + f::trailer_bytes);
    if (!plain)
      return error(store_error::tampered,
                   "authentication failed: the file was modified or damaged after it was written");
    text.assign(plain->begin(), plain->end());
    OPENSSL_cleanse(plain->data(), plain->size());
  } else {
    const auto sum = detail::store_sha256(data.data(), f::header_bytes + n);
    if (!std::equal(sum.begin(), sum.begin() + f::trailer_bytes,
                    data.begin() + static_cast<std::ptrdiff_t>(f::header_bytes + n)))
      return error(store_error::tampered,
                   "checksum mismatch: the file was modified or damaged after it was written");
    text.assign(data.begin() + f::header_bytes,
                data.begin() + static_cast<std::ptrdiff_t>(f::header_bytes + n));
  }
  store_contents c;
  try {
    const auto j = detail::parse_json_text(text);
    OPENSSL_cleanse(text.data(), text.size());
    detail::json_object(j, "record");
    const auto* fmt = detail::json_find(j, "rotaryStore");
    if (!fmt || detail::json_integer(*fmt, "rotaryStore", 0, 1'000'000, "a format number") != 1)
      detail::json_fail("rotaryStore", "expected 1");
    if (const auto* g = detail::json_find(j, "generation"))
      c.generation = static_cast<std::uint64_t>(
          detail::json_integer(*g, "generation", 0, std::numeric_limits<std::int64_t>::max(), "a count"));
    if (const auto* e = detail::json_find(j, "endpoint")) {
      if (!e->is_string()) detail::json_fail("endpoint", "expected a string");
      c.endpoint = e->get<std::string>();
    }
    if (const auto* b = detail::json_find(j, "bufferSeconds"))
      c.buffer = seconds{detail::json_integer(*b, "bufferSeconds", 0, 366LL * 86400, "seconds")};
    if (const auto* u = detail::json_find(j, "unverified")) {
      if (!u->is_boolean()) detail::json_fail("unverified", "expected true or false");
      c.unverified = u->get<bool>();
    }
    c.unanswered_rotation = detail::json_optional_time(j, "unansweredRotation");
    const auto* cur = detail::json_find(j, "current");
    if (!cur) detail::json_fail("current", "missing");
    c.current = detail::stored_token_from_json(*cur, "current");
    if (const auto* p = detail::json_find(j, "previous"))
      c.previous = detail::stored_token_from_json(*p, "previous");
  } catch (const nlohmann::json::exception& e) {
    OPENSSL_cleanse(text.data(), text.size());
    return error(store_error::bad_contents, std::string("the record is not valid JSON: ") + e.what());
  } catch (const json_error& e) {
    OPENSSL_cleanse(text.data(), text.size());
    return error(store_error::bad_contents,
                 std::string("the record is not a valid token record: ") + e.what());
  }
  return c;
}

inline outcome<store_contents, store_error> token_store::load() const {
  if (auto e = check_file()) return *e;
  auto data = detail::read_regular_file<detail::bytes>(file_.string(), detail::store_format::max_file,
                                                       detail::links::refuse);
  if (!data) return error(data.error());
  auto out = open(*data);
  OPENSSL_cleanse(data->data(), data->size());
  return out;
}

inline outcome<std::uint64_t, store_error> token_store::write(store_contents contents) const {
  if (auto e = check_file()) return *e;  // swapped for a link or linked twice since the lock
  contents.generation += 1;
  auto record = seal(contents);
  const auto tmp = temp_file();
  const std::string tmp_shown = detail::escape(tmp.string());
  auto dir = file_.parent_path();
  if (dir.empty()) dir = ".";
  auto step = [&](save_step s) {
    if (hook_) hook_(s);
  };
  // Under the lock nobody else writes the temp file: one left behind is from a crashed run.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return error(store_error::io, "cannot remove the stale " + tmp_shown + ": " + detail::errno_text(errno));
  detail::unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return error(store_error::io, "cannot create " + tmp_shown + ": " + detail::errno_text(errno));
  auto fail = [&](const std::string& what, int err) {
    fd.reset();
    ::unlink(tmp.c_str());
    OPENSSL_cleanse(record.data(), record.size());
    return error(store_error::io, what + ": " + detail::errno_text(err));
  };
  step(save_step::temp_created);
  if (const int err = detail::write_all(fd.get(), record.data(), record.size()); err != 0)
    return fail("cannot write " + tmp_shown, err);
  step(save_step::temp_written);
  if (::fsync(fd.get()) != 0) return fail("cannot fsync " + tmp_shown, errno);
  if (const int err = fd.reset(); err != 0) return fail("cannot close " + tmp_shown, err);
  step(save_step::temp_synced);
  OPENSSL_cleanse(record.data(), record.size());
  if (::rename(tmp.c_str(), file_.c_str()) != 0)
    return fail("cannot rename " + tmp_shown + " over the store", errno);
  step(save_step::renamed);
  // The new record is in place; a failed directory fsync only risks durability across a power
  // loss, so it is reported but the save counts.
  if (const int err = detail::fsync_directory(dir.string()); err != 0)
    return error(store_error::unsynced, "saved, but cannot fsync the directory " +
                                            detail::escape(dir.string()) + ": " + detail::errno_text(err));
  step(save_step::directory_synced);
  return contents.generation;
}

inline outcome<std::uint64_t, store_error> token_store::create(const store_lock& lock,
                                                               store_contents contents) const {
  if (auto e = check_lock(lock)) return *e;
  struct stat st {};
  if (::lstat(file_.c_str(), &st) == 0)
    return error(store_error::already_exists,
                 "a store already exists; move it away first to start a new chain (its token would be lost)");
  contents.generation = 0;
  return write(std::move(contents));
}

inline outcome<std::uint64_t, store_error> token_store::save(const store_lock& lock,
                                                             store_contents contents) const {
  if (auto e = check_lock(lock)) return *e;
  return write(std::move(contents));
}

inline outcome<recovery, store_error> token_store::recover(const store_lock& lock) const {
  if (auto e = check_lock(lock)) return *e;
  const auto tmp = temp_file();
  const std::string tmp_shown = detail::escape(tmp.string());
  // Not followed if a link: a temp file that is not a regular file is removed, never read.
  auto data = detail::read_regular_file<detail::bytes>(tmp.string(), detail::store_format::max_file,
                                                       detail::links::refuse);
  if (!data && data.error().kind == detail::file_error::os && data.error().err == ENOENT)
    return recovery::nothing;
  const auto candidate = data ? open(*data) : outcome<store_contents, store_error>(store_error{});
  if (data) OPENSSL_cleanse(data->data(), data->size());
  bool forward = false;
  if (candidate) {
    const auto current = load();
    forward = (!current && current.error().kind == store_error::not_found) ||
              (current && candidate->generation > current->generation);
  }
  if (forward) {
    // The temp file was complete, but fsync may not have run: make it durable first.
    struct stat st {};
    auto fd = detail::open_regular(tmp.string(), detail::links::refuse, st);
    if (!fd) return error(store_error::io, "cannot fsync " + tmp_shown + ": " + fd.error().describe());
    if (::fsync(fd->get()) != 0)
      return error(store_error::io, "cannot fsync " + tmp_shown + ": " + detail::errno_text(errno));
    if (::rename(tmp.c_str(), file_.c_str()) != 0)
      return error(store_error::io, "cannot rename " + tmp_shown + ": " + detail::errno_text(errno));
    auto dir = file_.parent_path();
    (void)detail::fsync_directory(dir.empty() ? "." : dir.string());
    return recovery::rolled_forward;
  }
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return error(store_error::io, "cannot remove " + tmp_shown + ": " + detail::errno_text(errno));
  return recovery::removed_partial;
}

}  // namespace rotary

#endif  // ROTARY_DETAIL_OPENSSL_READY
