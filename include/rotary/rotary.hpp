// rotary/rotary.hpp: the core of rotary in one include (no HTTP, no OpenSSL).
#pragma once

#include <rotary/clock.hpp>
#include <rotary/diagnostic.hpp>
#include <rotary/json.hpp>
#include <rotary/outcome.hpp>
#include <rotary/policy.hpp>
#include <rotary/rules.hpp>
#include <rotary/time.hpp>
#include <rotary/token.hpp>
