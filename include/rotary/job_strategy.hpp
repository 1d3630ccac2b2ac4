// rotary/job_strategy.hpp: when a rotation job rotates, at each of its runs.
//
// A rotation job runs on a schedule (cron, or every N hours). At each run it either rotates
// the token it holds or leaves it alone. The strategy says which:
//
//   always              rotate at every run (the vendor guide's sample job, docs/rules.md);
//   when_due, margin    rotate only once the job's own clock has reached the token's rotation
//                       deadline minus `margin`; earlier runs are "not due" and do nothing.
//
//     rotary::job_strategy every_run{};                                          // always
//     rotary::job_strategy lazy{rotary::job_strategy::when_due, std::chrono::hours{24}};
//     // A token created 2027-01-01T00:00Z with a 60-hour rotation period has its deadline at
//     // 2027-01-03T12:00Z: under `lazy`, a run at 2027-01-02T11:00Z is not due, a run at
//     // 2027-01-02T12:00Z (deadline - 24h) rotates.
//
// A margin shorter than the interval between runs can let the deadline pass between two runs;
// `rotary check` and the simulator (simulate.hpp) measure what a strategy risks. The real job
// (rotator.hpp) and the simulated one decide the same way. On the command line the strategy is
// spelled `always` or `when-due:MARGIN` (`when-due:24h`); in a scenario file,
// `"job": {"strategy": "when-due", "marginSeconds": 86400}`.
#pragma once

#include <rotary/time.hpp>

namespace rotary {

// When the job rotates: at every run, or only when the deadline is within `margin`.
struct job_strategy {
  enum kind_type { always, when_due };
  kind_type kind = always;
  seconds margin{0};  // when_due rotates from the deadline minus this (zero or more)
  friend constexpr bool operator==(const job_strategy&, const job_strategy&) = default;
};

}  // namespace rotary
