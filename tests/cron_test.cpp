// Tests for rotary/cron.hpp: syntax, rejections, lint, next/prev in UTC.
#define BOOST_TEST_MODULE cron
#include <boost/test/unit_test.hpp>
#include <rotary/cron.hpp>

#include <date/date.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace std::string_literals;
using rotary::cron_expr;
using rotary::parse_cron;
using rotary::sys_seconds;

namespace {

sys_seconds at(const char* iso) { return rotary::parse_time(iso).value(); }
std::string iso(std::optional<sys_seconds> t) { return t ? rotary::format_time(*t) : "never"; }
cron_expr cron(const std::string& text) { return parse_cron(text).value(); }

std::uint64_t bits(std::initializer_list<int> values) {
  std::uint64_t b = 0;
  for (int v : values) b |= std::uint64_t{1} << v;
  return b;
}
std::uint64_t bit_range(int first, int last, int step = 1) {
  std::uint64_t b = 0;
  for (int v = first; v <= last; v += step) b |= std::uint64_t{1} << v;
  return b;
}

// splitmix64 (Steele, Lea, Flood 2014): a fixed-seed generator whose output is the same everywhere.
struct splitmix64 {
  std::uint64_t state;
  std::uint64_t operator()() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>((*this)() % static_cast<std::uint64_t>(n)); }
  int between(int lo, int hi) { return lo + below(hi - lo + 1); }
};

// A random valid expression, from the whole grammar (lists, ranges, steps, names).
std::string random_expression(splitmix64& rng) {
  static const int low[] = {0, 0, 1, 1, 0}, high[] = {59, 23, 31, 12, 7};
  static const char* months[] = {"jan", "Feb", "MAR", "apr", "May", "jun",
                                 "JUL", "aug", "Sep", "oct", "NOV", "dec"};
  static const char* dows[] = {"sun", "Mon", "TUE", "wed", "Thu", "fri", "SAT"};
  if (rng.below(40) == 0) {
    static const char* macros[] = {"@yearly", "@annually", "@monthly", "@weekly",
                                   "@daily",  "@midnight", "@hourly"};
    return macros[rng.below(7)];
  }
  std::string out;
  for (int f = 0; f < 5; ++f) {
    if (f > 0) out += rng.below(5) == 0 ? "\t " : " ";
    const int elements = 1 + (rng.below(3) == 0 ? rng.below(3) : 0);
    for (int k = 0; k < elements; ++k) {
      if (k > 0) out += ",";
      const auto value = [&](int v) -> std::string {
        if (f == 3 && rng.below(3) == 0) return months[v - 1];
        if (f == 4 && v < 7 && rng.below(3) == 0) return dows[v];
        return std::to_string(v);
      };
      const int kind = rng.below(f >= 2 ? 6 : 5);
      const int a = rng.between(low[f], high[f]), b = rng.between(a, high[f]);
      const int step = rng.below(4) == 0 ? rng.between(1, 70) : rng.between(1, (high[f] - low[f]) / 2 + 1);
      switch (kind) {
        case 0:
          out += "*";
          break;
        case 1:
          out += "*/" + std::to_string(step);
          break;
        case 2:
          out += value(a);
          break;
        case 3:
          out += value(a) + "-" + value(b);
          break;
        case 4:
          out += value(a) + "-" + value(b) + "/" + std::to_string(step);
          break;
        default:
          out += value(a);
          break;  // rare dates become likelier in the day fields
      }
    }
  }
  return out;
}

