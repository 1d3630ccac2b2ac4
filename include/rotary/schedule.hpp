// rotary/schedule.hpp: when a job runs. Cron in a time zone (with the DST behaviour of the
// cron daemon), fixed intervals, the fires between two instants, and the gaps between them.
//
//     using namespace std::chrono_literals;
//     rotary::cron_schedule daily{rotary::parse_cron("30 2 * * *").value(), "America/New_York"};
//     auto t = rotary::parse_time("2027-03-14T00:00:00Z").value();
//     daily.next(t);  // 2027-03-14T07:00:00Z: 03:00 EDT, see below
//
//     rotary::interval_schedule every12h{12h, t};
//     for (rotary::sys_seconds f : rotary::fires(every12h, t, t + 48h)) { ... }  // 4 fires
//
//     auto report = rotary::analyse_gaps(daily, t, t + 365 * 24h, 3600min);
//     report.largest->length;        // the longest wait between two runs
//     *report.tolerated_failures;    // consecutive failed runs a 60-hour token survives
//
// ## Daylight-saving time: the 2:30 a.m. question
//
// On 2027-03-14 in America/New_York the clocks jump from 02:00 EST to 03:00 EDT: 02:30 does
// not exist. What does `30 2 * * *` do that night? It depends on the cron daemon, and
// `dst_mode` says which behaviour to reproduce:
//
// - `dst_mode::cronie` (default) does exactly what cronie's main loop (cron.c) does. The job
//   runs at 03:00 EDT (07:00Z), right after the jump. In general, for a forward jump of 5 to
//   179 minutes, *fixed-time* jobs (minute and hour fields not starting with `*`) have every
//   skipped minute replayed at the first minute after the jump: `0-59/20 2 * * *` runs three
//   times at 03:00. *Wildcard* jobs (`30 * * * *`, `*/20 2 * * *`) are only checked against
//   the first minute after the jump: their slots in the skipped hour are lost. Jumps of 1 to 4
//   minutes replay every skipped minute for every job. When the clocks go back (up to 181
//   minutes), fixed-time jobs run only in the first pass of the repeated hour (`30 1 * * *`
//   once), wildcard jobs in both (`*/30 * * * *`: 01:00, 01:30, 01:00, 01:30). A jump of 3
//   hours or more either way is, for cronie, a change of the system time: nothing is caught up
//   and nothing is suppressed (Pacific/Apia skipped all of 2011-12-30: no job ran that day).
// - `dst_mode::wallclock` is plain wall-clock matching, the old Vixie rule of crontab(5): a
//   local time that does not exist never fires (no 02:30 run that night), a local time that
//   occurs twice fires twice.
//
// Several runs at one instant: `next` and `prev` answer distinct instants; `runs_at(t)` and
// `next_fire(t)` tell how many runs happen at `t` (3 for `0-59/20 2 * * *` at 03:00 EDT
// above), and `fires()` yields such an instant once per run. (cronie actually spaces them by the
// ~10 s it sleeps after each replayed minute; they are reported at the first minute after the
// jump.)
//
// Zone data come from rotary/zone.hpp (the system's TZif files, with the POSIX rule that extends
// them past their last listed transition, so DST keeps working in 2038 and later). The zone is
// consulted only when the search crosses a transition; between transitions everything is
// arithmetic on local time.
#pragma once

#include <rotary/cron.hpp>
#include <rotary/time.hpp>
#include <rotary/zone.hpp>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rotary {

// How a cron schedule in a time zone treats daylight-saving jumps (see the file comment).
enum class dst_mode { cronie, wallclock };

[[nodiscard]] constexpr std::string_view to_string(dst_mode m) noexcept {
  return m == dst_mode::cronie ? "cronie" : "wallclock";
}
// "cronie" or "wallclock"; nullopt for anything else.
[[nodiscard]] constexpr std::optional<dst_mode> parse_dst_mode(std::string_view s) noexcept {
  if (s == "cronie") return dst_mode::cronie;
  if (s == "wallclock") return dst_mode::wallclock;
  return std::nullopt;
}

// An instant at which a schedule runs its job, and how many times it runs then (more than once
// only when cronie catches up several skipped minutes at once).
struct fire {
  sys_seconds at{};
  int runs = 1;
  friend bool operator==(const fire&, const fire&) = default;
};

// What every schedule offers: the first fire strictly after `t` and the last strictly before.
// A schedule may also offer `int runs_at(sys_seconds)` (how many runs at an instant; 1 if absent).
template <class S>
concept schedule = std::copy_constructible<S> && requires(const S& s, sys_seconds t) {
  { s.next(t) } -> std::same_as<std::optional<sys_seconds>>;
  { s.prev(t) } -> std::same_as<std::optional<sys_seconds>>;
};

