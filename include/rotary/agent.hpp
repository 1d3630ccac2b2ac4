// rotary/agent.hpp: the rotation job as a long-running service instead of a cron line.
//
// An agent holds one token store. It runs the same engine as `rotary rotate` (rotator.hpp: the
// lock, the write-ahead mark, retries inside the run, the new token saved before it is used,
// on_new_token), then sleeps until the next rotation is due by the policy: the token's rotation
// deadline minus the strategy's margin, plus a small random delay (the jitter) so that many
// agents do not rotate in the same second. It keeps going after failures:
//
//   after the run            it sleeps until
//   rotated, not-due         the next due instant + jitter; `recheck` ahead when that is
//                            sooner than the due instant
//   failed, busy             `first_backoff`, doubled after each failure up to `recheck`, never
//                            past the held token's end minus the safety margin
//   unusable, chain-broken,  `recheck` (a person must act; the store is read again then, or at
//   store-error              once on wake(), so a new `rotate --init` is picked up)
//   misconfigured            run() returns 2 at once
//
// The jitter is drawn once per due instant, uniformly in [0, min(max_jitter, margin / 10)]
// whole seconds, from a seeded generator (detail/random.hpp): the same seed gives the same
// wake-ups on every machine. Time comes from any clock of clock.hpp, so a test drives an agent
// through a simulated year with a manual_clock; `plan()` is the wake-up rule alone, without I/O.
//
//     rotary::agent_options o;
//     o.rotation.strategy = {rotary::job_strategy::when_due, std::chrono::hours{1}};
//     o.on_event = [](const rotary::agent_event& e) { std::cout << e.line() << "\n"; };
//     rotary::agent a{store, o, clock};
//     rotary::stop_source stop;
//     std::thread t([&] { a.run(stop.get_token()); });   // until stop.request_stop()
//
// Stopping: run() returns at once when a stop is requested while it sleeps or while the job
// waits to retry; a request in flight is finished first (bounded by the client's
// total_timeout), and a new token's save is never abandoned (giving it up would lose the only
// copy of the new secret).
#pragma once

#include <rotary/clock.hpp>
#include <rotary/detail/random.hpp>
#include <rotary/policy.hpp>
#include <rotary/rotator.hpp>
#include <rotary/stop_token.hpp>
#include <rotary/store.hpp>
#include <rotary/time.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace rotary {

// One thing an agent did: started, ran the job, went to sleep, was woken early, stopped.
struct agent_event {
  enum kind_type { started, run, sleeping, woken, stopped };
  kind_type kind = started;
  sys_seconds at{};
  std::optional<run_report> report{};  // run: what the job did
  std::optional<sys_seconds> until{};  // sleeping: the planned wake-up
  std::string reason{};                // sleeping: why then ("rotation due from ..., jitter 1m40s")

  // "started", "run", "sleeping", "woken", "stopped".
  [[nodiscard]] std::string_view kind_name() const noexcept;
  // One line for a log: a run's report line; "<at> sleeping until <until> (<reason>)";
  // "<at> woken: reading the store again"; "<at> agent started" / "<at> agent stopped".
  [[nodiscard]] std::string line() const;
};

// {"event", "at", "report" (run_report's JSON, null when none), "until", "reason", "line"}.
void to_json(nlohmann::json& j, const agent_event& e);

struct agent_options {
  rotator_options rotation{};                          // the engine's options; the strategy must be when-due
  seconds max_jitter{std::chrono::minutes{5}};         // the jitter's cap (and at most margin / 10)
  seconds recheck{std::chrono::hours{1}};              // the longest sleep
  seconds first_backoff{std::chrono::minutes{1}};      // after a failed or busy run, doubled each time
  std::uint64_t seed = 0;                              // of the jitter
  std::function<void(const agent_event&)> on_event{};  // called in run()'s thread
};

// When an agent wakes next, and why.
struct wake_plan {
  sys_seconds at{};
  std::string reason;
  friend bool operator==(const wake_plan&, const wake_plan&) = default;
};

class agent {
 public:
  // Throws std::invalid_argument for a strategy other than when-due (an agent that rotated at
  // every wake-up would rotate without end), a recheck under a minute, a backoff under a second
  // or over the recheck, a negative jitter.
  agent(const token_store& store, agent_options options, clock_ref clock);