// Brute force: scan days, then minutes within a matching day. Independent of the engine's
// search (weekday from date.h, the day rule written out).
bool day_matches(const cron_expr& e, date::year_month_day ymd) {
  const int m = static_cast<int>(static_cast<unsigned>(ymd.month()));
  const int d = static_cast<int>(static_cast<unsigned>(ymd.day()));
  if (!(e.months() >> m & 1)) return false;
  const int wd = static_cast<int>(date::weekday{date::sys_days{ymd}}.c_encoding());
  const bool dom = e.days_of_month() >> d & 1, dow = e.days_of_week() >> wd & 1;
  return e.dom_starred() || e.dow_starred() ? dom && dow : dom || dow;
}
std::optional<sys_seconds> brute_next(const cron_expr& e, sys_seconds t, int years = 30) {
  auto m = std::chrono::floor<std::chrono::minutes>(t) + std::chrono::minutes{1};
  const auto stop = m + std::chrono::days{366 * years};
  while (m < stop) {
    const auto day = std::chrono::floor<date::days>(m);
    if (day_matches(e, date::year_month_day{date::sys_days{day.time_since_epoch()}})) {
      for (; m < day + date::days{1}; m += std::chrono::minutes{1}) {
        const auto mod = (m - day).count();
        if ((e.hours() >> (mod / 60) & 1) && (e.minutes() >> (mod % 60) & 1)) return sys_seconds{m};
      }
    } else {
      m = day + date::days{1};
    }
  }
  return std::nullopt;
}
std::optional<sys_seconds> brute_prev(const cron_expr& e, sys_seconds t, int years = 30) {
  auto m = std::chrono::ceil<std::chrono::minutes>(t) - std::chrono::minutes{1};
  const auto stop = m - std::chrono::days{366 * years};
  while (m > stop) {
    const auto day = std::chrono::floor<date::days>(m);
    if (day_matches(e, date::year_month_day{date::sys_days{day.time_since_epoch()}})) {
      for (; m >= day; m -= std::chrono::minutes{1}) {
        const auto mod = (m - day).count();
        if ((e.hours() >> (mod / 60) & 1) && (e.minutes() >> (mod % 60) & 1)) return sys_seconds{m};
      }
    } else {
      m = day - std::chrono::minutes{1};
    }
  }
  return std::nullopt;
}

}  // namespace

// ---- the value type ---------------------------------------------------------------------------

static_assert(std::regular<cron_expr>);
// Parsing is constexpr (GCC checks it here). clang refuses libstdc++ 12's std::string
// constructor in a constant expression (it writes an element of the small-string buffer, a union
// member not yet active), so clang and clang-tidy skip these four.
#if !defined(__clang__)
static_assert(rotary::try_parse_cron("0 0 30 2 *")->never_fires());
static_assert(rotary::try_parse_cron("*/15 9-17 * * MON-FRI")->minutes() ==
              (1ull | 1ull << 15 | 1ull << 30 | 1ull << 45));
static_assert(rotary::next(*rotary::try_parse_cron("0 12 * * *"), sys_seconds{}) ==
              sys_seconds{std::chrono::hours{12}});
static_assert(rotary::prev(cron_expr{}, sys_seconds{std::chrono::seconds{90}}) ==
              sys_seconds{std::chrono::minutes{1}});
#endif

BOOST_AUTO_TEST_CASE(a_default_expression_fires_every_minute) {
  const cron_expr e;
  BOOST_TEST((e == cron("* * * * *")));
  BOOST_TEST(iso(rotary::next(e, at("2027-01-01T00:00:30Z"))) == "2027-01-01T00:01:00Z");
}

BOOST_AUTO_TEST_CASE(expressions_keep_their_text_exactly) {
  BOOST_TEST(cron("  0\t12 * * *  ").text() == "  0\t12 * * *  ");
  BOOST_TEST(cron("@daily").text() == "@daily");
  BOOST_TEST((cron("*/15 * * * *") != cron("0,15,30,45 * * * *")));
}

// ---- syntax -----------------------------------------------------------------------------------

struct syntax_case {
  std::string text;
  std::uint64_t minutes, hours, dom, months, dow;
  bool min_star, hr_star, dom_star, dow_star;
};

