// rotary/time.hpp: the one absolute time type, ISO-8601 instants and human durations.
//
// rotary has a single absolute time type, `rotary::sys_seconds` (a `std::chrono::sys_seconds`:
// seconds since 1970-01-01T00:00:00Z, leap seconds not counted). Civil (wall-clock) time only
// appears where a time zone is named, in `schedule.hpp`.
//
//     auto t = rotary::parse_time("2027-03-14T07:00:00+05:30").value();
//     rotary::format_time(t);                          // "2027-03-14T01:30:00Z"
//     rotary::parse_duration("P1DT2H").value();        // 93600s
//     rotary::format_duration(std::chrono::hours{26}); // "1d2h"
//
// Instants (`parse_time`), in the extended ISO-8601 form:
//     YYYY-MM-DD                         midnight UTC of that day
//     YYYY-MM-DDThh:mm[:ss[.fff]]Z       UTC ('T' may also be 't' or one space; 'Z' or 'z')
//     YYYY-MM-DDThh:mm[:ss[.fff]]+hh:mm  an offset east of UTC (also -hh:mm, +hhmm, +hh)
// A time of day without a zone designator is an error: it would silently mean "UTC" to one
// reader and "local" to another. Fractional seconds are truncated toward the earlier second
// (`07:00:00.999Z` reads as `07:00:00Z`), so a parsed instant is never later than the text.
// Years 1970 to 9999 only; the instant itself must not fall before 1970-01-01T00:00:00Z.
// Leap seconds (`:60`) and `24:00` are rejected.
//
// Durations (`parse_duration`):
//     90s  10m  60h  7d  2w  1h30m       numbers with units s, m, h, d, w, largest unit first
//     PT10M  P1DT2H  P2W  PT90S          ISO-8601 durations (no years or months: their
//                                        length is not fixed)
// Bare numbers are an error unless the caller names their unit (`bare_number::in_minutes` for
// flags documented in minutes). Durations are never negative and at most 10,000 years.
#pragma once

#include <rotary/diagnostic.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace rotary {

using sys_seconds = std::chrono::sys_seconds;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// What a number without a unit means to `parse_duration`.
enum class bare_number { reject, in_seconds, in_minutes };

// Parses an ISO-8601 instant (see the file comment for the accepted forms).
[[nodiscard]] parse_result<sys_seconds> parse_time(std::string_view text);

// Formats as `YYYY-MM-DDThh:mm:ssZ`. Example: format_time(sys_seconds{}) == "1970-01-01T00:00:00Z".
[[nodiscard]] std::string format_time(sys_seconds t);

// Parses `90s`, `10m`, `1h30m`, `PT10M`, ... (see the file comment).
[[nodiscard]] parse_result<seconds> parse_duration(std::string_view text,
                                                   bare_number bare = bare_number::reject);

// Formats compactly with the largest units first: 93600s -> "1d2h", 0s -> "0s", -90s -> "-1m30s".
[[nodiscard]] std::string format_duration(seconds d);

// Unix seconds <-> sys_seconds.
[[nodiscard]] constexpr std::int64_t to_unix(sys_seconds t) noexcept {
  return static_cast<std::int64_t>(t.time_since_epoch().count());
}
[[nodiscard]] constexpr sys_seconds from_unix(std::int64_t s) noexcept { return sys_seconds{seconds{s}}; }

// ---------------------------------------------------------------------------------------------

