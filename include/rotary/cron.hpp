// rotary/cron.hpp: cron expressions (Vixie/cronie syntax): parse, lint, next and prev in UTC.
//
// A `cron_expr` is the five-field schedule of a crontab line, as the cron daemon most Linux
// systems run (cronie) reads it:
//
//     auto e = rotary::parse_cron("30 2 * * 1-5").value();    // 02:30 on weekdays
//     auto t = rotary::parse_time("2027-03-12T03:00:00Z").value();  // a Friday
//     rotary::next(e, t);   // 2027-03-15T02:30:00Z (the Monday; first fire strictly after t)
//     rotary::prev(e, t);   // 2027-03-12T02:30:00Z (last fire strictly before t)
//
// `next` and `prev` work on absolute time, reading the expression in UTC. For a schedule in a
// time zone, with the daylight-saving behaviour of the cron daemon, see `schedule.hpp`.
//
// Syntax (crontab(5), as cronie's entry.c accepts it):
//     field          values             names
//     minute         0-59
//     hour           0-23
//     day-of-month   1-31
//     month          1-12               JAN-DEC (any case, three letters)
//     day-of-week    0-7 (0, 7: Sunday) SUN-SAT (any case, three letters)
// Each field is a comma-separated list of `*`, `N`, `A-B`, `*/S` or `A-B/S`; names work in
// ranges (`MON-FRI`). The macros `@yearly` (= `@annually`), `@monthly`, `@weekly`, `@daily`
// (= `@midnight`) and `@hourly` replace all five fields.
//
// Rejected, as cronie rejects them, each with the column and what to write instead: `*/0`;
// `5/15` (a step after a single number: write `5-59/15`); out-of-range values; reversed ranges
// (`30-10`: write `30-59,0-10`); unknown names; a wrong number of fields; `@reboot` (not a time
// schedule). Parsing never throws, never crashes, and takes time linear in the input.
//
// The day rule (cron.c): a field is *starred* when its text starts with `*` (so `*/2` is
// starred, `1-31` is not). When day-of-month or day-of-week is starred, a day must match both;
// otherwise a day matching either is enough: `0 0 13 * 5` fires on every 13th and every Friday.
//
// A step larger than its range is accepted (cronie warns) and yields the range's start only:
// `*/90` in the minute field fires at minute 0, hourly. `lint` reports it, and other surprises.
//
// Expressions that never fire (`0 0 30 2 *`) are detected when parsed: `next`/`prev` answer
// `std::nullopt` at once. Rare ones (`0 0 29 2 *`) are found year by year: after 2096-02-29
// the next fire is 2104-02-29, since 2100 is not a leap year.
//
// Supported instants: years 1 to 9999. `next` and `prev` never answer outside that range.
#pragma once

#include <rotary/detail/config.hpp>
#include <rotary/diagnostic.hpp>
#include <rotary/time.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace rotary {

namespace detail {
struct cron_access;
}

// The five fields of a cron expression, in order.
enum class cron_field : std::uint8_t { minute, hour, day_of_month, month, day_of_week };

// A parsed cron expression: one bitset per field, the flags cronie derives from the text, and
// the text itself. A small regular value; every member function is `constexpr`.
class cron_expr {
 public:
  // Every minute: the value of "* * * * *".
  constexpr cron_expr() = default;

  // Bit n set: the field matches value n.
  [[nodiscard]] constexpr std::uint64_t minutes() const noexcept { return minutes_; }    // 0-59
  [[nodiscard]] constexpr std::uint32_t hours() const noexcept { return hours_; }        // 0-23
  [[nodiscard]] constexpr std::uint32_t days_of_month() const noexcept { return dom_; }  // 1-31
  [[nodiscard]] constexpr std::uint16_t months() const noexcept { return months_; }      // 1-12
  [[nodiscard]] constexpr std::uint8_t days_of_week() const noexcept { return dow_; }    // 0-7, 0 == 7

  // Whether the field's text starts with '*' (cronie's MIN_STAR, HR_STAR, DOM_STAR, DOW_STAR).
  [[nodiscard]] constexpr bool minute_starred() const noexcept { return flags_ & min_star; }
  [[nodiscard]] constexpr bool hour_starred() const noexcept { return flags_ & hr_star; }
  [[nodiscard]] constexpr bool dom_starred() const noexcept { return flags_ & dom_star; }
  [[nodiscard]] constexpr bool dow_starred() const noexcept { return flags_ & dow_star; }
  // A "wildcard job" for cronie's daylight-saving rules: minute or hour starred (`0 */2 * * *`).
  // The others are "fixed-time jobs" (`30 2 * * *`, `0-59/20 2 * * *`).
  [[nodiscard]] constexpr bool wildcard_job() const noexcept { return flags_ & (min_star | hr_star); }
  // Both day fields must match (one is starred), rather than either.
  [[nodiscard]] constexpr bool days_must_both_match() const noexcept {
    return flags_ & (dom_star | dow_star);
  }
  // True when no date ever matches (`0 0 30 2 *`); decided when parsed.
  [[nodiscard]] constexpr bool never_fires() const noexcept { return flags_ & never; }

  // The text it was parsed from, exactly as given.
  [[nodiscard]] constexpr std::string_view text() const noexcept { return text_; }

  // Whether the civil minute (year, month 1-12, day 1-31, hour, minute) matches.
  [[nodiscard]] constexpr bool matches(std::int64_t year, int month, int day, int hour,
                                       int minute) const noexcept;

