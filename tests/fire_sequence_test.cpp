#define BOOST_TEST_MODULE fire_sequence
#include <boost/test/unit_test.hpp>

#include "print.hpp"

#include <rotary/fire_sequence.hpp>
#include <rotary/schedule.hpp>

#include <vector>

using namespace rotary;
using namespace std::chrono_literals;

namespace {

const sys_seconds t0 = from_unix(1798761600);  // 2027-01-01T00:00:00Z

std::vector<sys_seconds> listed(const fire_sequence& f) { return {f.begin(), f.end()}; }

}  // namespace

BOOST_AUTO_TEST_CASE(equal_steps_make_one_run) {
  fire_sequence f;
  for (int k = 0; k < 1000; ++k) f.push_back(t0 + 60s * k);
  BOOST_TEST(f.size() == 1000u);
  BOOST_REQUIRE(f.runs().size() == 1u);
  BOOST_TEST((f.runs()[0] == fire_sequence::run{t0, 60s, 1000}));
  BOOST_TEST(f.front() == t0);
  BOOST_TEST(f.back() == t0 + 999min);
  BOOST_TEST(f[0] == t0);
  BOOST_TEST(f[737] == t0 + 737min);
}

BOOST_AUTO_TEST_CASE(a_change_of_step_starts_a_run_greedily) {
  // 0, 10, 20 | 25, 30, 35 | 100: the second run takes 25 and then its step from 30.
  const fire_sequence f{t0, t0 + 10s, t0 + 20s, t0 + 25s, t0 + 30s, t0 + 35s, t0 + 100s};
  BOOST_REQUIRE(f.runs().size() == 3u);
  BOOST_TEST((f.runs()[0] == fire_sequence::run{t0, 10s, 3}));
  BOOST_TEST((f.runs()[1] == fire_sequence::run{t0 + 25s, 5s, 3}));
  BOOST_TEST((f.runs()[2] == fire_sequence::run{t0 + 100s, 0s, 1}));
  BOOST_TEST(f.run_start(2) == 6u);
  const std::vector<sys_seconds> expected{t0, t0 + 10s, t0 + 20s, t0 + 25s, t0 + 30s, t0 + 35s, t0 + 100s};
  BOOST_TEST((listed(f) == expected));
  for (std::size_t i = 0; i < expected.size(); ++i) BOOST_TEST(f[i] == expected[i]);
}

BOOST_AUTO_TEST_CASE(fires_must_increase) {
  fire_sequence f{t0, t0 + 1h};
  BOOST_CHECK_EXCEPTION(f.push_back(t0 + 1h), std::invalid_argument, [](const std::invalid_argument& e) {
    return std::string(e.what()) ==
           "rotary: fires must be strictly increasing (2027-01-01T01:00:00Z after 2027-01-01T01:00:00Z)";
  });
  BOOST_CHECK_THROW(f.push_back(t0), std::invalid_argument);
  BOOST_TEST(f.size() == 2u);  // unchanged
  BOOST_TEST(f.back() == t0 + 1h);
}

BOOST_AUTO_TEST_CASE(resize_keeps_a_prefix) {
  fire_sequence f{t0, t0 + 10s, t0 + 20s, t0 + 25s, t0 + 30s, t0 + 35s};
  f.resize(4);
  BOOST_TEST(f.size() == 4u);
  BOOST_TEST(f.back() == t0 + 25s);
  BOOST_REQUIRE(f.runs().size() == 2u);
  BOOST_TEST((f.runs()[1] == fire_sequence::run{t0 + 25s, 0s, 1}));
  f.push_back(t0 + 26s);  // the cut run takes a new step
  BOOST_TEST((f.runs()[1] == fire_sequence::run{t0 + 25s, 1s, 2}));
  f.resize(10);  // longer: nothing changes
  BOOST_TEST(f.size() == 5u);
  f.resize(0);
  BOOST_TEST(f.empty());
  BOOST_TEST(f.runs().empty());
  f.push_back(t0);
  BOOST_TEST(f.size() == 1u);
}

BOOST_AUTO_TEST_CASE(equal_sequences_compare_equal) {
  fire_sequence a{t0, t0 + 1h, t0 + 2h};
  fire_sequence b(std::vector<sys_seconds>{t0, t0 + 1h, t0 + 2h});
  BOOST_TEST((a == b));
  b.push_back(t0 + 4h);
  BOOST_TEST(!(a == b));
}

BOOST_AUTO_TEST_CASE(an_iterator_can_move_inside_its_run) {
  const fire_sequence f{t0, t0 + 1h, t0 + 2h, t0 + 3h, t0 + 5h};
  auto it = f.begin();
  BOOST_TEST(it.run_index() == 0u);
  it.seek_in_run(3);
  BOOST_TEST(*it == t0 + 3h);
  ++it;
  BOOST_TEST(it.run_index() == 1u);
  BOOST_TEST(*it == t0 + 5h);
  ++it;
  BOOST_TEST((it == f.end()));
}

// A year of cron fires, walked once: the sequence holds exactly the walk's instants, in a
// handful of runs (one per DST change and per irregular stretch).
BOOST_AUTO_TEST_CASE(a_year_of_cron_fires_in_a_zone_is_a_few_runs) {
  struct row {
    const char* expression;
    const char* zone;
    std::size_t runs_at_most;
  };
  for (const row& r :
       {row{"* * * * *", "UTC", 1}, row{"* * * * *", "Europe/Berlin", 7},
        row{"17 3 * * *", "Europe/Berlin", 5}, row{"0 9 * * 1-5", "America/New_York", 2 * 53 + 6},
        row{"*/7 * * * *", "UTC", 2 * 365 * 24 + 1}}) {
    BOOST_TEST_CONTEXT(r.expression << " in " << r.zone) {
      const cron_schedule s{parse_cron(r.expression).value(), r.zone};
      std::vector<sys_seconds> walked;
      fire_sequence f;
      for (const sys_seconds t : fires(s, t0, t0 + days{365})) {
        walked.push_back(t);
        f.push_back(t);
      }
      BOOST_TEST((listed(f) == walked));
      BOOST_TEST(f.size() == walked.size());
      BOOST_TEST(f.runs().size() <= r.runs_at_most);
      BOOST_TEST(f[walked.size() / 3] == walked[walked.size() / 3]);
    }
  }
}
