// rotary/detail/server_state.hpp: the fake server's state file.
//
//     {"format": "rotary-fake-server-state", "version": 1,
//      "clock": {"now": 1798761600, "warp": 0},
//      "replayKey": "<base64url>",
//      "tokens": [{"id": "tok_1", "secretSha256": "<hex>", "createdAt": ..., "rotationPeriodMinutes": ...,
//                  "expiresAt": ..., "rotatedAt": ..., "parentId": null, "revoked": false}, ...]}
//
// Only hashes of secrets are written. `replayKey` is the HMAC key from which an idempotent
// re-rotation derives the child's secret from the parent's (so it is never stored). Tokens are
// listed in id order (tok_1, tok_2, ...), a parent before its children. Written by atomic
// replace: a temporary file in the same directory (mode 0600), fsync, rename, fsync of the
// directory; a reader sees the old file or the new one, never a mix.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <rotary/detail/json_read.hpp>
#include <rotary/detail/json_rules.hpp>
#include <rotary/detail/safe_file.hpp>
#include <rotary/detail/server_crypto.hpp>
#include <rotary/detail/server_table.hpp>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace rotary {

// A state file that cannot be read, is not a rotary state file, or cannot be written.
class state_file_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

inline constexpr std::string_view state_format = "rotary-fake-server-state";
inline constexpr int state_version = 1;

struct server_snapshot {
  sys_seconds now{};
  double warp = 0;
  digest replay_key{};
  token_table tokens;
};

// Written by hand, in the fixed key order above and in the layout of nlohmann's dump(1): the
// sorted nlohmann::json would reorder the keys, and nlohmann::ordered_json would cost every
// includer of fake_server.hpp half a second of compile time (docs/compile-time.md). Every string
// written is an id, hex or base64url ([A-Za-z0-9_-]): none needs escaping.
inline std::string state_to_text(const server_snapshot& s) {
  std::string out;
  const auto key = [&out](int indent, std::string_view name) {
    out.append(static_cast<std::size_t>(indent), ' ');
    out += '"';
    out += name;
    out += "\": ";
  };
  const auto field = [&](int indent, std::string_view name, std::string_view value, bool last = false) {
    key(indent, name);
    out += value;
    out += last ? "\n" : ",\n";
  };
  const auto text_field = [&](int indent, std::string_view name, std::string_view value) {
    key(indent, name);
    out += '"';
    out += value;
    out += "\",\n";
  };
  out += "{\n";
  text_field(1, "format", state_format);
  field(1, "version", std::to_string(state_version));
  out += " \"clock\": {\n";
  field(2, "now", std::to_string(to_unix(s.now)));
  field(2, "warp", nlohmann::json(s.warp).dump(), true);
  out += " },\n";
  text_field(1, "replayKey", base64url(s.replay_key.data(), s.replay_key.size()));
  const auto& records = s.tokens.records();
  out += records.empty() ? " \"tokens\": []\n" : " \"tokens\": [\n";
  for (std::uint32_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const auto& t = r.state;
    out += "  {\n";
    text_field(3, "id", token_table::id(i));
    text_field(3, "secretSha256", hex(r.hash));
    field(3, "createdAt", std::to_string(to_unix(t.created_at)));  // sorted, as nlohmann::json wrote them
    if (t.expires_at) field(3, "expiresAt", std::to_string(to_unix(*t.expires_at)));
    if (t.rotated_at) field(3, "rotatedAt", std::to_string(to_unix(*t.rotated_at)));
    if (t.rotation_period) field(3, "rotationPeriodMinutes", std::to_string(t.rotation_period->count()));
    if (r.parent == no_token)
      field(3, "parentId", "null");
    else
      text_field(3, "parentId", token_table::id(r.parent));
    field(3, "revoked", r.revoked ? "true" : "false", true);
    out += i + 1 < records.size() ? "  },\n" : "  }\n ]\n";
  }
  out += "}\n";
  return out;
}