namespace detail {

// A cursor over the input that knows the 1-based column of what it looks at.
class text_cursor {
 public:
  explicit constexpr text_cursor(std::string_view s) noexcept : s_(s) {}
  [[nodiscard]] constexpr bool done() const noexcept { return i_ >= s_.size(); }
  [[nodiscard]] constexpr char peek() const noexcept { return done() ? '\0' : s_[i_]; }
  [[nodiscard]] constexpr std::size_t column() const noexcept { return i_ + 1; }
  [[nodiscard]] constexpr std::size_t pos() const noexcept { return i_; }
  constexpr void advance(std::size_t n = 1) noexcept { i_ += n; }
  [[nodiscard]] constexpr bool eat(char c) noexcept {
    if (peek() != c || done()) return false;
    ++i_;
    return true;
  }
  // Reads exactly `n` digits; false (cursor unchanged) if they are not there.
  [[nodiscard]] constexpr bool digits(int n, int& out) noexcept {
    int v = 0;
    for (int k = 0; k < n; ++k) {
      if (i_ + static_cast<std::size_t>(k) >= s_.size()) return false;
      const char c = s_[i_ + static_cast<std::size_t>(k)];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i_ += static_cast<std::size_t>(n);
    out = v;
    return true;
  }
  [[nodiscard]] constexpr std::size_t remaining() const noexcept { return s_.size() - i_; }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

inline diagnostic error_at(std::size_t column, std::string message, std::size_t length = 1) {
  return diagnostic{column, length == 0 ? 1 : length, std::move(message)};
}

constexpr bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
constexpr int days_in_month(int y, int m) noexcept {
  constexpr int table[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : table[m - 1];
}
// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant, "chrono-Compatible
// Low-Level Date Algorithms", days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// The proleptic Gregorian date of a day count since 1970-01-01 (same paper, civil_from_days).
struct civil_date {
  std::int64_t year;
  int month;
  int day;
};
constexpr civil_date civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), static_cast<int>(m), static_cast<int>(d)};
}

constexpr std::int64_t max_duration_seconds = 10'000LL * 366 * 86'400;

inline std::string printable(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || static_cast<unsigned char>(c) >= 0x80) {
    constexpr char hex[] = "0123456789abcdef";
    const auto u = static_cast<unsigned char>(c);
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
  }
  return std::string("'") + c + "'";
}

}  // namespace detail

inline parse_result<sys_seconds> parse_time(std::string_view text) {
  using detail::error_at;
  detail::text_cursor in(text);
  if (text.empty()) return error_at(1, "empty time: expected an ISO-8601 instant like 2027-03-14T07:00:00Z");
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!in.digits(4, y))
    return error_at(in.column(),
                    "expected a four-digit year (an ISO-8601 instant looks like 2027-03-14T07:00:00Z)");
  if (y < 1970) return error_at(1, "year " + std::to_string(y) + " is before 1970", 4);
  if (!in.eat('-')) return error_at(in.column(), "expected '-' after the year");
  const std::size_t month_col = in.column();
  if (!in.digits(2, mo)) return error_at(in.column(), "expected a two-digit month");
  if (mo < 1 || mo > 12)
    return error_at(month_col, "month " + std::to_string(mo) + " is out of range (01-12)", 2);
  if (!in.eat('-')) return error_at(in.column(), "expected '-' after the month");
  const std::size_t day_col = in.column();
  if (!in.digits(2, d)) return error_at(in.column(), "expected a two-digit day");
  if (d < 1 || d > detail::days_in_month(y, mo))
    return error_at(day_col,
                    "day " + std::to_string(d) + " does not exist in " + std::to_string(y) + "-" +
                        (mo < 10 ? "0" : "") + std::to_string(mo),
                    2);
  std::int64_t offset = 0;
  if (!in.done()) {
    if (!(in.eat('T') || in.eat('t') || in.eat(' ')))
      return error_at(in.column(),
                      "expected 'T' between the date and the time, found " + detail::printable(in.peek()));
    const std::size_t hour_col = in.column();
    if (!in.digits(2, h)) return error_at(in.column(), "expected a two-digit hour");
    if (h > 23) return error_at(hour_col, "hour " + std::to_string(h) + " is out of range (00-23)", 2);
    if (!in.eat(':')) return error_at(in.column(), "expected ':' after the hour");
    const std::size_t minute_col = in.column();
    if (!in.digits(2, mi)) return error_at(in.column(), "expected a two-digit minute");
    if (mi > 59) return error_at(minute_col, "minute " + std::to_string(mi) + " is out of range (00-59)", 2);
    if (in.eat(':')) {
      const std::size_t second_col = in.column();
      if (!in.digits(2, s)) return error_at(in.column(), "expected two-digit seconds");
      if (s > 59)
        return error_at(
            second_col,
            "second " + std::to_string(s) + " is out of range (00-59; leap seconds are not supported)", 2);
      if (in.eat('.') || in.eat(',')) {
        const std::size_t frac_col = in.column();
        std::size_t n = 0;
        while (!in.done() && in.peek() >= '0' && in.peek() <= '9') {
          in.advance();
          ++n;
        }
        if (n == 0) return error_at(frac_col, "expected digits after the decimal point");
        if (n > 9) return error_at(frac_col, "more than 9 fractional digits", n);
        // Truncated toward the earlier second: see the file comment.
      }
    }
    const std::size_t zone_col = in.column();
    if (in.eat('Z') || in.eat('z')) {
    } else if (in.peek() == '+' || in.peek() == '-') {
      const int sign = in.peek() == '-' ? -1 : 1;
      in.advance();
      int oh = 0, om = 0;
      const std::size_t oh_col = in.column();
      if (!in.digits(2, oh)) return error_at(in.column(), "expected a two-digit offset hour (like +05:30)");
      if (oh > 23)
        return error_at(oh_col, "offset hour " + std::to_string(oh) + " is out of range (00-23)", 2);
      if (in.eat(':')) {  // NOLINT(bugprone-branch-clone): +hh:mm and +hhmm read minutes alike
        if (!in.digits(2, om))
          return error_at(in.column(), "expected two-digit offset minutes (like +05:30)");
      } else if (!in.done()) {
        if (!in.digits(2, om))
          return error_at(in.column(), "expected two-digit offset minutes (like +05:30)");
      }
      if (om > 59)
        return error_at(in.column() - 2, "offset minute " + std::to_string(om) + " is out of range (00-59)",
                        2);
      offset = sign * (oh * 3600 + om * 60);
    } else if (in.done()) {
      return error_at(zone_col, "missing time zone designator: add Z for UTC or an offset like +05:30");
    } else {
      return error_at(zone_col, "expected Z or an offset like +05:30, found " + detail::printable(in.peek()));
    }
  }
  if (!in.done())
    return error_at(in.column(), "unexpected " + detail::printable(in.peek()) + " after the instant",
                    in.remaining());
  const std::int64_t unix_s =
      detail::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86'400 + h * 3600 +
      mi * 60 + s - offset;
  if (unix_s < 0) return error_at(1, "instant is before 1970-01-01T00:00:00Z", text.size());
  return from_unix(unix_s);
}

