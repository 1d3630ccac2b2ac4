// rotary/wire.hpp: the /rotatetoken protocol and the fake server's admin API, as types.
//
// The public endpoint, as the real service and its official client use it:
//
//     POST /api/index/v1/rotatetoken          Authorization: Bearer <secret>   (or Basic <secret>)
//     200 {"rawSecret": "...", "createdAt": 1798763400, "rotationPeriodMinutes": 3600}
//     401 {"error": "already-rotated", "message": "..."}
//
// Every other `/api/index/v1/*` path authenticates the same way and answers 200 `{}`.
// The admin API of the fake server (the stand-in for the vendor's admin console) lives under
// `/admin/v1/`. These are plain values; `rotary/detail/json_wire.hpp` (included by
// `rotary/json.hpp`) converts them to and from JSON:
//
//     rotary::wire::rotate_response r = nlohmann::json::parse(body).get<rotary::wire::rotate_response>();
//     r.rotation_period;   // 3600min
//
// No HTTP library is needed to use this header.
#pragma once

#include <rotary/time.hpp>
#include <rotary/token.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rotary::wire {

// --- paths -------------------------------------------------------------------------------------

inline constexpr std::string_view api_prefix = "/api/index/v1/";
inline constexpr std::string_view rotate_path = "/api/index/v1/rotatetoken";
// What `check_token` (client.hpp) asks by default: the fake server answers every other
// /api/index/v1/ path alike.
inline constexpr std::string_view ping_path = "/api/index/v1/ping";
inline constexpr std::string_view admin_prefix = "/admin/v1/";
inline constexpr std::string_view admin_tokens_path = "/admin/v1/tokens";  // + "/<id>" for one token
inline constexpr std::string_view admin_clock_path = "/admin/v1/clock";
inline constexpr std::string_view admin_faults_path = "/admin/v1/faults";
inline constexpr std::string_view admin_events_path = "/admin/v1/events";

// --- the public endpoint -----------------------------------------------------------------------

// 200 from POST /api/index/v1/rotatetoken: the child's secret, when it was made, its period.
struct rotate_response {
  std::string raw_secret{};
  sys_seconds created_at{};
  minutes rotation_period{};
  friend bool operator==(const rotate_response&, const rotate_response&) = default;
};

// Every 4xx/5xx body: `{"error": "already-rotated", "message": "..."}`. `error` is a stable
// machine code (see docs/fake-server.md for the table), `message` is for people.
struct error_body {
  std::string error{};
  std::string message{};
  // "already-rotated: the token was already rotated: only the current token can be rotated".
  [[nodiscard]] std::string describe() const { return message.empty() ? error : error + ": " + message; }
  friend bool operator==(const error_body&, const error_body&) = default;
};

// --- admin API ---------------------------------------------------------------------------------

// POST /admin/v1/tokens: `{"rotationPeriodMinutes": 3600, "expiresAt": 1830297600}`. No period
// makes a token that cannot rotate.
struct create_token_request {
  std::optional<minutes> rotation_period{};
  std::optional<sys_seconds> expires_at{};
  friend bool operator==(const create_token_request&, const create_token_request&) = default;
};

// 201 from POST /admin/v1/tokens (and what fake_server::create_token returns): the only time the
// secret of a token made by the console is ever shown.
struct created_token {
  std::string id{};  // "tok_1": what events and listings name the token by
  std::string raw_secret{};
  sys_seconds created_at{};
  std::optional<minutes> rotation_period{};
  std::optional<sys_seconds> expires_at{};
  friend bool operator==(const created_token&, const created_token&) = default;
};

// One token as GET /admin/v1/tokens lists it: never its secret.
//   status: "active" (usable, not rotated), "rotated" (usable, in its buffer), "retired" (the
//   buffer is over), "expired" (rotation period or hard expiry reached), "revoked", "pending"
//   (created after the clock's now, after the clock was set back).
struct token_view {
  std::string id{};
  std::optional<std::string> parent_id{};
  std::vector<std::string> child_ids{};  // more than one only under rerotation::fork
  token_state state{};
  bool revoked = false;
  std::string status{};
  bool usable = false;
  std::string ended_by{};                     // "" when usable; else the rule, "revoked" or "not-yet-created"
  std::optional<sys_seconds> usable_until{};  // first instant at which it is unusable
  friend bool operator==(const token_view&, const token_view&) = default;
};

