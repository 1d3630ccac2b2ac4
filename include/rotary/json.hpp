// rotary/json.hpp: nlohmann/json conversions for rotary's public types.
//
//     nlohmann::json j = token;                   // {"createdAt": 1798761600, "rotationPeriodMinutes": 3600}
//     auto t = j.get<rotary::token_state>();      // throws rotary::json_error naming a bad field
//
// On the wire (and in these conversions) instants are Unix seconds and field names are
// camelCase, like the API's own `createdAt`. Reading is strict about types and ranges and
// lenient about extra keys. The simulator's reports and scenarios (json_report.hpp) print
// instants as ISO-8601 strings and durations in seconds, as `rotary check --json` does.
// No HTTP library is needed for any of these.
#pragma once

#include <rotary/detail/json_cron.hpp>
#include <rotary/detail/json_read.hpp>
#include <rotary/detail/json_report.hpp>
#include <rotary/detail/json_rules.hpp>
#include <rotary/detail/json_wire.hpp>
