// rotary token: explains a token at an instant (usable or not and why, the deadline, the
// buffer, the hard expiry).
#include "command.hpp"

#include <nlohmann/json.hpp>
#include <rotary/clock.hpp>
#include <rotary/json.hpp>
#include <rotary/policy.hpp>

namespace {

using namespace rotary;

std::string describe(std::string_view rule) {
  if (rule == fixed_period::name) return "its rotation period ran out";
  if (rule == buffer_period::name) return "the buffer after its rotation is over";
  if (rule == hard_expiry::name) return "the chain reached its hard expiry";
  if (rule == not_yet_created) return "it is not created yet";
  return std::string(rule);
}

std::string relative(sys_seconds at, sys_seconds t) {
  return t > at ? "in " + format_duration(t - at) : format_duration(at - t) + " ago";
}

nlohmann::ordered_json iso_or_null(std::optional<sys_seconds> t) {
  return t ? nlohmann::ordered_json(format_time(*t)) : nlohmann::ordered_json();
}

struct options {
  std::string created, expires, rotated, at, period, buffer = "10";
  bool json = false;
};

int run(const options& o) {
  token_state token;
  token.created_at = cli::time_flag("--created", o.created);
  if (!o.period.empty()) token.rotation_period = cli::minutes_flag("--period", o.period);
  token.expires_at = cli::optional_time_flag("--expires", o.expires);
  token.rotated_at = cli::optional_time_flag("--rotated", o.rotated);
  const auto buffer = cli::duration_flag("--buffer", o.buffer, bare_number::in_minutes);
  if (token.rotated_at && *token.rotated_at < token.created_at)
    throw cli::usage_error{"--rotated " + cli::escape(o.rotated) + ": before --created " +
                           cli::escape(o.created)};
  const auto at = o.at.empty() ? real_clock{}.now() : cli::time_flag("--at", o.at);

  const standard_policy policy{fixed_period{}, buffer_period{buffer}, hard_expiry{}};
  const auto state = policy.check(token, at);
  const auto deadline = token.rotated() ? std::nullopt : policy.rotation_deadline(token);
  const auto buffer_end = policy.get<buffer_period>().unusable_from(token);

  if (o.json) {
    nlohmann::ordered_json j = {
        {"at", format_time(at)},
        {"usable", state.usable},
        {"endedBy", state.ended_by.empty() ? nlohmann::ordered_json()
                                           : nlohmann::ordered_json(std::string(state.ended_by))},
        {"usableUntil", iso_or_null(state.until)},
        {"secondsLeft", state.usable && state.until ? nlohmann::ordered_json((*state.until - at).count())
                                                    : nlohmann::ordered_json()},
        {"rotatable", token.rotatable()},
        {"rotationDeadline", iso_or_null(deadline)},
        {"lastSafeRotation", iso_or_null(token.rotated() ? std::nullopt : policy.last_safe_rotation(token))},
        {"bufferEndsAt", iso_or_null(buffer_end)},
        {"chainEndsAt", iso_or_null(policy.chain_ends_at(token))},
        {"token",
         {{"createdAt", format_time(token.created_at)},
          {"rotationPeriodMinutes", token.rotation_period
                                        ? nlohmann::ordered_json(token.rotation_period->count())
                                        : nlohmann::ordered_json()},
          {"expiresAt", iso_or_null(token.expires_at)},
          {"rotatedAt", iso_or_null(token.rotated_at)}}}};
    std::cout << j.dump(2) << "\n";
    return state.usable ? cli::exit_ok : cli::exit_found;
  }

  std::cout << "at " << format_time(at) << ": ";
  if (state.usable) {
    std::cout << "usable";
    if (state.until)
      std::cout << " until " << format_time(*state.until) << " (" << relative(at, *state.until) << ")";
    std::cout << "\n";
  } else {
    if (state.ended_by == not_yet_created)
      std::cout << "unusable: " << describe(state.ended_by) << " (created " << relative(at, token.created_at)
                << ")\n";
    else
      std::cout << "unusable since " << format_time(*state.until) << " (" << relative(at, *state.until)
                << "): " << describe(state.ended_by) << "\n";
  }
  if (!token.rotatable()) {
    std::cout << "  not rotatable: it has no rotation period\n";
  } else if (token.rotated_at) {
    std::cout << "  rotated        " << format_time(*token.rotated_at) << "; buffer ends "
              << format_time(*buffer_end) << "\n";
  } else if (deadline) {
    std::cout << "  rotate before  " << format_time(*deadline) << " (" << relative(at, *deadline)
              << "; last safe second " << format_time(*policy.last_safe_rotation(token)) << ")\n";
  }
  if (token.expires_at)
    std::cout << "  chain ends     " << format_time(*token.expires_at) << " ("
              << relative(at, *token.expires_at) << "): then a person must create a new token\n";
  else
    std::cout << "  chain ends     never (no hard expiry)\n";
  return state.usable ? cli::exit_ok : cli::exit_found;
}

}  // namespace

ROTARY_COMMAND("token", "Explain a token at an instant: usable or not and why, deadlines, buffer, expiry",
               [](CLI::App& app) {
                 auto o = std::make_shared<options>();
                 app.add_option("--created", o->created, "When the token was created (ISO-8601)")->required();
                 app.add_option("--period", o->period,
                                "Rotation period in minutes (or a duration: 60h, 2d); omit for a "
                                "token that cannot rotate");
                 app.add_option("--expires", o->expires, "Hard expiry of the chain (ISO-8601)");
                 app.add_option("--rotated", o->rotated, "When this token was rotated (ISO-8601)");
                 app.add_option("--at", o->at, "The instant to explain (ISO-8601; default: now)");
                 app.add_option("--buffer", o->buffer, "Buffer after rotation, minutes or a duration")
                     ->default_str("10");
                 app.add_flag("--json", o->json, "Print one JSON document");
                 app.footer(
                     "Exit status: 0 usable at --at, 1 unusable, 2 usage error.\n"
                     "Example: rotary token --created 2027-01-01T00:00:00Z --period 3600 --at "
                     "2027-01-03T11:00:00Z");
                 return [o] { return run(*o); };
               });
