// rotary/simulate.hpp: the deterministic engine that runs a rotation job against the rules.
//
// A `simulation_plan` is a scenario made concrete (scenario.hpp builds one): the policy, the
// initial token, the fire instants of the schedule inside the horizon, what the job does at
// each fire, and the faults. Virtual time jumps from attempt to attempt; nothing sleeps.
//
//     auto plan = rotary::prepare(scenario).value();
//     auto run  = rotary::simulate_run(plan);                 // every run succeeds but outages
//     auto p    = rotary::exact_lapse_probability(plan);      // dynamic programme, not sampling
//     auto mc   = rotary::monte_carlo(plan, 10'000, seed);    // for what the DP does not model
//
// The job model. At each fire `f` the job decides whether to rotate: always, or under
// `when-due:MARGIN` when its own clock (`f + clock_skew`) has reached the token's deadline minus
// the margin. A run makes up to `1 + retries` attempts at `f + job_duration + k * retry_delay`,
// each strictly before the next fire and the horizon's end. An attempt fails when it falls in an
// outage, or with probability `fail_rate`; otherwise the server commits the rotation, and with
// probability `lost_rate` the response is lost (the client keeps the parent, which the server
// has now rotated). The server answers through the policy, so under `rerotation::reject` a
// retry after a lost response is refused and the chain is broken; under `fork` or `idempotent`
// it succeeds while the parent's buffer lasts. Fires at the same instant are one run (the job
// holds a lock).
//
// A lapse is the first instant before the horizon's end at which the token the client holds is
// unusable and it has no successor: a run at the very instant the token dies is too late.
// Invariants are checked at every rotation (detail::check_invariants); a violation throws
// std::logic_error.
//
// Scale. The fires are runs of equal steps (fire_sequence.hpp). A run nobody watches (no event
// sink) crosses the inside of such a run in one step where nothing can happen in it: the fires
// that are not yet due under `when-due`, and, with no random outcome, the fires that rotate at
// their first attempt, when the step is shorter than the period and no outage, hard expiry or
// horizon end falls inside (each child then lives past the next attempt, so the policy would
// agree to every rotation). The worst gap and the tolerance cross runs the same way. A watched
// run goes fire by fire through the policy; tests hold the two to the same outcome.
#pragma once

#include <rotary/detail/random.hpp>
#include <rotary/fire_sequence.hpp>
#include <rotary/job_strategy.hpp>
#include <rotary/policy.hpp>
#include <rotary/time.hpp>
#include <rotary/token.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace rotary {

// [from, until): every attempt inside fails.
struct outage_window {
  sys_seconds from;
  sys_seconds until;
  friend constexpr bool operator==(const outage_window&, const outage_window&) = default;
};

struct simulation_plan {
  standard_policy policy{};
  token_state initial{};  // fresh: never rotated; created_at <= from
  sys_seconds from{};
  sys_seconds until{};  // exclusive; already clamped to the hard expiry
  bool clamped_to_hard_expiry = false;
  fire_sequence fires;  // sorted, distinct, inside [from, until); runs of equal steps
  job_strategy strategy{};
  int retries = 0;
  seconds retry_delay{60};
  seconds job_duration{0};
  seconds clock_skew{0};  // the client's clock minus the true time
  double fail_rate = 0;   // per attempt
  double lost_rate = 0;   // per committed rotation
  rerotation semantics = rerotation::reject;
  std::vector<outage_window> outages;  // sorted, disjoint
};

// What happened, in order. `rule` names the rule for a lapse and the refusal code for a refusal;
// for `rotated`, `until` is when the parent stops working and `created` the child's creation.
struct sim_event {
  enum kind_type { run, skipped, attempt_failed, outage, rotated, response_lost, refused, run_failed, lapse };
  sys_seconds at;
  kind_type kind = run;
  std::string_view rule;
  std::optional<sys_seconds> until;
  std::optional<sys_seconds> created;  // for `rotated`: the child's creation (an idempotent replay
                                       // returns the child made by the first, lost, rotation)
  friend constexpr bool operator==(const sim_event&, const sim_event&) = default;
};