  // Equal when parsed from the same text. (Compare the bitsets and flags to ask whether two
  // texts schedule alike: `*/15` and `0,15,30,45` do not, for cronie's DST rules.)
  friend ROTARY_CONSTEXPR_STRING bool operator==(const cron_expr&, const cron_expr&) = default;

 private:
  friend struct detail::cron_access;
  static constexpr std::uint8_t min_star = 1, hr_star = 2, dom_star = 4, dow_star = 8, never = 16;

  std::uint64_t minutes_ = (std::uint64_t{1} << 60) - 1;
  std::uint32_t hours_ = (std::uint32_t{1} << 24) - 1;
  std::uint32_t dom_ = 0xfffffffeu;
  std::uint16_t months_ = 0x1ffe;
  std::uint8_t dow_ = 0xff;
  std::uint8_t flags_ = min_star | hr_star | dom_star | dow_star;
  std::string text_ = "* * * * *";
};

// Parses a cron expression (see the file comment). Never throws.
[[nodiscard]] parse_result<cron_expr> parse_cron(std::string_view text);

// The same parser, usable in constant expressions; the diagnostic is dropped.
//     static_assert(rotary::try_parse_cron("0 0 30 2 *")->never_fires());
[[nodiscard]] ROTARY_CONSTEXPR_STRING std::optional<cron_expr> try_parse_cron(std::string_view text);

// The first fire strictly after `t` (UTC), or nullopt if there is none before year 10000.
[[nodiscard]] constexpr std::optional<sys_seconds> next(const cron_expr& e, sys_seconds t) noexcept;
// The last fire strictly before `t` (UTC), or nullopt if there is none since year 1.
[[nodiscard]] constexpr std::optional<sys_seconds> prev(const cron_expr& e, sys_seconds t) noexcept;

// A warning about a valid expression: where it points (1-based column and length in
// `e.text()`), a stable code and a sentence.
//     code            when
//     uneven-step     `*/45`: a step that does not divide its field (gaps of 45 and 15 min)
//     step-too-large  `*/3600`: a step past the range; only its start fires
//     never-fires     `0 0 30 2 *`
//     rare-date       `0 0 29 2 *`: fires only in some years
//     dom-dow-or      `0 0 13 * 5`: both day fields restricted, a day matching either fires
//     dom-dow-and     `0 0 */2 * 1`: a starred day field makes both required (cronie; other
//                     tools fire on either)
//     dst-skipped, dst-repeated   local times hit by a DST jump (needs a zone: schedule.hpp)
struct lint_finding {
  std::size_t column = 1;
  std::size_t length = 1;
  std::string code;
  std::string message;

  [[nodiscard]] diagnostic as_diagnostic() const { return diagnostic{column, length, message}; }
  friend bool operator==(const lint_finding&, const lint_finding&) = default;
};

// The warnings for `e` that do not depend on a time zone, ordered by column.
[[nodiscard]] std::vector<lint_finding> lint(const cron_expr& e);

// ---------------------------------------------------------------------------------------------
// Implementation.

namespace detail {

inline constexpr std::array<std::string_view, 5> cron_field_names = {"minute", "hour", "day-of-month",
                                                                     "month", "day-of-week"};
inline constexpr std::array<int, 5> cron_low = {0, 0, 1, 1, 0};
inline constexpr std::array<int, 5> cron_high = {59, 23, 31, 12, 7};
inline constexpr std::array<std::string_view, 12> cron_month_names = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
inline constexpr std::array<std::string_view, 7> cron_dow_names = {"SUN", "MON", "TUE", "WED",
                                                                   "THU", "FRI", "SAT"};
inline constexpr std::array<std::string_view, 12> cron_month_long = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
inline constexpr std::array<std::string_view, 7> cron_dow_long = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

// Years 1 to 9999, in minutes since 1970-01-01T00:00.
inline constexpr std::int64_t cron_min_minute = -719162LL * 1440;      // 0001-01-01T00:00
inline constexpr std::int64_t cron_max_minute = 2932897LL * 1440 - 1;  // 9999-12-31T23:59
static_assert(cron_min_minute == days_from_civil(1, 1, 1) * 1440);
static_assert(cron_max_minute == days_from_civil(10000, 1, 1) * 1440 - 1);

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
constexpr std::int64_t floor_mod(std::int64_t a, std::int64_t b) noexcept { return a - floor_div(a, b) * b; }
constexpr std::int64_t ceil_div(std::int64_t a, std::int64_t b) noexcept { return -floor_div(-a, b); }

// 0 = Sunday. 1970-01-01 was a Thursday.
constexpr int weekday_from_days(std::int64_t z) noexcept { return static_cast<int>(floor_mod(z + 4, 7)); }

ROTARY_CONSTEXPR_STRING std::string cron_number(std::int64_t v) {
  if (v == 0) return "0";
  std::string s;
  const bool neg = v < 0;
  std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  while (u != 0) {
    s.insert(s.begin(), static_cast<char>('0' + u % 10));
    u /= 10;
  }
  if (neg) s.insert(s.begin(), '-');
  return s;
}
ROTARY_CONSTEXPR_STRING std::string two_digits(int v) {
  return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10);
}

