// Hand-made simulation plans for the engine's and the report's tests.
#pragma once

#include <rotary/simulate.hpp>

namespace rotary::test {

inline const sys_seconds t0 = from_unix(1798761600);  // 2027-01-01T00:00:00Z

// A fresh token with `period` at t0, and fires every `every` from t0 + `first_offset` to the
// end of `horizon`.
inline simulation_plan every(seconds every, minutes period, seconds horizon,
                             seconds first_offset = seconds{0}) {
  simulation_plan p;
  p.initial = token_state{t0, period, std::nullopt, std::nullopt};
  p.from = t0;
  p.until = t0 + horizon;
  for (auto t = t0 + first_offset; t < p.until; t += every) p.fires.push_back(t);
  return p;
}

}  // namespace rotary::test