inline std::string format_time(sys_seconds t) {
  const auto total = to_unix(t);
  std::int64_t day = total / 86'400;
  std::int64_t sod = total % 86'400;
  if (sod < 0) {
    sod += 86'400;
    --day;
  }
  const auto [yy, mm, dd] = detail::civil_from_days(day);
  char buf[40];
  const auto hh = static_cast<int>(sod / 3600), mi = static_cast<int>(sod / 60 % 60),
             ss = static_cast<int>(sod % 60);
  std::string out;
  out.reserve(20);
  auto put = [&](std::int64_t v, int width) {
    int n = 0;
    bool neg = v < 0;
    std::uint64_t u = neg ? static_cast<std::uint64_t>(-v) : static_cast<std::uint64_t>(v);
    do {
      buf[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    while (n < width) buf[n++] = '0';
    if (neg) out.push_back('-');
    while (n > 0) out.push_back(buf[--n]);
  };
  put(yy, 4);
  out.push_back('-');
  put(mm, 2);
  out.push_back('-');
  put(dd, 2);
  out.push_back('T');
  put(hh, 2);
  out.push_back(':');
  put(mi, 2);
  out.push_back(':');
  put(ss, 2);
  out.push_back('Z');
  return out;
}

inline parse_result<seconds> parse_duration(std::string_view text, bare_number bare) {
  using detail::error_at;
  if (text.empty())
    return error_at(1, "empty duration: expected a number with a unit, like 10m, 60h, 7d or PT10M");
  detail::text_cursor in(text);
  if (in.peek() == '-') return error_at(1, "a duration cannot be negative");
  if (in.peek() == '+') in.advance();
  std::int64_t total = 0;
  auto add = [&](std::int64_t n, std::int64_t unit) -> bool {
    if (n > detail::max_duration_seconds / unit) return false;
    total += n * unit;
    return total <= detail::max_duration_seconds;
  };
  auto read_number = [&](std::int64_t& n, std::size_t& len) {
    n = 0;
    len = 0;
    while (!in.done() && in.peek() >= '0' && in.peek() <= '9') {
      if (n < detail::max_duration_seconds) n = n * 10 + (in.peek() - '0');
      in.advance();
      ++len;
    }
  };
  const std::string too_long = "duration is longer than 10,000 years";

  if (in.peek() == 'P' || in.peek() == 'p') {  // ISO-8601
    in.advance();
    if (in.done()) return error_at(in.column(), "expected a number after 'P' (like PT10M or P1D)");
    bool in_time = false, any = false;
    int last_rank = -1;  // W=0 D=1 | H=2 M=3 S=4
    while (!in.done()) {
      if (in.peek() == 'T' || in.peek() == 't') {
        if (in_time) return error_at(in.column(), "'T' appears twice");
        in_time = true;
        in.advance();
        if (in.done()) return error_at(in.column(), "expected hours, minutes or seconds after 'T'");
        continue;
      }
      const std::size_t col = in.column();
      std::int64_t n = 0;
      std::size_t len = 0;
      read_number(n, len);
      if (len == 0) return error_at(col, "expected a number, found " + detail::printable(in.peek()));
      if (in.peek() == '.' || in.peek() == ',')
        return error_at(in.column(), "fractional durations are not supported");
      if (in.done())
        return error_at(in.column(), "expected a unit after " + std::to_string(n) + " (like H, M or S)");
      const char u = static_cast<char>(in.peek() & ~0x20);  // upper case
      const std::size_t ucol = in.column();
      int rank = -1;
      std::int64_t unit = 0;
      if (!in_time) {
        if (u == 'W')
          rank = 0, unit = 7 * 86'400;
        else if (u == 'D')
          rank = 1, unit = 86'400;
        else if (u == 'Y' || u == 'M')
          return error_at(ucol, "years and months have no fixed length; use days (like P30D)");
        else if (u == 'H' || u == 'S')
          return error_at(ucol, "hours, minutes and seconds go after 'T' (like PT10M)");
      } else {
        if (u == 'H')
          rank = 2, unit = 3600;
        else if (u == 'M')
          rank = 3, unit = 60;
        else if (u == 'S')
          rank = 4, unit = 1;
      }
      if (rank < 0)
        return error_at(ucol, "unknown unit " + detail::printable(in.peek()) + " in an ISO-8601 duration");
      if (rank <= last_rank) return error_at(ucol, "units must appear once each, largest first");
      last_rank = rank;
      in.advance();
      if (!add(n, unit)) return error_at(col, too_long, len + 1);
      any = true;
    }
    if (!any) return error_at(in.column(), "expected hours, minutes or seconds after 'T'");
    return seconds{total};
  }

  int last_rank = 100;
  bool any = false;
  while (!in.done()) {
    const std::size_t col = in.column();
    std::int64_t n = 0;
    std::size_t len = 0;
    read_number(n, len);
    if (len == 0) return error_at(col, "expected a number, found " + detail::printable(in.peek()));
    if (in.peek() == '.' || in.peek() == ',')
      return error_at(in.column(),
                      "fractional durations are not supported; use a smaller unit (90s, not 1.5m)");
    if (in.done()) {
      if (!any && bare != bare_number::reject) {
        const std::int64_t unit = bare == bare_number::in_minutes ? 60 : 1;
        if (!add(n, unit)) return error_at(col, too_long, len);
        return seconds{total};
      }
      return error_at(in.column(),
                      "missing unit after " + std::to_string(n) + ": add s, m, h, d or w (like 10m)");
    }
    const std::size_t ucol = in.column();
    const char u = in.peek();
    int rank = 0;
    std::int64_t unit = 0;
    switch (u) {
      case 'w':
        rank = 5, unit = 7 * 86'400;
        break;
      case 'd':
        rank = 4, unit = 86'400;
        break;
      case 'h':
        rank = 3, unit = 3600;
        break;
      case 'm':
        rank = 2, unit = 60;
        break;
      case 's':
        rank = 1, unit = 1;
        break;
      case 'M':
        return error_at(ucol, "'M' is ambiguous: write m for minutes; months have no fixed length");
      case 'H':
      case 'D':
      case 'W':
      case 'S':
        return error_at(ucol, std::string("units are lower case: write ") + static_cast<char>(u | 0x20));
      default:
        return error_at(ucol, "unknown unit " + detail::printable(u) + ": expected s, m, h, d or w");
    }
    in.advance();
    if (u == 'm' && in.peek() == 's')
      return error_at(ucol, "durations are whole seconds; milliseconds are not supported", 2);
    if (rank >= last_rank) return error_at(ucol, "units must appear once each, largest first (like 1h30m)");
    last_rank = rank;
    if (!add(n, unit)) return error_at(col, too_long, len + 1);
    any = true;
  }
  return seconds{total};
}

inline std::string format_duration(seconds d) {
  std::int64_t v = d.count();
  std::string out;
  if (v < 0) {
    out.push_back('-');
    v = -v;
  }
  if (v == 0) return "0s";
  constexpr std::pair<std::int64_t, char> units[] = {{86'400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (auto [size, name] : units) {
    if (v >= size) {
      out += std::to_string(v / size);
      out.push_back(name);
      v %= size;
    }
  }
  return out;
}

}  // namespace rotary
