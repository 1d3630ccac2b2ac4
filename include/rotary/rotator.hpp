// rotary/rotator.hpp: one run of the rotation job, the way a careful operator would write it.
//
// The vendor guide's sample job (docs/rules.md) posts to /rotatetoken, stores the secret and switches to it.
// A `rotator` run does the same, but:
//
//   1. takes the store's lock (a second run waits `lock_wait`, then reports `busy`);
//   2. loads the token; decides whether a rotation is due (`always`, or `when-due:MARGIN`:
//      once the clock reaches the policy's deadline minus the margin);
//   3. records in the store that a rotation is in flight (write-ahead), then rotates;
//   4. **saves the new token before anything uses it**, keeping the parent as `previous` until
//      its buffer ends; only then calls `on_new_token`;
//   5. retries transient errors (429, 5xx, transport, unreadable answers) with exponential
//      backoff, honouring Retry-After, while the token it holds is still usable; never retries
//      401, 400 or 403; never sleeps longer than `max_retry_delay`, nor past the token's end;
//   6. never hides a lost response: when an answer went missing (or a gateway's 502/503/504, or
//      a 200 whose createdAt is far from the job's clock, left it in doubt) and the server then
//      says "already rotated", the report is `chain_broken` and says what a person must do;
//   7. retries a failing save of the new token with backoff while the parent still works, before
//      giving up the only copy of the new secret;
//   8. says how long the token it holds works, from what the server said (a 401 means: no
//      longer, or at most a buffer after "already-rotated"), and warns about a plain-http
//      endpoint that is not loopback.
//
//     rotary::token_store store{"/var/lib/rotary/token.store", key};
//     rotary::rotator job{store, {.endpoint = "https://customer-be.example.com",
//                                 .strategy = {rotary::job_strategy::when_due, std::chrono::hours{24}}},
//                         clock};
//     rotary::run_report r = job.run();
//     std::cout << r.line() << "\n";   // "2027-01-03T03:00:00Z rotated: new token created ..."
//     return r.exit_code();             // 0 rotated or not due, 1 failed but usable, 3 a person must act
//
// Time comes from any clock of clock.hpp (through `clock_ref`): the real clock in production,
// a manual clock shared with a fake server in tests. Backoff waits with `wait_until` on it.
#pragma once

#include <rotary/detail/http_config.hpp>  // first: one clear #error without cpp-httplib and OpenSSL
#if ROTARY_DETAIL_HTTP_READY              // otherwise nothing here is compiled after that #error

#include <nlohmann/json.hpp>
#include <rotary/client.hpp>
#include <rotary/clock.hpp>
#include <rotary/hook.hpp>
#include <rotary/job_strategy.hpp>
#include <rotary/policy.hpp>
#include <rotary/stop_token.hpp>
#include <rotary/store.hpp>
#include <rotary/time.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rotary {

struct rotator_options {
  std::string endpoint{};   // the rotate URL; "" uses the one in the store
  job_strategy strategy{};  // always, or when_due with a margin (job_strategy.hpp)
  int retries = 3;          // attempts after the first, for transient errors
  seconds retry_delay{30};  // the first backoff; doubled after each failure
  // The longest wait between two tries, holding the lock. A Retry-After longer than this ends
  // the run (the next run retries) rather than sleeping for hours.
  seconds max_retry_delay{600};
  // How close to a token's end the job stops waiting: a Retry-After that would end later than
  // the held token's end minus this ends the run now, and a failing save of a new token is
  // retried until the parent's end minus this (docs/rotation-job.md).
  seconds safety_margin{10};
  // A 200 whose createdAt is further than this from the job's clock (in the past or the future)
  // is not trusted: the new token is not stored and the rotation stays in doubt. From 5 minutes
  // on, the report warns.
  seconds max_server_skew{std::chrono::hours{1}};
  client_options client{};
  std::chrono::milliseconds lock_wait{std::chrono::seconds{10}};  // a second run waits this long
  // Called with the new token once it is saved (never before): switch the application here.
  std::function<void(const stored_token&)> on_new_token{};
  // Written with the new secret and a newline once it is saved (after on_new_token, before
  // on_rotate): atomically, mode 0600, in plain text. "" writes none.
  std::filesystem::path secret_file{};
  // Run once the new token is saved (after on_new_token and the secret file), with
  // ROTARY_CREATED_AT, ROTARY_ROTATE_BY, ROTARY_PREVIOUS_USABLE_UNTIL and ROTARY_STORE in its
  // environment (the secret only in its secret_env, if named). Never run when nothing was rotated.
  std::optional<hook_command> on_rotate{};
  // A stop requested while the run waits to retry a rotation ends the run there ("failed",
  // "stopped while waiting to retry"); a new token's save is retried regardless (giving it up
  // would lose the only copy).
  stop_token stop{};
};

