// rotary/detail/report_svg.hpp: render_svg (report.hpp), the timeline picture of a report.
//
//     std::ofstream("year.svg") << rotary::render_svg(plan, r);                      // axis in UTC
//     std::ofstream("year.svg") << rotary::render_svg(plan, r, {.zone = &berlin});  // local time
//
// The picture streams the report's sample run (detail::sample_run, seeded with `r.seed`) and
// keeps no per-event data beyond a fixed bound, so its size and memory do not grow with the
// horizon (a minutely year is under 40 KB). What it draws, top to bottom:
//
// - the per-token view, only when the run is small enough to read (at most svg_max_bars
//   tokens and svg_max_ticks runs: a week of hourly runs, not a year of daily ones): each
//   token as a bar from its creation to the second it stops working, its rotation deadline,
//   and one tick per run;
// - otherwise the runs as a strip over the plot's pixel columns (grey where runs happened);
// - failed runs (and refusals and lost responses) in red, in either view;
// - the slack curve: at each run, the death of the token the client holds minus the run's
//   instant. The horizon is cut into one column per pixel; each column keeps the minimum slack
//   (the curve, so the worst slack is never hidden) and the maximum (the band behind it);
// - the deadline line (slack 0), the worst gap of the nominal run with the margin, the lapse
//   (red line, the time after it shaded), the hard expiry, the DST transitions of the zone;
// - the time axis, in local time with the zone's name when a zone is given, else UTC; a legend
//   of what was drawn.
//
// Everything is deterministic: the same plan, report and options give the same bytes.
#pragma once

#include <rotary/report.hpp>
#include <rotary/zone.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rotary {

struct svg_options {
  // The zone of the schedule: the time axis in its local time, its DST transitions marked.
  // nullptr: UTC, no transitions.
  const time_zone* zone = nullptr;
};

// render_svg(plan, r) (report.hpp) with options: the time axis in `options.zone`.
[[nodiscard]] std::string render_svg(const simulation_plan& plan, const report& r,
                                     const svg_options& options);

namespace detail {

// The per-token view is drawn when the sample run has at most this many tokens (bars about 4.4
// pixels wide on average) and at most this many ticks, runs and failures (about a pixel apart).
inline constexpr std::size_t svg_max_bars = 200;
inline constexpr std::size_t svg_max_ticks = 1000;

inline std::string svg_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Appends each part (anything a std::string_view is made from) to `out`. The picture is built
// this way rather than with `"..." + std::string`: no temporaries, and no GCC 12 false positive
// (-Wstringop-overflow) on operator+(const char*, std::string&&).
template <class... Parts>
void svg_add(std::string& out, const Parts&... parts) {
  (out.append(std::string_view(parts)), ...);
}
template <class... Parts>
std::string svg_cat(const Parts&... parts) {
  std::string out;
  svg_add(out, parts...);
  return out;
}

inline std::string svg_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

// One pixel column of the plot: the runs that fell in it.
struct svg_column {
  std::int64_t min_slack = std::numeric_limits<std::int64_t>::max();  // seconds
  std::int64_t max_slack = std::numeric_limits<std::int64_t>::min();
  std::int32_t runs = 0;
  std::int32_t failed = 0;
};

// A change of the zone's UTC offset inside the horizon.
struct svg_transition {
  sys_seconds at;
  seconds change;           // the new offset minus the old one
  std::string_view abbrev;  // of the new offset ("CEST")
};

inline std::vector<svg_transition> svg_transitions(const time_zone* zone, sys_seconds from,
                                                   sys_seconds until) {
  std::vector<svg_transition> out;
  if (!zone) return out;
  sys_seconds t = from;
  for (int guard = 0; guard < 100'000; ++guard) {
    const zone_info here = zone->info(t);
    if (here.end <= t || here.end >= until) break;
    const zone_info next = zone->info(here.end);
    if (next.offset != here.offset) out.push_back({here.end, next.offset - here.offset, next.abbreviation});
    t = here.end;
  }
  return out;
}

inline std::int64_t svg_floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

}  // namespace detail

