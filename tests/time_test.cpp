#define BOOST_TEST_MODULE time
#include <boost/test/unit_test.hpp>

#include <rotary/time.hpp>
#include "print.hpp"

#include <string>
#include <vector>

using namespace rotary;
using namespace std::chrono_literals;

namespace {
sys_seconds at(std::string_view s) { return parse_time(s).value(); }
struct bad_time {
  std::string text;
  std::size_t column;
  std::string message;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(instants)

BOOST_AUTO_TEST_CASE(utc_instants_round_trip) {
  BOOST_TEST(format_time(at("2027-03-14T07:00:00Z")) == "2027-03-14T07:00:00Z");
  BOOST_TEST(to_unix(at("1970-01-01T00:00:00Z")) == 0);
  BOOST_TEST(to_unix(at("2027-01-01T00:00:00Z")) == 1798761600);
  BOOST_TEST(format_time(from_unix(253402300799)) == "9999-12-31T23:59:59Z");
}

BOOST_AUTO_TEST_CASE(offsets_move_the_instant_to_utc) {
  BOOST_TEST(format_time(at("2027-03-14T07:00:00+05:30")) == "2027-03-14T01:30:00Z");
  BOOST_TEST(format_time(at("2027-03-14T07:00:00-08:00")) == "2027-03-14T15:00:00Z");
  BOOST_TEST(format_time(at("2027-03-14T07:00:00+0545")) == "2027-03-14T01:15:00Z");
  BOOST_TEST(format_time(at("2027-03-14T07:00:00+02")) == "2027-03-14T05:00:00Z");
  BOOST_TEST(format_time(at("2027-03-14T23:30:00-01:00")) == "2027-03-15T00:30:00Z");
}

BOOST_AUTO_TEST_CASE(short_and_alternative_forms_are_accepted) {
  BOOST_TEST(format_time(at("2027-03-14")) == "2027-03-14T00:00:00Z");
  BOOST_TEST(format_time(at("2027-03-14T07:05Z")) == "2027-03-14T07:05:00Z");
  BOOST_TEST(format_time(at("2027-03-14 07:05:09z")) == "2027-03-14T07:05:09Z");
  BOOST_TEST(format_time(at("2027-03-14t07:05:09Z")) == "2027-03-14T07:05:09Z");
}

BOOST_AUTO_TEST_CASE(fractional_seconds_truncate_toward_the_earlier_second) {
  BOOST_TEST(format_time(at("2027-03-14T07:00:00.999Z")) == "2027-03-14T07:00:00Z");
  BOOST_TEST(format_time(at("2027-03-14T07:00:59,5+01:00")) == "2027-03-14T06:00:59Z");
}

BOOST_AUTO_TEST_CASE(leap_days_exist_only_in_leap_years) {
  BOOST_TEST(format_time(at("2028-02-29T00:00:00Z")) == "2028-02-29T00:00:00Z");
  BOOST_TEST(format_time(at("2000-02-29T00:00:00Z")) == "2000-02-29T00:00:00Z");
  BOOST_TEST(!parse_time("2100-02-29T00:00:00Z").has_value());
  BOOST_TEST(!parse_time("2027-02-29T00:00:00Z").has_value());
  BOOST_TEST(format_time(at("2028-02-29T23:59:59Z") + 1s) == "2028-03-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(malformed_instants_name_the_column) {
  const std::vector<bad_time> cases = {
      {"", 1, "empty time: expected an ISO-8601 instant like 2027-03-14T07:00:00Z"},
      {"27-03-14", 1, "expected a four-digit year (an ISO-8601 instant looks like 2027-03-14T07:00:00Z)"},
      {"1969-12-31T23:59:59Z", 1, "year 1969 is before 1970"},
      {"2027/03/14", 5, "expected '-' after the year"},
      {"2027-13-01", 6, "month 13 is out of range (01-12)"},
      {"2027-00-01", 6, "month 0 is out of range (01-12)"},
      {"2027-02-30", 9, "day 30 does not exist in 2027-02"},
      {"2027-04-31T00:00Z", 9, "day 31 does not exist in 2027-04"},
      {"2027-03-14X07:00Z", 11, "expected 'T' between the date and the time, found 'X'"},
      {"2027-03-14T24:00:00Z", 12, "hour 24 is out of range (00-23)"},
      {"2027-03-14T07:60Z", 15, "minute 60 is out of range (00-59)"},
      {"2027-03-14T23:59:60Z", 18, "second 60 is out of range (00-59; leap seconds are not supported)"},
      {"2027-03-14T07:00:00", 20, "missing time zone designator: add Z for UTC or an offset like +05:30"},
      {"2027-03-14T07:00:00.Z", 21, "expected digits after the decimal point"},
      {"2027-03-14T07:00:00.1234567890Z", 21, "more than 9 fractional digits"},
      {"2027-03-14T07:00:00+24:00", 21, "offset hour 24 is out of range (00-23)"},
      {"2027-03-14T07:00:00+05:99", 24, "offset minute 99 is out of range (00-59)"},
      {"2027-03-14T07:00:00ZZ", 21, "unexpected 'Z' after the instant"},
      {"2027-03-14T07:00:00 UTC", 20, "expected Z or an offset like +05:30, found ' '"},
      {std::string("2027-03-14T07:00:00\x01", 20), 20,
       "expected Z or an offset like +05:30, found byte 0x01"},
      {"1970-01-01T00:30:00+01:00", 1, "instant is before 1970-01-01T00:00:00Z"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      const auto r = parse_time(c.text);
      BOOST_REQUIRE(!r.has_value());
      BOOST_TEST(r.error().column == c.column);
      BOOST_TEST(r.error().message == c.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(value_of_a_failed_parse_throws_parse_error_with_the_diagnostic) {
  try {
    (void)parse_time("2027-13-01").value();
    BOOST_FAIL("no exception");
  } catch (const parse_error& e) {
    BOOST_TEST(e.where().column == 6u);
    BOOST_TEST(std::string(e.what()) == "month 13 is out of range (01-12)");
  }
}

BOOST_AUTO_TEST_CASE(render_puts_a_caret_under_the_offending_text) {
  const auto r = parse_time("2027-13-01");
  BOOST_TEST(render(r.error(), "2027-13-01") ==
             "rotary: error: month 13 is out of range (01-12)\n  2027-13-01\n       ^~\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(durations)

BOOST_AUTO_TEST_CASE(unit_suffixes) {
  BOOST_TEST(parse_duration("90s").value().count() == 90);
  BOOST_TEST(parse_duration("10m").value() == 10min);
  BOOST_TEST(parse_duration("60h").value() == 60h);
  BOOST_TEST(parse_duration("7d").value() == 7 * 24h);
  BOOST_TEST(parse_duration("2w").value() == 14 * 24h);
  BOOST_TEST(parse_duration("1h30m").value() == 90min);
  BOOST_TEST(parse_duration("1d2h3m4s").value().count() == 93784);
  BOOST_TEST(parse_duration("0s").value().count() == 0);
}

BOOST_AUTO_TEST_CASE(iso_8601_durations) {
  BOOST_TEST(parse_duration("PT10M").value() == 10min);
  BOOST_TEST(parse_duration("P1DT2H").value() == 26h);
  BOOST_TEST(parse_duration("P2W").value() == 14 * 24h);
  BOOST_TEST(parse_duration("PT90S").value().count() == 90);
  BOOST_TEST(parse_duration("P1D").value() == 24h);
  BOOST_TEST(parse_duration("pt1h30m").value() == 90min);
}

BOOST_AUTO_TEST_CASE(bare_numbers_need_a_named_unit) {
  BOOST_TEST(parse_duration("3600", bare_number::in_minutes).value() == 3600min);
  BOOST_TEST(parse_duration("90", bare_number::in_seconds).value().count() == 90);
  BOOST_TEST(parse_duration("60h", bare_number::in_minutes).value() == 60h);
  const auto r = parse_duration("3600");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().column == 5u);
  BOOST_TEST(r.error().message == "missing unit after 3600: add s, m, h, d or w (like 10m)");
}

BOOST_AUTO_TEST_CASE(malformed_durations_name_the_column) {
  const std::vector<bad_time> cases = {
      {"", 1, "empty duration: expected a number with a unit, like 10m, 60h, 7d or PT10M"},
      {"-5m", 1, "a duration cannot be negative"},
      {"1.5h", 2, "fractional durations are not supported; use a smaller unit (90s, not 1.5m)"},
      {"10M", 3, "'M' is ambiguous: write m for minutes; months have no fixed length"},
      {"10H", 3, "units are lower case: write h"},
      {"10x", 3, "unknown unit 'x': expected s, m, h, d or w"},
      {"500ms", 4, "durations are whole seconds; milliseconds are not supported"},
      {"30m1h", 5, "units must appear once each, largest first (like 1h30m)"},
      {"h", 1, "expected a number, found 'h'"},
      {"99999999999999999999999d", 1, "duration is longer than 10,000 years"},
      {"P", 2, "expected a number after 'P' (like PT10M or P1D)"},
      {"PT", 3, "expected hours, minutes or seconds after 'T'"},
      {"P1M", 3, "years and months have no fixed length; use days (like P30D)"},
      {"P1Y", 3, "years and months have no fixed length; use days (like P30D)"},
      {"P1H", 3, "hours, minutes and seconds go after 'T' (like PT10M)"},
      {"PT1D", 4, "unknown unit 'D' in an ISO-8601 duration"},
      {"PT1.5H", 4, "fractional durations are not supported"},
      {"PT10", 5, "expected a unit after 10 (like H, M or S)"},
      {"PT1M1H", 6, "units must appear once each, largest first"},
      {"P1DTT1H", 5, "'T' appears twice"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      const auto r = parse_duration(c.text);
      BOOST_REQUIRE(!r.has_value());
      BOOST_TEST(r.error().column == c.column);
      BOOST_TEST(r.error().message == c.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(format_uses_the_largest_units_first) {
  BOOST_TEST(format_duration(26h) == "1d2h");
  BOOST_TEST(format_duration(0s) == "0s");
  BOOST_TEST(format_duration(-90s) == "-1m30s");
  BOOST_TEST(format_duration(3600min) == "2d12h");
  for (const auto s : {1L, 59L, 61L, 3601L, 86399L, 90061L, 31'536'000L}) {
    BOOST_TEST(parse_duration(format_duration(seconds{s})).value().count() == s);
  }
}

BOOST_AUTO_TEST_CASE(conversions_are_constexpr) {
  static_assert(to_unix(from_unix(1798761600)) == 1798761600);
  static_assert(detail::days_from_civil(2027, 1, 1) == 20819);
  static_assert(!detail::is_leap(2100) && detail::is_leap(2000) && detail::is_leap(2028));
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_SUITE_END()
