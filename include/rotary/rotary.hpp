// rotary/rotary.hpp: the core of rotary in one include: rules, time, clocks, cron and
// schedules, the simulator and JSON. No HTTP, no OpenSSL (those are rotary::http's headers:
// client.hpp, fake_server.hpp, store.hpp, rotator.hpp).
#pragma once

#include <rotary/advise.hpp>
#include <rotary/clock.hpp>
#include <rotary/cron.hpp>
#include <rotary/diagnostic.hpp>
#include <rotary/json.hpp>
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
