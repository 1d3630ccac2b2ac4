// Tests for rotary/schedule.hpp: cron in a time zone with cronie's and wallclock DST rules,
// fixed intervals, the fires range, gap analysis, DST lint, JSON.
#define BOOST_TEST_MODULE schedule
#include <boost/test/unit_test.hpp>
#include <rotary/detail/json_cron.hpp>
#include <rotary/schedule.hpp>

#include <date/date.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ranges>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using rotary::cron_schedule;
using rotary::dst_mode;
using rotary::sys_seconds;

namespace {

sys_seconds at(const char* iso) { return rotary::parse_time(iso).value(); }
std::string iso(std::optional<sys_seconds> t) { return t ? rotary::format_time(*t) : "never"; }
rotary::cron_expr cron(const std::string& text) { return rotary::parse_cron(text).value(); }

template <class S>
std::vector<std::string> runs(const S& s, const char* from, const char* until) {
  std::vector<std::string> out;
  for (sys_seconds t : rotary::fires(s, at(from), at(until))) out.push_back(rotary::format_time(t));
  return out;
}
using strings = std::vector<std::string>;

// splitmix64 (Steele, Lea, Flood 2014): fixed seed, same output everywhere.
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

// Random expressions biased toward the small hours, where the DST transitions are.
std::string random_night_expression(splitmix64& rng) {
  const auto field = [&](int lo, int hi, bool night) -> std::string {
    switch (rng.below(night ? 7 : 4)) {
      case 0:
        return "*";
      case 1:
        return "*/" + std::to_string(rng.between(1, (hi - lo) / 2 + 1));
      case 2: {
        const int a = rng.between(lo, hi);
        return std::to_string(a) + "-" + std::to_string(rng.between(a, hi)) + "/" +
               std::to_string(rng.between(1, 25));
      }
      case 3:
        return std::to_string(rng.between(lo, hi));
      case 4:
        return std::to_string(rng.between(0, 3));
      case 5: {
        const int a = rng.between(0, 3);
        return std::to_string(a) + "-" + std::to_string(rng.between(a, 4));
      }
      default:
        return std::to_string(rng.between(0, 4)) + "," + std::to_string(rng.between(5, 23));
    }
  };
  std::string out = field(0, 59, false) + " " + field(0, 23, true) + " ";
  out += rng.below(4) == 0 ? std::to_string(rng.between(1, 31)) : "*";
  out += " * ";
  out += rng.below(5) == 0 ? std::to_string(rng.between(0, 6)) : "*";
  return out;
}

// An independent matcher (weekday from date.h, the day rule written out).
bool local_minute_matches(const rotary::cron_expr& e, std::int64_t local_minute) {
  const auto day =
      date::sys_days{date::days{local_minute >= 0 ? local_minute / 1440 : (local_minute - 1439) / 1440}};
  const std::int64_t mod = local_minute - day.time_since_epoch().count() * 1440;
  const date::year_month_day ymd{day};
  const int m = static_cast<int>(static_cast<unsigned>(ymd.month())),
            d = static_cast<int>(static_cast<unsigned>(ymd.day()));
  const int wd = static_cast<int>(date::weekday{day}.c_encoding());
  if (!(e.minutes() >> (mod % 60) & 1) || !(e.hours() >> (mod / 60) & 1) || !(e.months() >> m & 1))
    return false;
  const bool dom = e.days_of_month() >> d & 1, dow = e.days_of_week() >> wd & 1;
  return e.dom_starred() || e.dow_starred() ? dom && dow : dom || dow;
}

std::int64_t local_minute_at(const rotary::time_zone* z, sys_seconds u) {
  return (rotary::to_unix(u) + z->offset(u).count()) / 60;
}

// A transcription of cronie's main loop (cron.c, 1.7.2) on a fake clock that wakes at every
// minute: the oracle for the cronie mode.
std::vector<std::string> cronie_loop(const rotary::cron_expr& e, const rotary::time_zone* z, sys_seconds from,
                                     sys_seconds until) {
  std::vector<std::string> out;
  const bool wildcard = e.wildcard_job();
  sys_seconds u = from - 6h;
  std::int64_t virtual_time = local_minute_at(z, u - 60s);
  const auto find_jobs = [&](std::int64_t minute, bool do_wild, bool do_nonwild) {
    if (local_minute_matches(e, minute) && ((do_wild && wildcard) || (do_nonwild && !wildcard)) && u >= from)
      out.push_back(rotary::format_time(u));
  };
  for (; u < until; u += 60s) {
    const std::int64_t time_running = local_minute_at(z, u);
    const std::int64_t diff = time_running - virtual_time;
    if (diff == 1) {
      virtual_time = time_running;
      find_jobs(virtual_time, true, true);
    } else if (diff > 180 || diff < -180) {
      virtual_time = time_running;
      find_jobs(time_running, true, true);
    } else if (diff > 5) {
      find_jobs(time_running, true, false);
      do {
        ++virtual_time;
        find_jobs(virtual_time, false, true);
      } while (virtual_time < time_running);
    } else if (diff > 0) {
      do {
        ++virtual_time;
        find_jobs(virtual_time, true, true);
      } while (virtual_time < time_running);
    } else {
      find_jobs(time_running, true, false);
    }
  }
  return out;
}

// Plain wall-clock matching, minute by minute: the oracle for the wallclock mode.
std::vector<std::string> wallclock_loop(const rotary::cron_expr& e, const rotary::time_zone* z,
                                        sys_seconds from, sys_seconds until) {
  std::vector<std::string> out;
  for (sys_seconds u = from; u < until; u += 60s)
    if (local_minute_matches(e, local_minute_at(z, u))) out.push_back(rotary::format_time(u));
  return out;
}

struct night {
  const char* zone;
  const char* transition;  // UTC
};
const night nights[] = {
    {"America/New_York", "2027-03-14T07:00:00Z"},     // 02:00 EST -> 03:00 EDT
    {"America/New_York", "2027-11-07T06:00:00Z"},     // 02:00 EDT -> 01:00 EST
    {"Europe/Berlin", "2027-03-28T01:00:00Z"},        // 02:00 CET -> 03:00 CEST
    {"Europe/Berlin", "2027-10-31T01:00:00Z"},        // 03:00 CEST -> 02:00 CET
    {"Australia/Lord_Howe", "2027-10-02T15:30:00Z"},  // 02:00 -> 02:30 (+10:30 -> +11)
    {"Australia/Lord_Howe", "2027-04-03T15:00:00Z"},  // 02:00 -> 01:30 (+11 -> +10:30)
    {"Asia/Kathmandu", "1985-12-31T18:30:00Z"},       // 00:00 -> 00:15 (+05:30 -> +05:45)
    {"Pacific/Apia", "2011-12-30T10:00:00Z"},         // 2011-12-30 skipped (-10 -> +14)
};

}  // namespace