[[nodiscard]] constexpr std::string_view to_string(sim_event::kind_type k) noexcept {
  constexpr std::string_view names[] = {"run",           "skipped", "attempt-failed", "outage", "rotated",
                                        "response-lost", "refused", "run-failed",     "lapse"};
  return names[k];
}

struct lapse_point {
  sys_seconds at;
  std::string_view rule;  // "rotation-period", "buffer" or "hard-expiry"
  friend constexpr bool operator==(const lapse_point&, const lapse_point&) = default;
};

// A stretch of time between two token creations.
struct gap_window {
  seconds length{0};
  sys_seconds from;
  sys_seconds to;
  friend constexpr bool operator==(const gap_window&, const gap_window&) = default;
};

struct run_outcome {
  std::optional<lapse_point> first_lapse;
  std::int64_t runs = 0;  // runs that decided to rotate (skipped runs not counted)
  std::int64_t skipped = 0;
  std::int64_t rotations = 0;
  std::int64_t failed_runs = 0;
  std::int64_t attempts = 0;
  std::int64_t lost_responses = 0;
  bool chain_broken = false;  // refused after a lost response: no rotation can succeed again
  std::optional<gap_window> worst_gap;
  [[nodiscard]] bool lapsed() const noexcept { return first_lapse.has_value(); }
};

// Where a run's random outcomes come from: `chance(p)` is true with probability p.
// detail::xoshiro256 is the one rotary uses; tests script their own to enumerate outcomes.
template <class D>
concept Draws = requires(D& d, double p) {
  { d.chance(p) } -> std::same_as<bool>;
};

// Where a run's events go, one at a time, in order: any callable taking a `const sim_event&`.
// A picture or a consumer analysis aggregates them as they come; nothing need be stored.
template <class S>
concept event_sink = std::invocable<S&, const sim_event&>;

// One run of the job over the horizon. Without draws, only outages fail (the nominal run);
// with them, failures and lost responses are drawn. Events go to `events` when given. Stops at
// the first lapse.
template <Draws D = detail::xoshiro256>
run_outcome simulate_run(const simulation_plan& plan, D* rng = nullptr,
                         std::vector<sim_event>* events = nullptr);
// The same run, each event handed to `sink` as it happens.
template <Draws D, event_sink S>
run_outcome simulate_run(const simulation_plan& plan, D* rng, S&& sink);

// The worst gap between successful rotations if no token ever died (every run outside an
// outage succeeds; the initial token's creation counts as a rotation). The tail after the last
// rotation counts only when it outlasts the period (it ends the token inside the horizon).
std::optional<gap_window> nominal_worst_gap(const simulation_plan& plan);

// Consecutive failed runs that no point of the horizon can fail to survive: the largest k such
// that from every state the job can reach, k failed runs and a success still come before the
// token dies. nullopt: no state's token dies inside the horizon (any number of failures).
// For `always`, this is the largest k with fire[i+k+1] - fire[i] < period for every i (the
// initial creation counts as a fire, the horizon's end as a final deadline). Retries inside a
// run and outages are not counted: this is a property of the schedule.
std::optional<std::int64_t> tolerated_failures(const simulation_plan& plan);

// The exact probability of a lapse before the horizon's end with independent failures per
// attempt (and lost responses under `reject`), by dynamic programming over the token the
// client holds: O(attempts). nullopt when the model does not apply (lost responses under
// `fork` or `idempotent`: use monte_carlo).
std::optional<double> exact_lapse_probability(const simulation_plan& plan);
// Whether exact_lapse_probability answers (it does unless lost responses meet `fork` or
// `idempotent`): a cost estimate can ask without running it.
[[nodiscard]] constexpr bool exact_model_applies(const simulation_plan& plan) noexcept {
  return !(plan.lost_rate > 0 && plan.semantics != rerotation::reject);
}

struct monte_carlo_result {
  std::int64_t trials = 0;
  std::int64_t lapses = 0;
  double estimate = 0;
  double low = 0;  // Wilson score interval, 95%
  double high = 0;
  friend constexpr bool operator==(const monte_carlo_result&, const monte_carlo_result&) = default;
};