// The text of a token for a message: control bytes shown as '?', long tokens cut.
ROTARY_CONSTEXPR_STRING std::string cron_quote(std::string_view s) {
  std::string out = "'";
  const std::size_t n = std::min<std::size_t>(s.size(), 24);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out.push_back(c < 0x20 || c >= 0x7f ? '?' : s[i]);
  }
  if (s.size() > n) out += "...";
  return out + "'";
}
ROTARY_CONSTEXPR_STRING std::string cron_token(std::string_view s) {
  const std::string q = cron_quote(s);
  return q.substr(1, q.size() - 2);
}
ROTARY_CONSTEXPR_STRING std::string cron_printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    constexpr char hex[] = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
  }
  return std::string("'") + c + "'";
}

constexpr char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
constexpr bool ascii_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool cron_blank(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  return true;
}

// One element of a field's list as written, for lint: `first-last/step`, columns 1-based.
struct cron_element {
  int field = 0;
  std::size_t column = 1, length = 1;
  int first = 0, last = 0;
  std::int64_t step = 1;  // saturated at 10^12
  bool star = false, has_step = false;
  std::size_t step_column = 0, step_length = 0;
};
struct cron_layout {
  bool macro = false;
  std::array<std::size_t, 5> field_column{};  // 1-based; 0 for a macro
  std::array<std::size_t, 5> field_length{};
  std::vector<cron_element> elements;
};

struct cron_access {
  static constexpr void finish(cron_expr& e) noexcept {
    if (e.dow_ & 0x81) e.dow_ |= 0x81;  // make Sundays equivalent
    if (e.flags_ & (cron_expr::dom_star | cron_expr::dow_star)) {
      bool any = false;
      for (int m = 1; m <= 12; ++m) {
        if (!(e.months_ >> m & 1)) continue;
        const int max_day = m == 2 ? 29 : detail::days_in_month(2001, m);
        if (e.dom_ & (((std::uint32_t{1} << max_day) - 1) << 1)) any = true;
      }
      if (!any) e.flags_ |= cron_expr::never;
    }
  }
  static constexpr void set(cron_expr& e, int field, int value) noexcept {
    switch (field) {
      case 0:
        e.minutes_ |= std::uint64_t{1} << value;
        break;
      case 1:
        e.hours_ |= std::uint32_t{1} << value;
        break;
      case 2:
        e.dom_ |= std::uint32_t{1} << value;
        break;
      case 3:
        e.months_ = static_cast<std::uint16_t>(e.months_ | (1u << value));
        break;
      default:
        e.dow_ = static_cast<std::uint8_t>(e.dow_ | (1u << value));
        break;
    }
  }
  static constexpr void clear(cron_expr& e) noexcept {
    e.minutes_ = 0;
    e.hours_ = e.dom_ = 0;
    e.months_ = 0;
    e.dow_ = 0;
    e.flags_ = 0;
  }
  static constexpr void star(cron_expr& e, int field) noexcept {
    constexpr std::uint8_t bits[] = {cron_expr::min_star, cron_expr::hr_star, cron_expr::dom_star, 0,
                                     cron_expr::dow_star};
    e.flags_ |= bits[field];
  }
  static ROTARY_CONSTEXPR_STRING void text(cron_expr& e, std::string_view t) { e.text_ = std::string(t); }
};

// The parser proper (cronie's get_list/get_range/get_number with positions). `layout`, when
// given, receives every element (lint uses it).
class cron_parser {
 public:
  constexpr cron_parser(std::string_view text, cron_layout* layout) : s_(text), layout_(layout) {}

  ROTARY_CONSTEXPR_STRING std::variant<cron_expr, diagnostic> run() {
    cron_expr e;
    cron_access::clear(e);
    skip_blanks();
    if (i_ == s_.size())
      return err(1,
                 "empty expression: expected five fields (minute hour day-of-month month day-of-week) or a "
                 "macro like @daily",
                 s_.size());
    if (s_[i_] == '@') {
      if (auto d = macro(e)) return std::move(*d);
    } else {
      for (int f = 0; f < 5; ++f) {
        if (i_ == s_.size()) {
          return err(s_.size() + 1, "missing the " +
                                        std::string(cron_field_names[static_cast<std::size_t>(f)]) +
                                        " field: a cron expression has five fields (minute hour day-of-month "
                                        "month day-of-week), this one has " +
                                        cron_number(f));
        }
        if (auto d = field(e, f)) return std::move(*d);
        skip_blanks();
      }
      if (i_ < s_.size()) {
        std::size_t j = i_;
        while (j < s_.size() && !cron_blank(s_[j])) ++j;
        return err(i_ + 1,
                   "unexpected sixth field " + cron_quote(s_.substr(i_, j - i_)) +
                       ": a cron expression has five fields (no seconds field, no command)",
                   j - i_);
      }
    }
    cron_access::text(e, s_);
    cron_access::finish(e);
    return e;
  }

 private:
  std::string_view s_;
  cron_layout* layout_;
  std::size_t i_ = 0;

  static ROTARY_CONSTEXPR_STRING diagnostic err(std::size_t column, std::string message,
                                                std::size_t length = 1) {
    return diagnostic{column, length == 0 ? 1 : length, std::move(message)};
  }
  constexpr void skip_blanks() {
    while (i_ < s_.size() && cron_blank(s_[i_])) ++i_;
  }
  constexpr char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  constexpr bool at_end() const { return i_ >= s_.size(); }
  constexpr bool at_separator() const { return at_end() || cron_blank(s_[i_]) || s_[i_] == ','; }
  ROTARY_CONSTEXPR_STRING std::string found() const {
    return at_end() ? std::string("the end") : cron_printable(s_[i_]);
  }

