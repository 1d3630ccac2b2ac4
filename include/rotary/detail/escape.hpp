// rotary/detail/escape.hpp: a value quoted into a one-line message, made safe to print.
//
// Every error of rotary is one line, and every value it quotes (a flag value, a file name, a
// cron expression, a field of a server's answer) may hold anything: a newline would split the
// line in a cron log, an ESC would drive the terminal, an invalid UTF-8 byte would garble it.
// `escape` writes each byte that is not part of a printable character as text:
//
//     detail::escape("a\nb")          == "a\\nb"         // \n, \r, \t by name
//     detail::escape("\x1b[31m")      == "\\x1b[31m"     // other controls and DEL as \xHH
//     detail::escape("60\xff")        == "60\\xff"       // a byte that is not UTF-8 as \xHH
//     detail::escape("Europe/Z\xc3\xbcrich") == "Europe/Z\xc3\xbcrich"  // printable UTF-8 kept
//
// A backslash is kept as it is, so the rule is idempotent: a message escaped twice (a value
// escaped where it is quoted, then the whole line where it is printed) reads the same, and any
// layer may apply it. The price: a value holding the four characters `\x1b` reads like one
// holding ESC. The rule is documented in docs/errors.md ("One-line errors").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rotary::detail {

// The length (1 to 4) of the well-formed UTF-8 sequence at `s[i]`, and its code point in `cp`;
// 0 when the bytes there are not one (overlong forms, surrogates, values past U+10FFFF, a cut-off
// sequence: the Unicode Standard, table 3-7).
constexpr std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) noexcept {
  const auto b = static_cast<unsigned char>(s[i]);
  const std::size_t n = b < 0x80             ? 1
                        : (b & 0xE0) == 0xC0 ? 2
                        : (b & 0xF0) == 0xE0 ? 3
                        : (b & 0xF8) == 0xF0 ? 4
                                             : 0;
  if (n == 0 || n > s.size() - i) return 0;
  char32_t c = n == 1 ? b : n == 2 ? b & 0x1Fu : n == 3 ? b & 0x0Fu : b & 0x07u;
  for (std::size_t k = 1; k < n; ++k) {
    const auto cont = static_cast<unsigned char>(s[i + k]);
    if ((cont & 0xC0) != 0x80) return 0;
    c = (c << 6) | (cont & 0x3Fu);
  }
  constexpr char32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < least[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  cp = c;
  return n;
}

// A character that is well-formed but not printable text: a C0 or C1 control, DEL, a line or
// paragraph separator (U+2028, U+2029), or a bidirectional control that reorders what follows
// (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069).
constexpr bool is_control_character(char32_t c) noexcept {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x061C || c == 0x200E || c == 0x200F ||
         (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

// `text` as it may stand in a one-line message: \n, \r and \t by name; every other byte that is
// not part of a printable character (see is_control_character) and every byte that is not
// well-formed UTF-8 as \xHH (two lowercase hex digits); everything else as it is.
inline std::string escape(std::string_view text) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(text, i, cp);
    if (n != 0 && !is_control_character(cp)) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    // Each byte of a control character, or the one byte that starts no well-formed sequence.
    for (const std::size_t end = i + (n == 0 ? 1 : n); i < end; ++i) {
      const auto b = static_cast<unsigned char>(text[i]);
      if (b == '\n') {
        out += "\\n";
      } else if (b == '\r') {
        out += "\\r";
      } else if (b == '\t') {
        out += "\\t";
      } else {
        out += "\\x";
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
      }
    }
  }
  return out;
}

}  // namespace rotary::detail