// ---- the concept and the range ----------------------------------------------------------------

static_assert(rotary::schedule<cron_schedule>);
static_assert(rotary::schedule<rotary::interval_schedule>);
static_assert(std::ranges::forward_range<rotary::fire_range<cron_schedule>>);
static_assert(std::ranges::input_range<rotary::fire_range<rotary::interval_schedule>>);

BOOST_AUTO_TEST_CASE(a_schedule_without_a_zone_reads_the_expression_in_utc) {
  const cron_schedule s{cron("30 2 * * *")};
  BOOST_TEST(std::string(s.zone_name()) == "UTC");
  BOOST_TEST(iso(s.next(at("2027-03-14T00:00:00Z"))) == "2027-03-14T02:30:00Z");
  BOOST_TEST(iso(s.prev(at("2027-03-14T00:00:00Z"))) == "2027-03-13T02:30:00Z");
  BOOST_TEST(s.runs_at(at("2027-03-14T02:30:00Z")) == 1);
  BOOST_TEST(s.runs_at(at("2027-03-14T02:31:00Z")) == 0);
}

BOOST_AUTO_TEST_CASE(an_unknown_zone_name_is_rejected) {
  BOOST_CHECK_THROW(cron_schedule(cron("* * * * *"), "Mars/Olympus_Mons"), std::invalid_argument);
  BOOST_TEST(rotary::find_zone("Mars/Olympus_Mons") == nullptr);
  BOOST_TEST(rotary::find_zone("Europe/Berlin") != nullptr);
}

BOOST_AUTO_TEST_CASE(fires_are_the_runs_in_a_half_open_horizon) {
  const cron_schedule s{cron("0 * * * *")};
  BOOST_TEST(runs(s, "2027-01-01T00:00:00Z", "2027-01-01T03:00:00Z") ==
                 (strings{"2027-01-01T00:00:00Z", "2027-01-01T01:00:00Z", "2027-01-01T02:00:00Z"}),
             boost::test_tools::per_element());
  BOOST_TEST(runs(s, "2027-01-01T00:00:01Z", "2027-01-01T01:00:01Z") == (strings{"2027-01-01T01:00:00Z"}),
             boost::test_tools::per_element());
  BOOST_TEST(runs(s, "2027-01-01T03:00:00Z", "2027-01-01T03:00:00Z").empty());
  BOOST_TEST(runs(s, "2027-01-01T04:00:00Z", "2027-01-01T03:00:00Z").empty());
  BOOST_TEST(runs(cron_schedule{cron("0 0 30 2 *")}, "2027-01-01T00:00:00Z", "2037-01-01T00:00:00Z").empty());
}

BOOST_AUTO_TEST_CASE(fires_in_utc_equal_repeated_next_for_dense_and_sparse_expressions) {
  for (const char* text : {"* * * * *", "*/7 * * * *", "0 */5 * * *", "15,45 9-17 * * MON-FRI", "0 0 29 2 *",
                           "59 23 * * *", "0 0 1 * *", "*/20 0-2,22-23 */3 * *"}) {
    BOOST_TEST_CONTEXT(text) {
      const cron_schedule s{cron(text)};
      const auto from = at("2027-01-01T00:00:00Z"), until = at("2031-01-01T00:00:00Z");
      std::vector<sys_seconds> by_next;
      for (auto t = s.next(from - 1s); t && *t < until && by_next.size() < 200000; t = s.next(*t))
        by_next.push_back(*t);
      std::vector<sys_seconds> by_range;
      for (sys_seconds t : rotary::fires(s, from, until)) {
        by_range.push_back(t);
        if (by_range.size() == 200000) break;
      }
      BOOST_TEST((by_next == by_range));
    }
  }
}