  ROTARY_CONSTEXPR_STRING std::optional<diagnostic> macro(cron_expr& e) {
    const std::size_t start = i_;
    while (i_ < s_.size() && !cron_blank(s_[i_])) ++i_;
    const std::string_view word = s_.substr(start, i_ - start);
    const std::string_view name = word.substr(1);
    auto all = [&](int f) {
      for (int v = cron_low[static_cast<std::size_t>(f)]; v <= cron_high[static_cast<std::size_t>(f)]; ++v)
        cron_access::set(e, f, v);
    };
    auto one = [&](int f, int v) { cron_access::set(e, f, v); };
    // The bitsets and flags of cronie's entry.c for each macro.
    if (name == "yearly" || name == "annually") {
      one(0, 0), one(1, 0), one(2, 1), one(3, 1), all(4), cron_access::star(e, 4);
    } else if (name == "monthly") {
      one(0, 0), one(1, 0), one(2, 1), all(3), all(4), cron_access::star(e, 4);
    } else if (name == "weekly") {
      one(0, 0), one(1, 0), all(2), all(3), one(4, 0), cron_access::star(e, 4);
    } else if (name == "daily" || name == "midnight") {
      one(0, 0), one(1, 0), all(2), all(3), all(4);
    } else if (name == "hourly") {
      one(0, 0), all(1), all(2), all(3), all(4), cron_access::star(e, 1);
    } else if (name == "reboot") {
      return err(start + 1, "@reboot is not a time schedule: it runs once when the cron daemon starts",
                 word.size());
    } else {
      constexpr std::string_view known[] = {"yearly", "annually", "monthly", "weekly",
                                            "daily",  "midnight", "hourly",  "reboot"};
      for (auto k : known)
        if (iequal(k, name))
          return err(start + 1, "macros are lower case: write @" + std::string(k), word.size());
      return err(start + 1,
                 "unknown macro " + cron_quote(word) +
                     ": expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly",
                 word.size());
    }
    if (layout_) layout_->macro = true;
    skip_blanks();
    if (i_ < s_.size())
      return err(i_ + 1,
                 "unexpected " + cron_quote(s_.substr(i_)) + " after " + std::string(word) +
                     ": a macro replaces all five fields",
                 s_.size() - i_);
    return std::nullopt;
  }

  ROTARY_CONSTEXPR_STRING std::optional<diagnostic> field(cron_expr& e, int f) {
    const std::size_t start = i_;
    if (s_[i_] == '*') cron_access::star(e, f);
    for (;;) {
      if (auto d = element(e, f)) return d;
      if (peek() != ',') break;
      ++i_;
    }
    if (layout_) {
      layout_->field_column[static_cast<std::size_t>(f)] = start + 1;
      layout_->field_length[static_cast<std::size_t>(f)] = i_ - start;
    }
    return std::nullopt;
  }

  struct value {
    int v = 0;
    std::size_t column = 0, length = 0;
  };

  ROTARY_CONSTEXPR_STRING std::string what(int f) const {
    const auto k = static_cast<std::size_t>(f);
    std::string s =
        std::string(cron_field_names[k]) + " (" + cron_number(cron_low[k]) + "-" + cron_number(cron_high[k]);
    if (f == 3) s += " or JAN-DEC";
    if (f == 4) s += " or SUN-SAT";
    return s + ")";
  }