  // Runs until `stop` is requested: 0. A misconfigured job (rotator's `misconfigured`): 2, at
  // once. Call it from one thread at a time.
  int run(stop_token stop);

  // Ends the current sleep now: the job runs again at once, which reads the store again
  // (SIGHUP in `rotary agent`). Thread-safe; a wake() between two sleeps ends the next one.
  void wake();

  // The wake-up after a run that reported `r` at `now`: the rule of the table above. Updates
  // the failure count and draws the jitter of a new due instant.
  [[nodiscard]] wake_plan plan(const run_report& r, sys_seconds now);

  // The jitter of the due instant `due` (drawn once; the same `due` gets the same jitter).
  [[nodiscard]] seconds jitter_for(sys_seconds due);

 private:
  void emit(agent_event e) const {
    if (options_.on_event) options_.on_event(e);
  }

  const token_store& store_;
  agent_options options_;
  clock_ref clock_;
  detail::xoshiro256 random_;
  std::optional<sys_seconds> jitter_due_;
  seconds jitter_{0};
  seconds backoff_{0};  // 0: the last run did not fail
  std::mutex mutex_;    // guards nap_ and wake_requested_
  stop_source* nap_ = nullptr;
  bool wake_requested_ = false;
};

// =================================================================================================

inline std::string_view agent_event::kind_name() const noexcept {
  switch (kind) {
    case started:
      return "started";
    case run:
      return "run";
    case sleeping:
      return "sleeping";
    case woken:
      return "woken";
    case stopped:
      break;
  }
  return "stopped";
}

inline std::string agent_event::line() const {
  switch (kind) {
    case run:
      return report ? report->line() : format_time(at) + " run";
    case sleeping:
      return format_time(at) + " sleeping until " + (until ? format_time(*until) : std::string("?")) + " (" +
             reason + ")";
    case woken:
      return format_time(at) + " woken: reading the store again";
    case started:
      return format_time(at) + " agent started";
    case stopped:
      break;
  }
  return format_time(at) + " agent stopped";
}

inline void to_json(nlohmann::json& j, const agent_event& e) {
  j = nlohmann::json{{"event", e.kind_name()}, {"at", format_time(e.at)}};
  j["report"] = e.report ? nlohmann::json(*e.report) : nlohmann::json();
  j["until"] = e.until ? nlohmann::json(format_time(*e.until)) : nlohmann::json();
  j["reason"] = e.reason.empty() ? nlohmann::json() : nlohmann::json(e.reason);
  j["line"] = e.line();
}

inline agent::agent(const token_store& store, agent_options options, clock_ref clock)
    : store_(store), options_(std::move(options)), clock_(clock), random_(options_.seed) {
  if (options_.rotation.strategy.kind != job_strategy::when_due)
    throw std::invalid_argument(
        "agent: the strategy must be when-due (an agent rotating at every wake-up would never stop "
        "rotating)");
  if (options_.recheck < std::chrono::minutes{1})
    throw std::invalid_argument("agent: recheck under a minute");
  if (options_.first_backoff < seconds{1} || options_.first_backoff > options_.recheck)
    throw std::invalid_argument("agent: the backoff must be between 1 second and the recheck");
  if (options_.max_jitter < seconds{0}) throw std::invalid_argument("agent: negative jitter");
}

inline seconds agent::jitter_for(sys_seconds due) {
  if (jitter_due_ == due) return jitter_;
  const seconds cap = std::min(options_.max_jitter, options_.rotation.strategy.margin / 10);
  // A whole number of seconds in [0, cap]: floor(u * (cap + 1)) with u in [0, 1).
  jitter_ = seconds{static_cast<std::int64_t>(random_.uniform() * static_cast<double>(cap.count() + 1))};
  jitter_due_ = due;
  return jitter_;
}