BOOST_AUTO_TEST_CASE(every_syntax_form_sets_the_bitsets_cronie_sets) {
  const auto all_min = bit_range(0, 59), all_hr = bit_range(0, 23), all_dom = bit_range(1, 31),
             all_mon = bit_range(1, 12), all_dow = bit_range(0, 7);
  const std::vector<syntax_case> cases = {
      {"* * * * *", all_min, all_hr, all_dom, all_mon, all_dow, true, true, true, true},
      {"5 * * * *", bits({5}), all_hr, all_dom, all_mon, all_dow, false, true, true, true},
      {"1,2,3 * * * *", bits({1, 2, 3}), all_hr, all_dom, all_mon, all_dow, false, true, true, true},
      {"10-20 * * * *", bit_range(10, 20), all_hr, all_dom, all_mon, all_dow, false, true, true, true},
      {"*/15 * * * *", bits({0, 15, 30, 45}), all_hr, all_dom, all_mon, all_dow, true, true, true, true},
      {"10-40/10 * * * *", bits({10, 20, 30, 40}), all_hr, all_dom, all_mon, all_dow, false, true, true,
       true},
      {"0-10/3,50 * * * *", bits({0, 3, 6, 9, 50}), all_hr, all_dom, all_mon, all_dow, false, true, true,
       true},
      {"*/90 * * * *", bits({0}), all_hr, all_dom, all_mon, all_dow, true, true, true, true},
      {"*/3600 * * * *", bits({0}), all_hr, all_dom, all_mon, all_dow, true, true, true, true},
      {"*/60 * * * *", bits({0}), all_hr, all_dom, all_mon, all_dow, true, true, true, true},
      {"10-20/30 * * * *", bits({10}), all_hr, all_dom, all_mon, all_dow, false, true, true, true},
      {"0 */12 * * *", bits({0}), bits({0, 12}), all_dom, all_mon, all_dow, false, true, true, true},
      {"0 9-17 * * *", bits({0}), bit_range(9, 17), all_dom, all_mon, all_dow, false, false, true, true},
      {"0 0 */2 * *", bits({0}), bits({0}), bit_range(1, 31, 2), all_mon, all_dow, false, false, true, true},
      {"0 0 1-31 * *", bits({0}), bits({0}), all_dom, all_mon, all_dow, false, false, false, true},
      {"0 0 1 JAN,jul *", bits({0}), bits({0}), bits({1}), bits({1, 7}), all_dow, false, false, false, true},
      {"0 0 1 Mar-May *", bits({0}), bits({0}), bits({1}), bits({3, 4, 5}), all_dow, false, false, false,
       true},
      {"0 0 1 JAN-DEC/3 *", bits({0}), bits({0}), bits({1}), bits({1, 4, 7, 10}), all_dow, false, false,
       false, true},
      {"0 0 * * MON-FRI", bits({0}), bits({0}), all_dom, all_mon, bit_range(1, 5), false, false, true, false},
      {"0 0 * * sun", bits({0}), bits({0}), all_dom, all_mon, bits({0, 7}), false, false, true, false},
      {"0 0 * * 7", bits({0}), bits({0}), all_dom, all_mon, bits({0, 7}), false, false, true, false},
      {"0 0 * * 0", bits({0}), bits({0}), all_dom, all_mon, bits({0, 7}), false, false, true, false},
      {"0 0 * * 5-7", bits({0}), bits({0}), all_dom, all_mon, bits({0, 5, 6, 7}), false, false, true, false},
      {"0 0 * * */2", bits({0}), bits({0}), all_dom, all_mon, bits({0, 2, 4, 6, 7}), false, false, true,
       true},
      {"0 0 * * SAT,SUN", bits({0}), bits({0}), all_dom, all_mon, bits({0, 6, 7}), false, false, true, false},
      {"0 0 13 * FRI", bits({0}), bits({0}), bits({13}), all_mon, bits({5}), false, false, false, false},
      {"*,5 * * * *", all_min, all_hr, all_dom, all_mon, all_dow, true, true, true, true},
      {"\t0  0\t* *   *  ", bits({0}), bits({0}), all_dom, all_mon, all_dow, false, false, true, true},
      {"@yearly", bits({0}), bits({0}), bits({1}), bits({1}), all_dow, false, false, false, true},
      {"@annually", bits({0}), bits({0}), bits({1}), bits({1}), all_dow, false, false, false, true},
      {"@monthly", bits({0}), bits({0}), bits({1}), all_mon, all_dow, false, false, false, true},
      {"@weekly", bits({0}), bits({0}), all_dom, all_mon, bits({0, 7}), false, false, false, true},
      {"@daily", bits({0}), bits({0}), all_dom, all_mon, all_dow, false, false, false, false},
      {"@midnight", bits({0}), bits({0}), all_dom, all_mon, all_dow, false, false, false, false},
      {"@hourly", bits({0}), all_hr, all_dom, all_mon, all_dow, false, true, false, false},
      {"  @daily  ", bits({0}), bits({0}), all_dom, all_mon, all_dow, false, false, false, false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      const auto r = parse_cron(c.text);
      BOOST_TEST_REQUIRE(r.has_value());
      BOOST_TEST(r->minutes() == c.minutes);
      BOOST_TEST(r->hours() == c.hours);
      BOOST_TEST(r->days_of_month() == c.dom);
      BOOST_TEST(r->months() == c.months);
      BOOST_TEST(r->days_of_week() == c.dow);
      BOOST_TEST(r->minute_starred() == c.min_star);
      BOOST_TEST(r->hour_starred() == c.hr_star);
      BOOST_TEST(r->dom_starred() == c.dom_star);
      BOOST_TEST(r->dow_starred() == c.dow_star);
    }
  }
}