// What a run ended with. Exit codes: 0 rotated, not_due; 1 failed, busy (the token is still
// usable); 3 unusable, chain_broken, store_failed (a person must act); 2 misconfigured; 4 rotated
// and saved, but the on_rotate command or the secret file failed (the consumer may not have the
// new token).
enum class run_status { rotated, not_due, failed, busy, unusable, chain_broken, store_failed, misconfigured };

// "rotated", "not-due", "failed", "busy", "unusable", "chain-broken", "store-error", "misconfigured".
[[nodiscard]] constexpr std::string_view to_string(run_status s) noexcept;

struct run_report {
  run_status status = run_status::failed;
  sys_seconds started{};
  sys_seconds finished{};
  int attempts = 0;                         // rotate requests sent (or tried)
  std::optional<token_state> token;         // the token held after the run (no secret)
  std::optional<sys_seconds> usable_until;  // when it stops working, counting a possible lost response
  std::string ended_by;  // for unusable: the rule ("rotation-period", "buffer", ...) or the server's code
  std::optional<sys_seconds> rotate_from;          // not_due: the first instant the strategy rotates
  std::optional<sys_seconds> previous_until;       // rotated: the parent keeps working until
  std::optional<sys_seconds> chain_ends_at;        // the hard expiry no rotation extends
  std::optional<sys_seconds> unanswered_rotation;  // a rotation sent then whose answer never came
  std::optional<rotate_error> error;               // the last error from the server or the network
  std::optional<store_error> store;                // the store's error, for store_failed / busy
  bool recovered = false;                          // a save interrupted by a crash was completed first
  int save_attempts = 0;                           // saves of a new token tried (0: no new token to save)
  seconds save_retried{0};               // from the first failed save of the new token to the last try
  std::vector<std::string> warnings;     // what works but should not be so ("plain http to ...")
  std::string detail;                    // what happened, in a clause (no secret)
  std::string advice;                    // what a person must do ("" when nothing)
  std::optional<hook_result> on_rotate;  // rotated with an on_rotate command: how it ended
  std::string secret_file_error;         // rotated with a secret file that could not be written

  [[nodiscard]] int exit_code() const noexcept;
  // One line for a cron log: "<finished> <status>: <detail>[; warning: <w>]...[; <advice>]".
  [[nodiscard]] std::string line() const;
};

// {"status", "exitCode", "startedAt", "finishedAt", "attempts", "token", "usableUntil",
//  "secondsLeft", "endedBy", "rotateFrom", "previousUsableUntil", "chainEndsAt",
//  "unansweredRotation", "error", "storeError", "recovered", "saveAttempts",
//  "saveRetriedSeconds", "onRotate", "secretFileError", "warnings", "detail", "advice", "line"};
// times ISO-8601, absent values null, "warnings" an array (empty when none); "onRotate" is
// {"exitCode", "signal", "timedOut", "started", "error", "seconds"} or null when not run.
void to_json(nlohmann::json& j, const run_report& r);

class rotator {
 public:
  rotator(const token_store& store, rotator_options options, clock_ref clock)
      : store_(store), options_(std::move(options)), clock_(clock) {}

  // One run: lock, load, decide, rotate, save, report. Never throws for what the network, the
  // server or the store do; those are in the report.
  [[nodiscard]] run_report run();

 private:
  [[nodiscard]] run_report finish(run_report r) const;

  const token_store& store_;
  rotator_options options_;
  clock_ref clock_;
};

// =================================================================================================

