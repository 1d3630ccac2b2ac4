// rotary/diagnostic.hpp: errors in user input, with the column they point at.
//
// Every parser in rotary (times, durations, cron expressions) reports a problem as a
// `diagnostic`: a 1-based column, the length of the offending text and a sentence that says
// what was expected. `render` prints it the way a compiler does:
//
//     rotary: error: minute step 3600 is larger than the field (0-59)
//       */3600 * * * *
//         ^~~~
//
// A parser returns a `parse_result<T>`, which holds either the value or the diagnostic; the
// caller must look at it (`[[nodiscard]]`). `value()` on a failed result throws
// `rotary::parse_error`, which carries the diagnostic.
#pragma once

#include <rotary/outcome.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace rotary {

// What went wrong in an input and where: `column` is 1-based; `length` is at least 1.
struct diagnostic {
  std::size_t column = 1;
  std::size_t length = 1;
  std::string message;

  friend bool operator==(const diagnostic&, const diagnostic&) = default;
};

// Thrown by `parse_result<T>::value()` and by the throwing parsers; carries the diagnostic.
class parse_error : public std::invalid_argument {
 public:
  explicit parse_error(diagnostic d) : std::invalid_argument(d.message), diagnostic_(std::move(d)) {}
  [[nodiscard]] const rotary::diagnostic& where() const noexcept { return diagnostic_; }

 private:
  rotary::diagnostic diagnostic_;
};

// Thrown by `parse_result<T>::value()` (found by `outcome` through ADL).
[[noreturn]] inline void throw_error(const diagnostic& d) { throw parse_error(d); }

// Either a parsed value or the diagnostic that explains why there is none.
template <class T>
using parse_result = outcome<T, diagnostic>;

// The diagnostic as a compiler would print it: a first line
// "rotary: <severity>: <message>", then the input indented by two spaces and a caret line
// under the offending text. Control characters in the input print as '?', so the caret stays
// aligned and a terminal is never fed escape sequences.
[[nodiscard]] inline std::string render(const diagnostic& d, std::string_view input,
                                        std::string_view severity = "error") {
  std::string out = "rotary: ";
  out.append(severity).append(": ").append(d.message).append("\n  ");
  for (char c : input) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  out.append("\n  ");
  const std::size_t column = d.column == 0 ? 1 : d.column;
  out.append(column - 1, ' ');
  out.push_back('^');
  if (d.length > 1) out.append(d.length - 1, '~');
  out.push_back('\n');
  return out;
}

}  // namespace rotary