BOOST_AUTO_TEST_CASE(wildcard_jobs_are_those_with_a_starred_minute_or_hour) {
  BOOST_TEST(cron("0 */2 * * *").wildcard_job());
  BOOST_TEST(cron("*/20 2 * * *").wildcard_job());
  BOOST_TEST(!cron("0-59/20 2 * * *").wildcard_job());
  BOOST_TEST(!cron("30 2 * * *").wildcard_job());
  BOOST_TEST(cron("@hourly").wildcard_job());
  BOOST_TEST(!cron("@daily").wildcard_job());
}

// ---- rejections -------------------------------------------------------------------------------

struct rejection {
  std::string text;
  std::size_t column, length;
  std::string message;
};

BOOST_AUTO_TEST_CASE(every_rejection_points_at_the_column_and_says_what_to_write) {
  const std::vector<rejection> cases = {
      {""s, 1, 1,
       "empty expression: expected five fields (minute hour day-of-month month day-of-week) or a macro like "
       "@daily"},
      {"   "s, 1, 3,
       "empty expression: expected five fields (minute hour day-of-month month day-of-week) or a macro like "
       "@daily"},
      {"* * * *"s, 8, 1,
       "missing the day-of-week field: a cron expression has five fields (minute hour day-of-month month "
       "day-of-week), this one has 4"},
      {"*"s, 2, 1,
       "missing the hour field: a cron expression has five fields (minute hour day-of-month month "
       "day-of-week), this one has 1"},
      {"* * * * * *"s, 11, 1,
       "unexpected sixth field '*': a cron expression has five fields (no seconds field, no command)"},
      {"0 0 * * * /bin/job"s, 11, 8,
       "unexpected sixth field '/bin/job': a cron expression has five fields (no seconds field, no command)"},
      {"60 * * * *"s, 1, 2, "minute 60 is out of range (0-59)"},
      {"* 24 * * *"s, 3, 2, "hour 24 is out of range (0-23)"},
      {"* * 0 * *"s, 5, 1, "day-of-month 0 is out of range (1-31)"},
      {"* * 32 * *"s, 5, 2, "day-of-month 32 is out of range (1-31)"},
      {"* * * 0 *"s, 7, 1, "month 0 is out of range (1-12)"},
      {"* * * 13 *"s, 7, 2, "month 13 is out of range (1-12)"},
      {"* * * * 8"s, 9, 1, "day-of-week 8 is out of range (0-7)"},
      {"1-70 * * * *"s, 3, 2, "minute 70 is out of range (0-59)"},
      {"*/0 * * * *"s, 3, 1, "a step of 0 is not allowed: the step must be at least 1"},
      {"1-5/0 * * * *"s, 5, 1, "a step of 0 is not allowed: the step must be at least 1"},
      {"5/15 * * * *"s, 1, 4,
       "a step needs a range or '*' before it: write 5-59/15 (from 5 to 59) instead of 5/15"},
      {"0 0 * MAR/2 *"s, 7, 5,
       "a step needs a range or '*' before it: write MAR-12/2 (from MAR to 12) instead of MAR/2"},
      {"30-10 * * * *"s, 1, 5,
       "range 30-10 is reversed (30 > 10): cron rejects it; to wrap around, write 30-59,0-10"},
      {"* * * * FRI-MON"s, 9, 7,
       "range FRI-MON is reversed (5 > 1): cron rejects it; to wrap around, write 5-6,0-1"},
      {"* * * * 7-1"s, 9, 3, "range 7-1 is reversed (7 > 1): cron rejects it; to wrap around, write 7,0-1"},
      {"* * * FOO *"s, 7, 3, "unknown month name 'FOO': expected JAN-DEC or 1-12"},
      {"* * * * MONDAY"s, 9, 6, "cron takes three-letter names: write MON for 'MONDAY'"},
      {"* * * January *"s, 7, 7, "cron takes three-letter names: write JAN for 'January'"},
      {"* * L * *"s, 5, 1, "day-of-month takes numbers (1-31), found 'L'"},
      {"@reboot"s, 1, 7, "@reboot is not a time schedule: it runs once when the cron daemon starts"},
      {"@Daily"s, 1, 6, "macros are lower case: write @daily"},
      {"@every"s, 1, 6,
       "unknown macro '@every': expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or "
       "@hourly"},
      {"@"s, 1, 1,
       "unknown macro '@': expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"},
      {"@daily extra"s, 8, 5, "unexpected 'extra' after @daily: a macro replaces all five fields"},
      {"*5 * * * *"s, 2, 1, "expected '/', ',' or a space after '*', found '5'"},
      {"5x * * * *"s, 2, 1, "expected ',', '-', '/' or a space after 5, found 'x'"},
      {"1,,2 * * * *"s, 3, 1, "expected a minute (0-59) or '*', found ','"},
      {"1, * * * *"s, 3, 1, "expected a minute (0-59) or '*', found ' '"},
      {"*/ * * * *"s, 3, 1, "expected a step (a number) after '/', found ' '"},
      {"*/5x * * * *"s, 4, 1, "expected ',' or a space after the step, found 'x'"},
      {"1- * * * *"s, 3, 1, "expected a minute (0-59) or '*', found ' '"},
      {"-1 * * * *"s, 1, 1, "expected a minute (0-59) or '*', found '-'"},
      {"* * * * MON-"s, 13, 1, "expected a day-of-week (0-7 or SUN-SAT) or '*', found the end"},
      {"? * * * *"s, 1, 1, "'?' is Quartz syntax, not cron: write '*'"},
      {"~ * * * *"s, 1, 1,
       "random ranges ('~') are not supported: cron picks their time when it loads the crontab"},
      {"0 0 1W * *"s, 6, 1, "expected ',', '-', '/' or a space after 1, found 'W'"},
      {"0 0 * * 5#3"s, 10, 1, "expected ',', '-', '/' or a space after 5, found '#'"},
      {std::string("\0 * * * *", 9), 1, 1, "expected a minute (0-59) or '*', found byte 0x00"},
      {"\xff * * * *"s, 1, 1, "expected a minute (0-59) or '*', found byte 0xff"},
      {"* * * * *\n"s, 10, 1, "expected '/', ',' or a space after '*', found byte 0x0a"},
      {"99999999999999999999999 * * * *"s, 1, 23, "minute 99999999999999999999999 is out of range (0-59)"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      const auto r = parse_cron(c.text);
      BOOST_TEST_REQUIRE(!r.has_value());
      BOOST_TEST(r.error().column == c.column);
      BOOST_TEST(r.error().length == c.length);
      BOOST_TEST(r.error().message == c.message);
      BOOST_CHECK_THROW((void)r.value(), rotary::parse_error);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_rejection_renders_with_a_caret_under_the_offending_text) {
  const auto r = parse_cron("5/15 * * * *");
  BOOST_TEST(
      rotary::render(r.error(), "5/15 * * * *") ==
      "rotary: error: a step needs a range or '*' before it: write 5-59/15 (from 5 to 59) instead of 5/15\n"
      "  5/15 * * * *\n"
      "  ^~~~\n");
}

BOOST_AUTO_TEST_CASE(hostile_inputs_get_a_diagnostic_never_a_crash_or_a_hang) {
  splitmix64 rng{42};
  for (int i = 0; i < 20000; ++i) {
    std::string s(static_cast<std::size_t>(rng.below(40)), '\0');
    for (auto& c : s) {
      static const char alphabet[] = "0123456789*/-,@ \tMONJAFRISUNmondecxyz~?#LW\xff\x01";
      c = rng.below(4) == 0 ? static_cast<char>(rng.below(256)) : alphabet[rng.below(sizeof alphabet - 1)];
    }
    const auto r = parse_cron(s);
    if (r) {
      BOOST_TEST(r->text() == s);
      (void)rotary::lint(*r);
    } else {
      BOOST_TEST(r.error().column >= 1);
      BOOST_TEST(r.error().column <= s.size() + 1);
      BOOST_TEST(!r.error().message.empty());
    }
  }
  const std::string huge_list = "0" + std::string(10'000'000, ',');
  BOOST_TEST(!parse_cron(huge_list).has_value());
  std::string long_valid;
  for (int i = 0; i < 1'000'000; ++i) long_valid += "0,";
  long_valid += "1 * * * *";
  BOOST_TEST(parse_cron(long_valid)->minutes() == 3u);
  BOOST_TEST(parse_cron(std::string(10'000'000, '9') + " * * * *").error().message.size() < 100);
  BOOST_TEST(!parse_cron(std::string(10'000'000, ' ')).has_value());
  BOOST_TEST(parse_cron("*/" + std::string(999, '9') + " * * * *")->minutes() == 1u);
  BOOST_TEST(parse_cron("*/" + std::string(5000, '9') + " * * * *").error().message ==
             "a step of 5000 digits is too long: rotary reads at most 999");
}

// ---- next and prev ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(next_is_the_first_fire_strictly_after_the_instant) {
  const auto e = cron("30 2 * * 1-5");
  BOOST_TEST(iso(rotary::next(e, at("2027-03-12T03:00:00Z"))) == "2027-03-15T02:30:00Z");
  BOOST_TEST(iso(rotary::next(e, at("2027-03-15T02:30:00Z"))) == "2027-03-16T02:30:00Z");
  BOOST_TEST(iso(rotary::next(e, at("2027-03-15T02:29:59Z"))) == "2027-03-15T02:30:00Z");
  BOOST_TEST(iso(rotary::prev(e, at("2027-03-15T02:30:00Z"))) == "2027-03-12T02:30:00Z");
  BOOST_TEST(iso(rotary::prev(e, at("2027-03-15T02:30:01Z"))) == "2027-03-15T02:30:00Z");
}

BOOST_AUTO_TEST_CASE(next_rolls_over_hours_days_months_and_years) {
  BOOST_TEST(iso(rotary::next(cron("59 23 31 12 *"), at("2027-06-01T00:00:00Z"))) == "2027-12-31T23:59:00Z");
  BOOST_TEST(iso(rotary::next(cron("0 0 1 1 *"), at("2027-12-31T23:59:59Z"))) == "2028-01-01T00:00:00Z");
  BOOST_TEST(iso(rotary::next(cron("0 0 31 * *"), at("2027-04-01T00:00:00Z"))) == "2027-05-31T00:00:00Z");
  BOOST_TEST(iso(rotary::prev(cron("0 0 31 * *"), at("2027-05-01T00:00:00Z"))) == "2027-03-31T00:00:00Z");
  BOOST_TEST(iso(rotary::next(cron("*/5 * * * *"), at("2027-12-31T23:58:00Z"))) == "2028-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(leap_days_fire_only_in_leap_years_and_2100_is_not_one) {
  const auto e = cron("0 0 29 2 *");
  BOOST_TEST(iso(rotary::next(e, at("2027-01-01T00:00:00Z"))) == "2028-02-29T00:00:00Z");
  BOOST_TEST(iso(rotary::next(e, at("2096-02-29T00:00:00Z"))) == "2104-02-29T00:00:00Z");
  BOOST_TEST(iso(rotary::prev(e, at("2104-01-01T00:00:00Z"))) == "2096-02-29T00:00:00Z");
  BOOST_TEST(iso(rotary::next(e, at("2399-01-01T00:00:00Z"))) == "2400-02-29T00:00:00Z");
  BOOST_TEST(iso(rotary::next(cron("0 0 28 2 *"), at("2100-02-28T00:00:00Z"))) == "2101-02-28T00:00:00Z");
  BOOST_TEST(iso(rotary::next(cron("0 0 1 3 *"), at("2100-02-28T12:00:00Z"))) == "2100-03-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(a_day_matching_either_field_fires_when_both_are_restricted) {
  const auto e = cron("0 0 13 * 5");  // every 13th and every Friday
  BOOST_TEST(iso(rotary::next(e, at("2027-08-01T00:00:00Z"))) == "2027-08-06T00:00:00Z");  // a Friday
  BOOST_TEST(iso(rotary::next(e, at("2027-08-10T00:00:00Z"))) == "2027-08-13T00:00:00Z");  // Friday the 13th
  BOOST_TEST(iso(rotary::next(e, at("2027-09-11T00:00:00Z"))) == "2027-09-13T00:00:00Z");  // a Monday
}

BOOST_AUTO_TEST_CASE(a_starred_day_field_requires_both_like_cronie) {
  // cronie: Mondays on odd dates; croniter would fire on odd dates or Mondays.
  const auto e = cron("0 0 */2 * 1");
  BOOST_TEST(iso(rotary::next(e, at("2027-03-01T00:00:00Z"))) == "2027-03-15T00:00:00Z");
  BOOST_TEST(iso(rotary::next(e, at("2027-03-15T00:00:00Z"))) == "2027-03-29T00:00:00Z");
  BOOST_TEST(iso(rotary::next(cron("0 0 * * 0"), at("2027-03-01T00:00:00Z"))) == "2027-03-07T00:00:00Z");
  BOOST_TEST(iso(rotary::next(cron("0 0 * * 7"), at("2027-03-01T00:00:00Z"))) == "2027-03-07T00:00:00Z");
  BOOST_TEST(iso(rotary::next(cron("@weekly"), at("2027-03-01T00:00:00Z"))) == "2027-03-07T00:00:00Z");
  BOOST_TEST(iso(rotary::next(cron("@monthly"), at("2027-03-01T00:00:00Z"))) == "2027-04-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(rare_weekday_dates_are_found_year_by_year) {
  // February 29 on a Sunday (dow starred with a step, so both fields must match).
  const auto e = cron("0 0 29 2 */7");
  BOOST_TEST(iso(rotary::next(e, at("2021-01-01T00:00:00Z"))) == "2032-02-29T00:00:00Z");
  BOOST_TEST(iso(rotary::next(e, at("2032-03-01T00:00:00Z"))) == "2060-02-29T00:00:00Z");
  BOOST_TEST(iso(rotary::prev(e, at("2060-02-29T00:00:00Z"))) == "2032-02-29T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(never_firing_expressions_answer_never_at_once) {
  for (const char* text :
       {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 2 *", "0 0 31 2 */2", "* * 31 FEB-APR/2 *"}) {
    BOOST_TEST_CONTEXT(text) {
      const auto e = cron(text);
      BOOST_TEST(e.never_fires());
      BOOST_TEST(!rotary::next(e, at("2027-01-01T00:00:00Z")).has_value());
      BOOST_TEST(!rotary::prev(e, at("2027-01-01T00:00:00Z")).has_value());
    }
  }
  BOOST_TEST(!cron("0 0 31 * *").never_fires());
  BOOST_TEST(!cron("0 0 30 2 1").never_fires());  // both restricted: every Monday fires
  BOOST_TEST(iso(rotary::next(cron("0 0 30 2 1"), at("2027-02-01T00:00:00Z"))) == "2027-02-08T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(next_and_prev_stay_inside_years_1_to_9999) {
  BOOST_TEST(!rotary::next(cron("0 0 29 2 *"), at("9997-01-01T00:00:00Z")).has_value());
  BOOST_TEST(iso(rotary::next(cron("59 23 31 12 *"), at("9999-01-01T00:00:00Z"))) == "9999-12-31T23:59:00Z");
  BOOST_TEST(!rotary::next(cron("* * * * *"), at("9999-12-31T23:59:00Z")).has_value());
  BOOST_TEST(!rotary::next(cron("* * * * *"), sys_seconds{std::chrono::seconds{INT64_MAX / 2}}).has_value());
  BOOST_TEST(!rotary::prev(cron("* * * * *"), sys_seconds{std::chrono::seconds{INT64_MIN / 2}}).has_value());
  BOOST_TEST(iso(rotary::prev(cron("0 0 1 1 *"), sys_seconds{std::chrono::seconds{INT64_MAX / 2}})) ==
             "9999-01-01T00:00:00Z");
  BOOST_TEST(iso(rotary::next(cron("0 0 1 1 *"), sys_seconds{std::chrono::seconds{INT64_MIN / 2}})) ==
             "0001-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(matches_reads_a_civil_minute) {
  const auto e = cron("15,45 9-17 * * MON-FRI");
  BOOST_TEST(e.matches(2027, 3, 15, 9, 15));
  BOOST_TEST(!e.matches(2027, 3, 14, 9, 15));  // Sunday
  BOOST_TEST(!e.matches(2027, 3, 15, 18, 15));
  BOOST_TEST(!e.matches(2027, 2, 30, 9, 15));
}

BOOST_AUTO_TEST_CASE(next_and_prev_equal_a_brute_force_scan_on_thousands_of_random_expressions) {
  splitmix64 rng{20270314};
  int checked = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = random_expression(rng);
    const auto r = parse_cron(text);
    BOOST_TEST_REQUIRE(r.has_value(), text << ": " << (r ? "" : r.error().message));
    const auto& e = *r;
    for (int k = 0; k < 3; ++k) {
      const auto t = sys_seconds{std::chrono::seconds{static_cast<std::int64_t>(rng() % 4'102'444'800ull)}};
      const auto n = rotary::next(e, t);
      const auto p = rotary::prev(e, t);
      const auto bn = brute_next(e, t), bp = brute_prev(e, t);
      BOOST_TEST_CONTEXT(text << " at " << rotary::format_time(t)) {
        if (bn)
          BOOST_TEST(iso(n) == iso(bn));
        else
          BOOST_TEST((!n || *n - t > std::chrono::days{366 * 30 - 2}));
        if (bp)
          BOOST_TEST(iso(p) == iso(bp));
        else
          BOOST_TEST((!p || t - *p > std::chrono::days{366 * 30 - 2}));
        if (n) {
          BOOST_TEST((*n > t));
          BOOST_TEST((rotary::prev(e, *n).value_or(sys_seconds::min()) <= t));
        }
        if (p) {
          BOOST_TEST((*p < t));
          BOOST_TEST((rotary::next(e, *p).value_or(sys_seconds::max()) >= t));
        }
      }
      ++checked;
    }
  }
  BOOST_TEST(checked == 9000);
}

// ---- lint -------------------------------------------------------------------------------------

struct lint_case {
  std::string text;
  std::vector<rotary::lint_finding> findings;
};

BOOST_AUTO_TEST_CASE(lint_warns_about_expressions_that_parse_but_surprise) {
  const std::vector<lint_case> cases = {
      {"0 */12 * * *", {}},
      {"*/15 * * * *", {}},
      {"@daily", {}},
      {"*/45 * * * *",
       {{3, 2, "uneven-step",
         "minute step 45 does not divide 60: fires at :00 and :45, then :00 again: gaps of 45 minutes and 15 "
         "minutes"}}},
      {"0 */5 * * *",
       {{5, 1, "uneven-step",
         "hour step 5 does not divide 24: fires at 00:00, 05:00, ..., 20:00, then 00:00 again: gaps of 5 "
         "hours and 4 hours"}}},
      {"*/3600 * * * *",
       {{3, 4, "step-too-large",
         "minute step 3600 is larger than the field (0-59): only 0 fires, so at most once an hour (at minute "
         "0)"}}},
      {"10-20/30 * * * *",
       {{7, 2, "step-too-large", "minute step 30 is larger than the range 10-20: only 10 fires"}}},
      {"0 0 30 2 *", {{5, 2, "never-fires", "never fires: day 30 never occurs in February"}}},
      {"0 0 31 4,6 *", {{5, 2, "never-fires", "never fires: day 31 never occurs in April or June"}}},
      {"0 0 29 2 *",
       {{5, 2, "rare-date", "fires only on February 29, in leap years (97 years in 400; not in 2100)"}}},
      {"0 0 13 * 5",
       {{10, 1, "dom-dow-or",
         "both day-of-month ('13') and day-of-week ('5') are restricted: cron fires on days matching either "
         "field, "
         "not only on days matching both"}}},
      {"0 0 */2 * 1",
       {{5, 3, "dom-dow-and",
         "day-of-month '*/2' starts with '*', so a day must match both day fields (cronie); croniter and "
         "other tools "
         "fire on days matching either"},
        {7, 1, "uneven-step",
         "day-of-month step 2 does not divide 31: it restarts at day 1 every month, so after day 31 the next "
         "fire is "
         "the 1st (a gap of 1 day in 31-day months), not 2 days later"}}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      const auto found = rotary::lint(cron(c.text));
      BOOST_TEST_REQUIRE(found.size() == c.findings.size());
      for (std::size_t i = 0; i < found.size(); ++i) {
        BOOST_TEST(found[i].column == c.findings[i].column);
        BOOST_TEST(found[i].length == c.findings[i].length);
        BOOST_TEST(found[i].code == c.findings[i].code);
        BOOST_TEST(found[i].message == c.findings[i].message);
      }
    }
  }
}