// A cron expression read in a time zone. Without a zone (or with a null zone) it is read in
// UTC, where the DST mode plays no part.
class cron_schedule {
 public:
  explicit cron_schedule(cron_expr expr) : expr_(std::move(expr)) {}
  cron_schedule(cron_expr expr, const time_zone* zone, dst_mode mode = dst_mode::cronie)
      : expr_(std::move(expr)), zone_(zone), mode_(mode) {}
  // Throws std::invalid_argument if the system has no zone of that name.
  cron_schedule(cron_expr expr, std::string_view zone, dst_mode mode = dst_mode::cronie);

  [[nodiscard]] const cron_expr& expr() const noexcept { return expr_; }
  [[nodiscard]] const time_zone* zone() const noexcept { return zone_; }  // nullptr: UTC
  [[nodiscard]] std::string_view zone_name() const noexcept {
    return zone_ ? std::string_view(zone_->name()) : std::string_view("UTC");
  }
  [[nodiscard]] dst_mode mode() const noexcept { return mode_; }
  // The civil time at `t` in the schedule's zone (UTC without one), DST rules past 2037 included.
  [[nodiscard]] local_seconds to_local(sys_seconds t) const {
    return zone_ ? zone_->to_local(t) : local_seconds{t.time_since_epoch()};
  }

  // The first instant strictly after `t` at which the job runs, or nullopt (never again before
  // year 10000).
  [[nodiscard]] std::optional<sys_seconds> next(sys_seconds t) const;
  // The last instant strictly before `t` at which the job runs, or nullopt.
  [[nodiscard]] std::optional<sys_seconds> prev(sys_seconds t) const;
  // `next` with the number of runs at that instant.
  [[nodiscard]] std::optional<fire> next_fire(sys_seconds t) const;
  // How many times the job runs at exactly `t` (0 if it does not).
  [[nodiscard]] int runs_at(sys_seconds t) const;

  friend bool operator==(const cron_schedule&, const cron_schedule&) = default;

  // For `fires()`: the fire after `f`, given that `f` is a fire of `s` (cheaper than `next`);
  // `runs == 0` when there is none. (Returned in registers: this is the hot loop of a horizon.)
  // `walk` carries where the previous fire was, so that a dense walk needs no calendar
  // arithmetic at all; a default-constructed `walk_state` knows nothing yet.
  struct walk_state {
    std::int64_t day_start = 0;  // local seconds of the day of the last fire
    std::int64_t offset = 0;     // of the segment it is in
    std::int64_t segment_end = INT64_MAX;
    int hour = -1, minute = 0;  // hour < 0: unknown
  };
  friend fire next_fire_after(const cron_schedule& s, const fire& f, walk_state& walk) {
    return s.after_fire(f, walk);
  }

 private:
  cron_expr expr_;
  const time_zone* zone_ = nullptr;
  dst_mode mode_ = dst_mode::cronie;

  fire after_fire(const fire& f, walk_state& walk) const;
  // Kept out of line so that the hot path of `fires()` inlines into its loop.
  [[gnu::noinline]] fire after_fire_slow(const fire& f) const {
    const auto n = next_fire(f.at);
    return n ? *n : fire{sys_seconds{}, 0};
  }
};

// A timer that fires every `every`, in step with `anchor`: at anchor + k * every for every
// integer k (the anchor fixes the phase; fires before it exist too, so `prev` is defined).
class interval_schedule {
 public:
  // Throws std::invalid_argument unless `every` is positive.
  interval_schedule(seconds every, sys_seconds anchor);

  [[nodiscard]] seconds every() const noexcept { return every_; }
  [[nodiscard]] sys_seconds anchor() const noexcept { return anchor_; }
  [[nodiscard]] std::optional<sys_seconds> next(sys_seconds t) const noexcept;
  [[nodiscard]] std::optional<sys_seconds> prev(sys_seconds t) const noexcept;
  [[nodiscard]] int runs_at(sys_seconds t) const noexcept;

  friend bool operator==(const interval_schedule&, const interval_schedule&) = default;

 private:
  seconds every_;
  sys_seconds anchor_;
};

