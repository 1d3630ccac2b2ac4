// rotary/detail/json_read.hpp: reading JSON fields with errors that name the field.
#pragma once

#include <nlohmann/json.hpp>
#include <rotary/time.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rotary {

// Thrown by every rotary `from_json` on a document of the wrong shape; the message names the
// field: `createdAt: expected Unix seconds (an integer), got a string`.
class json_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

inline std::string json_kind(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::number_float:
      return "a fractional number";
    case nlohmann::json::value_t::binary:
      return "binary data";
    case nlohmann::json::value_t::discarded:
      return "nothing";
    default:
      return "a number";
  }
}

[[noreturn]] inline void json_fail(std::string_view field, const std::string& what) {
  throw json_error(std::string(field) + ": " + what);
}

inline const nlohmann::json& json_object(const nlohmann::json& j, std::string_view what) {
  if (!j.is_object()) json_fail(what, "expected a JSON object, got " + json_kind(j));
  return j;
}

// The field, or nullptr when it is absent or null.
inline const nlohmann::json* json_find(const nlohmann::json& j, std::string_view key) {
  const auto it = j.find(std::string(key));
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

inline std::int64_t json_integer(const nlohmann::json& v, std::string_view field, std::int64_t lo,
                                 std::int64_t hi, std::string_view what) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (lo > 0 && u < static_cast<std::uint64_t>(lo))
      json_fail(field, "expected " + std::string(what) + " between " + std::to_string(lo) + " and " +
                           std::to_string(hi) + ", got " + std::to_string(u));
    if (u > static_cast<std::uint64_t>(hi))
      json_fail(field, "expected " + std::string(what) + " (at most " + std::to_string(hi) + "), got " +
                           std::to_string(u));
    return static_cast<std::int64_t>(u);
  }
  if (!v.is_number_integer())
    json_fail(field, "expected " + std::string(what) + " (an integer), got " + json_kind(v));
  const auto i = v.get<std::int64_t>();
  if (i < lo || i > hi)
    json_fail(field, "expected " + std::string(what) + " between " + std::to_string(lo) + " and " +
                         std::to_string(hi) + ", got " + std::to_string(i));
  return i;
}

// A NUL byte in JSON text, where it stands. Derives from nlohmann's exception so that code
// catching nlohmann::json::exception handles it with nlohmann's own parse errors.
class json_nul_error : public nlohmann::json::exception {
 public:
  json_nul_error(std::size_t line, std::size_t column)
      : exception(101, ("parse error at line " + std::to_string(line) + ", column " + std::to_string(column) +
                        ": a NUL byte, which JSON text cannot hold")
                           .c_str()) {}
};

// nlohmann::json::parse, except that a NUL byte is an error where it stands: nlohmann reads
// one outside a string as the end of the input, so "{}\0junk" would parse as {} and a file of
// zeros would be "unexpected end of input". The first error in the text is the one reported.
// Throws json_nul_error or nlohmann's parse_error/out_of_range.
inline nlohmann::json parse_json_text(std::string_view text) {
  const auto nul_error = [text](std::size_t at) {
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i < at; ++i)
      if (text[i] == '\n') ++line, line_start = i + 1;
    return json_nul_error(line, at - line_start + 1);
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann stopped at a NUL it took for the end of the input.
    if (e.byte >= 1 && e.byte <= text.size() && text[e.byte - 1] == '\0') throw nul_error(e.byte - 1);
    throw;
  }
  // A value parsed: a NUL can only be where nlohmann stopped reading, with text after it.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) throw nul_error(nul);
  return j;
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
inline std::string json_parse_message(const std::exception& e) {
  std::string what = e.what();
  if (what.rfind("[json.exception.", 0) == 0)
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
  return what;
}

// Unix seconds up to 9999-12-31T23:59:59Z.
inline constexpr std::int64_t max_unix_seconds = 253'402'300'799;

inline std::optional<sys_seconds> json_optional_time(const nlohmann::json& j, std::string_view key) {
  const auto* v = json_find(j, key);
  if (!v) return std::nullopt;
  return from_unix(json_integer(*v, key, 0, max_unix_seconds, "Unix seconds"));
}

inline sys_seconds json_time(const nlohmann::json& j, std::string_view key) {
  const auto t = json_optional_time(j, key);
  if (!t) json_fail(key, "missing (Unix seconds)");
  return *t;
}

}  // namespace detail
}  // namespace rotary