// Parses a state file's text; throws state_file_error("<what is wrong>").
inline server_snapshot state_from_text(const std::string& text) {
  nlohmann::json j;
  try {
    j = parse_json_text(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
    throw state_file_error("not JSON (" + json_parse_message(e) + ")");
  }
  // Typed reads, not `j["format"] != ...`: each comparison of a JSON value with a scalar type
  // instantiates its own operator templates (docs/compile-time.md).
  const auto* format = j.is_object() ? json_find(j, "format") : nullptr;
  if (!format || !format->is_string() || format->get_ref<const std::string&>() != state_format)
    throw state_file_error(
        "not a rotary fake server state file (no \"format\": \"rotary-fake-server-state\")");
  const auto* version = json_find(j, "version");
  if (!version || !version->is_number_integer()) throw state_file_error("no integer \"version\"");
  if (version->get<std::int64_t>() != state_version)
    throw state_file_error("version " + version->dump() + " is not supported (this rotary reads version 1)");
  server_snapshot s;
  try {
    static const nlohmann::json no_clock;
    const auto* clock_field = json_find(j, "clock");
    const nlohmann::json& clock = clock_field ? *clock_field : no_clock;
    json_object(clock, "clock");
    s.now = json_time(clock, "now");
    const auto* warp = json_find(clock, "warp");
    if (!warp || !warp->is_number() || warp->get<double>() < 0 || warp->get<double>() > 1e9)
      json_fail("clock.warp", "expected a number between 0 and 1e9");
    s.warp = warp->get<double>();
    const auto* key = json_find(j, "replayKey");
    if (!key || !key->is_string()) json_fail("replayKey", "expected a base64url string");
    const auto raw = base64url_decode(key->get<std::string>());
    if (!raw || raw->size() != s.replay_key.size()) json_fail("replayKey", "expected 32 bytes in base64url");
    std::memcpy(s.replay_key.data(), raw->data(), raw->size());
    const auto* tokens = json_find(j, "tokens");
    if (!tokens || !tokens->is_array()) json_fail("tokens", "expected an array");
    s.tokens.reserve(tokens->size());
    for (std::size_t i = 0; i < tokens->size(); ++i) {
      const auto& t = (*tokens)[i];
      const std::string where = "tokens[" + std::to_string(i) + "]";
      try {
        json_object(t, "token");
        const auto expected_id = token_table::id(static_cast<std::uint32_t>(i));
        const auto* id = json_find(t, "id");
        if (!id || !id->is_string() || id->get_ref<const std::string&>() != expected_id)
          json_fail("id", "expected \"" + expected_id + "\" (tokens in id order)");
        const auto* hash_text = json_find(t, "secretSha256");
        const auto hash = hash_text && hash_text->is_string()
                              ? parse_hex_digest(hash_text->get<std::string>())
                              : std::nullopt;
        if (!hash) json_fail("secretSha256", "expected 64 lower-case hex digits");
        const auto state = t.get<token_state>();
        auto parent = no_token;
        if (const auto* p = json_find(t, "parentId")) {
          const auto index = p->is_string() ? s.tokens.parse_id(p->get<std::string>()) : std::nullopt;
          if (!index) json_fail("parentId", "expected the id of an earlier token, got " + p->dump());
          parent = *index;
        }
        const auto* revoked = json_find(t, "revoked");
        if (revoked && !revoked->is_boolean()) json_fail("revoked", "expected true or false");
        if (s.tokens.find(*hash)) json_fail("secretSha256", "the same hash appears twice");
        const auto index = s.tokens.insert(*hash, state, parent);
        s.tokens[index].revoked = revoked && revoked->get<bool>();
        if (parent != no_token && s.tokens[parent].first_child == no_token)
          s.tokens[parent].first_child = index;
      } catch (const json_error& e) {
        throw json_error(where + "." + e.what());
      }
    }
  } catch (const json_error& e) {
    throw state_file_error(e.what());
  }
  return s;
}

// The most a state file may hold: about 200,000 tokens.
inline constexpr std::size_t max_state_file = std::size_t{64} << 20;

// The file's contents, or nullopt when it does not exist; throws state_file_error otherwise: "not
// a regular file (a FIFO)" (never opened, so never waited on), "larger than 64 MiB", "cannot
// read: <strerror>". A symbolic link is followed.
inline std::optional<std::string> read_state_file(const std::filesystem::path& path) {
  auto text = read_regular_file(path.string(), max_state_file, links::follow);
  if (text) return std::move(*text);
  const auto& e = text.error();
  if (e.kind == file_error::os && e.err == ENOENT) return std::nullopt;
  throw state_file_error(e.kind == file_error::os ? "cannot read: " + e.describe() : e.describe());
}

// The temporary files of `path` that a save killed midway left in its directory
// (".<name>.tmp-XXXXXX", the names write_file_atomically gives them) are removed: regular files
// and symbolic links only, and a link is removed itself, never followed. Anything else by that
// name (a directory, a FIFO) is left alone, and so is a file that cannot be removed. Returns
// how many were removed.
inline std::size_t remove_stale_temporaries(const std::filesystem::path& path) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const std::string prefix = "." + path.filename().string() + ".tmp-";
  const auto is_temporary = [&prefix](std::string_view name) {
    if (name.size() != prefix.size() + 6 || !name.starts_with(prefix)) return false;
    for (char c : name.substr(prefix.size()))  // mkstemp's letters
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    return true;
  };
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 0;
  DIR* d = fdopendir(dfd);
  if (d == nullptr) {
    close(dfd);
    return 0;
  }
  std::vector<std::string> stale;
  while (const dirent* e = readdir(d)) {
    struct stat st {};
    if (is_temporary(e->d_name) && fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
      stale.emplace_back(e->d_name);
  }
  std::size_t removed = 0;
  for (const auto& name : stale) removed += unlinkat(dfd, name.c_str(), 0) == 0 ? 1 : 0;
  closedir(d);  // closes dfd
  return removed;
}

// Replaces `path` atomically with `contents` (mode 0600); throws state_file_error.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  auto fail = [&](const std::string& step) {
    throw state_file_error("cannot " + step + ": " +
                           std::error_code(errno, std::generic_category()).message());
  };
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = mkstemp(temp.data());  // created with mode 0600
  if (fd < 0) fail("create a temporary file in " + dir.string());
  std::size_t written = 0;
  while (written < contents.size()) {
    const auto n = write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      close(fd);
      unlink(temp.c_str());
      errno = saved;
      fail("write " + temp);
    }
    written += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    const int saved = errno;
    unlink(temp.c_str());
    errno = saved;
    fail("flush " + temp);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    unlink(temp.c_str());
    errno = saved;
    fail("replace " + path.string());  // the temporary's random name would say nothing
  }
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

}  // namespace detail
}  // namespace rotary