// The runs of a schedule in [from, until), in order, lazily: an instant with several runs
// appears once per run. A forward range of `sys_seconds`; the schedule is copied in.
//     for (rotary::sys_seconds t : rotary::fires(s, from, until)) ...
template <schedule S>
class fire_range {
 public:
  class iterator {
   public:
    using iterator_concept = std::forward_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = sys_seconds;
    using difference_type = std::ptrdiff_t;
    using reference = sys_seconds;

    iterator() = default;
    reference operator*() const noexcept { return cur_.at; }
    // 1-based index of this run among the runs at the same instant, and their number.
    [[nodiscard]] int run() const noexcept { return run_; }
    [[nodiscard]] int runs() const noexcept { return cur_.runs; }
    iterator& operator++();
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.cur_.runs == b.cur_.runs && (a.cur_.runs == 0 || (a.cur_.at == b.cur_.at && a.run_ == b.run_));
    }
    friend bool operator==(const iterator& a, std::default_sentinel_t) noexcept { return a.cur_.runs == 0; }

   private:
    friend class fire_range;
    const fire_range* range_ = nullptr;
    fire cur_{sys_seconds{}, 0};  // runs == 0: past the end
    struct no_walk_state {};
    template <class T>
    static auto walk_type(int) -> typename T::walk_state;
    template <class T>
    static no_walk_state walk_type(...);
    [[no_unique_address]] decltype(walk_type<S>(0)) walk_{};
    int run_ = 1;
  };

  fire_range(S s, sys_seconds from, sys_seconds until) : s_(std::move(s)), from_(from), until_(until) {}
  [[nodiscard]] iterator begin() const;
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }
  [[nodiscard]] const S& source() const noexcept { return s_; }
  [[nodiscard]] sys_seconds from() const noexcept { return from_; }
  [[nodiscard]] sys_seconds until() const noexcept { return until_; }

 private:
  S s_;
  sys_seconds from_, until_;
};

// The runs of `s` in [from, until).
template <schedule S>
[[nodiscard]] fire_range<S> fires(S s, sys_seconds from, sys_seconds until) {
  return fire_range<S>(std::move(s), from, until);
}

// A wait between two consecutive runs.
struct gap {
  seconds length{};
  sys_seconds from{}, to{};
  friend bool operator==(const gap&, const gap&) = default;
};

// The runs of a schedule in [from, until) and the gaps between them. Only runs inside the
// horizon count: the horizon's edges are not runs (a caller that wants "from the token's
// creation to the first run" adds those edges itself).
struct gap_report {
  sys_seconds from{}, until{};
  std::size_t count = 0;                   // runs (an instant with 3 runs counts 3)
  std::optional<sys_seconds> first, last;  // first and last run
  std::optional<gap> smallest, largest;    // earliest one on ties; 0 s between repeated runs
  std::optional<seconds> period;           // as given
  // With a period P: the largest k such that f[i+k+1] - f[i] < P for every i, i.e. any k
  // consecutive runs may fail and the runs on either side are still less than P apart.
  // nullopt without a period or with fewer than 2 runs (no gap to judge); -1 when some gap
  // between consecutive runs is already >= P; at most count - 2 (every run between the first
  // and the last may fail), and `tolerance_limited_by_horizon` is then true.
  std::optional<std::int64_t> tolerated_failures;
  bool tolerance_limited_by_horizon = false;
  friend bool operator==(const gap_report&, const gap_report&) = default;
};

// Analyses the runs of `s` in [from, until) in one pass (the tolerance with a sliding window
// holding the runs less than `period` apart).
template <schedule S>
[[nodiscard]] gap_report analyse_gaps(const S& s, sys_seconds from, sys_seconds until,
                                      std::optional<seconds> period = std::nullopt);

// `lint(e)` plus the local times of `e` that a DST transition of `zone` skips (`dst-skipped`)
// or repeats (`dst-repeated`) in the year starting at `from`, with what cronie and wallclock
// do about them. A null zone means UTC: no DST findings.
[[nodiscard]] std::vector<lint_finding> lint(const cron_expr& e, const time_zone* zone, sys_seconds from);

// ---------------------------------------------------------------------------------------------
// Implementation.

namespace detail {

// A stretch of time with one UTC offset: [begin, end) in Unix seconds; `prev_offset` is the
// offset just before `begin`.
struct zone_segment {
  std::int64_t begin = 0, end = 0, offset = 0, prev_offset = 0;
};

struct zone_segment_cache {
  struct entry {
    const time_zone* zone = nullptr;
    zone_segment seg;
  };
  std::array<entry, 16> entries{};
  std::size_t victim = 0;

