#define BOOST_TEST_MODULE report_svg
#include <boost/test/unit_test.hpp>

#include "plans.hpp"
#include "print.hpp"

#include <rotary/report.hpp>
#include <rotary/scenario.hpp>
#include <rotary/zone.hpp>

#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

using namespace rotary;
using namespace std::chrono_literals;
using rotary::test::every;
using rotary::test::t0;

namespace {

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

// The element starting at the n-th occurrence of `marker` (e.g. `class="dst"`), from its '<'.
std::string element(const std::string& svg, const std::string& marker, std::size_t n = 0) {
  auto pos = svg.find(marker);
  for (; pos != std::string::npos && n > 0; --n) pos = svg.find(marker, pos + 1);
  if (pos == std::string::npos) return {};
  const auto begin = svg.rfind('<', pos);
  return svg.substr(begin, svg.find('>', pos) - begin + 1);
}

double attr(const std::string& elem, const std::string& name) {
  const auto pos = elem.find(" " + name + "=\"");
  BOOST_REQUIRE_MESSAGE(pos != std::string::npos, "no " << name << " in " << elem);
  return std::strtod(elem.c_str() + pos + name.size() + 3, nullptr);
}

// The x of the text element whose body is exactly `body` (">body<").
double text_x(const std::string& svg, const std::string& body) {
  const auto pos = svg.find(">" + body + "<");
  BOOST_REQUIRE_MESSAGE(pos != std::string::npos, "no text " << body);
  return attr(svg.substr(svg.rfind("<text", pos), pos - svg.rfind("<text", pos)), "x");
}
double text_y(const std::string& svg, const std::string& body) {
  const auto pos = svg.find(">" + body + "<");
  BOOST_REQUIRE_MESSAGE(pos != std::string::npos, "no text " << body);
  return attr(svg.substr(svg.rfind("<text", pos), pos - svg.rfind("<text", pos)), "y");
}

// The points of a path "M x y L x y ..." of class `cls`.
std::vector<std::pair<double, double>> path_points(const std::string& svg, const std::string& cls) {
  const std::string elem = element(svg, "class=\"" + cls + "\"");
  BOOST_REQUIRE_MESSAGE(!elem.empty(), "no path of class " << cls);
  const auto d = elem.find(" d=\"");
  std::vector<std::pair<double, double>> out;
  const char* p = elem.c_str() + d + 4;
  while (*p == 'M' || *p == 'L') {
    char* end = nullptr;
    const double xv = std::strtod(p + 1, &end);
    const double yv = std::strtod(end, &end);
    out.emplace_back(xv, yv);
    p = end;
  }
  return out;
}

// Every element is closed, in order: a tiny XML well-formedness check (no attribute may hold
// '<' or '>', every text is escaped).
bool balanced(const std::string& svg) {
  std::vector<std::string> open;
  for (std::size_t pos = svg.find('<'); pos != std::string::npos; pos = svg.find('<', pos + 1)) {
    const auto end = svg.find('>', pos);
    if (end == std::string::npos) return false;
    const std::string tag = svg.substr(pos + 1, end - pos - 1);
    if (tag.find('<') != std::string::npos) return false;
    if (tag.empty()) return false;
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return false;
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
    // Text between tags holds no stray '&' other than entities.
    const auto next = svg.find('<', end);
    const std::string body =
        svg.substr(end + 1, next == std::string::npos ? std::string::npos : next - end - 1);
    for (auto amp = body.find('&'); amp != std::string::npos; amp = body.find('&', amp + 1))
      if (body.find(';', amp) == std::string::npos) return false;
  }
  return open.empty();
}

// A fresh token at `from` with a cron schedule, as `rotary check` builds it.
simulation_plan plan_of(const std::string& cron, const std::string& tz, minutes period, sys_seconds from,
                        seconds horizon, std::vector<outage_window> outages = {}) {
  scenario s;
  s.schedule = cron_spec{cron, tz};
  s.rotation_period = period;
  s.from = from;
  s.horizon = horizon;
  s.outages = std::move(outages);
  auto plan = prepare(s);
  BOOST_REQUIRE_MESSAGE(plan, "prepare failed");
  return *plan;
}

sys_seconds at(const char* text) { return parse_time(text).value(); }

}  // namespace