  // number | name
  ROTARY_CONSTEXPR_STRING std::variant<value, diagnostic> number(int f) {
    const auto k = static_cast<std::size_t>(f);
    const std::size_t start = i_;
    const char c = peek();
    if (ascii_digit(c)) {
      std::int64_t v = 0;
      while (i_ < s_.size() && ascii_digit(s_[i_])) {
        if (v < 1'000'000'000) v = v * 10 + (s_[i_] - '0');
        ++i_;
      }
      const std::size_t len = i_ - start;
      if (v < cron_low[k] || v > cron_high[k])
        return err(start + 1,
                   std::string(cron_field_names[k]) + " " + cron_token(s_.substr(start, len)) +
                       " is out of range (" + cron_number(cron_low[k]) + "-" + cron_number(cron_high[k]) +
                       ")",
                   len);
      return value{static_cast<int>(v), start + 1, len};
    }
    if (ascii_alpha(c)) {
      while (i_ < s_.size() && ascii_alpha(s_[i_])) ++i_;
      const std::string_view word = s_.substr(start, i_ - start);
      if (f == 3 || f == 4) {
        const std::string_view* names = f == 3 ? cron_month_names.data() : cron_dow_names.data();
        const int count = f == 3 ? 12 : 7;
        for (int n = 0; n < count; ++n)
          if (iequal(names[n], word)) return value{f == 3 ? n + 1 : n, start + 1, word.size()};
        for (int n = 0; n < count; ++n)
          if (word.size() > 3 && iequal(names[n], word.substr(0, 3)))
            return err(
                start + 1,
                "cron takes three-letter names: write " + std::string(names[n]) + " for " + cron_quote(word),
                word.size());
        return err(start + 1,
                   std::string("unknown ") + (f == 3 ? "month name " : "day name ") + cron_quote(word) +
                       (f == 3 ? ": expected JAN-DEC or 1-12" : ": expected SUN-SAT or 0-7"),
                   word.size());
      }
      return err(start + 1,
                 std::string(cron_field_names[k]) + " takes numbers (" + cron_number(cron_low[k]) + "-" +
                     cron_number(cron_high[k]) + "), found " + cron_quote(word),
                 word.size());
    }
    if (c == '~' && !at_end())
      return err(start + 1,
                 "random ranges ('~') are not supported: cron picks their time when it loads the crontab");
    if (c == '?' && !at_end()) return err(start + 1, "'?' is Quartz syntax, not cron: write '*'");
    return err(start + 1, "expected a " + what(f) + " or '*', found " + found());
  }

  ROTARY_CONSTEXPR_STRING std::string text_of(std::size_t column, std::size_t length) const {
    return std::string(s_.substr(column - 1, length));
  }

  ROTARY_CONSTEXPR_STRING std::optional<diagnostic> element(cron_expr& e, int f) {
    const auto k = static_cast<std::size_t>(f);
    const std::size_t start = i_;
    cron_element el;
    el.field = f;
    el.column = start + 1;
    if (peek() == '*') {
      ++i_;
      el.star = true;
      el.first = cron_low[k];
      el.last = cron_high[k];
      if (peek() != '/' && !at_separator())
        return err(i_ + 1, "expected '/', ',' or a space after '*', found " + found());
    } else {
      auto a = number(f);
      if (a.index() == 1) return std::get<1>(std::move(a));
      const value first = std::get<0>(a);
      el.first = el.last = first.v;
      if (peek() == '-') {
        ++i_;
        auto b = number(f);
        if (b.index() == 1) return std::get<1>(std::move(b));
        const value last = std::get<0>(b);
        el.last = last.v;
        if (el.first > el.last) {
          const int top = f == 4 ? 6 : cron_high[k];
          const int bottom = cron_low[k];
          const std::string a_text = text_of(first.column, first.length),
                            b_text = text_of(last.column, last.length);
          std::string left =
              el.first >= top ? cron_number(el.first) : cron_number(el.first) + "-" + cron_number(top);
          std::string right =
              el.last <= bottom ? cron_number(el.last) : cron_number(bottom) + "-" + cron_number(el.last);
          return err(start + 1,
                     "range " + a_text + "-" + b_text + " is reversed (" + cron_number(el.first) + " > " +
                         cron_number(el.last) + "): cron rejects it; to wrap around, write " + left + "," +
                         right,
                     i_ - start);
        }
        if (peek() != '/' && !at_separator())
          return err(i_ + 1, "expected '/', ',' or a space after the range, found " + found());
      } else if (peek() == '/') {
        // cronie rejects a step after a single number; croniter reads it as first-max/step.
        std::size_t j = i_ + 1;
        while (j < s_.size() && ascii_digit(s_[j])) ++j;
        const std::string step =
            j > i_ + 1 ? std::string(s_.substr(i_ + 1, std::min<std::size_t>(j - i_ - 1, 24))) : "N";
        const std::string a_text = text_of(first.column, first.length);
        return err(start + 1,
                   "a step needs a range or '*' before it: write " + a_text + "-" +
                       cron_number(cron_high[k]) + "/" + step + " (from " + a_text + " to " +
                       cron_number(cron_high[k]) + ") instead of " + a_text + "/" + step,
                   j - start);
      } else if (!at_separator()) {
        return err(i_ + 1, "expected ',', '-', '/' or a space after " + text_of(first.column, first.length) +
                               ", found " + found());
      }
    }
    if (peek() == '/') {
      ++i_;
      el.has_step = true;
      const std::size_t sstart = i_;
      std::int64_t step = 0;
      while (i_ < s_.size() && ascii_digit(s_[i_])) {
        if (step < 1'000'000'000'000) step = step * 10 + (s_[i_] - '0');
        ++i_;
      }
      if (i_ == sstart) return err(i_ + 1, "expected a step (a number) after '/', found " + found());
      // rotary's own bound (cronie's get_number gives up only at MAX_TEMPSTR, 131072 characters).
      if (i_ - sstart >= 1000)
        return err(sstart + 1,
                   "a step of " + cron_number(static_cast<std::int64_t>(i_ - sstart)) +
                       " digits is too long: rotary reads at most 999",
                   i_ - sstart);
      if (step == 0)
        return err(sstart + 1, "a step of 0 is not allowed: the step must be at least 1", i_ - sstart);
      if (!at_separator()) return err(i_ + 1, "expected ',' or a space after the step, found " + found());
      el.step = step;
      el.step_column = sstart + 1;
      el.step_length = i_ - sstart;
    }
    el.length = i_ - start;
    for (std::int64_t v = el.first; v <= el.last; v += el.step) cron_access::set(e, f, static_cast<int>(v));
    if (layout_) layout_->elements.push_back(el);
    return std::nullopt;
  }
};

// ---- the search: field by field over the bitsets -------------------------------------------

// Days of month (y, m) that match, as bits 1..31. `month_start` is days_from_civil(y, m, 1).
constexpr std::uint64_t cron_day_mask(const cron_expr& e, std::int64_t y, int m,
                                      std::int64_t month_start) noexcept {
  const int dim = days_in_month(static_cast<int>(y), m);
  const std::uint64_t valid = ((std::uint64_t{1} << dim) - 1) << 1;
  const std::uint64_t dom = e.days_of_month() & valid;
  const unsigned dow7 = (e.days_of_week() | (e.days_of_week() >> 7)) & 0x7fu;
  std::uint64_t by_dow = valid;
  if (dow7 != 0x7f) {
    const int w = weekday_from_days(month_start);
    const std::uint64_t pat = ((dow7 >> w) | (dow7 << (7 - w))) & 0x7fu;  // bit j: day j+1
    by_dow = ((pat * 0x10204081ull) << 1) & valid;
  }
  return e.days_must_both_match() ? (dom & by_dow) : (dom | by_dow);
}

// The first matching minute at or after `m` (minutes since the epoch, in the expression's
// clock), or nullopt.
constexpr std::optional<std::int64_t> cron_first_at_or_after(const cron_expr& e, std::int64_t m) noexcept {
  if (e.never_fires() || m > cron_max_minute) return std::nullopt;
  if (m < cron_min_minute) m = cron_min_minute;
  const std::int64_t day = floor_div(m, 1440);
  const int mod = static_cast<int>(m - day * 1440);
  const civil_date c = civil_from_days(day);
  std::int64_t y = c.year;
  int mo = c.month, d = c.day, h = mod / 60, mi = mod % 60;
  const int hlow = std::countr_zero(e.hours()), mlow = std::countr_zero(e.minutes());
  std::int64_t month_start = day - (d - 1);
  std::uint64_t mask = cron_day_mask(e, y, mo, month_start);
  for (;;) {
    const unsigned mcand = e.months() & (~0u << mo);
    if (mcand == 0) {
      if (++y > 9999) return std::nullopt;
      mo = std::countr_zero(static_cast<unsigned>(e.months()));
      d = 1, h = hlow, mi = mlow;
      month_start = days_from_civil(y, static_cast<unsigned>(mo), 1);
      mask = cron_day_mask(e, y, mo, month_start);
    } else if (const int nm = std::countr_zero(mcand); nm != mo) {
      mo = nm, d = 1, h = hlow, mi = mlow;
      month_start = days_from_civil(y, static_cast<unsigned>(mo), 1);
      mask = cron_day_mask(e, y, mo, month_start);
    }
    const std::uint64_t dcand = d > 31 ? 0 : mask & (~std::uint64_t{0} << d);
    if (dcand == 0) {
      ++mo, d = 1, h = hlow, mi = mlow;
      if (mo > 12) {
        if (++y > 9999) return std::nullopt;
        mo = 1;
      }
      month_start = days_from_civil(y, static_cast<unsigned>(mo), 1);
      mask = cron_day_mask(e, y, mo, month_start);
      continue;
    }
    if (const int nd = std::countr_zero(dcand); nd != d) d = nd, h = hlow, mi = mlow;
    const std::uint32_t hcand = h > 23 ? 0 : e.hours() & (~std::uint32_t{0} << h);
    if (hcand == 0) {
      ++d, h = hlow, mi = mlow;
      continue;
    }
    if (const int nh = std::countr_zero(hcand); nh != h) h = nh, mi = mlow;
    const std::uint64_t micand = e.minutes() & (~std::uint64_t{0} << mi);
    if (micand == 0) {
      ++h, mi = mlow;
      continue;
    }
    mi = std::countr_zero(micand);
    return (month_start + d - 1) * 1440 + h * 60 + mi;
  }
}

constexpr int top_bit(std::uint64_t v) noexcept { return 63 - std::countl_zero(v); }

// The last matching minute at or before `m`, or nullopt.
constexpr std::optional<std::int64_t> cron_last_at_or_before(const cron_expr& e, std::int64_t m) noexcept {
  if (e.never_fires() || m < cron_min_minute) return std::nullopt;
  if (m > cron_max_minute) m = cron_max_minute;
  const std::int64_t day = floor_div(m, 1440);
  const int mod = static_cast<int>(m - day * 1440);
  const civil_date c = civil_from_days(day);
  std::int64_t y = c.year;
  int mo = c.month, d = c.day, h = mod / 60, mi = mod % 60;
  const int hhigh = top_bit(e.hours()), mhigh = top_bit(e.minutes());
  std::int64_t month_start = day - (d - 1);
  std::uint64_t mask = cron_day_mask(e, y, mo, month_start);
  for (;;) {
    const unsigned mcand = mo < 1 ? 0u : e.months() & ((2u << mo) - 1);
    if (mcand == 0) {
      if (--y < 1) return std::nullopt;
      mo = top_bit(e.months());
      d = 31, h = hhigh, mi = mhigh;
      month_start = days_from_civil(y, static_cast<unsigned>(mo), 1);
      mask = cron_day_mask(e, y, mo, month_start);
    } else if (const int nm = top_bit(mcand); nm != mo) {
      mo = nm, d = 31, h = hhigh, mi = mhigh;
      month_start = days_from_civil(y, static_cast<unsigned>(mo), 1);
      mask = cron_day_mask(e, y, mo, month_start);
    }
    const std::uint64_t dcand = d < 1 ? 0 : mask & ((std::uint64_t{2} << d) - 1);
    if (dcand == 0) {
      --mo, d = 31, h = hhigh, mi = mhigh;
      if (mo < 1) {
        if (--y < 1) return std::nullopt;
        mo = 12;
      }
      month_start = days_from_civil(y, static_cast<unsigned>(mo), 1);
      mask = cron_day_mask(e, y, mo, month_start);
      continue;
    }
    if (const int nd = top_bit(dcand); nd != d) d = nd, h = hhigh, mi = mhigh;
    const std::uint32_t hcand =
        h < 0 ? 0u : e.hours() & static_cast<std::uint32_t>((std::uint64_t{2} << h) - 1);
    if (hcand == 0) {
      --d, h = hhigh, mi = mhigh;
      continue;
    }
    if (const int nh = top_bit(hcand); nh != h) h = nh, mi = mhigh;
    const std::uint64_t micand = mi < 0 ? 0 : e.minutes() & (~std::uint64_t{0} >> (63 - mi));
    if (micand == 0) {
      --h, mi = mhigh;
      continue;
    }
    mi = top_bit(micand);
    return (month_start + d - 1) * 1440 + h * 60 + mi;
  }
}

// The first matching minute after `m`, given that `m` itself matches: stays inside the day
// when it can (no calendar arithmetic), which makes iterating over fires cheap.
constexpr std::optional<std::int64_t> cron_after_match(const cron_expr& e, std::int64_t m) noexcept {
  const std::int64_t mod = floor_mod(m, 1440);
  const int h = static_cast<int>(mod / 60), mi = static_cast<int>(mod % 60);
  if (const std::uint64_t rest = e.minutes() & (~std::uint64_t{0} << (mi + 1)))
    return m + (std::countr_zero(rest) - mi);
  if (const std::uint32_t later = e.hours() & (~std::uint32_t{0} << (h + 1)); later != 0 && h < 23)
    return m - mod + std::countr_zero(later) * 60 + std::countr_zero(e.minutes());
  return cron_first_at_or_after(e, m + 1);
}

// Number of matching minutes in [from, to].
constexpr int cron_count_between(const cron_expr& e, std::int64_t from, std::int64_t to) noexcept {
  int n = 0;
  for (auto m = cron_first_at_or_after(e, from); m && *m <= to; m = cron_first_at_or_after(e, *m + 1)) ++n;
  return n;
}

ROTARY_CONSTEXPR_STRING std::variant<cron_expr, diagnostic> parse_cron_impl(std::string_view text,
                                                                            cron_layout* layout = nullptr) {
  return cron_parser(text, layout).run();
}

}  // namespace detail