constexpr std::string_view to_string(run_status s) noexcept {
  switch (s) {
    case run_status::rotated:
      return "rotated";
    case run_status::not_due:
      return "not-due";
    case run_status::failed:
      return "failed";
    case run_status::busy:
      return "busy";
    case run_status::unusable:
      return "unusable";
    case run_status::chain_broken:
      return "chain-broken";
    case run_status::store_failed:
      return "store-error";
    case run_status::misconfigured:
      break;
  }
  return "misconfigured";
}

inline int run_report::exit_code() const noexcept {
  switch (status) {
    case run_status::rotated:
      return (on_rotate && !on_rotate->ok()) || !secret_file_error.empty() ? 4 : 0;
    case run_status::not_due:
      return 0;
    case run_status::failed:
    case run_status::busy:
      return 1;
    case run_status::misconfigured:
      return 2;
    default:
      return 3;
  }
}

namespace detail {
// The job's view of a token: a creation instant after the job's own clock means that clock is
// behind the server's (the server made the token), not that the token is unusable.
inline usability check_for_job(const standard_policy& policy, const token_state& t, sys_seconds now) {
  return policy.check(t, std::max(now, t.created_at));
}
inline bool usable_for_job(const standard_policy& policy, const token_state& t, sys_seconds now) {
  return check_for_job(policy, t, now).usable;
}

inline std::string until_text(std::optional<sys_seconds> until, sys_seconds now) {
  if (!until) return "with no end";
  if (*until <= now) return format_time(*until) + " (" + format_duration(now - *until) + " ago)";
  return format_time(*until) + " (in " + format_duration(*until - now) + ")";
}

// A failing save of a new token is retried after 1 s, 2 s, 4 s, ... at most 30 s apart.
inline constexpr seconds first_save_retry{1};
inline constexpr seconds longest_save_retry{30};

inline std::string times(int n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// A host of parse_endpoint that names this machine: 127.0.0.0/8 as a dotted quad, [::1], or
// "localhost" (any case). Anything else, even an alias of these, is not loopback.
inline bool is_loopback_host(std::string_view host) {
  if (host == "[::1]") return true;
  if (host.size() == 9) {
    constexpr std::string_view name = "localhost";
    bool same = true;
    for (std::size_t i = 0; i < name.size(); ++i)
      same = same && (host[i] == name[i] || host[i] == static_cast<char>(name[i] - 'a' + 'A'));
    if (same) return true;
  }
  int parts = 0;
  std::size_t at = 0;
  std::string_view first;
  while (at <= host.size()) {
    const auto dot = std::min(host.find('.', at), host.size());
    const auto part = host.substr(at, dot - at);
    if (part.empty() || part.size() > 3 || part.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
    if (std::stoi(std::string(part)) > 255) return false;
    if (parts++ == 0) first = part;
    at = dot + 1;
  }
  return parts == 4 && first == "127";
}

// The warning for a plain-http endpoint that is not loopback; nullopt otherwise.
inline std::optional<std::string> plain_http_warning(const endpoint& e) {
  if (e.scheme != "http" || is_loopback_host(e.host)) return std::nullopt;
  return "plain http to " + e.host +
         " (not loopback): the token and the new one cross the network "
         "unencrypted; use https://";
}
}  // namespace detail

inline std::string run_report::line() const {
  std::string s = format_time(finished) + " " + std::string(to_string(status)) + ": " + detail;
  for (const auto& w : warnings) s += "; warning: " + w;
  if (!advice.empty()) s += "; " + advice;
  return s;
}

inline void to_json(nlohmann::json& j, const run_report& r) {
  auto t = [](std::optional<sys_seconds> v) {
    return v ? nlohmann::json(format_time(*v)) : nlohmann::json();
  };
  j = nlohmann::json::object();
  j["status"] = std::string(to_string(r.status));
  j["exitCode"] = r.exit_code();
  j["startedAt"] = format_time(r.started);
  j["finishedAt"] = format_time(r.finished);
  j["attempts"] = r.attempts;
  j["token"] = r.token ? nlohmann::json(*r.token) : nlohmann::json();
  j["usableUntil"] = t(r.usable_until);
  j["secondsLeft"] = r.usable_until
                         ? nlohmann::json(std::max<std::int64_t>(0, (*r.usable_until - r.finished).count()))
                         : nlohmann::json();
  j["endedBy"] = r.ended_by.empty() ? nlohmann::json() : nlohmann::json(r.ended_by);
  j["rotateFrom"] = t(r.rotate_from);
  j["previousUsableUntil"] = t(r.previous_until);
  j["chainEndsAt"] = t(r.chain_ends_at);
  j["unansweredRotation"] = t(r.unanswered_rotation);
  if (r.error) {
    j["error"] = {{"kind", std::string(r.error->kind_name())},
                  {"status", r.error->status == 0 ? nlohmann::json() : nlohmann::json(r.error->status)},
                  {"code", r.error->code},
                  {"message", r.error->message},
                  {"retryAfterSeconds",
                   r.error->retry_after ? nlohmann::json(r.error->retry_after->count()) : nlohmann::json()},
                  {"mayHaveCommitted", r.error->may_have_committed}};
  } else {
    j["error"] = nullptr;
  }
  j["storeError"] =
      r.store ? nlohmann::json{{"code", std::string(r.store->code())}, {"message", r.store->message}}
              : nlohmann::json();
  j["recovered"] = r.recovered;
  j["saveAttempts"] = r.save_attempts;
  j["saveRetriedSeconds"] = r.save_retried.count();
  if (r.on_rotate) {
    const auto& h = *r.on_rotate;
    j["onRotate"] = {{"exitCode", h.exit_code < 0 ? nlohmann::json() : nlohmann::json(h.exit_code)},
                     {"signal", h.signal == 0 ? nlohmann::json() : nlohmann::json(h.signal)},
                     {"timedOut", h.timed_out},
                     {"started", h.started},
                     {"error", h.error.empty() ? nlohmann::json() : nlohmann::json(h.error)},
                     {"seconds", static_cast<double>(h.took.count()) / 1000.0}};
  } else {
    j["onRotate"] = nullptr;
  }
  j["secretFileError"] = r.secret_file_error.empty() ? nlohmann::json() : nlohmann::json(r.secret_file_error);
  j["warnings"] = r.warnings;
  j["detail"] = r.detail;
  j["advice"] = r.advice.empty() ? nlohmann::json() : nlohmann::json(r.advice);
  j["line"] = r.line();
}

inline run_report rotator::finish(run_report r) const {
  r.finished = clock_.now();
  return r;
}

inline run_report rotator::run() {
  run_report r;
  r.started = clock_.now();
  const std::string init_advice =
      "a person must create a new token in the admin console and run: rotary rotate --init --store " +
      store_.file().string() + " (the token on stdin)";

  // 1. The lock. A busy store is read without it (saves are atomic) to say how long the token lasts.
  auto lock = store_.lock(options_.lock_wait);
  if (!lock) {
    r.store = lock.error();
    if (lock.error().kind != store_error::locked) {
      r.status = run_status::store_failed;
      r.detail = lock.error().message;
      r.advice = "a person must fix the store's directory";
      return finish(r);
    }
    r.status = run_status::busy;
    r.detail = lock.error().message + "; nothing done";
    if (const auto peek = store_.load()) {
      const standard_policy policy{fixed_period{}, buffer_period{peek->buffer}, hard_expiry{}};
      r.token = peek->current.state;
      r.usable_until = policy.usable_until(peek->current.state);
      if (!detail::usable_for_job(policy, peek->current.state, clock_.now())) r.status = run_status::unusable;
      r.detail += "; the token is usable until " + detail::until_text(r.usable_until, clock_.now());
    }
    return finish(r);
  }

  // 2. Finish a save that a crash interrupted, then load.
  if (const auto rec = store_.recover(*lock); !rec) {
    r.status = run_status::store_failed;
    r.store = rec.error();
    r.detail = rec.error().message;
    r.advice = "a person must fix the store's directory";
    return finish(r);
  } else {
    r.recovered = *rec == recovery::rolled_forward;
  }
  auto loaded = store_.load();
  if (!loaded) {
    r.status = run_status::store_failed;
    r.store = loaded.error();
    r.detail = loaded.error().message;
    r.advice = loaded.error().kind == store_error::wrong_key ||
                       loaded.error().kind == store_error::protection_mismatch
                   ? "a person must give the key the store was written with"
               : loaded.error().kind == store_error::not_found
                   ? "a person must create the store: rotary rotate --init --store " + store_.file().string()
                   : "a person must restore the store from a backup, or " + init_advice;
    return finish(r);
  }
  store_contents c = std::move(loaded).value();
  const standard_policy policy{fixed_period{}, buffer_period{c.buffer}, hard_expiry{}};
  const std::string endpoint = options_.endpoint.empty() ? c.endpoint : options_.endpoint;
  r.chain_ends_at = c.current.state.expires_at;
  r.unanswered_rotation = c.unanswered_rotation;

  // The token as the server may see it: an unanswered rotation may have started its buffer.
  auto conservative = [&](const store_contents& s) {
    token_state t = s.current.state;
    if (s.unanswered_rotation && !t.rotated_at) t.rotated_at = s.unanswered_rotation;
    return t;
  };
  auto describe_held = [&](const store_contents& s) {
    r.token = s.current.state;
    r.usable_until = policy.usable_until(conservative(s));
    r.unanswered_rotation = s.unanswered_rotation;
  };
  describe_held(c);

  if (endpoint.empty()) {
    r.status = run_status::misconfigured;
    r.detail = "no endpoint: the store has none, give --endpoint URL";
    return finish(r);
  }
  if (const auto e = parse_endpoint(endpoint); !e) {
    r.status = run_status::misconfigured;
    r.detail = e.error().message;
    return finish(r);
  } else if (auto w = detail::plain_http_warning(*e)) {
    r.warnings.push_back(std::move(*w));
  }

  sys_seconds now = clock_.now();
  const auto held = detail::check_for_job(policy, c.current.state, now);
  if (!held.usable) {
    r.status = run_status::unusable;
    r.ended_by = std::string(held.ended_by);
    r.detail =
        "the token stopped working at " + detail::until_text(held.until, now) + " (" + r.ended_by + ")";
    if (c.unanswered_rotation)
      r.detail += "; a rotation sent at " + format_time(*c.unanswered_rotation) +
                  " got no answer: the server may have made a child this job never received";
    r.advice = init_advice;
    return finish(r);
  }
  if (!c.current.state.rotatable() && !c.unverified) {
    r.status = run_status::failed;
    r.detail = "the token has no rotation period: it cannot be rotated; it is usable until " +
               detail::until_text(r.usable_until, now);
    r.advice = "a person must replace it with a rotatable token";
    return finish(r);
  }

  // 3. Due?
  if (options_.strategy.kind == job_strategy::when_due && !c.unverified && !c.unanswered_rotation) {
    const auto deadline = policy.rotation_deadline(c.current.state);
    if (deadline && now < *deadline - options_.strategy.margin) {
      if (c.previous && !detail::usable_for_job(policy, c.previous->state, now)) {
        // The parent's buffer is over: it no longer belongs in the store.
        auto pruned = c;
        pruned.previous.reset();
        if (store_.save(*lock, pruned)) c = pruned;
      }
      r.status = run_status::not_due;
      r.rotate_from = *deadline - options_.strategy.margin;
      r.detail = "rotate from " + detail::until_text(r.rotate_from, now) + "; the token is usable until " +
                 detail::until_text(r.usable_until, now);
      return finish(r);
    }
  }

  // 4. Rotate, with retries.
  bool doubt = c.unanswered_rotation.has_value();
  // How the rotation sent at the mark may have been made without this job getting the child.
  std::string doubt_why = "got no answer";
  std::string gave_up;       // why the run stopped while it had retries left ("" when it did not)
  std::string check_clocks;  // advice when the server's createdAt was not trusted
  std::optional<rotate_error> last;
  for (;;) {
    now = clock_.now();
    if (!doubt) {
      // Write-ahead: if this process dies with the request in flight, the next run knows.
      // (Until an answer goes missing, the mark is the instant of the latest attempt.)
      store_contents intent = c;
      intent.unanswered_rotation = now;
      const auto saved = store_.save(*lock, intent);
      if (!saved) {
        r.status = run_status::store_failed;
        r.store = saved.error();
        r.detail = saved.error().message + "; nothing was sent, the token is usable until " +
                   detail::until_text(r.usable_until, now);
        r.advice = "a person must make the store writable";
        return finish(r);
      }
      intent.generation = *saved;
      c = intent;
    }
    ++r.attempts;
    const sys_seconds sent_at = now;
    auto answer = rotate(endpoint, c.current.secret, options_.client);
    now = clock_.now();
    if (answer) {
      auto& child = *answer;
      const bool ahead = child.created_at > now;
      const seconds skew = ahead ? child.created_at - now : now - child.created_at;
      const std::string skew_text = "createdAt " + format_time(child.created_at) + " is " +
                                    format_duration(skew) + (ahead ? " ahead of" : " behind") +
                                    " this job's clock";
      if (skew > options_.max_server_skew) {
        // 5a. A 200 is trusted only if it makes sense. This one may well have committed (the
        // mark stays, the next run finds out), but a token stored with these facts would be
        // rotated too late or taken for dead: it is not stored, and the secret is wiped.
        OPENSSL_cleanse(child.raw_secret.data(), child.raw_secret.size());
        last = rotate_error{
            rotate_error::malformed_response,
            200,
            "implausible-created-at",
            skew_text + ", more than the " + format_duration(options_.max_server_skew) + " it trusts",
            {},
            true};
        r.error = last;
        doubt = true;
        doubt_why = "got a 200 this job did not trust";
        gave_up =
            "the new token was not stored (with facts from a clock this far off it would be rotated too late "
            "or taken for dead) and this run does not retry (the server would rotate again)";
        check_clocks = "a person must check this host's clock and the server's (NTP); ";
        break;
      }

      // 5b. Save the child before anything uses it.
      store_contents next = c;
      stored_token parent = c.current;
      if (!parent.state.rotated_at) parent.state.rotated_at = child.created_at;
      next.previous = parent;
      next.current = {child.raw_secret, token_state{child.created_at, child.rotation_period,
                                                    c.current.state.expires_at, std::nullopt}};
      next.unverified = false;
      next.unanswered_rotation.reset();
      next.endpoint = endpoint;
      if (skew > minutes{5})
        r.warnings.push_back("the server's clock differs from ours by " + format_duration(skew) + " (" +
                             skew_text + "); beyond " + format_duration(options_.max_server_skew) +
                             " the answer is not trusted");
      if (!c.unverified && c.current.state.rotation_period &&
          *c.current.state.rotation_period != child.rotation_period)
        r.warnings.push_back("the server gave the new token a rotation period of " +
                             std::to_string(child.rotation_period.count()) + " minutes, the store said " +
                             std::to_string(c.current.state.rotation_period->count()) +
                             " (a child keeps its parent's period): the store now has the server's");

      // The server rotated the parent after this request left, whatever its clock says: it works
      // at least until a buffer after the mark (after this attempt, under the API's `reject`),
      // unless its own period ends it first. The report says so (times in the job's clock), and a
      // failing save is retried until then, less the margin: giving up loses the only copy of
      // the new secret.
      const auto parent_end = policy.usable_until(conservative(c));
      token_state rotated_now = c.current.state;
      if (!rotated_now.rotated_at) rotated_now.rotated_at = sent_at;
      const sys_seconds save_deadline =
          policy.usable_until(rotated_now).value_or(sent_at + c.buffer) - options_.safety_margin;
      outcome<std::uint64_t, store_error> saved = store_error{};
      std::optional<sys_seconds> first_failure;
      std::string first_error;
      seconds wait = detail::first_save_retry;
      for (;;) {
        ++r.save_attempts;
        saved = store_.save(*lock, next);
        if (saved || saved.error().kind == store_error::unsynced) break;
        now = clock_.now();
        if (!first_failure) {
          first_failure = now;
          first_error = saved.error().message;
        }
        const sys_seconds at = std::min(now + wait, save_deadline);
        if (at <= now) break;
        clock_.wait_until(at);
        wait = std::min(wait * 2, detail::longest_save_retry);
      }
      now = clock_.now();
      if (first_failure) r.save_retried = now - *first_failure;
      if (!saved && saved.error().kind != store_error::unsynced) {
        r.status = run_status::chain_broken;
        r.store = saved.error();
        r.usable_until = parent_end;
        r.previous_until = parent_end;
        r.detail =
            "the server rotated the token but the new one could not be saved (" + saved.error().message +
            "; " + detail::times(r.save_attempts, "try", "tries") + " over " +
            format_duration(r.save_retried) + ", until " + format_duration(options_.safety_margin) +
            " before the old one may stop working); the new one is lost when this run ends, the old one "
            "works until " +
            detail::until_text(parent_end, now);
        r.advice = init_advice;
        return finish(r);
      }
      next.generation = saved ? *saved : next.generation + 1;
      if (options_.on_new_token) options_.on_new_token(next.current);
      describe_held(next);
      r.status = run_status::rotated;
      r.previous_until = parent_end;
      r.detail = "new token created " + format_time(child.created_at) + ", usable until " +
                 detail::until_text(r.usable_until, now) + "; the previous one works until " +
                 detail::until_text(r.previous_until, now) + " (" +
                 detail::times(r.attempts, "attempt)", "attempts)");
      if (r.recovered) r.detail += "; completed a save interrupted by a crash first";
      if (first_failure)
        r.warnings.push_back("the new token was saved only after " +
                             detail::times(r.save_attempts, "try", "tries") + " over " +
                             format_duration(r.save_retried) + " (the first failed: " + first_error + ")");
      if (!saved) r.warnings.push_back(saved.error().message);
      // 5c. Hand the new token on: the secret file, then the command.
      if (!options_.secret_file.empty()) {
        r.secret_file_error = write_secret_file(options_.secret_file, next.current.secret);
        if (!r.secret_file_error.empty()) r.detail += "; secret-file: " + r.secret_file_error;
      }
      if (options_.on_rotate) {
        const auto deadline = policy.rotation_deadline(next.current.state);
        const std::vector<std::pair<std::string, std::string>> env = {
            {"ROTARY_CREATED_AT", format_time(next.current.state.created_at)},
            {"ROTARY_ROTATE_BY", deadline ? format_time(*deadline) : std::string()},
            {"ROTARY_PREVIOUS_USABLE_UNTIL", parent_end ? format_time(*parent_end) : std::string()},
            {"ROTARY_STORE", store_.file().string()}};
        r.on_rotate = run_hook(*options_.on_rotate, env, &next.current.secret);
        if (!r.on_rotate->ok()) r.detail += "; on-rotate: " + r.on_rotate->describe();
      }
      if (r.exit_code() == 4 && r.advice.empty())
        r.advice =
            "the new token is saved, but the consumer may not have it: a person must fix " +
            std::string(r.on_rotate && !r.on_rotate->ok() ? "the on-rotate command" : "the secret file") +
            " and hand it the token";
      return finish(r);
    }

    last = answer.error();
    r.error = last;
    if (last->may_have_committed && !doubt) {
      doubt = true;
      doubt_why = last->kind == rotate_error::server_error
                      ? "got a " + std::to_string(last->status) + " (a gateway may have passed it on)"
                  : last->kind == rotate_error::malformed_response ? "got an unreadable answer"
                                                                   : "got no answer";
    }
    // While nothing may have been committed, the token lasts as long as it did; after a lost
    // answer, it may end a buffer after the unanswered rotation.
    const auto until = policy.usable_until(doubt ? conservative(c) : c.current.state);
    r.usable_until = until;
    r.unanswered_rotation = doubt ? c.unanswered_rotation : std::nullopt;

    if (!last->transient()) {
      if (last->kind == rotate_error::unauthorized) {
        // What the server said about the token held: "already-rotated", someone rotated it, so
        // it works a buffer from now at most; any other 401, it works no longer.
        const bool rerotated = last->code == "already-rotated";
        if (rerotated)
          r.usable_until = until && *until < now + c.buffer ? *until : now + c.buffer;
        else
          r.usable_until = now;
        const std::string held_text =
            rerotated ? "the held token works until at most " + detail::until_text(r.usable_until, now)
                      : "the held token no longer works";
        const bool no_credentials =
            last->code == "missing-credentials" || last->code == "malformed-credentials";
        if (doubt || rerotated) {
          r.status = run_status::chain_broken;
          r.detail =
              "the server refused the token (" + last->describe() + ")" +
              (doubt ? "; a rotation sent at " + format_time(*c.unanswered_rotation) + " " + doubt_why +
                           ", so the server made a child this job never received: the chain may be broken"
                     : "; someone else rotated this token, the chain may be broken") +
              "; " + held_text;
          r.advice = init_advice;
        } else {
          r.status = run_status::unusable;
          r.ended_by = last->code;
          r.detail = "the server refused the token (" + last->describe() + "); " + held_text;
          if (no_credentials)
            r.detail += " through this endpoint: the server saw no usable Authorization header";
          r.advice = no_credentials
                         ? "a person must find what drops the Authorization header between this host and the "
                           "server (a proxy?)"
                         : init_advice;
        }
        return finish(r);
      }
      // 400 and 403 (and a bad URL): retrying cannot help, the token still works.
      if (!doubt) {
        (void)store_.save(*lock, [&] {
          auto clean = c;
          clean.unanswered_rotation.reset();
          return clean;
        }());
        r.usable_until = policy.usable_until(c.current.state);
        r.unanswered_rotation.reset();
      }
      r.status = run_status::failed;
      r.detail = "the server refused the rotation (" + last->describe() + "); the token is usable until " +
                 detail::until_text(r.usable_until, now);
      r.advice =
          last->kind == rotate_error::forbidden
              ? "a person must allow this host's address for the token (greenlist), or run the job elsewhere"
              : "a person must look: retrying will not help";
      return finish(r);
    }

    // Transient: wait and retry while the token lasts, never longer than max_retry_delay.
    const int failures = r.attempts;
    seconds delay = options_.retry_delay;
    for (int k = 1; k < failures && delay < options_.max_retry_delay; ++k) delay *= 2;
    delay = std::min(delay, options_.max_retry_delay);
    if (failures > options_.retries) break;
    if (last->retry_after) {
      const seconds asked = *last->retry_after;
      const std::string asked_text =
          "the server asked to retry in " + format_duration(asked) + " (at " + format_time(now + asked) + ")";
      if (until && now + asked > *until - options_.safety_margin) {
        gave_up =
            asked_text + ", too late: the token stops working at " + format_time(*until) + "; not waiting";
        break;
      }
      if (asked > options_.max_retry_delay) {
        gave_up = asked_text + ", longer than a run waits between tries (" +
                  format_duration(options_.max_retry_delay) + "); not waiting";
        break;
      }
      delay = asked;
    } else if (until && now + delay >= *until) {
      // The backoff would outlive the token: try once more halfway to its end (settling a lost
      // answer while there is time).
      delay = std::chrono::floor<seconds>((*until - now) / 2);
      if (delay < seconds{1}) break;
    }
    if (!clock_.wait_until(now + delay, options_.stop)) {  // stopped (the agent's SIGTERM): no more tries
      gave_up = "stopped while waiting to retry";
      break;
    }
  }

  // 6. Out of retries (or of time, or the answer was not trusted).
  now = clock_.now();
  if (!doubt) {
    // Nothing may have been committed: forget the write-ahead mark.
    auto clean = c;
    clean.unanswered_rotation.reset();
    if (store_.save(*lock, clean)) c = clean;
  }
  describe_held(c);
  const std::string failed_after = "failed after " + detail::times(r.attempts, "attempt", "attempts") + " (" +
                                   last->describe() + ")" + (gave_up.empty() ? "" : "; " + gave_up);
  if (!detail::usable_for_job(policy, conservative(c), now)) {
    r.status = doubt ? run_status::chain_broken : run_status::unusable;
    r.ended_by = std::string(detail::check_for_job(policy, conservative(c), now).ended_by);
    r.detail = failed_after + "; the token stopped working at " + detail::until_text(r.usable_until, now);
    if (doubt)
      r.detail += "; a rotation sent at " + format_time(*c.unanswered_rotation) + " " + doubt_why +
                  ": if the server committed it, the chain is broken";
    r.advice = check_clocks + init_advice;
    return finish(r);
  }
  r.status = run_status::failed;
  r.detail = failed_after + "; the token is usable until " + detail::until_text(r.usable_until, now);
  if (doubt)
    r.detail += "; a rotation sent at " + format_time(*c.unanswered_rotation) + " " + doubt_why +
                ": if the server committed it, the chain may be broken and the token ends then";
  r.advice = doubt ? check_clocks + "the next run will find out; if it reports chain-broken, " + init_advice
                   : "the next run retries";
  return finish(r);
}

}  // namespace rotary

#endif  // ROTARY_DETAIL_HTTP_READY