// ---- DST nights -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(cronie_runs_a_skipped_fixed_time_job_right_after_the_spring_forward_jump) {
  const cron_schedule s{cron("30 2 * * *"), "America/New_York"};
  BOOST_TEST(runs(s, "2027-03-13T00:00:00Z", "2027-03-16T00:00:00Z") ==
                 (strings{"2027-03-13T07:30:00Z", "2027-03-14T07:00:00Z", "2027-03-15T06:30:00Z"}),
             boost::test_tools::per_element());
  BOOST_TEST(iso(s.next(at("2027-03-14T00:00:00Z"))) == "2027-03-14T07:00:00Z");  // 03:00 EDT
  BOOST_TEST(iso(s.prev(at("2027-03-15T00:00:00Z"))) == "2027-03-14T07:00:00Z");
  const cron_schedule at_two{cron("0 2 * * *"), "America/New_York"};
  BOOST_TEST(iso(at_two.next(at("2027-03-14T00:00:00Z"))) == "2027-03-14T07:00:00Z");
}

BOOST_AUTO_TEST_CASE(wallclock_never_runs_a_local_time_that_does_not_exist) {
  const cron_schedule s{cron("30 2 * * *"), "America/New_York", dst_mode::wallclock};
  BOOST_TEST(runs(s, "2027-03-13T00:00:00Z", "2027-03-16T00:00:00Z") ==
                 (strings{"2027-03-13T07:30:00Z", "2027-03-15T06:30:00Z"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(cronie_replays_every_skipped_minute_of_a_fixed_time_job_at_once) {
  const cron_schedule s{cron("0-59/20 2 * * *"), "America/New_York"};
  BOOST_TEST(runs(s, "2027-03-14T00:00:00Z", "2027-03-15T00:00:00Z") ==
                 (strings{"2027-03-14T07:00:00Z", "2027-03-14T07:00:00Z", "2027-03-14T07:00:00Z"}),
             boost::test_tools::per_element());
  BOOST_TEST(s.runs_at(at("2027-03-14T07:00:00Z")) == 3);
  BOOST_TEST(s.next_fire(at("2027-03-14T00:00:00Z"))->runs == 3);
  BOOST_TEST(iso(s.next(at("2027-03-14T07:00:00Z"))) == "2027-03-15T06:00:00Z");  // distinct instants
}

BOOST_AUTO_TEST_CASE(cronie_loses_wildcard_slots_inside_the_skipped_hour) {
  const cron_schedule every_hour{cron("30 * * * *"), "America/New_York"};
  BOOST_TEST(runs(every_hour, "2027-03-14T05:00:00Z", "2027-03-14T09:00:00Z") ==
                 (strings{"2027-03-14T05:30:00Z", "2027-03-14T06:30:00Z", "2027-03-14T07:30:00Z",
                          "2027-03-14T08:30:00Z"}),
             boost::test_tools::per_element());
  const cron_schedule two_am{cron("*/20 2 * * *"), "America/New_York"};
  BOOST_TEST(runs(two_am, "2027-03-14T00:00:00Z", "2027-03-15T00:00:00Z").empty());
}

BOOST_AUTO_TEST_CASE(cronie_runs_a_fixed_time_job_once_in_a_repeated_hour_and_wallclock_twice) {
  const cron_schedule cronie{cron("30 1 * * *"), "America/New_York"};
  BOOST_TEST(
      runs(cronie, "2027-11-07T00:00:00Z", "2027-11-08T00:00:00Z") == (strings{"2027-11-07T05:30:00Z"}),
      boost::test_tools::per_element());
  const cron_schedule wall{cron("30 1 * * *"), "America/New_York", dst_mode::wallclock};
  BOOST_TEST(runs(wall, "2027-11-07T00:00:00Z", "2027-11-08T00:00:00Z") ==
                 (strings{"2027-11-07T05:30:00Z", "2027-11-07T06:30:00Z"}),
             boost::test_tools::per_element());
  BOOST_TEST(iso(cronie.prev(at("2027-11-08T00:00:00Z"))) == "2027-11-07T05:30:00Z");
  BOOST_TEST(cronie.runs_at(at("2027-11-07T06:30:00Z")) == 0);
  BOOST_TEST(wall.runs_at(at("2027-11-07T06:30:00Z")) == 1);
}

BOOST_AUTO_TEST_CASE(cronie_runs_wildcard_jobs_in_both_passes_of_a_repeated_hour) {
  for (const char* text : {"*/30 * * * *", "30 * * * *", "*/20 1 * * *"}) {
    BOOST_TEST_CONTEXT(text) {
      const cron_schedule s{cron(text), "America/New_York"};
      const auto got = runs(s, "2027-11-07T05:00:00Z", "2027-11-07T07:00:00Z");
      const auto expected =
          wallclock_loop(cron(text), s.zone(), at("2027-11-07T05:00:00Z"), at("2027-11-07T07:00:00Z"));
      BOOST_TEST(got == expected, boost::test_tools::per_element());
      // Both passes of 01:xx (05:xxZ in EDT, 06:xxZ in EST) have the same runs.
      const auto first_pass =
          std::count_if(got.begin(), got.end(), [](const std::string& t) { return t.substr(11, 2) == "05"; });
      const auto second_pass =
          std::count_if(got.begin(), got.end(), [](const std::string& t) { return t.substr(11, 2) == "06"; });
      BOOST_TEST(first_pass > 0);
      BOOST_TEST(first_pass == second_pass);
    }
  }
}

BOOST_AUTO_TEST_CASE(berlin_springs_forward_at_two_and_falls_back_at_three) {
  const cron_schedule spring{cron("30 2 * * *"), "Europe/Berlin"};
  BOOST_TEST(iso(spring.next(at("2027-03-27T12:00:00Z"))) == "2027-03-28T01:00:00Z");  // 03:00 CEST
  const cron_schedule wall{cron("30 2 * * *"), "Europe/Berlin", dst_mode::wallclock};
  BOOST_TEST(iso(wall.next(at("2027-03-27T12:00:00Z"))) == "2027-03-29T00:30:00Z");
  BOOST_TEST(
      runs(spring, "2027-10-30T12:00:00Z", "2027-10-31T12:00:00Z") == (strings{"2027-10-31T00:30:00Z"}),
      boost::test_tools::per_element());
  BOOST_TEST(runs(wall, "2027-10-30T12:00:00Z", "2027-10-31T12:00:00Z") ==
                 (strings{"2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(lord_howe_shifts_by_half_an_hour_and_cronie_catches_up_at_half_past_two) {
  const cron_schedule s{cron("15 2 * * *"), "Australia/Lord_Howe"};
  BOOST_TEST(iso(s.next(at("2027-10-02T00:00:00Z"))) == "2027-10-02T15:30:00Z");  // 02:30 +11
  const cron_schedule wall{cron("15 2 * * *"), "Australia/Lord_Howe", dst_mode::wallclock};
  BOOST_TEST(iso(wall.next(at("2027-10-02T00:00:00Z"))) == "2027-10-03T15:15:00Z");
  // Falling back: 01:30-02:00 happens twice; the fixed-time 01:45 runs once under cronie.
  const cron_schedule fall{cron("45 1 * * *"), "Australia/Lord_Howe"};
  BOOST_TEST(runs(fall, "2027-04-03T12:00:00Z", "2027-04-04T12:00:00Z") == (strings{"2027-04-03T14:45:00Z"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(kathmandu_moved_fifteen_minutes_forward_in_1986) {
  const cron_schedule s{cron("5 0 * * *"), "Asia/Kathmandu"};
  BOOST_TEST(iso(s.next(at("1985-12-31T12:00:00Z"))) == "1985-12-31T18:30:00Z");  // 00:15 +0545, caught up
  const cron_schedule wall{cron("5 0 * * *"), "Asia/Kathmandu", dst_mode::wallclock};
  BOOST_TEST(iso(wall.next(at("1985-12-31T12:00:00Z"))) == "1986-01-01T18:20:00Z");
  const cron_schedule now{cron("0 9 * * *"), "Asia/Kathmandu"};
  BOOST_TEST(iso(now.next(at("2027-06-01T00:00:00Z"))) == "2027-06-01T03:15:00Z");
}

BOOST_AUTO_TEST_CASE(apia_skipped_2011_12_30_and_no_mode_catches_up_a_whole_day) {
  for (auto mode : {dst_mode::cronie, dst_mode::wallclock}) {
    const cron_schedule s{cron("0 12 * * *"), "Pacific/Apia", mode};
    BOOST_TEST(runs(s, "2011-12-28T00:00:00Z", "2012-01-01T00:00:00Z") ==
                   (strings{"2011-12-28T22:00:00Z", "2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z",
                            "2011-12-31T22:00:00Z"}),
               boost::test_tools::per_element());
  }
  // 2011-12-31T12:00 local is 2011-12-30T22:00Z: the local date 12-30 never happened.
  const cron_schedule dec30{cron("0 12 30 12 *"), "Pacific/Apia"};
  BOOST_TEST(iso(dec30.next(at("2011-12-01T00:00:00Z"))) == "2012-12-29T22:00:00Z");  // +14 (DST) in 2012
}

BOOST_AUTO_TEST_CASE(both_modes_equal_a_minute_by_minute_model_of_the_daemon_on_random_expressions) {
  splitmix64 rng{1986};
  for (const auto& n : nights) {
    const auto* zone = rotary::find_zone(n.zone);
    BOOST_TEST_REQUIRE(zone != nullptr);
    const auto from = at(n.transition) - 5h, until = at(n.transition) + 5h;
    for (int i = 0; i < 150; ++i) {
      const std::string text = random_night_expression(rng);
      const auto e = cron(text);
      BOOST_TEST_CONTEXT(n.zone << " " << n.transition << " '" << text << "'") {
        const cron_schedule cronie{e, zone, dst_mode::cronie}, wall{e, zone, dst_mode::wallclock};
        const auto got_cronie =
            runs(cronie, rotary::format_time(from).c_str(), rotary::format_time(until).c_str());
        BOOST_TEST(got_cronie == cronie_loop(e, zone, from, until), boost::test_tools::per_element());
        const auto got_wall =
            runs(wall, rotary::format_time(from).c_str(), rotary::format_time(until).c_str());
        BOOST_TEST(got_wall == wallclock_loop(e, zone, from, until), boost::test_tools::per_element());
        // prev walks the same instants backwards, and runs_at gives their multiplicity.
        for (const auto* s : {&cronie, &wall}) {
          std::vector<std::string> back;
          for (auto t = s->prev(until); t && *t >= from; t = s->prev(*t))
            for (int k = s->runs_at(*t); k > 0; --k) back.push_back(rotary::format_time(*t));
          std::reverse(back.begin(), back.end());
          BOOST_TEST(back == (s == &cronie ? got_cronie : got_wall), boost::test_tools::per_element());
        }
      }
    }
  }
}

// ---- intervals --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_interval_schedule_fires_in_step_with_its_anchor_in_both_directions) {
  const rotary::interval_schedule s{12h, at("2027-01-01T06:00:00Z")};
  BOOST_TEST(iso(s.next(at("2027-01-01T06:00:00Z"))) == "2027-01-01T18:00:00Z");
  BOOST_TEST(iso(s.next(at("2027-01-01T05:59:59Z"))) == "2027-01-01T06:00:00Z");
  BOOST_TEST(iso(s.prev(at("2027-01-01T06:00:00Z"))) == "2026-12-31T18:00:00Z");
  BOOST_TEST(iso(s.prev(at("2027-01-01T06:00:01Z"))) == "2027-01-01T06:00:00Z");
  BOOST_TEST(runs(s, "2027-01-01T00:00:00Z", "2027-01-03T00:00:00Z").size() == 4u);
  BOOST_TEST(s.runs_at(at("2027-01-02T18:00:00Z")) == 1);
  BOOST_CHECK_THROW(rotary::interval_schedule(0s, at("2027-01-01T00:00:00Z")), std::invalid_argument);
  BOOST_CHECK_THROW(rotary::interval_schedule(-5s, at("2027-01-01T00:00:00Z")), std::invalid_argument);
}

// ---- gap analysis -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(gap_analysis_reports_count_ends_and_extreme_gaps_with_where_they_are) {
  const cron_schedule s{cron("0 */5 * * *")};  // 00, 05, 10, 15, 20: gaps of 5h and 4h
  const auto r = rotary::analyse_gaps(s, at("2027-01-01T00:00:00Z"), at("2027-01-03T00:00:00Z"));
  BOOST_TEST(r.count == 10u);
  BOOST_TEST(iso(r.first) == "2027-01-01T00:00:00Z");
  BOOST_TEST(iso(r.last) == "2027-01-02T20:00:00Z");
  BOOST_TEST(r.smallest->length.count() == 4 * 3600);
  BOOST_TEST(iso(r.smallest->from) == "2027-01-01T20:00:00Z");
  BOOST_TEST(iso(r.smallest->to) == "2027-01-02T00:00:00Z");
  BOOST_TEST(r.largest->length.count() == 5 * 3600);
  BOOST_TEST(iso(r.largest->from) == "2027-01-01T00:00:00Z");
  BOOST_TEST(!r.tolerated_failures.has_value());
}

BOOST_AUTO_TEST_CASE(tolerance_counts_consecutive_failed_runs_a_period_survives) {
  const cron_schedule s{cron("0 */12 * * *")};
  const auto from = at("2027-01-01T00:00:00Z"), until = at("2028-01-01T00:00:00Z");
  // Runs 12 h apart and a 60-hour token: k failures leave a gap of 12(k+1) h, which must be < 60 h.
  BOOST_TEST(*rotary::analyse_gaps(s, from, until, 60h).tolerated_failures == 3);
  BOOST_TEST(*rotary::analyse_gaps(s, from, until, 61h).tolerated_failures == 4);
  BOOST_TEST(*rotary::analyse_gaps(s, from, until, 12h + 1s).tolerated_failures == 0);
  BOOST_TEST(*rotary::analyse_gaps(s, from, until, 12h).tolerated_failures == -1);  // even with no failure
  const auto whole = rotary::analyse_gaps(s, from, until, 24h * 400);
  BOOST_TEST(*whole.tolerated_failures == static_cast<std::int64_t>(whole.count) - 2);
  BOOST_TEST(whole.tolerance_limited_by_horizon);
  BOOST_TEST(!rotary::analyse_gaps(s, from, until, 60h).tolerance_limited_by_horizon);
}

BOOST_AUTO_TEST_CASE(tolerance_is_undefined_with_fewer_than_two_runs) {
  const cron_schedule yearly{cron("@yearly")};
  const auto one = rotary::analyse_gaps(yearly, at("2027-01-01T00:00:00Z"), at("2027-06-01T00:00:00Z"), 1h);
  BOOST_TEST(one.count == 1u);
  BOOST_TEST(!one.tolerated_failures.has_value());
  BOOST_TEST(!one.smallest.has_value());
  const auto none = rotary::analyse_gaps(yearly, at("2027-02-01T00:00:00Z"), at("2027-06-01T00:00:00Z"), 1h);
  BOOST_TEST(none.count == 0u);
  BOOST_TEST(!none.first.has_value());
}

BOOST_AUTO_TEST_CASE(repeated_runs_after_a_dst_jump_count_and_make_a_zero_gap) {
  const cron_schedule s{cron("0-59/20 2 * * *"), "America/New_York"};
  const auto r = rotary::analyse_gaps(s, at("2027-03-13T00:00:00Z"), at("2027-03-16T00:00:00Z"), 25h);
  BOOST_TEST(r.count == 3u + 3u + 3u);
  BOOST_TEST(r.smallest->length.count() == 0);
  BOOST_TEST(r.largest->length.count() ==
             (23 * 60 + 20) * 60);  // 02:40 EST on the 13th to 03:00 EDT on the 14th
}

BOOST_AUTO_TEST_CASE(tolerance_equals_a_brute_force_search_on_random_schedules) {
  splitmix64 rng{7};
  for (int i = 0; i < 400; ++i) {
    const std::string text = random_night_expression(rng);
    const cron_schedule s{cron(text), rng.below(2) ? "America/New_York" : "Europe/Berlin"};
    const auto from = at("2027-03-10T00:00:00Z") + std::chrono::minutes{rng.below(60 * 24 * 5)};
    const auto until = from + std::chrono::hours{rng.between(1, 24 * 10)};
    const auto period = std::chrono::seconds{rng.between(60, 3 * 86400)};
    std::vector<sys_seconds> f;
    for (sys_seconds t : rotary::fires(s, from, until)) f.push_back(t);
    std::optional<std::int64_t> expected;
    const auto n = static_cast<std::int64_t>(f.size());
    if (n >= 2) {
      expected = -1;
      for (std::int64_t k = 0; k <= n - 2; ++k) {
        bool ok = true;
        for (std::int64_t j = 0; j + k + 1 < n && ok; ++j)
          ok = f[static_cast<std::size_t>(j + k + 1)] - f[static_cast<std::size_t>(j)] < period;
        if (ok) expected = k;
      }
    }
    const auto r = rotary::analyse_gaps(s, from, until, period);
    BOOST_TEST_CONTEXT(text << " " << s.zone_name() << " period " << period.count()) {
      BOOST_TEST(r.count == f.size());
      BOOST_TEST((r.tolerated_failures == expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_year_of_every_minute_is_analysed_in_one_pass) {
  const cron_schedule s{cron("* * * * *")};
  const auto r = rotary::analyse_gaps(s, at("2027-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z"), 24h);
  BOOST_TEST(r.count == 525600u);
  BOOST_TEST(r.largest->length.count() == 60);
  BOOST_TEST(*r.tolerated_failures == 24 * 60 - 2);  // 1439 minutes of gap is < 24 h; 1440 is not
}

// ---- lint in a zone ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(lint_in_a_zone_names_the_dst_night_and_what_each_mode_does) {
  const auto* ny = rotary::find_zone("America/New_York");
  const auto from = at("2027-01-01T00:00:00Z");
  auto f = rotary::lint(cron("30 2 * * *"), ny, from);
  BOOST_TEST_REQUIRE(f.size() == 1u);
  BOOST_TEST(f[0].code == "dst-skipped");
  BOOST_TEST(f[0].column == 4u);
  BOOST_TEST(
      f[0].message ==
      "02:30 does not exist on 2027-03-14 in America/New_York (clocks jump from 02:00 to 03:00): cronie runs "
      "the job at 03:00 instead; --dst wallclock skips it");
  f = rotary::lint(cron("30 1 * * *"), ny, from);
  BOOST_TEST_REQUIRE(f.size() == 1u);
  BOOST_TEST(f[0].code == "dst-repeated");
  BOOST_TEST(f[0].message ==
             "01:30 occurs twice on 2027-11-07 in America/New_York (clocks go back from 02:00 to 01:00): "
             "cronie runs "
             "this fixed-time job once (in the first pass); --dst wallclock runs it twice");
  f = rotary::lint(cron("*/30 * * * *"), ny, from);
  BOOST_TEST_REQUIRE(f.size() == 2u);
  BOOST_TEST(f[0].code == "dst-skipped");
  BOOST_TEST(f[1].code == "dst-repeated");
  BOOST_TEST(rotary::lint(cron("0 12 * * *"), ny, from).empty());
  BOOST_TEST(rotary::lint(cron("30 2 * * *"), nullptr, from).empty());
  BOOST_TEST(rotary::lint(cron("30 2 * * *"), rotary::find_zone("Asia/Tokyo"), from).empty());
  f = rotary::lint(cron("0 12 * * *"), rotary::find_zone("Pacific/Apia"), at("2011-06-01T00:00:00Z"));
  BOOST_TEST_REQUIRE(f.size() == 1u);
  BOOST_TEST(
      f[0].message ==
      "12:00 does not exist on 2011-12-30 in Pacific/Apia (clocks jump from 2011-12-30 00:00 to 2011-12-31 "
      "00:00): cronie treats a jump over 3 hours as a change of the system time and does not catch up; the "
      "run is lost in both modes");
}

// ---- JSON -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(json_uses_camel_case_iso_times_and_seconds) {
  nlohmann::json j = cron("*/5 * * * *");
  BOOST_TEST(j.dump() == "\"*/5 * * * *\"");
  BOOST_TEST((j.get<rotary::cron_expr>() == cron("*/5 * * * *")));
  BOOST_CHECK_THROW(nlohmann::json("5/15 * * * *").get<rotary::cron_expr>(), rotary::parse_error);
  BOOST_TEST(nlohmann::json(dst_mode::wallclock).dump() == "\"wallclock\"");
  BOOST_TEST((nlohmann::json("cronie").get<dst_mode>() == dst_mode::cronie));
  BOOST_CHECK_THROW(nlohmann::json("vixie").get<dst_mode>(), std::invalid_argument);
  const cron_schedule s{cron("0 */12 * * *"), "Europe/Berlin", dst_mode::wallclock};
  BOOST_TEST(nlohmann::json(s).dump() ==
             R"({"dst":"wallclock","expression":"0 */12 * * *","tz":"Europe/Berlin"})");
  const auto r = rotary::analyse_gaps(cron_schedule{cron("0 */12 * * *")}, at("2027-01-01T00:00:00Z"),
                                      at("2027-01-02T00:00:00Z"), 60h);
  BOOST_TEST(nlohmann::json(r).dump() ==
             R"({"count":2,"first":"2027-01-01T00:00:00Z","from":"2027-01-01T00:00:00Z",)"
             R"("largestGap":{"from":"2027-01-01T00:00:00Z","seconds":43200,"to":"2027-01-01T12:00:00Z"},)"
             R"("last":"2027-01-01T12:00:00Z","periodSeconds":216000,)"
             R"("smallestGap":{"from":"2027-01-01T00:00:00Z","seconds":43200,"to":"2027-01-01T12:00:00Z"},)"
             R"("toleranceLimitedByHorizon":true,"toleratedFailures":0,"until":"2027-01-02T00:00:00Z"})");
  const rotary::lint_finding w{3, 2, "uneven-step", "m"};
  BOOST_TEST(nlohmann::json(w).dump() == R"({"code":"uneven-step","column":3,"message":"m"})");
  BOOST_TEST(nlohmann::json(rotary::fire{at("2027-01-01T00:00:00Z"), 3}).dump() ==
             R"({"at":"2027-01-01T00:00:00Z","runs":3})");
}

// ---- beyond 2037: the zone files' POSIX rule ------------------------------------------------

BOOST_AUTO_TEST_CASE(dst_keeps_working_after_2037_from_the_zone_files_rule) {
  // Transitions as Python's zoneinfo (which applies the TZif footer) gives them for 2040.
  const cron_schedule ny{cron("30 2 * * *"), "America/New_York"};
  BOOST_TEST(iso(ny.next(at("2040-03-10T12:00:00Z"))) == "2040-03-11T07:00:00Z");  // 03:00 EDT, caught up
  const cron_schedule ny_wall{cron("30 2 * * *"), "America/New_York", dst_mode::wallclock};
  BOOST_TEST(iso(ny_wall.next(at("2040-03-10T12:00:00Z"))) == "2040-03-12T06:30:00Z");
  BOOST_TEST(iso(ny.next(at("2040-07-01T00:00:00Z"))) == "2040-07-01T06:30:00Z");  // EDT in summer
  BOOST_TEST(iso(ny.next(at("2040-12-01T00:00:00Z"))) == "2040-12-01T07:30:00Z");  // EST in winter
  const cron_schedule berlin{cron("30 2 * * *"), "Europe/Berlin", dst_mode::wallclock};
  BOOST_TEST(runs(berlin, "2040-10-27T12:00:00Z", "2040-10-28T12:00:00Z") ==
                 (strings{"2040-10-28T00:30:00Z", "2040-10-28T01:30:00Z"}),
             boost::test_tools::per_element());
  const cron_schedule howe{cron("15 2 * * *"), "Australia/Lord_Howe"};
  BOOST_TEST(iso(howe.next(at("2040-10-06T00:00:00Z"))) == "2040-10-06T15:30:00Z");  // 02:30 +11
  const cron_schedule howe_fall{cron("45 1 * * *"), "Australia/Lord_Howe"};
  BOOST_TEST(
      runs(howe_fall, "2040-03-31T12:00:00Z", "2040-04-01T12:00:00Z") == (strings{"2040-03-31T14:45:00Z"}),
      boost::test_tools::per_element());
  BOOST_TEST(iso(ny.prev(at("2040-03-12T00:00:00Z"))) == "2040-03-11T07:00:00Z");
  // The last listed transition (2037-11-01) hands over to the rule without a seam.
  const cron_schedule hourly{cron("0 * * * *"), "America/New_York", dst_mode::wallclock};
  BOOST_TEST(runs(hourly, "2037-11-01T04:30:00Z", "2037-11-01T07:30:00Z").size() == 3u);
  BOOST_TEST(runs(hourly, "2038-03-14T05:30:00Z", "2038-03-14T08:30:00Z").size() == 3u);
  BOOST_TEST(iso(hourly.next(at("2038-03-14T06:30:00Z"))) == "2038-03-14T07:00:00Z");  // 03:00 EDT
  // Zones without DST today have no rule to apply.
  const cron_schedule kathmandu{cron("0 9 * * *"), "Asia/Kathmandu"};
  BOOST_TEST(iso(kathmandu.next(at("2050-06-01T00:00:00Z"))) == "2050-06-01T03:15:00Z");
}

BOOST_AUTO_TEST_CASE(posix_tz_strings_parse_like_the_zone_files_write_them) {
  const auto ny = rotary::detail::parse_posix_tz("EST5EDT,M3.2.0,M11.1.0");
  BOOST_TEST_REQUIRE(ny.has_value());
  BOOST_TEST(ny->std_offset == -5 * 3600);
  BOOST_TEST(ny->dst_offset == -4 * 3600);
  const auto howe = rotary::detail::parse_posix_tz("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  BOOST_TEST_REQUIRE(howe.has_value());
  BOOST_TEST(howe->std_offset == 10 * 3600 + 1800);
  BOOST_TEST(howe->dst_name == "+11");
  const auto santiago = rotary::detail::parse_posix_tz("<-04>4<-03>,M9.1.6/24,M4.1.6/24");
  BOOST_TEST_REQUIRE(santiago.has_value());
  BOOST_TEST(santiago->start.time == 24 * 3600);
  BOOST_TEST(!rotary::detail::parse_posix_tz("<+0545>-5:45")->has_dst);
  BOOST_TEST(!rotary::detail::parse_posix_tz("EST5EDT,M3.2.0").has_value());
  BOOST_TEST(!rotary::detail::parse_posix_tz("E5").has_value());
  BOOST_TEST(!rotary::detail::parse_posix_tz("").has_value());
}

// Sparse expressions cross many DST segments between two runs; `next` skips the segments that
// cannot hold a run. Checked against `prev`, which walks segment by segment: for random
// instants t in six zones and both modes, n = next(t) runs (runs_at), no run lies in (t, n)
// (prev(n) <= t), and the run before n leads back to n.
BOOST_AUTO_TEST_CASE(sparse_expressions_across_many_dst_segments_agree_with_prev) {
  const strings expressions = {"0 0 29 2 *",    "30 2 29 2 *", "0 2 * 3 0",   "30 1 1 11 *",
                               "0 0 1 1 *",     "15 2 31 3 *", "0 3 13 * 5",  "*/30 2 8-14 3 0",
                               "59 23 31 12 *", "0 0 29 2 1",  "30 2 * 10 0", "0 1 1-7 4 0"};
  const strings zones = {"America/New_York", "Europe/Berlin",  "Australia/Lord_Howe",
                         "Pacific/Apia",     "Asia/Kathmandu", "America/Sao_Paulo"};
  std::uint64_t state = 20261129;
  auto random_below = [&](std::int64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::int64_t>((state >> 11) % static_cast<std::uint64_t>(n));
  };
  const std::int64_t from = 946'684'800;  // 2000-01-01
  const std::int64_t span = 40LL * 365 * 86'400;
  int checked = 0;
  for (const auto& text : expressions)
    for (const auto& zone : zones)
      for (const auto mode : {dst_mode::cronie, dst_mode::wallclock}) {
        const cron_schedule s{cron(text), zone, mode};
        for (int i = 0; i < 12; ++i) {
          const sys_seconds t{std::chrono::seconds{from + random_below(span)}};
          BOOST_TEST_CONTEXT(text << " in " << zone << (mode == dst_mode::cronie ? " cronie" : " wallclock")
                                  << " after " << rotary::format_time(t)) {
            const auto n = s.next(t);
            BOOST_REQUIRE(n.has_value());
            BOOST_TEST((*n > t));
            BOOST_TEST(s.runs_at(*n) >= 1);
            const auto p = s.prev(*n);
            BOOST_REQUIRE(p.has_value());
            BOOST_TEST((*p <= t), "prev(" << rotary::format_time(*n) << ") = " << rotary::format_time(*p));
            BOOST_TEST((s.next(*p) == n));
            ++checked;
          }
        }
      }
  BOOST_TEST(checked == 12 * 6 * 2 * 12);
}