constexpr bool cron_expr::matches(std::int64_t year, int month, int day, int hour,
                                  int minute) const noexcept {
  if (month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) return false;
  if (day > detail::days_in_month(static_cast<int>(year), month)) return false;
  if (!(minutes_ >> minute & 1) || !(hours_ >> hour & 1) || !(months_ >> month & 1)) return false;
  const auto start = detail::days_from_civil(year, static_cast<unsigned>(month), 1);
  return detail::cron_day_mask(*this, year, month, start) >> day & 1;
}

inline parse_result<cron_expr> parse_cron(std::string_view text) {
  auto r = detail::parse_cron_impl(text);
  if (r.index() == 1) return std::get<1>(std::move(r));
  return std::get<0>(std::move(r));
}

ROTARY_CONSTEXPR_STRING std::optional<cron_expr> try_parse_cron(std::string_view text) {
  auto r = detail::parse_cron_impl(text);
  if (r.index() == 1) return std::nullopt;
  return std::get<0>(std::move(r));
}

constexpr std::optional<sys_seconds> next(const cron_expr& e, sys_seconds t) noexcept {
  const std::int64_t s = to_unix(t);
  if (s >= detail::cron_max_minute * 60) return std::nullopt;
  const auto m = detail::cron_first_at_or_after(e, detail::floor_div(s, 60) + 1);
  if (!m) return std::nullopt;
  return from_unix(*m * 60);
}