inline std::string render_svg(const simulation_plan& plan, const report& r) {
  return render_svg(plan, r, {});
}

inline std::string render_svg(const simulation_plan& plan, const report& r, const svg_options& options) {
  using detail::svg_num;
  const time_zone* zone = options.zone;
  constexpr std::size_t columns = 880;
  const double width = 1000, left = 80, right = 40, plot = width - left - right;
  const std::int64_t span = std::max<std::int64_t>((r.until - r.from).count(), 1);
  auto x = [&](sys_seconds t) {
    const double f = static_cast<double>((t - r.from).count()) / static_cast<double>(span);
    return left + plot * std::clamp(f, 0.0, 1.0);
  };
  auto column_of = [&](sys_seconds t) {
    const std::int64_t d = std::clamp<std::int64_t>((t - r.from).count(), 0, span - 1);
    return static_cast<std::size_t>(d * static_cast<std::int64_t>(columns) / span);
  };
  auto column_x = [&](std::size_t c) {
    return left + (static_cast<double>(c) + 0.5) * plot / static_cast<double>(columns);
  };
  auto stamp = [&](sys_seconds t) { return zone ? format_local(t, *zone) : format_time(t); };

  // --- The sample run, streamed: columns always, bars and ticks while they stay few. -------------
  struct bar {
    sys_seconds from, to;
  };
  struct tick {
    sys_seconds at;
    bool failed;
  };
  std::vector<detail::svg_column> cols(columns);
  std::vector<bar> bars;
  std::vector<tick> ticks;
  bool detailed = true;
  auto drop_details = [&] {
    detailed = false;
    std::vector<bar>().swap(bars);
    std::vector<tick>().swap(ticks);
  };
  // One run's tick, while the per-token view still fits (else the view is dropped).
  auto add_tick = [&](sys_seconds at, bool failed) {
    if (!detailed) return;
    if (ticks.size() == detail::svg_max_ticks)
      drop_details();
    else
      ticks.push_back({at, failed});
  };
  auto death_of_child = [&](sys_seconds c) {
    return detail::death_of(
        plan, token_state{c, plan.initial.rotation_period, plan.initial.expires_at, std::nullopt});
  };
  sys_seconds created = plan.initial.created_at;
  sys_seconds death = detail::death_of(plan, plan.initial);
  std::int64_t slack_top = 0;
  bool any_failed = false;
  (void)detail::sample_run(plan, r.seed, [&](const sim_event& e) {
    switch (e.kind) {
      case sim_event::run:
      case sim_event::skipped: {
        auto& c = cols[column_of(e.at)];
        ++c.runs;
        if (death != sys_seconds::max()) {
          const std::int64_t s = (death - e.at).count();
          c.min_slack = std::min(c.min_slack, s);
          c.max_slack = std::max(c.max_slack, s);
          slack_top = std::max(slack_top, s);
        }
        add_tick(e.at, false);
        break;
      }
      case sim_event::run_failed:
      case sim_event::refused:
      case sim_event::response_lost:
        ++cols[column_of(e.at)].failed;
        any_failed = true;
        if (e.kind == sim_event::response_lost && e.until) death = *e.until;  // the client keeps the parent
        add_tick(e.at, true);
        break;
      case sim_event::rotated:
        if (detailed) {
          if (bars.size() + 1 == detail::svg_max_bars)
            drop_details();
          else
            bars.push_back({created, e.until.value_or(e.at)});
        }
        created = e.created.value_or(e.at);
        death = death_of_child(created);
        break;
      default:
        break;
    }
  });
  if (detailed) bars.push_back({created, std::min(death_of_child(created), r.until)});
  const auto transitions = detail::svg_transitions(zone, r.from, r.until);

  // --- Layout. -----------------------------------------------------------------------------------
  const double lanes_top = 48, lane_h = 14;
  const double runs_y = detailed ? lanes_top + 2 * lane_h + 18 : lanes_top + 8;  // centre of the strip
  const double gap_label_y = runs_y + 28;
  const double dst_label_y = gap_label_y + 14;
  const double plot_top = (transitions.empty() ? gap_label_y : dst_label_y) + 8;
  const double plot_h = 180, plot_bottom = plot_top + plot_h;
  const double zero_y = plot_bottom - 8;  // slack 0: the deadline
  const double axis_y = plot_bottom + 4;
  const double legend_y = axis_y + 60;
  std::int64_t y_max = plan.initial.rotation_period ? seconds{*plan.initial.rotation_period}.count() : 0;
  y_max = std::max<std::int64_t>({y_max, slack_top, 1});
  auto y = [&](std::int64_t slack) {
    return zero_y - (zero_y - plot_top - 6) * static_cast<double>(slack) / static_cast<double>(y_max);
  };

  std::string svg;
  svg.reserve(64 * 1024);
  auto vline = [&](double xv, double y0, double y1, std::string_view colour, std::string_view extra,
                   std::string_view cls) {
    const std::string xs = svg_num(xv);
    detail::svg_add(svg, "<line class=\"", cls, "\" x1=\"", xs, "\" y1=\"", svg_num(y0), "\" x2=\"", xs,
                    "\" y2=\"", svg_num(y1), "\" stroke=\"", colour, "\"", extra, "/>\n");
  };
  auto text = [&](double xv, double yv, std::string_view body, std::string_view extra = {}) {
    detail::svg_add(svg, "<text x=\"", svg_num(xv), "\" y=\"", svg_num(yv), "\"", extra, ">",
                    detail::svg_escape(body), "</text>\n");
  };
  auto anchor_at = [&](double xv, double room) {
    return xv > width - right - room ? " text-anchor=\"end\""
           : xv < left + room        ? ""
                                     : " text-anchor=\"middle\"";
  };

  // Legend, computed first: it decides the height.
  struct legend_item {
    std::string swatch;  // SVG drawn at (0, 0) .. (20, 10)
    std::string label;
  };
  std::vector<legend_item> legend;
  if (detailed) {
    legend.push_back(
        {"<rect y=\"1\" width=\"20\" height=\"8\" fill=\"#3f7cc0\"/>", "token: creation to death"});
    if (plan.initial.rotation_period && bars.size() <= 120)
      legend.push_back(
          {"<path d=\"M10 0v10\" stroke=\"#e08a00\" stroke-width=\"2\"/>", "its rotation deadline"});
    legend.push_back({"<path d=\"M10 0v10\" stroke=\"#999\"/>", "run"});
  } else {
    legend.push_back({"<rect y=\"1\" width=\"20\" height=\"8\" fill=\"#ccc\"/>", "runs (per column)"});
  }
  legend.push_back({"<path d=\"M0 5h20\" stroke=\"#1f5fa8\" stroke-width=\"1.5\"/>",
                    "slack at a run: lowest in the column"});
  legend.push_back(
      {"<rect y=\"1\" width=\"20\" height=\"8\" fill=\"#cfe0f3\"/>", "slack range in the column"});
  legend.push_back({"<path d=\"M0 5h20\" stroke=\"#e08a00\" stroke-width=\"1.5\"/>", "deadline (slack 0)"});
  if (r.worst_gap)
    legend.push_back(
        {"<rect y=\"0\" width=\"20\" height=\"10\" fill=\"#00897b\" fill-opacity=\"0.25\" "
         "stroke=\"#00897b\"/>",
         "worst gap (nominal run)"});
  if (any_failed)
    legend.push_back({"<path d=\"M10 0v10\" stroke=\"#d33\" stroke-width=\"2\"/>", "failed run"});
  if (r.first_lapse)
    legend.push_back(
        {"<rect y=\"0\" width=\"20\" height=\"10\" fill=\"#fde8e8\"/><path d=\"M1 0v10\" "
         "stroke=\"#d33\" stroke-width=\"2\"/>",
         "lapse: no usable token"});
  if (!transitions.empty())
    legend.push_back({"<path d=\"M10 0v10\" stroke=\"#777\" stroke-dasharray=\"2 2\"/>", "DST transition"});
  const bool expiry_drawn = r.hard_expiry && *r.hard_expiry <= r.until;
  if (expiry_drawn)
    legend.push_back({"<path d=\"M10 0v10\" stroke=\"#a0a\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>",
                      "hard expiry"});
  std::string legend_svg;
  double lx = 4, ly = legend_y;
  for (const auto& item : legend) {
    const double w = 30 + 6.2 * static_cast<double>(item.label.size()) + 14;
    if (lx + w > width - 4) lx = 4, ly += 16;
    detail::svg_add(legend_svg, "<g transform=\"translate(", svg_num(lx), " ", svg_num(ly - 9), ")\">",
                    item.swatch, "<text x=\"26\" y=\"9\">", detail::svg_escape(item.label), "</text></g>\n");
    lx += w;
  }
  const double height = ly + 10;

  detail::svg_add(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", svg_num(width), "\" height=\"",
                  svg_num(height), "\" viewBox=\"0 0 ", svg_num(width), " ", svg_num(height),
                  "\" font-family=\"sans-serif\" font-size=\"11\">\n");
  detail::svg_add(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
  text(left, 18,
       detail::svg_cat(r.holds ? "holds" : "lapses", ": ",
                       detail::plural(r.rotations, "rotation", "rotations"), ", ",
                       detail::plural(r.failed_runs, "failed run", "failed runs"),
                       r.margin ? detail::svg_cat(", margin ", format_duration(*r.margin)) : std::string()),
       " font-size=\"13\"");
  text(left, 33,
       detail::svg_cat(stamp(r.from), " .. ", stamp(r.until), " (", format_duration(r.until - r.from),
                       "), sample run with seed ", std::to_string(r.seed), "; ",
                       detailed ? std::string("one bar per token, one tick per run")
                                : detail::svg_cat("aggregated: one column per ",
                                                  format_duration(seconds{span / std::int64_t{columns}}),
                                                  " of the horizon")),
       " fill=\"#555\"");

  // --- The time axis ticks (computed now: their grid lines go under everything). ---------------
  auto off = [&](sys_seconds t) { return zone ? zone->offset(t).count() : std::int64_t{0}; };
  auto local_of = [&](sys_seconds t) { return to_unix(t) + off(t); };
  auto sys_of = [&](std::int64_t local) -> std::optional<sys_seconds> {  // nullopt: skipped by DST
    const sys_seconds guess = from_unix(local);
    const sys_seconds t1 = guess - seconds{off(guess)};
    const sys_seconds t2 = guess - seconds{off(t1)};
    if (local_of(t2) != local) return std::nullopt;
    return t2;
  };
  struct axis_tick {
    sys_seconds at;
    std::string label;
  };
  std::vector<axis_tick> axis;
  const std::int64_t total = span;
  const std::int64_t local_from = local_of(r.from), local_until = local_of(r.until);
  if (total > 60 * 86'400) {
    // Month starts, every month up to about 13 months, then every 3, 6 or 12.
    const auto start = detail::civil_from_days(detail::svg_floor_div(local_from, 86'400));
    std::int64_t year = start.year;
    int month = start.month;
    const std::int64_t months = total / (30 * 86'400);
    const int every = months <= 14   ? 1
                      : months <= 40 ? 3
                      : months <= 80 ? 6
                                     : 12 * static_cast<int>(1 + months / 160);
    for (int guard = 0; guard < 2000; ++guard) {
      if (++month > 12) month = 1, ++year;
      if ((month - 1) % every != 0) continue;
      const std::int64_t local = detail::days_from_civil(year, static_cast<unsigned>(month), 1) * 86'400;
      if (local > local_until + 86'400) break;
      const auto t = sys_of(local);
      if (!t || *t < r.from) continue;
      if (*t > r.until) break;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%04lld-%02d", static_cast<long long>(year), month);
      axis.push_back({*t, buf});
    }
  } else {
    // Whole hours or days of local time, about eight ticks.
    const std::int64_t steps[] = {3600, 3 * 3600, 6 * 3600, 86'400, 2 * 86'400, 7 * 86'400};
    std::int64_t step = steps[0];
    for (auto st : steps)
      if (total / st >= 6) step = st;
    const std::int64_t first = (detail::svg_floor_div(local_from - 1, step) + 1) * step;
    for (std::int64_t l = first; l <= local_until + 3600; l += step) {
      const auto t = sys_of(l);
      if (!t || *t < r.from) continue;
      if (*t > r.until) break;
      const std::string text_stamp = format_time(from_unix(l));
      axis.push_back({*t, step < 86'400 ? text_stamp.substr(5, 11) : text_stamp.substr(0, 10)});
    }
  }
  for (const auto& a : axis) vline(x(a.at), plot_top, axis_y, "#eee", "", "grid");

  // --- Token bars and run ticks, or the runs strip. ----------------------------------------------
  if (detailed) {
    text(4, lanes_top + 10, "tokens");
    for (std::size_t i = 0; i < bars.size(); ++i) {
      const double x0 = x(std::max(bars[i].from, r.from)), x1 = std::max(x(bars[i].to), x0 + 0.5);
      detail::svg_add(svg, "<rect class=\"token\" x=\"", svg_num(x0), "\" y=\"",
                      svg_num(lanes_top + static_cast<double>(i % 2) * lane_h), "\" width=\"",
                      svg_num(x1 - x0), "\" height=\"", svg_num(lane_h - 3), "\" fill=\"",
                      (i % 2 ? "#6a9fd8" : "#3f7cc0"), "\"/>\n");
    }
    // Each token's rotation deadline (created + period), when there are few enough to see.
    if (plan.initial.rotation_period && bars.size() <= 120) {
      std::string marks;
      for (std::size_t i = 0; i < bars.size(); ++i) {
        const sys_seconds deadline = bars[i].from + *plan.initial.rotation_period;
        if (deadline > r.until) continue;
        detail::svg_add(marks, "M", svg_num(x(deadline)), " ",
                        svg_num(lanes_top + static_cast<double>(i % 2) * lane_h - 1), "v",
                        svg_num(lane_h - 1));
      }
      if (!marks.empty())
        detail::svg_add(svg, "<path class=\"deadlines\" d=\"", marks,
                        "\" stroke=\"#e08a00\" stroke-width=\"2\"/>\n");
    }
    std::string ok, bad;
    for (const auto& t : ticks)
      detail::svg_add(t.failed ? bad : ok, "M", svg_num(x(t.at)), " ", svg_num(runs_y - (t.failed ? 9 : 6)),
                      t.failed ? "v18" : "v12");
    if (!ok.empty())
      detail::svg_add(svg, "<path class=\"runs\" d=\"", ok, "\" stroke=\"#999\" stroke-width=\"1\"/>\n");
    if (!bad.empty())
      detail::svg_add(svg, "<path class=\"failed\" d=\"", bad, "\" stroke=\"#d33\" stroke-width=\"2\"/>\n");
  } else {
    // Contiguous columns with runs as one grey span; a red tick on each column with a failure.
    std::string spans, bad;
    for (std::size_t c = 0; c < columns;) {
      if (cols[c].runs == 0) {
        ++c;
        continue;
      }
      std::size_t e = c;
      while (e < columns && cols[e].runs > 0) ++e;
      const double x0 = left + static_cast<double>(c) * plot / columns;
      detail::svg_add(spans, "M", svg_num(x0), " ", svg_num(runs_y - 5), "h",
                      svg_num(static_cast<double>(e - c) * plot / columns), "v10h",
                      svg_num(-static_cast<double>(e - c) * plot / columns), "z");
      c = e;
    }
    for (std::size_t c = 0; c < columns; ++c)
      if (cols[c].failed > 0)
        detail::svg_add(bad, "M", svg_num(column_x(c)), " ", svg_num(runs_y - 9), "v18");
    if (!spans.empty()) detail::svg_add(svg, "<path class=\"runs\" d=\"", spans, "\" fill=\"#ccc\"/>\n");
    if (!bad.empty())
      detail::svg_add(svg, "<path class=\"failed\" d=\"", bad, "\" stroke=\"#d33\" stroke-width=\"2\"/>\n");
  }
  text(4, runs_y + 4, "runs");

  // --- The slack plot. -----------------------------------------------------------------------------
  text(4, (plot_top + zero_y) / 2 + 4, "slack");
  detail::svg_add(svg, "<rect x=\"", svg_num(left), "\" y=\"", svg_num(plot_top), "\" width=\"",
                  svg_num(plot), "\" height=\"", svg_num(plot_h), "\" fill=\"none\" stroke=\"#ccc\"/>\n");
  for (const std::int64_t v : {y_max, y_max / 2}) {
    detail::svg_add(svg, "<line x1=\"", svg_num(left), "\" y1=\"", svg_num(y(v)), "\" x2=\"",
                    svg_num(left + plot), "\" y2=\"", svg_num(y(v)), "\" stroke=\"#eee\"/>\n");
    text(left - 4, y(v) + 4, format_duration(seconds{v}), " text-anchor=\"end\"");
  }
  text(left - 4, zero_y + 4, "0", " text-anchor=\"end\"");
  // The lapse: a red line, the rest of the horizon shaded (no usable token).
  if (r.first_lapse) {
    const double xl = x(r.first_lapse->at);
    detail::svg_add(svg, "<rect class=\"lapse-after\" x=\"", svg_num(xl), "\" y=\"", svg_num(plot_top),
                    "\" width=\"", svg_num(std::max(left + plot - xl, 0.0)), "\" height=\"", svg_num(plot_h),
                    "\" fill=\"#fde8e8\"/>\n");
  }
  // The worst gap of the nominal run: a span over the plot, at least 2 pixels wide.
  if (r.worst_gap) {
    const double g0 = x(r.worst_gap->from), g1 = std::max(x(r.worst_gap->to), g0 + 2);
    detail::svg_add(svg, "<rect class=\"worst-gap\" x=\"", svg_num(g0), "\" y=\"", svg_num(plot_top),
                    "\" width=\"", svg_num(g1 - g0), "\" height=\"", svg_num(plot_h),
                    "\" fill=\"#00897b\" fill-opacity=\"0.25\" stroke=\"#00897b\" stroke-width=\"1\"/>\n");
    const double gm = (g0 + g1) / 2;
    detail::svg_add(svg, "<path d=\"M", svg_num(gm - 5), " ", svg_num(plot_top),
                    "h10l-5 7z\" fill=\"#00897b\"/>\n");
    text(gm, gap_label_y,
         detail::svg_cat("worst gap ", format_duration(r.worst_gap->length), " (", stamp(r.worst_gap->from),
                         " .. ", stamp(r.worst_gap->to), ")",
                         r.margin ? detail::svg_cat(", margin ", format_duration(*r.margin)) : std::string()),
         detail::svg_cat(" class=\"worst-gap-label\" fill=\"#00695c\"", anchor_at(gm, 260)));
  }
  // The slack band (the range in each column) and the curve of the minimum.
  std::string band_top, band_bottom, curve, dots;
  for (std::size_t c = 0; c < columns; ++c) {
    if (cols[c].min_slack > cols[c].max_slack) continue;  // no run with a dying token here
    const std::string xs = svg_num(column_x(c));
    detail::svg_add(band_top, (band_top.empty() ? "M" : "L"), xs, " ", svg_num(y(cols[c].max_slack)));
    detail::svg_add(curve, (curve.empty() ? "M" : "L"), xs, " ", svg_num(y(cols[c].min_slack)));
    if (detailed)
      detail::svg_add(dots, "<circle cx=\"", xs, "\" cy=\"", svg_num(y(cols[c].min_slack)), "\" r=\"2\"/>");
  }
  for (std::size_t c = columns; c-- > 0;)
    if (cols[c].min_slack <= cols[c].max_slack)
      detail::svg_add(band_bottom, "L", svg_num(column_x(c)), " ", svg_num(y(cols[c].min_slack)));
  if (!band_top.empty()) {
    detail::svg_add(svg, "<path class=\"slack-band\" d=\"", band_top, band_bottom,
                    "z\" fill=\"#cfe0f3\"/>\n");
    detail::svg_add(svg, "<path class=\"slack-min\" d=\"", curve,
                    "\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"1.5\"/>\n");
    if (!dots.empty()) detail::svg_add(svg, "<g class=\"slack-points\" fill=\"#1f5fa8\">", dots, "</g>\n");
  }
  // The deadline: slack 0.
  detail::svg_add(svg, "<line class=\"deadline\" x1=\"", svg_num(left), "\" y1=\"", svg_num(zero_y),
                  "\" x2=\"", svg_num(left + plot), "\" y2=\"", svg_num(zero_y),
                  "\" stroke=\"#e08a00\" stroke-width=\"1.5\"/>\n");
  // DST transitions: a dashed line each, labelled with the new offset when there are few.
  for (const auto& tr : transitions) {
    const double xv = x(tr.at);
    vline(xv, runs_y - 10, axis_y, "#777", " stroke-dasharray=\"2 2\"", "dst");
    if (transitions.size() <= 30)
      text(xv, dst_label_y,
           detail::svg_cat(tr.abbrev, tr.change > seconds{0} ? " +" : " -",
                           format_duration(tr.change > seconds{0} ? tr.change : -tr.change)),
           " class=\"dst-label\" fill=\"#555\" font-size=\"9\" text-anchor=\"middle\"");
  }
  if (expiry_drawn) {
    const double xv = x(*r.hard_expiry);
    vline(xv, runs_y - 10, axis_y, "#a0a", " stroke-width=\"2\" stroke-dasharray=\"4 3\"", "hard-expiry");
    text(xv, axis_y + 44, detail::svg_cat("hard expiry ", stamp(*r.hard_expiry)),
         detail::svg_cat(" fill=\"#a0a\"", anchor_at(xv, 90)));
  }
  if (r.first_lapse) {
    const double xl = x(r.first_lapse->at);
    vline(xl, runs_y - 10, axis_y, "#d33", " stroke-width=\"2\"", "lapse");
    text(xl + (xl > width - right - 200 ? -4 : 4), plot_top + 14,
         detail::svg_cat("lapse ", stamp(r.first_lapse->at), " (", r.first_lapse->rule, ")"),
         detail::svg_cat(" class=\"lapse-label\" fill=\"#d33\"",
                         xl > width - right - 200 ? " text-anchor=\"end\"" : ""));
  }

  // --- The axis. -----------------------------------------------------------------------------------
  detail::svg_add(svg, "<line x1=\"", svg_num(left), "\" y1=\"", svg_num(axis_y), "\" x2=\"",
                  svg_num(left + plot), "\" y2=\"", svg_num(axis_y), "\" stroke=\"#333\"/>\n");
  for (const auto& a : axis) {
    vline(x(a.at), axis_y, axis_y + 4, "#333", "", "tick");
    const double xa = x(a.at);
    text(xa, axis_y + 15, a.label,
         detail::svg_cat(" class=\"axis-label\" text-anchor=\"", xa > width - 30 ? "end" : "middle", "\""));
  }
  text(left + plot / 2, axis_y + 30,
       zone ? detail::svg_cat("local time in ", zone->name(), " (times in labels with their UTC offset)")
            : std::string("UTC"),
       " class=\"axis-caption\" fill=\"#555\" text-anchor=\"middle\"");
  detail::svg_add(svg, legend_svg);
  detail::svg_add(svg, "</svg>\n");
  return svg;
}

}  // namespace rotary