  const zone_segment* find(const time_zone* zone, std::int64_t t) const noexcept {
    for (const auto& c : entries)
      if (c.zone == zone && c.seg.begin <= t && t < c.seg.end) return &c.seg;
    return nullptr;
  }
  zone_segment add(const time_zone* zone, const zone_segment& seg) noexcept {
    entries[victim] = {zone, seg};
    victim = (victim + 1) % entries.size();
    return seg;
  }
};
inline zone_segment_cache& zone_cache() {
  thread_local zone_segment_cache cache;
  return cache;
}
inline zone_segment zone_segment_from_info(const zone_info& info) {
  zone_segment seg;
  seg.begin = info.begin.time_since_epoch().count();
  seg.end = info.end.time_since_epoch().count();
  seg.offset = seg.prev_offset = info.offset.count();
  return seg;
}

// The segment of `zone` holding `t`, from a small per-thread cache (the zone's data are
// immutable, so a cached segment is never stale).
inline zone_segment zone_segment_at(const time_zone* zone, std::int64_t t) {
  auto& cache = zone_cache();
  if (const auto* hit = cache.find(zone, t)) return *hit;
  zone_segment seg = zone_segment_from_info(zone->info(from_unix(t)));
  if (seg.begin > cron_min_minute * 60) seg.prev_offset = zone->offset(from_unix(seg.begin - 1)).count();
  return cache.add(zone, seg);
}

// The segment that follows `seg` (one zone lookup: its previous offset is `seg`'s).
inline zone_segment zone_segment_after(const time_zone* zone, const zone_segment& seg) {
  auto& cache = zone_cache();
  if (const auto* hit = cache.find(zone, seg.end)) return *hit;
  zone_segment next = zone_segment_from_info(zone->info(from_unix(seg.end)));
  if (next.begin == seg.end)
    next.prev_offset = seg.offset;
  else
    next.prev_offset = zone->offset(from_unix(next.begin - 1)).count();
  return cache.add(zone, next);
}

// What cronie does at the start of a segment (cron.c, main loop): the wall clock moved by
// `jump` minutes of cronie's virtual time (1 is an ordinary minute).
struct cronie_entry {
  enum kind_t { normal, catch_up, suppress } kind = normal;
  std::int64_t jump = 1;
  std::int64_t first_skipped = 0, last_skipped = 0;  // local minutes (catch_up)
  std::int64_t landing = 0;                          // Unix seconds of the catch-up runs
  std::int64_t suppress_end = 0;                     // fixed-time jobs silent in [begin, this)
};

constexpr cronie_entry cronie_entry_for(const zone_segment& seg, bool wildcard) noexcept {
  cronie_entry r;
  const std::int64_t last_local = ceil_div(seg.begin + seg.prev_offset, 60) - 1;  // last minute processed
  const std::int64_t landing = ceil_div(seg.begin + seg.offset, 60);              // first minute after
  r.jump = landing - last_local;
  if (r.jump > 1 && r.jump <= 180 && (r.jump <= 5 || !wildcard)) {
    r.kind = cronie_entry::catch_up;
    r.first_skipped = last_local + 1;
    r.last_skipped = landing - 1;
    r.landing = landing * 60 - seg.offset;
  } else if (r.jump <= 0 && r.jump >= -180 && !wildcard) {
    r.kind = cronie_entry::suppress;
    r.suppress_end = (last_local + 1) * 60 - seg.offset;
  }
  return r;
}

// Runs at the landing instant of a catch-up: the replayed minutes plus the landing minute.
constexpr int cronie_catch_up_runs(const cron_expr& e, const cronie_entry& r) noexcept {
  const int replayed = cron_count_between(e, r.first_skipped, r.last_skipped);
  if (replayed == 0) return 0;
  const auto landing_local = r.last_skipped + 1;
  const auto at = cron_first_at_or_after(e, landing_local);
  return replayed + (at && *at == landing_local ? 1 : 0);
}

inline std::optional<fire> zone_next(const cron_expr& e, const time_zone* zone, dst_mode mode,
                                     std::int64_t t) {
  if (e.never_fires() || t >= cron_max_minute * 60) return std::nullopt;
  if (t < cron_min_minute * 60) t = cron_min_minute * 60 - 1;
  zone_segment seg = zone_segment_at(zone, t);
  std::int64_t after = t;  // looking for runs u > after, u in seg
  // The last local search: the first match at or after `known_from` is `known` (so it is also
  // the first match at or after any minute in [known_from, known]). Crossing segments whose
  // local times were already searched then costs no search.
  std::int64_t known_from = 1, known = 0;
  std::optional<std::int64_t> known_match;
  const auto first_match = [&](std::int64_t q) {
    if (known_from <= q && q <= known && known_match) return known_match;
    known_from = q;
    known_match = cron_first_at_or_after(e, q);
    known = known_match ? *known_match : INT64_MAX;
    return known_match;
  };
  for (;;) {
    std::optional<fire> best;
    cronie_entry rule;
    if (mode == dst_mode::cronie) rule = cronie_entry_for(seg, e.wildcard_job());
    if (rule.kind == cronie_entry::catch_up && rule.landing > after && rule.landing < seg.end) {
      const auto skipped = first_match(rule.first_skipped);
      if (skipped && *skipped <= rule.last_skipped)
        best = fire{from_unix(rule.landing), cronie_catch_up_runs(e, rule)};
    }
    std::int64_t from = after;
    if (rule.kind == cronie_entry::suppress) from = std::max(from, rule.suppress_end - 1);
    const auto m = first_match(floor_div(from + seg.offset, 60) + 1);
    if (m) {
      const std::int64_t u = *m * 60 - seg.offset;
      if (u < seg.end && (!best || u < to_unix(best->at))) best = fire{from_unix(u), 1};
    }
    if (best) return best;
    if (!m || seg.end > cron_max_minute * 60) return std::nullopt;
    // The next local match is past this segment. Every segment that ends more than three days
    // (more than any UTC offset change) before it would instant-for-instant be local time in
    // [known_from, *m), where nothing matches: no run, no cronie catch-up (its skipped minutes
    // are there too), and suppression only silences. So jump to the segment three days before
    // the match (a sparse expression like `0 0 29 2 *` then crosses two segments, not eight).
    // Not when this segment's last local hours come within 3 hours of `known_from`: a fall-back
    // at its end would repeat minutes below `known_from`, which the next segment must search.
    const std::int64_t near_match = *m * 60 - seg.offset - 3 * 86'400;
    if (near_match > seg.end && floor_div(seg.end + seg.offset, 60) - 180 >= known_from) {
      const zone_segment far = zone_segment_at(zone, near_match);
      if (far.begin > seg.end) {
        after = far.begin - 1;
        seg = far;
        continue;
      }
    }
    after = seg.end - 1;
    seg = zone_segment_after(zone, seg);
  }
}

inline std::optional<fire> zone_prev(const cron_expr& e, const time_zone* zone, dst_mode mode,
                                     std::int64_t t) {
  if (e.never_fires() || t <= cron_min_minute * 60) return std::nullopt;
  if (t > cron_max_minute * 60) t = cron_max_minute * 60 + 1;
  zone_segment seg = zone_segment_at(zone, t - 1);
  std::int64_t before = t;  // looking for runs u < before, u in seg
  for (;;) {
    std::optional<fire> best;
    cronie_entry rule;
    if (mode == dst_mode::cronie) rule = cronie_entry_for(seg, e.wildcard_job());
    const auto m = cron_last_at_or_before(e, ceil_div(before + seg.offset, 60) - 1);
    if (m) {
      const std::int64_t u = *m * 60 - seg.offset;
      const bool silent = rule.kind == cronie_entry::suppress && u < rule.suppress_end;
      if (u >= seg.begin && !silent) best = fire{from_unix(u), 1};
    }
    if (rule.kind == cronie_entry::catch_up && rule.landing < before && rule.landing >= seg.begin &&
        (!best || rule.landing >= to_unix(best->at))) {
      if (const int runs = cronie_catch_up_runs(e, rule); runs > 0)
        best = fire{from_unix(rule.landing), runs};
    }
    if (best) return best;
    if (!m || seg.begin <= cron_min_minute * 60) return std::nullopt;
    before = seg.begin;
    seg = zone_segment_at(zone, seg.begin - 1);
  }
}

inline int zone_runs_at(const cron_expr& e, const time_zone* zone, dst_mode mode, std::int64_t t) {
  if (e.never_fires() || t < cron_min_minute * 60 || t > cron_max_minute * 60) return 0;
  const zone_segment seg = zone_segment_at(zone, t);
  cronie_entry rule;
  if (mode == dst_mode::cronie) rule = cronie_entry_for(seg, e.wildcard_job());
  if (rule.kind == cronie_entry::catch_up && t == rule.landing) {
    if (const int runs = cronie_catch_up_runs(e, rule); runs > 0) return runs;
  }
  const std::int64_t local = t + seg.offset;
  if (floor_mod(local, 60) != 0) return 0;
  const auto m = cron_first_at_or_after(e, floor_div(local, 60));
  if (!m || *m * 60 != local) return 0;
  if (rule.kind == cronie_entry::suppress && t < rule.suppress_end) return 0;
  return 1;
}

// "2027-03-14 02:30" for a local minute.
inline std::string format_local_minute(std::int64_t m) {
  const civil_date c = civil_from_days(floor_div(m, 1440));
  const int mod = static_cast<int>(floor_mod(m, 1440));
  std::string y = cron_number(c.year);
  while (y.size() < 4) y.insert(y.begin(), '0');
  return y + "-" + two_digits(c.month) + "-" + two_digits(c.day) + " " + two_digits(mod / 60) + ":" +
         two_digits(mod % 60);
}

template <class S>
std::optional<fire> schedule_next_fire(const S& s, sys_seconds t) {
  if constexpr (requires { s.next_fire(t); }) {
    return s.next_fire(t);
  } else {
    const auto n = s.next(t);
    if (!n) return std::nullopt;
    int runs = 1;
    if constexpr (requires { s.runs_at(*n); }) runs = std::max(1, static_cast<int>(s.runs_at(*n)));
    return fire{*n, runs};
  }
}

// The fire after `f` (a fire of `s`), or one with runs == 0.
template <class S>
fire schedule_after_fire(const S& s, const fire& f, [[maybe_unused]] auto& walk) {
  if constexpr (requires { next_fire_after(s, f, walk); }) {
    return next_fire_after(s, f, walk);
  } else {
    const auto n = schedule_next_fire(s, f.at);
    return n ? *n : fire{sys_seconds{}, 0};
  }
}

}  // namespace detail