constexpr std::optional<sys_seconds> prev(const cron_expr& e, sys_seconds t) noexcept {
  const std::int64_t s = to_unix(t);
  if (s <= detail::cron_min_minute * 60) return std::nullopt;
  const auto m = detail::cron_last_at_or_before(e, detail::ceil_div(s, 60) - 1);
  if (!m) return std::nullopt;
  return from_unix(*m * 60);
}

// ---- lint ------------------------------------------------------------------------------------

namespace detail {

inline std::string cron_join(const std::vector<std::string>& parts, std::string_view last_sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? std::string(last_sep) : std::string(", ");
    out += parts[i];
  }
  return out;
}

inline std::string cron_unit(int field, std::int64_t n) {
  static constexpr std::string_view units[] = {"minute", "hour", "day", "month", "day"};
  return cron_number(n) + " " + std::string(units[field]) + (n == 1 ? "" : "s");
}

inline void lint_steps(const cron_layout& layout, std::vector<lint_finding>& out) {
  for (const auto& el : layout.elements) {
    if (!el.has_step) continue;
    const auto k = static_cast<std::size_t>(el.field);
    const std::string field = std::string(cron_field_names[k]);
    const std::int64_t span = el.last - el.first;
    if (el.step > span) {
      std::string message = field + " step " + cron_number(el.step);
      if (el.star)
        message +=
            " is larger than the field (" + cron_number(cron_low[k]) + "-" + cron_number(cron_high[k]) + ")";
      else
        message += " is larger than the range " + cron_number(el.first) + "-" + cron_number(el.last);
      message += ": only " + cron_number(el.first) + " fires";
      if (el.field == 0 && el.star) message += ", so at most once an hour (at minute 0)";
      if (el.field == 1 && el.star) message += ", so at most once a day (at hour 0)";
      out.push_back({el.step_column, el.step_length, "step-too-large", message});
      continue;
    }
    // A step over the whole field that does not divide it: the gap across the wrap differs.
    const bool whole = el.first == cron_low[k] && el.last == cron_high[k];
    if (!whole) continue;
    const std::int64_t cycle = el.field == 4 ? 7 : cron_high[k] - cron_low[k] + 1;
    std::int64_t last = el.first;
    while (last + el.step <= el.last) last += el.step;
    if (el.field == 4 && last == 7) last -= el.step;  // 7 is Sunday again: the cycle wraps at 7
    const std::int64_t wrap = el.first + cycle - last;
    if (wrap == el.step || last == el.first) continue;
    std::string message =
        field + " step " + cron_number(el.step) + " does not divide " + cron_number(cycle) + ": ";
    if (el.field == 2) {
      message += "it restarts at day 1 every month, so after day " + cron_number(last) +
                 " the next fire is the 1st (a gap of " + cron_number(wrap) + " day" +
                 (wrap == 1 ? "" : "s") + " in 31-day months), not " + cron_unit(2, el.step) + " later";
    } else {
      const auto label = [&](std::int64_t v) {
        if (el.field == 0) return ":" + two_digits(static_cast<int>(v));
        if (el.field == 1) return two_digits(static_cast<int>(v)) + ":00";
        if (el.field == 3) return std::string(cron_month_long[static_cast<std::size_t>(v - 1)]);
        return std::string(cron_dow_long[static_cast<std::size_t>(v % 7)]);
      };
      std::vector<std::string> values;
      for (std::int64_t v = el.first; v <= last; v += el.step) values.push_back(label(v));
      if (values.size() > 4)
        values.erase(values.begin() + 2, values.end() - 1), values.insert(values.end() - 1, "...");
      message += "fires at " + cron_join(values, values.size() == 2 ? " and " : ", ") + ", then " +
                 label(el.first) + " again: gaps of " + cron_unit(el.field, el.step) + " and " +
                 cron_unit(el.field, wrap);
    }
    out.push_back({el.step_column, el.step_length, "uneven-step", message});
  }
}

