// rotary/detail/report_svg.hpp: render_svg (report.hpp), the timeline picture of a report.
#pragma once

#include <rotary/report.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace rotary {

inline std::string render_svg(const simulation_plan& plan, const report& r) {
  const double width = 1000, left = 70, right = 20, plot = width - left - right;
  const double span = static_cast<double>((r.until - r.from).count());
  auto x = [&](sys_seconds t) {
    const double f = span > 0 ? static_cast<double>((t - r.from).count()) / span : 0;
    return left + plot * std::clamp(f, 0.0, 1.0);
  };
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return std::string(buf);
  };
  const double lanes_top = 40, lane_h = 14, fires_y = lanes_top + 2 * lane_h + 24, axis_y = fires_y + 40;
  const double height = axis_y + 52;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" +
                    num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + num(left) + "\" y=\"18\" font-size=\"13\">" +
         std::string(r.holds ? "holds" : "lapses") + ": " +
         detail::plural(r.rotations, "rotation", "rotations") + ", " +
         detail::plural(r.failed_runs, "failed run", "failed runs") +
         (r.margin ? ", margin " + format_duration(*r.margin) : std::string()) + "</text>\n";
  svg += "<text x=\"4\" y=\"" + num(lanes_top + 10) + "\">tokens</text>\n";
  svg += "<text x=\"4\" y=\"" + num(fires_y + 4) + "\">runs</text>\n";

  // Token lifetimes: from creation to the instant the token stops working, alternating lanes.
  struct bar {
    sys_seconds from, to;
  };
  std::vector<bar> bars;
  sys_seconds created = plan.initial.created_at;
  auto death_of_child = [&](sys_seconds c) {
    return detail::death_of(
        plan, token_state{c, plan.initial.rotation_period, plan.initial.expires_at, std::nullopt});
  };
  std::vector<sim_event> events;
  (void)detail::sample_run(plan, r.seed, [&](const sim_event& e) { events.push_back(e); });
  for (const auto& e : events) {
    if (e.kind != sim_event::rotated) continue;
    bars.push_back({created, e.until.value_or(e.at)});
    created = e.created.value_or(e.at);
  }
  bars.push_back({created, std::min(death_of_child(created), r.until)});
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double x0 = x(std::max(bars[i].from, r.from)), x1 = std::max(x(bars[i].to), x0 + 0.5);
    svg += "<rect x=\"" + num(x0) + "\" y=\"" + num(lanes_top + static_cast<double>(i % 2) * lane_h) +
           "\" width=\"" + num(x1 - x0) + "\" height=\"" + num(lane_h - 3) + "\" fill=\"" +
           (i % 2 ? "#6a9fd8" : "#3f7cc0") + "\"/>\n";
  }
  // Each token's rotation deadline (created + period), when there are few enough to see.
  if (plan.initial.rotation_period && bars.size() <= 120) {
    std::string marks;
    for (std::size_t i = 0; i < bars.size(); ++i) {
      const sys_seconds deadline = bars[i].from + *plan.initial.rotation_period;
      if (deadline > r.until) continue;
      marks += "M" + num(x(deadline)) + " " + num(lanes_top + static_cast<double>(i % 2) * lane_h - 1) + "v" +
               num(lane_h - 1);
    }
    if (!marks.empty()) svg += "<path d=\"" + marks + "\" stroke=\"#e08a00\" stroke-width=\"2\"/>\n";
  }
  // Runs: grey ticks; failed runs red.
  std::string ticks_ok, ticks_bad;
  for (const auto& e : events) {
    const std::string xs = num(x(e.at));
    if (e.kind == sim_event::run || e.kind == sim_event::skipped)
      ticks_ok += "M" + xs + " " + num(fires_y - 6) + "v12";
    else if (e.kind == sim_event::run_failed || e.kind == sim_event::refused ||
             e.kind == sim_event::response_lost)
      ticks_bad += "M" + xs + " " + num(fires_y - 9) + "v18";
  }
  if (!ticks_ok.empty()) svg += "<path d=\"" + ticks_ok + "\" stroke=\"#999\" stroke-width=\"1\"/>\n";
  if (!ticks_bad.empty()) svg += "<path d=\"" + ticks_bad + "\" stroke=\"#d33\" stroke-width=\"2\"/>\n";
  // The hard expiry and the first lapse.
  auto vline = [&](sys_seconds t, std::string_view colour, std::string_view label) {
    const std::string xs = num(x(t));
    svg += "<line x1=\"" + xs + "\" y1=\"28\" x2=\"" + xs + "\" y2=\"" + num(axis_y) + "\" stroke=\"" +
           std::string(colour) + "\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>\n";
    const double xv = x(t);
    const char* anchor = xv > width - right - 80 ? "end" : xv < left + 80 ? "start" : "middle";
    svg += "<text x=\"" + xs + "\" y=\"" + num(axis_y + 26) + "\" fill=\"" + std::string(colour) +
           "\" text-anchor=\"" + anchor + "\">" + std::string(label) + "</text>\n";
  };
  if (r.hard_expiry && *r.hard_expiry <= r.until) vline(*r.hard_expiry, "#a0a", "hard expiry");
  if (r.first_lapse) vline(r.first_lapse->at, "#d33", "lapse " + format_time(r.first_lapse->at));
  // The axis: about eight labelled ticks at whole days (or hours for short horizons).
  svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(axis_y) + "\" x2=\"" + num(left + plot) + "\" y2=\"" +
         num(axis_y) + "\" stroke=\"#333\"/>\n";
  const std::int64_t total = (r.until - r.from).count();
  auto tick = [&](sys_seconds t, const std::string& label) {
    const std::string xs = num(x(t));
    svg += "<line x1=\"" + xs + "\" y1=\"" + num(axis_y) + "\" x2=\"" + xs + "\" y2=\"" + num(axis_y + 4) +
           "\" stroke=\"#333\"/>\n";
    svg +=
        "<text x=\"" + xs + "\" y=\"" + num(axis_y + 14) + "\" text-anchor=\"middle\">" + label + "</text>\n";
  };
  if (total > 60 * 86'400) {
    // Month starts, every month up to about 13 months, then every 3, 6 or 12.
    const std::string start = format_time(r.from);
    int year = std::stoi(start.substr(0, 4)), month = std::stoi(start.substr(5, 2));
    const std::int64_t months = total / (30 * 86'400);
    const int every = months <= 14   ? 1
                      : months <= 40 ? 3
                      : months <= 80 ? 6
                                     : 12 * static_cast<int>(1 + months / 160);
    for (;;) {
      if (++month > 12) month = 1, ++year;
      if ((month - 1) % every != 0) continue;
      const sys_seconds t =
          from_unix(detail::days_from_civil(year, static_cast<unsigned>(month), 1) * 86'400);
      if (t > r.until) break;
      tick(t, format_time(t).substr(0, 7));
    }
  } else {
    // Whole hours or days, about eight ticks.
    const std::int64_t steps[] = {3600, 3 * 3600, 6 * 3600, 86'400, 2 * 86'400, 7 * 86'400};
    std::int64_t step = steps[0];
    for (auto st : steps)
      if (total / st >= 6) step = st;
    const std::int64_t first = (to_unix(r.from) + step - 1) / step * step;
    for (std::int64_t t = first; t <= to_unix(r.until); t += step) {
      const std::string stamp = format_time(from_unix(t));
      tick(from_unix(t), step < 86'400 ? stamp.substr(5, 11) : stamp.substr(0, 10));
    }
  }
  svg += "<text x=\"4\" y=\"" + num(height - 6) +
         "\" fill=\"#555\">bars: each token from its creation to the second it stops working; orange: its "
         "rotation "
         "deadline; ticks: runs, red when a run failed</text>\n";
  svg += "</svg>\n";
  return svg;
}

}  // namespace rotary