inline cron_schedule::cron_schedule(cron_expr expr, std::string_view zone, dst_mode mode)
    : expr_(std::move(expr)), zone_(find_zone(zone)), mode_(mode) {
  if (zone_ == nullptr) throw std::invalid_argument("unknown time zone '" + std::string(zone) + "'");
}

inline std::optional<fire> cron_schedule::next_fire(sys_seconds t) const {
  if (zone_ == nullptr) {
    const auto n = rotary::next(expr_, t);
    if (!n) return std::nullopt;
    return fire{*n, 1};
  }
  return detail::zone_next(expr_, zone_, mode_, to_unix(t));
}

inline std::optional<sys_seconds> cron_schedule::next(sys_seconds t) const {
  if (zone_ == nullptr) return rotary::next(expr_, t);
  const auto f = detail::zone_next(expr_, zone_, mode_, to_unix(t));
  if (!f) return std::nullopt;
  return f->at;
}

inline std::optional<sys_seconds> cron_schedule::prev(sys_seconds t) const {
  if (zone_ == nullptr) return rotary::prev(expr_, t);
  const auto f = detail::zone_prev(expr_, zone_, mode_, to_unix(t));
  if (!f) return std::nullopt;
  return f->at;
}

inline int cron_schedule::runs_at(sys_seconds t) const {
  if (zone_ == nullptr) {
    const std::int64_t s = to_unix(t);
    if (detail::floor_mod(s, 60) != 0) return 0;
    const auto m = detail::cron_first_at_or_after(expr_, s / 60);
    return m && *m * 60 == s ? 1 : 0;
  }
  return detail::zone_runs_at(expr_, zone_, mode_, to_unix(t));
}