inline std::vector<std::string> month_list(std::uint16_t months) {
  std::vector<std::string> out;
  for (int m = 1; m <= 12; ++m)
    if (months >> m & 1) out.emplace_back(cron_month_long[static_cast<std::size_t>(m - 1)]);
  return out;
}

}  // namespace detail

inline std::vector<lint_finding> lint(const cron_expr& e) {
  std::vector<lint_finding> out;
  detail::cron_layout layout;
  if (detail::parse_cron_impl(e.text(), &layout).index() != 0) return out;  // not from parse_cron
  detail::lint_steps(layout, out);
  const auto field_at = [&](int f) {
    const auto k = static_cast<std::size_t>(f);
    return layout.macro ? std::pair<std::size_t, std::size_t>{1, e.text().size()}
                        : std::pair{layout.field_column[k], layout.field_length[k]};
  };
  const auto field_text = [&](int f) {
    auto [c, l] = field_at(f);
    return std::string(e.text().substr(c - 1, l));
  };
  if (e.never_fires()) {
    std::vector<std::string> day_list;
    for (int d = 1; d <= 31; ++d)
      if (e.days_of_month() >> d & 1) day_list.push_back(detail::cron_number(d));
    auto [c, l] = field_at(2);
    out.push_back({c, l, "never-fires",
                   "never fires: day " + detail::cron_join(day_list, " or ") + " never occurs in " +
                       detail::cron_join(detail::month_list(e.months()), " or ")});
  } else if (e.days_must_both_match()) {
    // Count the years of one 400-year Gregorian cycle in which it fires.
    int years = 0;
    bool only_feb29 = true;
    for (std::int64_t y = 2000; y < 2400; ++y) {
      const auto m = detail::cron_first_at_or_after(e, detail::days_from_civil(y, 1, 1) * 1440);
      if (m && *m < detail::days_from_civil(y + 1, 1, 1) * 1440) {
        ++years;
        const auto c = detail::civil_from_days(detail::floor_div(*m, 1440));
        if (c.month != 2 || c.day != 29) only_feb29 = false;
      }
    }
    if (years < 400) {
      auto [c, l] = field_at(2);
      std::string message = only_feb29 ? "fires only on February 29, in leap years (" +
                                             detail::cron_number(years) + " years in 400; not in 2100)"
                                       : "fires only in some years (" + detail::cron_number(years) +
                                             " years in every 400): the date and weekday rarely coincide";
      out.push_back({c, l, "rare-date", message});
    }
  }
  const bool dom_full = (e.days_of_month() & 0xfffffffeu) == 0xfffffffeu;
  const bool dow_full = (e.days_of_week() & 0x7f) == 0x7f;
  if (!layout.macro && !e.dom_starred() && !e.dow_starred()) {
    auto [c, l] = field_at(4);
    out.push_back({c, l, "dom-dow-or",
                   "both day-of-month ('" + field_text(2) + "') and day-of-week ('" + field_text(4) +
                       "') are restricted: cron fires on days matching either field, not only on days "
                       "matching both"});
  } else if (!layout.macro &&
             ((e.dom_starred() && !dom_full && !dow_full) || (e.dow_starred() && !dow_full && !dom_full))) {
    const int starred = e.dom_starred() && !dom_full ? 2 : 4;
    auto [c, l] = field_at(starred);
    out.push_back({c, l, "dom-dow-and",
                   std::string(starred == 2 ? "day-of-month" : "day-of-week") + " '" + field_text(starred) +
                       "' starts with '*', so a day must match both day fields (cronie); croniter and other "
                       "tools fire on days matching either"});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.column < b.column; });
  return out;
}

}  // namespace rotary