inline wake_plan agent::plan(const run_report& r, sys_seconds now) {
  const sys_seconds latest = now + options_.recheck;
  std::optional<sys_seconds> due;
  if (r.status == run_status::not_due) {
    due = r.rotate_from;
  } else if (r.status == run_status::rotated && r.token) {
    const standard_policy policy{};  // the rotation deadline does not depend on the buffer
    if (const auto deadline = policy.rotation_deadline(*r.token))
      due = *deadline - options_.rotation.strategy.margin;
  }
  switch (r.status) {
    case run_status::rotated:
    case run_status::not_due: {
      backoff_ = seconds{0};
      if (!due) return {latest, "recheck: the token has no rotation deadline"};
      // A recheck lands before the due instant, never inside the jitter (the job would rotate
      // there, the jitter lost); from the due instant on, the wake-up is due + jitter.
      if (*due > latest) return {latest, "recheck; rotation due from " + format_time(*due)};
      const seconds jitter = jitter_for(*due);
      return {std::max(*due + jitter, now),
              "rotation due from " + format_time(*due) + ", jitter " + format_duration(jitter)};
    }
    case run_status::failed:
    case run_status::busy: {
      backoff_ = backoff_ == seconds{0} ? options_.first_backoff : std::min(backoff_ * 2, options_.recheck);
      sys_seconds at = now + backoff_;
      std::string reason = std::string(to_string(r.status)) + "; retry in " + format_duration(backoff_);
      if (r.usable_until && *r.usable_until - options_.rotation.safety_margin < at) {
        at = std::max(now + seconds{1}, *r.usable_until - options_.rotation.safety_margin);
        reason = std::string(to_string(r.status)) + "; retry before the token stops working at " +
                 format_time(*r.usable_until);
      }
      return {at, reason};
    }
    case run_status::unusable:
    case run_status::chain_broken:
    case run_status::store_failed:
    case run_status::misconfigured:
      break;
  }
  backoff_ = seconds{0};
  return {latest, std::string(to_string(r.status)) + ": a person must act; the store is read again then"};
}

inline void agent::wake() {
  std::lock_guard lock(mutex_);
  wake_requested_ = true;
  if (nap_ != nullptr) nap_->request_stop();
}

inline int agent::run(stop_token stop) {
  emit({.kind = agent_event::started, .at = clock_.now()});
  rotator_options job_options = options_.rotation;
  job_options.stop = stop;  // a retry's backoff ends at a stop; a save is never abandoned
  rotator job{store_, std::move(job_options), clock_};
  // The last not-due instant logged (when `announced`): repeats are quiet. (Not an optional:
  // GCC 12 warns of a maybe-uninitialized read comparing one.)
  bool announced = false;
  sys_seconds announced_from{};
  std::optional<wake_plan> last_plan;
  while (!stop.stop_requested()) {
    const run_report report = job.run();
    if (report.status == run_status::misconfigured) {
      emit({.kind = agent_event::run, .at = report.finished, .report = report});
      emit({.kind = agent_event::stopped, .at = clock_.now()});
      return 2;
    }
    const bool not_due = report.status == run_status::not_due && report.rotate_from.has_value();
    const bool repeat = not_due && announced && announced_from == report.rotate_from.value_or(sys_seconds{});
    if (!repeat) emit({.kind = agent_event::run, .at = report.finished, .report = report});
    announced = not_due;
    if (not_due) announced_from = report.rotate_from.value_or(sys_seconds{});
    const auto now = clock_.now();
    const wake_plan next = plan(report, now);
    if (!repeat || !last_plan || last_plan->reason != next.reason)
      emit({.kind = agent_event::sleeping, .at = now, .until = next.at, .reason = next.reason});
    last_plan = next;

    stop_source nap;
    {
      std::lock_guard lock(mutex_);
      if (wake_requested_) nap.request_stop();
      nap_ = &nap;
    }
    {
      const stop_callback on_stop(stop, [&nap] { nap.request_stop(); });
      clock_.wait_until(next.at, nap.get_token());
    }
    bool woken = false;
    {
      std::lock_guard lock(mutex_);
      nap_ = nullptr;
      woken = std::exchange(wake_requested_, false);
    }
    if (woken && !stop.stop_requested()) {
      emit({.kind = agent_event::woken, .at = clock_.now()});
      announced = false;  // the run after a wake-up is always logged
    }
  }
  emit({.kind = agent_event::stopped, .at = clock_.now()});
  return 0;
}

}  // namespace rotary