// GET /admin/v1/clock: `{"now": <unix s>, "warp": 0}`. warp is 0 for a frozen or manual clock,
// 1 for real time.
struct clock_view {
  sys_seconds now{};
  double warp = 0;
  friend bool operator==(const clock_view&, const clock_view&) = default;
};

// POST /admin/v1/clock: `{"advanceSeconds": N}` or `{"set": <unix s>}`, optionally with
// `"warp": F`; or `{"warp": F}` alone.
struct clock_request {
  std::optional<seconds> advance{};
  std::optional<sys_seconds> set{};
  std::optional<double> warp{};
  friend bool operator==(const clock_request&, const clock_request&) = default;
};

// --- faults ------------------------------------------------------------------------------------

// What a fault does to a request it hits.
enum class fault_kind {
  status,       // answers `status` (500, 502, 503 or 429, with Retry-After) before any work
  latency,      // waits `latency` (real time) before handling; adds up with other faults
  reset,        // resets the connection (TCP RST) before any work: nothing happens
  empty,        // closes the connection without a response before any work: nothing happens
  malformed,    // handles the request (a rotation is made), then sends half of the 200 body
  commit_drop,  // handles the request (a rotation is made), then closes without a response
};

// Which requests a fault may hit: only POST /api/index/v1/rotatetoken, or every /api/index/v1/*.
enum class fault_scope { rotate, api };

// One fault rule: `{"kind": "status", "status": 503, "probability": 0.2, "count": 3}`.
struct fault {
  fault_kind kind = fault_kind::status;
  double probability = 1.0;              // per request in scope, drawn from the seeded generator
  std::optional<std::uint64_t> count{};  // only the next N requests in scope; nullopt: until replaced
  int status = 503;                      // kind status: 500, 502, 503 or 429
  std::optional<seconds> retry_after{};  // kind status: Retry-After (429 without it sends 1)
  std::chrono::milliseconds latency{0};  // kind latency, at most 60 s
  fault_scope scope = fault_scope::rotate;
  friend bool operator==(const fault&, const fault&) = default;
};

// PUT /admin/v1/faults: `{"faults": [...], "seed": 42}` replaces every rule; a seed restarts the
// generator so a run can be reproduced. GET answers the rules left (with counts remaining).
struct fault_config {
  std::vector<fault> faults{};
  std::optional<std::uint64_t> seed{};
  friend bool operator==(const fault_config&, const fault_config&) = default;
};

// --- events ------------------------------------------------------------------------------------

// One line of the audit log (GET /admin/v1/events): by token id, never by secret.
//   kind: "rotation", "rotation-refused", "access", "access-refused", "token-created",
//   "token-revoked", "clock", "faults", "admin", "admin-refused", "fault", "request".
struct event {
  std::uint64_t seq = 0;  // 1, 2, 3... in the order the server decided
  sys_seconds at{};       // the server clock's now
  std::string kind{};
  std::string method{};  // "" for direct C++ calls on fake_server
  std::string path{};
  int status = 0;          // the status sent; 0 when no response was sent (or no HTTP)
  std::string token_id{};  // the token presented or concerned
  std::string child_id{};  // a rotation's child
  std::string error{};     // the machine code of a refusal
  std::string fault{};     // the fault applied: "status", "latency", "reset", ...
  friend bool operator==(const event&, const event&) = default;
};

// --- names -------------------------------------------------------------------------------------

[[nodiscard]] constexpr std::string_view to_string(fault_kind k) noexcept {
  switch (k) {
    case fault_kind::status:
      return "status";
    case fault_kind::latency:
      return "latency";
    case fault_kind::reset:
      return "reset";
    case fault_kind::empty:
      return "empty";
    case fault_kind::malformed:
      return "malformed";
    case fault_kind::commit_drop:
      return "commit-drop";
  }
  return "status";
}

[[nodiscard]] constexpr std::optional<fault_kind> parse_fault_kind(std::string_view s) noexcept {
  for (auto k : {fault_kind::status, fault_kind::latency, fault_kind::reset, fault_kind::empty,
                 fault_kind::malformed, fault_kind::commit_drop})
    if (to_string(k) == s) return k;
  return std::nullopt;
}

}  // namespace rotary::wire