inline fire cron_schedule::after_fire(const fire& f, walk_state& walk) const {
  // `f` matches in local time, so its day and hour do: a later minute of the hour, or a later
  // hour of the day, needs no calendar arithmetic, as long as it stays in the same segment of
  // the zone (where local time is UTC plus one offset and no DST rule applies).
  if (walk.hour < 0) {
    walk.offset = 0;
    walk.segment_end = INT64_MAX;
    if (zone_ != nullptr) {
      const auto seg = detail::zone_segment_at(zone_, to_unix(f.at));
      walk.offset = seg.offset;
      walk.segment_end = seg.end;
    }
    const std::int64_t local = to_unix(f.at) + walk.offset;
    const std::int64_t sod = detail::floor_mod(local, 86'400);
    walk.day_start = local - sod;
    walk.hour = static_cast<int>(sod / 3600);
    walk.minute = static_cast<int>(sod / 60 % 60);
    if (zone_ != nullptr) {  // a catch-up run need not match its local time
      const auto c = detail::civil_from_days(walk.day_start / 86'400);
      if (sod % 60 != 0 || !expr_.matches(c.year, c.month, c.day, walk.hour, walk.minute)) {
        walk.hour = -1;
        return after_fire_slow(f);
      }
    }
  }
  if (const std::uint64_t rest = expr_.minutes() & (~std::uint64_t{0} << (walk.minute + 1))) {
    walk.minute = std::countr_zero(rest);
  } else if (const std::uint32_t later = expr_.hours() & (~std::uint32_t{0} << (walk.hour + 1));
             later != 0 && walk.hour < 23) {
    walk.hour = std::countr_zero(later);
    walk.minute = std::countr_zero(expr_.minutes());
  } else {
    walk.hour = -1;
    return after_fire_slow(f);
  }
  const std::int64_t u = walk.day_start + walk.hour * 3600 + walk.minute * 60 - walk.offset;
  if (u >= walk.segment_end) {
    walk.hour = -1;
    return after_fire_slow(f);
  }
  return fire{from_unix(u), 1};
}

inline interval_schedule::interval_schedule(seconds every, sys_seconds anchor)
    : every_(every), anchor_(anchor) {
  if (every <= seconds{0}) throw std::invalid_argument("an interval schedule needs a positive interval");
}

inline std::optional<sys_seconds> interval_schedule::next(sys_seconds t) const noexcept {
  const std::int64_t lo = detail::cron_min_minute * 60, hi = detail::cron_max_minute * 60 + 59;
  const std::int64_t s = std::max(to_unix(t), lo - 1), a = to_unix(anchor_), e = every_.count();
  if (s >= hi) return std::nullopt;
  const std::int64_t r = a + (detail::floor_div(s - a, e) + 1) * e;
  if (r > hi) return std::nullopt;
  return from_unix(r);
}

inline std::optional<sys_seconds> interval_schedule::prev(sys_seconds t) const noexcept {
  const std::int64_t lo = detail::cron_min_minute * 60, hi = detail::cron_max_minute * 60 + 59;
  const std::int64_t s = std::min(to_unix(t), hi + 1), a = to_unix(anchor_), e = every_.count();
  if (s <= lo) return std::nullopt;
  const std::int64_t r = a + (detail::ceil_div(s - a, e) - 1) * e;
  if (r < lo) return std::nullopt;
  return from_unix(r);
}

inline int interval_schedule::runs_at(sys_seconds t) const noexcept {
  return detail::floor_mod(to_unix(t) - to_unix(anchor_), every_.count()) == 0 ? 1 : 0;
}

template <schedule S>
typename fire_range<S>::iterator fire_range<S>::begin() const {
  iterator it;
  it.range_ = this;
  if (from_ < until_) {
    const auto first = detail::schedule_next_fire(s_, from_ - seconds{1});
    if (first && first->at < until_) it.cur_ = *first;
  }
  return it;
}

template <schedule S>
typename fire_range<S>::iterator& fire_range<S>::iterator::operator++() {
  if (run_ < cur_.runs) {
    ++run_;
    return *this;
  }
  run_ = 1;
  cur_ = detail::schedule_after_fire(range_->s_, cur_, walk_);
  if (cur_.at >= range_->until_) cur_.runs = 0;
  return *this;
}

template <schedule S>
gap_report analyse_gaps(const S& s, sys_seconds from, sys_seconds until, std::optional<seconds> period) {
  gap_report r;
  r.from = from;
  r.until = until;
  r.period = period;
  // Tolerance: for each run i, let j(i) be the last run less than P after it. Runs i+1..j(i)
  // may all fail, so k <= j(i) - i - 1, a bound that only counts when j(i) is not the last
  // run of the horizon. `window` (a ring buffer) holds the runs whose j is not known yet: those
  // less than P before the newest run. Two pointers: every run enters and leaves it once.
  std::vector<std::int64_t> window(period ? 64 : 0);
  std::size_t head = 0, size = 0;  // window[head] is the oldest; capacity is a power of two
  std::int64_t bound = INT64_MAX;
  const std::int64_t p = period ? period->count() : 0;
  std::int64_t n = 0, first = 0, prev = 0;
  std::int64_t small = INT64_MAX, small_at = 0, large = -1, large_at = 0;
  for (const sys_seconds t : fires(s, from, until)) {
    const std::int64_t now = to_unix(t);
    if (n == 0) {
      first = now;
    } else {
      const std::int64_t g = now - prev;
      if (g < small) small = g, small_at = prev;
      if (g > large) large = g, large_at = prev;
    }
    if (period) {
      const std::size_t mask = window.size() - 1;
      while (size > 0 && now - window[head] >= p) {
        const std::int64_t i = n - static_cast<std::int64_t>(size);  // index of the oldest
        bound = std::min(bound, n - 1 - i - 1);
        head = (head + 1) & mask;
        --size;
      }
      if (size == window.size()) {  // grow: unroll the ring into a buffer twice as large
        std::vector<std::int64_t> bigger(window.size() * 2);
        for (std::size_t k = 0; k < size; ++k) bigger[k] = window[(head + k) & mask];
        window.swap(bigger);
        head = 0;
      }
      window[(head + size) & (window.size() - 1)] = now;
      ++size;
    }
    prev = now;
    ++n;
  }
  r.count = static_cast<std::size_t>(n);
  if (n > 0) r.first = from_unix(first), r.last = from_unix(prev);
  if (n > 1) {
    r.smallest = gap{seconds{small}, from_unix(small_at), from_unix(small_at + small)};
    r.largest = gap{seconds{large}, from_unix(large_at), from_unix(large_at + large)};
  }
  if (period && n >= 2) {
    const std::int64_t cap = n - 2;
    r.tolerated_failures = std::min(bound, cap);
    r.tolerance_limited_by_horizon = bound >= cap;
  }
  return r;
}

inline std::vector<lint_finding> lint(const cron_expr& e, const time_zone* zone, sys_seconds from) {
  std::vector<lint_finding> out = lint(e);
  if (zone == nullptr || e.never_fires()) return out;
  detail::cron_layout layout;
  if (detail::parse_cron_impl(e.text(), &layout).index() != 0) return out;
  const std::size_t column = layout.macro ? 1 : layout.field_column[1];
  const std::size_t length = layout.macro ? e.text().size() : layout.field_length[1];
  const std::string where = " in " + std::string(zone->name());
  const auto hm = [](std::int64_t m) { return detail::format_local_minute(m).substr(11); };
  // "02:00 to 03:00", or with the dates when the jump crosses midnight.
  const auto span = [&](std::int64_t a, std::int64_t b) {
    if (detail::floor_div(a, 1440) == detail::floor_div(b, 1440)) return hm(a) + " to " + hm(b);
    return detail::format_local_minute(a) + " to " + detail::format_local_minute(b);
  };
  bool skipped = false, repeated = false;
  std::int64_t t = std::max(to_unix(from), detail::cron_min_minute * 60);
  const std::int64_t stop = std::min(t + 366 * 86'400, detail::cron_max_minute * 60);
  while (t < stop && !(skipped && repeated)) {
    const auto seg = detail::zone_segment_at(zone, t);
    if (seg.end >= stop) break;
    const auto next = detail::zone_segment_after(zone, seg);
    t = seg.end;
    const std::int64_t last_local = detail::ceil_div(next.begin + next.prev_offset, 60) - 1;
    const std::int64_t landing = detail::ceil_div(next.begin + next.offset, 60);
    const std::int64_t jump = landing - last_local;
    if (jump > 1 && !skipped) {
      const auto m = detail::cron_first_at_or_after(e, last_local + 1);
      if (!m || *m > landing - 1) continue;
      skipped = true;
      std::string msg = hm(*m) + " does not exist on " + detail::format_local_minute(*m).substr(0, 10) +
                        where + " (clocks jump from " + span(last_local + 1, landing) + "): ";
      if (jump > 180)
        msg +=
            "cronie treats a jump over 3 hours as a change of the system time and does not catch up; "
            "the run is lost in both modes";
      else if (jump <= 5 || !e.wildcard_job())
        msg += "cronie runs the job at " + hm(landing) + " instead; --dst wallclock skips it";
      else
        msg += "cronie does not catch up wildcard jobs, and --dst wallclock skips it too: the run is lost";
      out.push_back({column, length, "dst-skipped", msg});
    } else if (jump <= 0 && !repeated) {
      const auto m = detail::cron_first_at_or_after(e, landing);
      if (!m || *m > last_local) continue;
      repeated = true;
      std::string msg = hm(*m) + " occurs twice on " + detail::format_local_minute(*m).substr(0, 10) + where +
                        " (clocks go back from " + span(last_local + 1, landing) + "): ";
      if (jump < -180)
        msg +=
            "cronie treats a jump over 3 hours as a change of the system time: the job runs twice in both "
            "modes";
      else if (!e.wildcard_job())
        msg += "cronie runs this fixed-time job once (in the first pass); --dst wallclock runs it twice";
      else
        msg += "it is a wildcard job, so it runs in both passes (cronie and --dst wallclock alike)";
      out.push_back({column, length, "dst-repeated", msg});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.column < b.column; });
  return out;
}

}  // namespace rotary
