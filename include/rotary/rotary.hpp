// rotary/rotary.hpp: the core of rotary in one include: time, zones, clocks, rules, cron and
// schedules, and the simulator. No HTTP, no OpenSSL (those are rotary::http's headers:
// client.hpp, fake_server.hpp, store.hpp, rotator.hpp, drill.hpp), and no JSON: the
// conversions to and from nlohmann::json are in rotary/json.hpp, included where they are used,
// so that a program that never reads JSON does not compile them.
#pragma once

#include <rotary/advise.hpp>
#include <rotary/clock.hpp>
#include <rotary/cron.hpp>
#include <rotary/diagnostic.hpp>
#include <rotary/outcome.hpp>
#include <rotary/policy.hpp>
#include <rotary/report.hpp>
#include <rotary/rules.hpp>
#include <rotary/scenario.hpp>
#include <rotary/schedule.hpp>
#include <rotary/simulate.hpp>
#include <rotary/time.hpp>
#include <rotary/token.hpp>
#include <rotary/wire.hpp>
#include <rotary/zone.hpp>
