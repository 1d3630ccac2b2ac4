// The rotary program's subcommands: each cmd_<name>.cpp registers itself with
// `ROTARY_COMMAND(name, summary, setup)`; main.cpp builds the CLI11 app from the registry.
#pragma once

#include <CLI/CLI.hpp>
#include <rotary/detail/escape.hpp>
#include <rotary/diagnostic.hpp>
#include <rotary/time.hpp>

#include <charconv>
#include <cstdint>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace rotary::cli {

// Exit codes shared by every subcommand (docs/design.md, "The command line").
inline constexpr int exit_ok = 0;
inline constexpr int exit_found = 1;  // the check found a lapse, the expression is invalid, ...
inline constexpr int exit_usage = 2;

// A usage error found after CLI11 parsed the flags (a malformed time, say): main prints
// "rotary: error: <what>" on one line and exits 2. Every value quoted into `what` goes through
// `escape` (a newline as \n, ESC as \x1b, a byte that is not UTF-8 as \xff: docs/errors.md,
// "One-line errors"); main escapes the whole line once more, which changes nothing in text
// already escaped and keeps a value quoted by CLI11 or a library on one line too.
struct usage_error {
  std::string what;
};

using detail::escape;

// A subcommand: `setup` adds its flags to `app` and returns the function that runs it.
struct command {
  std::string name;
  std::string summary;
  std::function<std::function<int()>(CLI::App& app)> setup;
};

inline std::vector<command>& registry() {
  static std::vector<command> commands;
  return commands;
}

struct registrar {
  registrar(std::string name, std::string summary, std::function<std::function<int()>(CLI::App&)> setup) {
    registry().push_back({std::move(name), std::move(summary), std::move(setup)});
  }
};

#define ROTARY_COMMAND_CAT2(a, b) a##b
#define ROTARY_COMMAND_CAT(a, b) ROTARY_COMMAND_CAT2(a, b)
// The setup is variadic so that a lambda's capture list may hold commas.
#define ROTARY_COMMAND(name, summary, ...)                                              \
  static const ::rotary::cli::registrar ROTARY_COMMAND_CAT(rotary_command_, __LINE__) { \
    name, summary, __VA_ARGS__                                                          \
  }

// Flag value helpers: parse or throw usage_error naming the flag.
inline sys_seconds time_flag(const std::string& flag, const std::string& text) {
  auto r = parse_time(text);
  if (!r)
    throw usage_error{flag + " " + escape(text) + ": " + r.error().message + " (column " +
                      std::to_string(r.error().column) + ")"};
  return *r;
}
inline seconds duration_flag(const std::string& flag, const std::string& text,
                             bare_number bare = bare_number::reject) {
  auto r = parse_duration(text, bare);
  if (!r)
    throw usage_error{flag + " " + escape(text) + ": " + r.error().message + " (column " +
                      std::to_string(r.error().column) + ")"};
  return *r;
}
// A positive whole number of minutes, bare ("1440") or as a duration ("24h").
inline minutes minutes_flag(const std::string& flag, const std::string& text) {
  const auto d = duration_flag(flag, text, bare_number::in_minutes);
  if (d <= seconds{0} || d % minutes{1} != seconds{0})
    throw usage_error{flag + " " + escape(text) + ": must be a positive whole number of minutes"};
  return std::chrono::duration_cast<minutes>(d);
}

// A whole number in [lo, hi]: "--port 70000: must be between 0 and 65535".
inline std::int64_t integer_flag(const std::string& flag, const std::string& text, std::int64_t lo,
                                 std::int64_t hi) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw usage_error{flag + " " + escape(text) + ": expected a whole number"};
  if (v < lo || v > hi)
    throw usage_error{flag + " " + escape(text) + ": must be between " + std::to_string(lo) + " and " +
                      std::to_string(hi)};
  return v;
}

inline std::optional<sys_seconds> optional_time_flag(const std::string& flag, const std::string& text) {
  if (text.empty()) return std::nullopt;
  return time_flag(flag, text);
}

}  // namespace rotary::cli
