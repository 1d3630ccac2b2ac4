// rotary/detail/posix_tz.hpp: the rule that extends a zone past its last listed transition.
//
// A TZif file (RFC 8536) ends with a POSIX TZ string, "EST5EDT,M3.2.0,M11.1.0", that gives the
// transitions after the last one listed (POSIX.1-2017, XBD 8.3 "TZ"). zone.hpp uses it past a
// zone's last listed transition, so DST keeps working in 2038 and later.
#pragma once

#include <rotary/time.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rotary::detail {

constexpr bool posix_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool posix_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr std::int64_t posix_floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// "M3.2.0/2" (month, week 1-5 with 5 = last, weekday 0 = Sunday), "J60" (1-365, no Feb 29) or
// "59" (0-365), at `time` seconds of local time (may be negative or past 24h).
struct posix_date_rule {
  char kind = 'M';
  int month = 0, week = 0, weekday = 0, day = 0;
  std::int64_t time = 7200;
};

struct posix_tz {
  std::string std_name, dst_name;
  std::int64_t std_offset = 0, dst_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  posix_date_rule start, end;
};

class posix_tz_parser {
 public:
  explicit posix_tz_parser(std::string_view s) : s_(s) {}

  std::optional<posix_tz> run() {
    posix_tz tz;
    if (!name(tz.std_name)) return std::nullopt;
    std::int64_t west = 0;
    if (!offset(west)) return std::nullopt;
    tz.std_offset = -west;
    if (i_ == s_.size()) return tz;
    if (!name(tz.dst_name)) return std::nullopt;
    tz.has_dst = true;
    tz.dst_offset = tz.std_offset + 3600;
    if (i_ < s_.size() && s_[i_] != ',') {
      if (!offset(west)) return std::nullopt;
      tz.dst_offset = -west;
    }
    if (i_ == s_.size()) return std::nullopt;  // no rule: the POSIX default is unspecified
    if (s_[i_++] != ',' || !date_rule(tz.start) || i_ >= s_.size() || s_[i_++] != ',' || !date_rule(tz.end))
      return std::nullopt;
    if (i_ != s_.size()) return std::nullopt;
    return tz;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;

  bool name(std::string& out) {
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '<') {
      while (i_ < s_.size() && s_[i_] != '>') ++i_;
      if (i_ == s_.size()) return false;
      out = std::string(s_.substr(start + 1, i_ - start - 1));
      ++i_;
      return true;
    }
    while (i_ < s_.size() && posix_alpha(s_[i_])) ++i_;
    out = std::string(s_.substr(start, i_ - start));
    return i_ - start >= 3;
  }
  bool number(std::int64_t& out, int max_digits) {
    const std::size_t start = i_;
    out = 0;
    while (i_ < s_.size() && posix_digit(s_[i_]) && i_ - start < static_cast<std::size_t>(max_digits))
      out = out * 10 + (s_[i_++] - '0');
    return i_ > start;
  }
  // [+-]hh[:mm[:ss]] in seconds (hours up to 167 for rule times).
  bool offset(std::int64_t& out) {
    int sign = 1;
    if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) sign = s_[i_++] == '-' ? -1 : 1;
    std::int64_t h = 0, m = 0, sec = 0;
    if (!number(h, 3)) return false;
    if (i_ < s_.size() && s_[i_] == ':') {
      ++i_;
      if (!number(m, 2)) return false;
      if (i_ < s_.size() && s_[i_] == ':') {
        ++i_;
        if (!number(sec, 2)) return false;
      }
    }
    out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }
  bool date_rule(posix_date_rule& r) {
    std::int64_t a = 0, b = 0, c = 0;
    if (i_ < s_.size() && s_[i_] == 'M') {
      ++i_;
      r.kind = 'M';
      if (!number(a, 2) || i_ >= s_.size() || s_[i_++] != '.' || !number(b, 1) || i_ >= s_.size() ||
          s_[i_++] != '.' || !number(c, 1))
        return false;
      if (a < 1 || a > 12 || b < 1 || b > 5 || c > 6) return false;
      r.month = static_cast<int>(a), r.week = static_cast<int>(b), r.weekday = static_cast<int>(c);
    } else if (i_ < s_.size() && s_[i_] == 'J') {
      ++i_;
      r.kind = 'J';
      if (!number(a, 3) || a < 1 || a > 365) return false;
      r.day = static_cast<int>(a);
    } else {
      r.kind = 'N';
      if (!number(a, 3) || a > 365) return false;
      r.day = static_cast<int>(a);
    }
    r.time = 7200;
    if (i_ < s_.size() && s_[i_] == '/') {
      ++i_;
      if (!offset(r.time)) return false;
    }
    return true;
  }
};

inline std::optional<posix_tz> parse_posix_tz(std::string_view s) { return posix_tz_parser(s).run(); }

// Days since 1970-01-01 of the local date the rule names in year `y`.
inline std::int64_t posix_rule_day(const posix_date_rule& r, std::int64_t y) {
  if (r.kind == 'J') {
    std::int64_t n = r.day - 1;  // 0-based, February 29 not counted
    if (is_leap(static_cast<int>(y)) && r.day >= 60) ++n;
    return days_from_civil(y, 1, 1) + n;
  }
  if (r.kind == 'N') return days_from_civil(y, 1, 1) + r.day;
  const std::int64_t first = days_from_civil(y, static_cast<unsigned>(r.month), 1);
  const int wd = static_cast<int>(first - posix_floor_div(first + 4, 7) * 7 + 4) % 7;  // 0 = Sunday
  std::int64_t day = 1 + (r.weekday - wd + 7) % 7 + (r.week - 1) * 7;
  const int dim = days_in_month(static_cast<int>(y), r.month);
  while (day > dim) day -= 7;
  return first + day - 1;
}

// A transition of the rule: at `at` (Unix seconds) the offset becomes `offset`.
struct posix_transition {
  std::int64_t at, offset;
  bool dst;
};

// The rule's transitions in years y-1 .. y+1, in order.
inline std::array<posix_transition, 6> posix_transitions_around(const posix_tz& tz, std::int64_t y) {
  std::array<posix_transition, 6> out{};
  std::size_t n = 0;
  for (std::int64_t year = y - 1; year <= y + 1; ++year) {
    out[n++] = {posix_rule_day(tz.start, year) * 86'400 + tz.start.time - tz.std_offset, tz.dst_offset, true};
    out[n++] = {posix_rule_day(tz.end, year) * 86'400 + tz.end.time - tz.dst_offset, tz.std_offset, false};
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  return out;
}

}  // namespace rotary::detail