BOOST_AUTO_TEST_CASE(a_minutely_year_stays_small_and_keeps_the_worst_slack) {
  // A minutely year: 525,600 runs. An outage of 6 hours in July makes the worst gap and the one
  // dip of the slack curve: 24h - 6h1m at the first run after it.
  const auto plan = plan_of("* * * * *", "UTC", minutes{1440}, t0, days{365},
                            {{at("2027-07-14T20:00:00Z"), at("2027-07-15T02:00:00Z")}});
  const auto r = analyse(plan);
  BOOST_TEST(r.runs == 525'600);
  BOOST_REQUIRE(r.worst_gap);
  BOOST_TEST(r.worst_gap->length == 6h + 1min);
  const auto svg = render_svg(plan, r);
  BOOST_TEST(svg.size() < 500'000u);
  BOOST_TEST(svg.size() > 10'000u);
  BOOST_TEST(count(svg, "class=\"token\"") == 0u);  // the aggregated view: no per-token bars
  BOOST_TEST(balanced(svg));
  // One point per pixel column with runs, the lowest slack of the column.
  const auto curve = path_points(svg, "slack-min");
  BOOST_TEST(curve.size() == 880u);
  const double zero = text_y(svg, "0") - 4, full = text_y(svg, "1d") - 4;  // the axis labels
  auto y_of = [&](seconds slack) {
    return zero - (zero - full) * static_cast<double>(slack.count()) / 86'400.0;
  };
  // Every column's lowest slack is 23h59m but for the one or two columns of the outage (runs fail,
  // the slack falls), whose lowest is at the first run after it: 24h - 6h1m.
  const std::string gap = element(svg, "class=\"worst-gap\"");
  const double gap_end = attr(gap, "x") + attr(gap, "width");
  std::size_t dips = 0;
  double lowest = 0, lowest_x = 0;
  for (const auto& [xv, yv] : curve) {
    if (std::abs(yv - y_of(24h - 1min)) > 0.15) {
      ++dips;
      BOOST_TEST(std::abs(xv - gap_end) < 3);
    }
    if (yv > lowest) lowest = yv, lowest_x = xv;
  }
  BOOST_TEST(dips >= 1u);
  BOOST_TEST(dips <= 2u);
  BOOST_TEST(std::abs(lowest - y_of(24h - 6h - 1min)) < 0.15);
  BOOST_TEST(std::abs(lowest_x - gap_end) < 1.5);  // the dip is where the worst gap ends
}

BOOST_AUTO_TEST_CASE(a_minutely_year_in_a_zone_stays_small_too) {
  const auto plan = plan_of("* * * * *", "Europe/Berlin", minutes{1440}, t0, days{365});
  const auto r = analyse(plan);
  const auto svg = render_svg(plan, r, {.zone = find_zone("Europe/Berlin")});
  BOOST_TEST(svg.size() < 500'000u);
  BOOST_TEST(balanced(svg));
  BOOST_TEST(count(svg, "class=\"dst\"") == 2u);
}

BOOST_AUTO_TEST_CASE(the_week_view_draws_one_bar_per_token) {
  const auto plan = every(6h, 1440min, 7 * 24h);
  const auto r = analyse(plan);
  const auto svg = render_svg(plan, r);
  BOOST_TEST(count(svg, "class=\"token\"") == 29u);  // the initial token and 28 children
  BOOST_TEST(svg.find("one bar per token") != std::string::npos);
  BOOST_TEST(count(svg, "<circle ") == 28u);  // a slack point per run
  BOOST_TEST(balanced(svg));
  // Bars alternate lanes and follow time.
  const std::string first = element(svg, "class=\"token\""), second = element(svg, "class=\"token\"", 1),
                    third = element(svg, "class=\"token\"", 2);
  BOOST_TEST(attr(first, "y") != attr(second, "y"));
  BOOST_TEST(attr(first, "y") == attr(third, "y"));
  BOOST_TEST(attr(second, "x") < attr(third, "x"));  // the first two start at t0 (a run at t0)
}

BOOST_AUTO_TEST_CASE(bars_are_drawn_up_to_200_tokens) {
  // Hourly fires from t0: n fires, n rotations, n + 1 tokens.
  const auto at_limit = every(1h, 3600min, 199h);
  BOOST_TEST(count(render_svg(at_limit, analyse(at_limit)), "class=\"token\"") == 200u);
  const auto over = every(1h, 3600min, 200h);
  const auto svg = render_svg(over, analyse(over));
  BOOST_TEST(count(svg, "class=\"token\"") == 0u);
  BOOST_TEST(svg.find("aggregated: one column per") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_year_long_svg_is_aggregated_with_month_labels) {
  auto plan = every(24h, 3600min, 365 * 24h);
  plan.initial.expires_at = t0 + 365 * 24h;
  const auto r = analyse(plan);
  const auto svg = render_svg(plan, r);
  BOOST_TEST(count(svg, "class=\"token\"") == 0u);  // 366 tokens: too many for bars
  BOOST_TEST(svg.find(">2027-02<") != std::string::npos);
  BOOST_TEST(svg.find(">2027-12<") != std::string::npos);
  BOOST_TEST(svg.find("hard expiry") != std::string::npos);
  BOOST_TEST(svg.find("axis-caption") != std::string::npos);
  BOOST_TEST(svg.find(">UTC<") != std::string::npos);
  BOOST_TEST(balanced(svg));
}

BOOST_AUTO_TEST_CASE(the_worst_gap_is_marked_and_labelled) {
  auto plan = every(1h, 1440min, 30 * 24h);
  plan.outages = {{t0 + 100h, t0 + 106h}};  // runs at 100h .. 105h fail
  const auto r = analyse(plan);
  BOOST_REQUIRE(r.worst_gap);
  BOOST_TEST(r.worst_gap->length == 7h);
  const auto svg = render_svg(plan, r);
  BOOST_TEST(svg.find(">worst gap 7h (2027-01-05T03:00:00Z .. 2027-01-05T10:00:00Z), margin 17h<") !=
             std::string::npos);
  const std::string gap = element(svg, "class=\"worst-gap\"");
  BOOST_REQUIRE(!gap.empty());
  // 99h .. 106h of 720h, over the plot (80 .. 960).
  BOOST_TEST(std::abs(attr(gap, "x") - (80 + 880 * 99.0 / 720)) < 0.1);
  BOOST_TEST(std::abs(attr(gap, "width") - 880 * 7.0 / 720) < 0.2);
  // The failed runs are red, the schedule survives (holds but for the failures).
  BOOST_TEST(count(svg, "class=\"failed\"") == 1u);
  BOOST_TEST(svg.find("lapse") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(failed_runs_and_the_lapse_are_red) {
  auto plan = every(6h, 1440min, 7 * 24h);
  plan.outages = {{t0 + 30h, t0 + 60h}};  // the token made at 24h dies at 48h
  const auto r = analyse(plan);
  BOOST_REQUIRE(r.first_lapse);
  BOOST_TEST(r.first_lapse->at == t0 + 48h);
  const auto svg = render_svg(plan, r);
  const std::string failed = element(svg, "class=\"failed\"");
  BOOST_TEST(failed.find("stroke=\"#d33\"") != std::string::npos);
  BOOST_TEST(count(failed, "M") == 3u);  // the runs at 30h, 36h and 42h; the run at 48h is too late
  const std::string lapse = element(svg, "class=\"lapse\"");
  BOOST_TEST(lapse.find("stroke=\"#d33\"") != std::string::npos);
  BOOST_TEST(std::abs(attr(lapse, "x1") - (80 + 880 * 48.0 / 168)) < 0.1);
  BOOST_TEST(svg.find(">lapse 2027-01-03T00:00:00Z (rotation-period)<") != std::string::npos);
  BOOST_TEST(svg.find("class=\"lapse-after\"") != std::string::npos);
  BOOST_TEST(svg.find("lapse: no usable token") != std::string::npos);  // in the legend
  // A holding schedule has no red at all.
  const auto ok = every(6h, 1440min, 7 * 24h);
  const auto ok_svg = render_svg(ok, analyse(ok));
  BOOST_TEST(ok_svg.find("#d33") == std::string::npos);
  BOOST_TEST(ok_svg.find("lapse") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_lapse_in_the_aggregated_view_is_red) {
  const auto plan = plan_of("*/5 * * * *", "UTC", minutes{1440}, t0, days{365},
                            {{at("2027-05-01T00:00:00Z"), at("2027-05-02T06:00:00Z")}});
  const auto r = analyse(plan);
  BOOST_REQUIRE(r.first_lapse);
  const auto svg = render_svg(plan, r);
  BOOST_TEST(count(svg, "class=\"token\"") == 0u);
  BOOST_TEST(element(svg, "class=\"failed\"").find("#d33") != std::string::npos);
  BOOST_TEST(svg.find(">lapse 2027-05-01T23:55:00Z (rotation-period)<") != std::string::npos);
  // The sample run stops at the lapse: no slack after it.
  const double lapse_x = attr(element(svg, "class=\"lapse\""), "x1");
  for (const auto& [xv, yv] : path_points(svg, "slack-min")) BOOST_TEST(xv <= lapse_x + 1);
  BOOST_TEST(balanced(svg));
}

BOOST_AUTO_TEST_CASE(dst_transitions_of_the_zone_are_marked) {
  const time_zone* berlin = find_zone("Europe/Berlin");
  BOOST_REQUIRE(berlin);
  // A week over the spring-forward night of 2027-03-28 (01:00Z).
  const auto plan =
      plan_of("0 */6 * * *", "Europe/Berlin", minutes{1440}, at("2027-03-25T00:00:00Z"), days{7});
  const auto r = analyse(plan);
  const auto local = render_svg(plan, r, {.zone = berlin});
  BOOST_TEST(count(local, "class=\"dst\"") == 1u);
  BOOST_TEST(local.find(">CEST +1h<") != std::string::npos);
  BOOST_TEST(local.find("DST transition") != std::string::npos);  // in the legend
  // Between the local midnights that frame it.
  const double dst = attr(element(local, "class=\"dst\""), "x1");
  BOOST_TEST(text_x(local, "2027-03-28") < dst);
  BOOST_TEST(dst < text_x(local, "2027-03-29"));
  // 01:00Z is 2 hours after local midnight (23:00Z), and that local day has 23 hours.
  const double day = text_x(local, "2027-03-29") - text_x(local, "2027-03-28");
  BOOST_TEST(std::abs(dst - text_x(local, "2027-03-28") - day * 2 / 23) < 0.2);
  // In UTC, and for a month without a transition, none.
  const auto utc = render_svg(plan, r);
  BOOST_TEST(count(utc, "class=\"dst\"") == 0u);
  BOOST_TEST(utc.find("DST transition") == std::string::npos);
  const auto january = plan_of("0 */6 * * *", "Europe/Berlin", minutes{1440}, t0, days{31});
  BOOST_TEST(count(render_svg(january, analyse(january), {.zone = berlin}), "class=\"dst\"") == 0u);
  // A year has both.
  const auto year = plan_of("0 */6 * * *", "Europe/Berlin", minutes{1440}, t0, days{365});
  const auto year_svg = render_svg(year, analyse(year), {.zone = berlin});
  BOOST_TEST(count(year_svg, "class=\"dst\"") == 2u);
  BOOST_TEST(year_svg.find(">CET -1h<") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_axis_is_labelled_in_local_time_with_a_zone) {
  const time_zone* berlin = find_zone("Europe/Berlin");
  BOOST_REQUIRE(berlin);
  const auto plan = every(6h, 1440min, 48h);
  const auto r = analyse(plan);
  const auto utc = render_svg(plan, r), local = render_svg(plan, r, {.zone = berlin});
  BOOST_TEST(utc.find(">UTC<") != std::string::npos);
  BOOST_TEST(local.find(">local time in Europe/Berlin") != std::string::npos);
  BOOST_TEST(local.find(">UTC<") == std::string::npos);
  // Local 06:00 is 05:00Z: the same label one hour (1/6 of the tick spacing) further left.
  const double step = text_x(utc, "01-01T12:00") - text_x(utc, "01-01T06:00");
  BOOST_TEST(std::abs(text_x(utc, "01-01T06:00") - text_x(local, "01-01T06:00") - step / 6) < 0.15);
  // Times in labels carry the offset.
  BOOST_TEST(local.find("2027-01-01T01:00:00+01:00") != std::string::npos);
  // Month labels are local months: New York's January starts inside a horizon from 00:00Z.
  const time_zone* ny = find_zone("America/New_York");
  BOOST_REQUIRE(ny);
  const auto year = every(24h, 3600min, 365 * 24h);
  const auto year_r = analyse(year);
  BOOST_TEST(render_svg(year, year_r).find(">2027-01<") == std::string::npos);
  BOOST_TEST(render_svg(year, year_r, {.zone = ny}).find(">2027-01<") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_picture_is_deterministic) {
  auto plan = every(6h, 1440min, 90 * 24h);
  plan.fail_rate = 0.2;
  plan.lost_rate = 0.01;
  const auto a = analyse(plan, {.seed = 11, .trials = 300});
  const auto b = analyse(plan, {.seed = 11, .trials = 300});
  BOOST_TEST(render_svg(plan, a) == render_svg(plan, b));
  BOOST_TEST(render_svg(plan, a) == render_svg(plan, a, {}));
  // The seed is the sample run's: another seed, another picture.
  const auto c = analyse(plan, {.seed = 12, .trials = 300});
  BOOST_TEST(render_svg(plan, a) != render_svg(plan, c));
}

BOOST_AUTO_TEST_CASE(a_lapse_is_drawn_with_its_instant) {
  const auto plan = every(24h, 1440min, 30 * 24h);
  const auto r = analyse(plan);
  const auto svg = render_svg(plan, r);
  BOOST_TEST(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  BOOST_TEST(svg.find("lapse 2027-01-02T00:00:00Z") != std::string::npos);
  BOOST_TEST(svg.find("</svg>\n") == svg.size() - 7);
  BOOST_TEST(balanced(svg));
}
