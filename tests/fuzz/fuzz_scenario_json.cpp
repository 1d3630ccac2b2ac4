// Fuzz target: scenario files (`rotary check --scenario`): JSON -> from_json -> prepare.
// Checks: only nlohmann parse errors (and out_of_range for 1e999), rotary::json_error and rotary::parse_error
// come out of reading; a scenario that reads (with well-formed outages) writes back (to_json) to one that
// reads equal; prepare never throws, names a field when it refuses, and a plan has its fires in order inside
// the horizon. Scenarios whose horizon is longer than two years are read but not prepared: a dense schedule
// over a century is up to 20 million fires (prepare's own limit), seconds of work under ASan,
// which is a cost rather than a bug.
#include <rotary/json.hpp>
#include <rotary/scenario.hpp>

#include "fuzz_check.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  rotary::scenario s;
  try {
    s = nlohmann::json::parse(text).get<rotary::scenario>();
  } catch (const nlohmann::json::parse_error&) {
    return 0;
  } catch (const nlohmann::json::out_of_range&) {  // a number too large for a double: 1e999
    return 0;
  } catch (const rotary::json_error&) {
    return 0;
  } catch (const rotary::parse_error&) {
    return 0;
  }
  // What `rotary check --save-scenario` writes (after prepare accepted it) reads back equal. An
  // outage whose "until" is before its "from" reads, is refused by prepare, and writes as a
  // negative "seconds" that does not read: so only well-formed outages are round-tripped here.
  const bool outages_ok =
      std::all_of(s.outages.begin(), s.outages.end(), [](const auto& o) { return o.until > o.from; });
  if (outages_ok) {
    const nlohmann::ordered_json written = s;
    const auto again = nlohmann::json::parse(written.dump()).get<rotary::scenario>();
    FUZZ_CHECK(again == s);
  }

  const auto from = s.from ? s.from : s.created_at;
  if (!from) return 0;
  const auto until = s.until ? *s.until : *from + s.horizon;
  if (until - *from > std::chrono::days{2 * 366}) return 0;
  const auto plan = rotary::prepare(s);
  if (!plan) {
    FUZZ_CHECK(!plan.error().field.empty() && !plan.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(outages_ok);
  FUZZ_CHECK(plan->from < plan->until);
  FUZZ_CHECK(std::is_sorted(plan->fires.begin(), plan->fires.end()));
  for (const auto t : plan->fires) FUZZ_CHECK(t >= plan->from && t < plan->until);
  return 0;
}