// `trials` seeded runs (trial i uses detail::trial_seed(seed, i)).
monte_carlo_result monte_carlo(const simulation_plan& plan, std::int64_t trials, std::uint64_t seed);
// The same, calling `progress(done, trials)` about a thousand times along the way and at the end.
template <class P>
requires std::invocable<P&, std::int64_t, std::int64_t> monte_carlo_result
monte_carlo(const simulation_plan& plan, std::int64_t trials, std::uint64_t seed, P&& progress);

// The Wilson score interval for `hits` of `n` at z (1.96 for 95%).
[[nodiscard]] inline std::pair<double, double> wilson_interval(std::int64_t hits, std::int64_t n,
                                                               double z = 1.959963984540054) {
  if (n <= 0) return {0.0, 1.0};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(hits) / nn;
  const double z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

// ---------------------------------------------------------------------------------------------

namespace detail {

// Whether `t` falls in an outage; `cursor` advances monotonically with t.
inline bool in_outage(const std::vector<outage_window>& outages, std::size_t& cursor, sys_seconds t) {
  while (cursor < outages.size() && outages[cursor].until <= t) ++cursor;
  return cursor < outages.size() && outages[cursor].from <= t;
}

// The instant the client's token dies (policy.usable_until; the horizon's end when never).
inline sys_seconds death_of(const simulation_plan& plan, const token_state& t) {
  const auto u = plan.policy.usable_until(t);
  return u ? *u : sys_seconds::max();
}

// Attempt instants of the run at `fire`: fire + duration + k * delay, strictly before the next
// fire and the horizon's end.
template <class F>
void for_each_attempt(const simulation_plan& plan, sys_seconds fire, sys_seconds next, F&& f) {
  const sys_seconds limit = std::min(next, plan.until);
  for (int k = 0; k <= plan.retries; ++k) {
    const sys_seconds t = fire + plan.job_duration + plan.retry_delay * k;
    if (t >= limit) return;
    if (!f(t)) return;
  }
}

// The fire after `it` (the horizon's end after the last).
inline sys_seconds next_fire_or_end(const simulation_plan& plan, fire_sequence::iterator it) {
  return ++it == plan.fires.end() ? plan.until : *it;
}

// The first outage that ends after `t` (nullptr if none); `cursor` advances as in in_outage.
inline const outage_window* outage_after(const std::vector<outage_window>& outages, std::size_t& cursor,
                                         sys_seconds t) {
  while (cursor < outages.size() && outages[cursor].until <= t) ++cursor;
  return cursor < outages.size() ? &outages[cursor] : nullptr;
}

// Crossing a run of fires in one step. `it` is at fire k of a run of step d. These answer how
// far the run goes on the same way; each is at least 1 when fire k itself qualifies.
//
// The fires from k on that come before `bound` (the run's end at most).
inline std::size_t fires_before(fire_sequence::iterator it, sys_seconds bound) {
  const auto& r = it.current_run();
  const std::size_t rest = r.count - it.index_in_run();
  if (bound == sys_seconds::max() || r.count == 1) return bound > *it ? rest : 0;
  if (bound <= *it) return 0;
  const auto steps = static_cast<std::size_t>((bound - *it + r.step - seconds{1}) / r.step);
  return std::min(rest, steps);
}

// The fires after k, up to the run's last but one (whose next fire is in the run), whose first
// attempt (fire + duration) comes before `limit` and before the next fire, and outside every
// outage: the fires a run nobody watches can succeed at in one step, when nothing else happens.
inline std::size_t clean_attempts_after(const simulation_plan& plan, fire_sequence::iterator it,
                                        std::size_t& outage_cursor, sys_seconds limit) {
  const auto& r = it.current_run();
  const std::size_t k = it.index_in_run();
  if (r.count < 3 || k + 2 >= r.count || plan.job_duration >= r.step) return 0;
  const sys_seconds first = r.at(k + 1) + plan.job_duration;  // the first attempt of fire k + 1
  if (const auto* o = outage_after(plan.outages, outage_cursor, first)) limit = std::min(limit, o->from);
  if (first >= limit) return 0;
  const auto more = static_cast<std::size_t>((limit - seconds{1} - first) / r.step);
  return std::min(r.count - 2 - k, 1 + more);
}

// A fresh token created at `created`, as the plan's initial one would be.
inline token_state child_of(const simulation_plan& plan, sys_seconds created) {
  return token_state{created, plan.initial.rotation_period, plan.initial.expires_at, std::nullopt};
}

// The instant before which a fire is not due for a token dying at `deadline` (when_due).
inline sys_seconds due_from(const simulation_plan& plan, sys_seconds deadline) {
  if (deadline == sys_seconds::max()) return deadline;
  return deadline - plan.strategy.margin - plan.clock_skew;
}

// The engine's invariants, checked at every rotation: the parent was usable by the engine's own
// account (created, and `at` before the death it cached for the parent: the policy agreed to
// rotate, so the two must agree), the child inherits the period and the hard expiry, and it is
// made now (or, replayed, at the first rotation). A violation is a bug in rotary, never a
// property of the scenario.
inline void check_invariants(const token_state& parent, sys_seconds parent_death, const rotation& r,
                             sys_seconds at) {
  const bool ok =
      parent.created_at <= at && at < parent_death && r.child.rotation_period == parent.rotation_period &&
      r.child.expires_at == parent.expires_at && !r.child.rotated_at &&
      r.child.created_at == (r.replayed ? *parent.rotated_at : at) && r.parent.rotated_at.has_value();
  if (!ok) throw std::logic_error("rotary: simulation invariant violated at " + format_time(at));
}

inline bool due(const simulation_plan& plan, sys_seconds fire, sys_seconds deadline) {
  if (plan.strategy.kind == job_strategy::always) return true;
  return fire + plan.clock_skew >= deadline - plan.strategy.margin;
}

}  // namespace detail

namespace detail {

// The sink of a run nobody watches: no event is made, and stretches where nothing can happen
// are crossed in one step.
struct no_sink {
  void operator()(const sim_event&) const noexcept {}
};

template <Draws D, class S>
run_outcome run_job(const simulation_plan& plan, D* rng, S& sink) {
  constexpr bool watched = !std::is_same_v<S, no_sink>;
  run_outcome out;
  auto emit = [&](sys_seconds at, sim_event::kind_type kind, std::string_view rule = {},
                  std::optional<sys_seconds> until = std::nullopt,
                  std::optional<sys_seconds> created = std::nullopt) {
    if constexpr (watched) sink(sim_event{at, kind, rule, until, created});
  };
  token_state held = plan.initial;         // what the client holds, as it knows it
  token_state server_view = plan.initial;  // the same secret, as the server knows it
  sys_seconds death = detail::death_of(plan, server_view);
  sys_seconds last_creation = held.created_at;
  std::size_t outage_cursor = 0;

  auto lapse_if_dead = [&](sys_seconds now) {
    if (death > now || death >= plan.until) return false;
    const sys_seconds at = std::max(death, plan.from);
    out.first_lapse = lapse_point{
        at, at < plan.initial.created_at ? not_yet_created : plan.policy.limiting_rule(server_view)};
    emit(at, sim_event::lapse, out.first_lapse->rule);
    return true;
  };
  auto note_gap = [&](sys_seconds created) {
    const gap_window g{created - last_creation, last_creation, created};
    if (!out.worst_gap || g.length > out.worst_gap->length) out.worst_gap = g;
    last_creation = created;
  };

  // Unwatched, a run crosses a stretch of fires in one step where nothing can happen in it: the
  // fires of a run of equal steps that are not due (a skipped run draws nothing), and, with no
  // random outcome, the fires of such a run that rotate at their first attempt (the child of
  // each lives a period, longer than the step, so each succeeds in turn).
  const bool nominal = !rng || (plan.fail_rate <= 0 && plan.lost_rate <= 0);
  const bool when_due = plan.strategy.kind == job_strategy::when_due;
  if (lapse_if_dead(plan.from)) return out;
  for (auto it = plan.fires.begin(), end = plan.fires.end(); it != end; ++it) {
    const sys_seconds fire = *it;
    if (lapse_if_dead(fire)) return out;
    if (when_due) {
      const sys_seconds due_from = detail::due_from(plan, detail::death_of(plan, held));
      if (fire < due_from) {
        if constexpr (watched) {
          ++out.skipped;
          emit(fire, sim_event::skipped);
        } else {
          const std::size_t n =
              detail::fires_before(it, death < plan.until ? std::min(due_from, death) : due_from);
          out.skipped += static_cast<std::int64_t>(n);
          it.seek_in_run(it.index_in_run() + n - 1);
        }
        continue;
      }
    }
    ++out.runs;
    emit(fire, sim_event::run);
    bool rotated = false, stop = false;
    detail::for_each_attempt(plan, fire, detail::next_fire_or_end(plan, it), [&](sys_seconds at) {
      if (lapse_if_dead(at)) {
        stop = true;
        return false;
      }
      ++out.attempts;
      if (detail::in_outage(plan.outages, outage_cursor, at)) {
        emit(at, sim_event::outage);
        return true;
      }
      if (rng && plan.fail_rate > 0 && rng->chance(plan.fail_rate)) {
        emit(at, sim_event::attempt_failed);
        return true;
      }
      const auto r = plan.policy.rotate(server_view, at, plan.semantics);
      if (!r) {
        out.chain_broken = true;
        emit(at, sim_event::refused, r.error().code());
        return false;  // 401/400: retrying cannot help
      }
      const rotation& rot = *r;
      detail::check_invariants(server_view, death, rot, at);
      if (rng && plan.lost_rate > 0 && rng->chance(plan.lost_rate)) {
        ++out.lost_responses;
        server_view = rot.parent;
        death = detail::death_of(plan, server_view);
        emit(at, sim_event::response_lost, {}, death);
        return true;
      }
      sys_seconds parent_death{};
      if constexpr (watched) parent_death = detail::death_of(plan, rot.parent);
      held = rot.child;
      server_view = rot.child;
      death = detail::death_of(plan, server_view);
      ++out.rotations;
      note_gap(rot.child.created_at);
      emit(at, sim_event::rotated, {}, parent_death, rot.child.created_at);
      rotated = true;
      return false;
    });
    if (stop) return out;
    if (!rotated) {
      ++out.failed_runs;
      emit(fire, sim_event::run_failed);
      continue;
    }
    if constexpr (!watched) {
      // The next fires of this run rotate at their first attempt while the child outlives the
      // step: all of them when the period is longer than the step (the hard expiry and the
      // horizon's end bound the stretch).
      const auto& run = it.current_run();
      if (!nominal || when_due || !held.rotation_period || seconds{*held.rotation_period} <= run.step)
        continue;
      const sys_seconds limit = held.expires_at ? std::min(plan.until, *held.expires_at) : plan.until;
      const std::size_t n = detail::clean_attempts_after(plan, it, outage_cursor, limit);
      if (n == 0) continue;
      const sys_seconds first = run.at(it.index_in_run() + 1) + plan.job_duration;
      const sys_seconds last = first + run.step * static_cast<std::int64_t>(n - 1);
      out.runs += static_cast<std::int64_t>(n);
      out.attempts += static_cast<std::int64_t>(n);
      out.rotations += static_cast<std::int64_t>(n);
      note_gap(first);
      if (n >= 2 && run.step > out.worst_gap->length)
        out.worst_gap = gap_window{run.step, first, first + run.step};
      last_creation = last;
      held = server_view = detail::child_of(plan, last);
      death = detail::death_of(plan, server_view);
      it.seek_in_run(it.index_in_run() + n);
    }
  }
  lapse_if_dead(plan.until);
  return out;
}

}  // namespace detail

template <Draws D>
run_outcome simulate_run(const simulation_plan& plan, D* rng, std::vector<sim_event>* events) {
  if (events) {
    auto push = [events](const sim_event& e) { events->push_back(e); };
    return detail::run_job(plan, rng, push);
  }
  detail::no_sink none;
  return detail::run_job(plan, rng, none);
}

template <Draws D, event_sink S>
run_outcome simulate_run(const simulation_plan& plan, D* rng, S&& sink) {
  return detail::run_job(plan, rng, sink);
}

inline std::optional<gap_window> nominal_worst_gap(const simulation_plan& plan) {
  std::optional<gap_window> worst;
  sys_seconds last = plan.initial.created_at;
  token_state held = plan.initial;
  std::size_t outage_cursor = 0;
  auto note = [&](sys_seconds from, sys_seconds to) {
    const gap_window g{to - from, from, to};
    if (!worst || g.length > worst->length) worst = g;
  };
  const bool when_due = plan.strategy.kind == job_strategy::when_due;
  for (auto it = plan.fires.begin(), end = plan.fires.end(); it != end; ++it) {
    if (when_due) {  // the run's fires before this token is due are skipped, all at once
      const std::size_t n = detail::fires_before(it, detail::due_from(plan, detail::death_of(plan, held)));
      if (n > 0) {
        it.seek_in_run(it.index_in_run() + n - 1);
        continue;
      }
    }
    std::optional<sys_seconds> success;
    detail::for_each_attempt(plan, *it, detail::next_fire_or_end(plan, it), [&](sys_seconds at) {
      if (detail::in_outage(plan.outages, outage_cursor, at)) return true;
      success = at;
      return false;
    });
    if (!success) continue;
    note(last, *success);
    last = *success;
    if (!when_due) {  // the run's next fires succeed at their first attempt, one step apart
      const std::size_t n = detail::clean_attempts_after(plan, it, outage_cursor, plan.until);
      if (n > 0) {
        const auto& run = it.current_run();
        const sys_seconds first = run.at(it.index_in_run() + 1) + plan.job_duration;
        note(last, first);
        if (n >= 2) note(first, first + run.step);
        last = first + run.step * static_cast<std::int64_t>(n - 1);
        it.seek_in_run(it.index_in_run() + n);
      }
    }
    held = detail::child_of(plan, last);
  }
  if (held.rotation_period && plan.until - last > *held.rotation_period) note(last, plan.until);
  return worst;
}

inline std::optional<std::int64_t> tolerated_failures(const simulation_plan& plan) {
  // States: the initial token (index 0) and a success at each fire (index j + 1), created at
  // the fire's first attempt. Each state has a window of runs [a, b) it would attempt before it
  // dies; a state is reachable when it is the initial one or inside a reachable state's window.
  // Windows are monotone in the state, so two cursors find them, and the windows not yet begun
  // wait in a queue (at most the states of one period): nothing is kept per fire.
  if (!plan.initial.rotation_period) return std::nullopt;
  const std::size_t n = plan.fires.size();
  const seconds period = *plan.initial.rotation_period;
  auto death = [&](sys_seconds created) {
    const sys_seconds d = created + period;
    return plan.initial.expires_at ? std::min(d, *plan.initial.expires_at) : d;
  };
  struct cursor {
    fire_sequence::iterator at;
    std::size_t index = 0;
    void step() { ++at, ++index; }
  };
  const bool always = plan.strategy.kind == job_strategy::always;
  cursor a{plan.fires.begin()}, b{plan.fires.begin()};
  std::optional<std::int64_t> tolerance;
  std::deque<std::pair<std::size_t, std::size_t>> waiting;  // reachable windows [a, b) not yet begun
  std::size_t reach = 0;                                    // the furthest end of the windows begun
  auto state = [&](std::size_t s, sys_seconds created) {
    while (a.index < s) a.step();  // fires after the state's own fire: indices >= s
    const sys_seconds d = death(created);
    if (plan.strategy.kind == job_strategy::when_due)
      while (a.index < n && !detail::due(plan, *a.at, d)) a.step();
    while (b.index < a.index) b.step();
    while (b.index < n && *b.at + plan.job_duration < d) b.step();
    if (d < plan.until) {
      const auto m = static_cast<std::int64_t>(b.index - a.index);
      tolerance = tolerance ? std::min(*tolerance, m - 1) : m - 1;
    }
    if (b.index > a.index) waiting.emplace_back(a.index, b.index);
  };
  state(0, plan.initial.created_at);
  std::size_t j = 0;
  for (auto it = plan.fires.begin(), end = plan.fires.end(); it != end; ++it, ++j) {
    while (!waiting.empty() && waiting.front().first <= j) {
      reach = std::max(reach, waiting.front().second);
      waiting.pop_front();
    }
    if (reach <= j) continue;
    state(j + 1, *it + plan.job_duration);  // fire j is a success state
    if (!always) continue;
    // Inside a run of step d, under `always`, the state of a success at fire i (created at
    // f_i + duration, dying a period later) attempts the next q - 1 fires, q = ceil(period / d),
    // when they are in the run and the hard expiry is not nearer: each such state is reachable
    // from the one before (q >= 2) and tolerates q - 2 failures. They are crossed at once, up to
    // the last fire whose window ends inside the run.
    const auto& run = it.current_run();
    if (run.count < 2) continue;
    const std::int64_t q = (period + run.step - seconds{1}) / run.step;
    const auto k = static_cast<std::int64_t>(it.index_in_run());
    std::int64_t last = static_cast<std::int64_t>(run.count) - 1 - q;
    if (plan.initial.expires_at) {
      const auto room = *plan.initial.expires_at - period - plan.job_duration - *it;
      last = std::min(last, room < seconds{0} ? k - 1 : k + static_cast<std::int64_t>(room / run.step));
    }
    if (q < 2 || last <= k) continue;
    const auto crossed = static_cast<std::size_t>(last - k);
    if (run.at(static_cast<std::size_t>(k) + 1) + plan.job_duration + period < plan.until)
      tolerance = tolerance ? std::min(*tolerance, q - 2) : q - 2;
    j += crossed;
    it.seek_in_run(static_cast<std::size_t>(last));
    // Where the walk would now be: the last crossed state's window [j + 1, j + q).
    waiting.clear();
    reach = std::max(reach, j + static_cast<std::size_t>(q));
    a.at = it, a.index = j;
    a.step();
    b.at = a.at, b.index = a.index;
    b.at.seek_in_run(static_cast<std::size_t>(last + q));
    b.index = j + static_cast<std::size_t>(q);
  }
  if (tolerance && *tolerance < 0) tolerance = 0;
  return tolerance;
}

inline std::optional<double> exact_lapse_probability(const simulation_plan& plan) {
  if (!exact_model_applies(plan)) return std::nullopt;
  // Attempt slots in time order.
  struct slot {
    sys_seconds at;
    std::size_t fire;
    double q;  // failure probability of this attempt
  };
  std::vector<slot> slots;
  std::vector<std::size_t> first_slot(plan.fires.size() + 1, 0);
  std::vector<sys_seconds> fire_at;  // the fires by index, for the when_due cursor below
  if (plan.strategy.kind == job_strategy::when_due) fire_at.reserve(plan.fires.size());
  std::size_t outage_cursor = 0, index = 0;
  for (auto it = plan.fires.begin(), end = plan.fires.end(); it != end; ++it, ++index) {
    first_slot[index] = slots.size();
    if (plan.strategy.kind == job_strategy::when_due) fire_at.push_back(*it);
    detail::for_each_attempt(plan, *it, detail::next_fire_or_end(plan, it), [&](sys_seconds at) {
      slots.push_back({at, index, detail::in_outage(plan.outages, outage_cursor, at) ? 1.0 : plan.fail_rate});
      return true;
    });
  }
  first_slot[plan.fires.size()] = slots.size();
  const double lost = plan.lost_rate;
  const seconds buffer = plan.policy.get<buffer_period>().length;

  // A state is the token the client holds: the initial one, or the child made at a slot.
  struct state {
    sys_seconds created;
    std::size_t fire;  // the fire whose run made it (npos for the initial token)
    long double mass;
    sys_seconds death;
    std::size_t a = 0, b = 0;  // the slots it attempts: [a, b)
    long double log_at_activation = 0;
  };
  constexpr std::size_t none = static_cast<std::size_t>(-1);
  // States are made in time order and their windows only move forward, so two cursors find
  // every window in amortised O(1).
  std::size_t due_cursor = 0, death_cursor = 0;
  auto make_state = [&](sys_seconds created, std::size_t fire, long double mass) {
    state s{created, fire, mass,
            detail::death_of(plan, token_state{created, plan.initial.rotation_period, plan.initial.expires_at,
                                               std::nullopt})};
    std::size_t j = std::max(due_cursor, fire == none ? std::size_t{0} : fire + 1);
    if (plan.strategy.kind == job_strategy::when_due)
      while (j < plan.fires.size() && !detail::due(plan, fire_at[j], s.death)) ++j;
    due_cursor = j;
    s.a = first_slot[j];
    death_cursor = std::max(death_cursor, s.a);
    while (death_cursor < slots.size() && slots[death_cursor].at < s.death) ++death_cursor;
    s.b = death_cursor;
    return s;
  };

  long double lapse = 0;
  std::deque<state> pending, active;
  long double weight = 0;  // total mass of active states before the current attempt
  long double log_q = 0;   // sum of log(q) over the slots so far (certain slots excluded)
  auto retire = [&](const state& s, long double w) {
    if (s.death < plan.until) lapse += w;
  };
  auto current = [&](const state& s) { return s.mass * std::exp(log_q - s.log_at_activation); };

  const state initial = make_state(plan.initial.created_at, none, 1.0L);
  if (initial.death <= plan.from && initial.death < plan.until) return 1.0;
  pending.push_back(initial);
  for (std::size_t i = 0; i <= slots.size(); ++i) {
    // Activate the states whose first attempt is this slot; a state with no attempt before
    // it dies lapses with all its mass.
    while (!pending.empty() && pending.front().a <= i) {
      state s = pending.front();
      pending.pop_front();
      if (s.b <= s.a || i == slots.size()) {
        retire(s, s.mass);
        continue;
      }
      s.log_at_activation = log_q;
      weight += s.mass;
      active.push_back(s);
    }
    // Retire the states that died before this slot.
    while (!active.empty() && active.front().b <= i) {
      const long double w = current(active.front());
      retire(active.front(), w);
      weight -= w;
      active.pop_front();
    }
    if (active.empty()) weight = 0;
    if (i == slots.size()) break;
    if (weight <= 0) continue;
    const slot& sl = slots[i];
    const long double q = sl.q;
    const long double committed = weight * (1 - q);
    if (lost > 0) {
      const long double broken = committed * lost;
      if (sl.at + buffer < plan.until) {
        lapse += broken;
      } else {
        for (const auto& s : active)
          if (s.death < plan.until) lapse += current(s) * (1 - q) * lost;
      }
    }
    const long double success = committed * (1 - lost);
    if (success > 0) {
      state child = make_state(sl.at, sl.fire, success);
      pending.push_back(child);
    }
    if (q <= 0) {
      active.clear();
      weight = 0;
    } else if (q < 1) {
      weight *= q;
      log_q += std::log(q);
    }
  }
  double p = static_cast<double>(lapse);
  return std::clamp(p, 0.0, 1.0);
}

template <class P>
requires std::invocable<P&, std::int64_t, std::int64_t> monte_carlo_result
monte_carlo(const simulation_plan& plan, std::int64_t trials, std::uint64_t seed, P&& progress) {
  monte_carlo_result r;
  r.trials = trials;
  const std::int64_t every = std::max<std::int64_t>(1, trials / 1000);
  for (std::int64_t i = 0; i < trials; ++i) {
    detail::xoshiro256 rng(detail::trial_seed(seed, static_cast<std::uint64_t>(i)));
    if (simulate_run(plan, &rng).lapsed()) ++r.lapses;
    if ((i + 1) % every == 0 || i + 1 == trials) progress(i + 1, trials);
  }
  r.estimate = trials > 0 ? static_cast<double>(r.lapses) / static_cast<double>(trials) : 0.0;
  std::tie(r.low, r.high) = wilson_interval(r.lapses, trials);
  return r;
}

inline monte_carlo_result monte_carlo(const simulation_plan& plan, std::int64_t trials, std::uint64_t seed) {
  return monte_carlo(plan, trials, seed, [](std::int64_t, std::int64_t) noexcept {});
}

}  // namespace rotary
