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
//      401, 400 or 403;
//   6. never hides a lost response: when an answer went missing and the server then says
//      "already rotated", the report is `chain_broken` and says what a person must do.
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
#include <rotary/job_strategy.hpp>
#include <rotary/policy.hpp>
#include <rotary/store.hpp>
#include <rotary/time.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace rotary {

struct rotator_options {
  std::string endpoint{};        // the rotate URL; "" uses the one in the store
  job_strategy strategy{};       // always, or when_due with a margin (job_strategy.hpp)
  int retries = 3;               // attempts after the first, for transient errors
  seconds retry_delay{30};       // the first backoff; doubled after each failure
  seconds max_retry_delay{600};  // the longest backoff (Retry-After may ask for longer)
  client_options client{};
  std::chrono::milliseconds lock_wait{std::chrono::seconds{10}};  // a second run waits this long
  // Called with the new token once it is saved (never before): switch the application here.
  std::function<void(const stored_token&)> on_new_token{};
};

// What a run ended with. Exit codes: 0 rotated, not_due; 1 failed, busy (the token is still
// usable); 3 unusable, chain_broken, store_failed (a person must act); 2 misconfigured.
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
  std::string detail;                              // what happened, in a clause (no secret)
  std::string advice;                              // what a person must do ("" when nothing)

  [[nodiscard]] int exit_code() const noexcept;
  // One line for a cron log: "<finished> <status>: <detail>[; <advice>]".
  [[nodiscard]] std::string line() const;
};

// {"status", "exitCode", "startedAt", "finishedAt", "attempts", "token", "usableUntil",
//  "secondsLeft", "endedBy", "rotateFrom", "previousUsableUntil", "chainEndsAt",
//  "unansweredRotation", "error", "storeError", "recovered", "detail", "advice", "line"}; times
// ISO-8601, absent values null.
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
}  // namespace detail

inline std::string run_report::line() const {
  std::string s = format_time(finished) + " " + std::string(to_string(status)) + ": " + detail;
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
    auto answer = rotate(endpoint, c.current.secret, options_.client);
    now = clock_.now();
    if (answer) {
      // 5. Save the child before anything uses it.
      const auto& child = *answer;
      store_contents next = c;
      stored_token parent = c.current;
      if (!parent.state.rotated_at) parent.state.rotated_at = child.created_at;
      next.previous = parent;
      next.current = {child.raw_secret, token_state{child.created_at, child.rotation_period,
                                                    c.current.state.expires_at, std::nullopt}};
      next.unverified = false;
      next.unanswered_rotation.reset();
      next.endpoint = endpoint;
      outcome<std::uint64_t, store_error> saved = store_error{};
      for (int k = 0; k < 3; ++k) {
        saved = store_.save(*lock, next);
        if (saved || saved.error().kind == store_error::unsynced) break;
      }
      if (!saved && saved.error().kind != store_error::unsynced) {
        r.status = run_status::chain_broken;
        r.store = saved.error();
        r.detail = "the server rotated the token but the new one could not be saved (" +
                   saved.error().message + "); it is lost when this run ends, the old one works until " +
                   detail::until_text(policy.usable_until(parent.state), now);
        r.advice = init_advice;
        return finish(r);
      }
      next.generation = saved ? *saved : next.generation + 1;
      if (options_.on_new_token) options_.on_new_token(next.current);
      describe_held(next);
      r.status = run_status::rotated;
      r.previous_until = policy.usable_until(parent.state);
      r.detail = "new token created " + format_time(child.created_at) + ", usable until " +
                 detail::until_text(r.usable_until, now) + "; the previous one works until " +
                 detail::until_text(r.previous_until, now) + " (" + std::to_string(r.attempts) +
                 (r.attempts == 1 ? " attempt)" : " attempts)");
      if (!saved) r.detail += "; warning: " + saved.error().message;
      if (r.recovered) r.detail += "; completed a save interrupted by a crash first";
      if (child.created_at > now + minutes{5} || child.created_at + minutes{5} < now)
        r.detail += "; warning: the server's clock differs from ours by " +
                    format_duration(child.created_at > now ? child.created_at - now : now - child.created_at);
      return finish(r);
    }

    last = answer.error();
    r.error = last;
    if (last->may_have_committed) doubt = true;
    // While nothing may have been committed, the token lasts as long as it did; after a lost
    // answer, it may end a buffer after the unanswered rotation.
    const auto until = policy.usable_until(doubt ? conservative(c) : c.current.state);
    r.usable_until = until;
    r.unanswered_rotation = doubt ? c.unanswered_rotation : std::nullopt;

    if (!last->transient()) {
      if (last->kind == rotate_error::unauthorized) {
        const bool rerotated = last->code == "already-rotated";
        if (doubt || rerotated) {
          r.status = run_status::chain_broken;
          r.detail = "the server refused the token (" + last->describe() + ")" +
                     (doubt ? "; a rotation sent at " + format_time(*c.unanswered_rotation) +
                                  " got no answer, so the server made a child this job never received: the "
                                  "chain may be broken"
                            : "; someone else rotated this token, the chain may be broken") +
                     "; the held token works until at most " + detail::until_text(until, now);
        } else {
          r.status = run_status::unusable;
          r.ended_by = last->code;
          r.detail = "the server refused the token (" + last->describe() + ")";
        }
        r.advice = init_advice;
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

    // Transient: wait and retry while the token lasts.
    const int failures = r.attempts;
    seconds delay = options_.retry_delay;
    for (int k = 1; k < failures && delay < options_.max_retry_delay; ++k) delay *= 2;
    delay = std::min(delay, options_.max_retry_delay);
    if (last->retry_after) delay = *last->retry_after;
    if (failures > options_.retries) break;
    if (until && now + delay >= *until) {
      // The backoff would outlive the token: try once more halfway to its end (settling a lost
      // answer while there is time), unless the server asked to wait longer.
      if (last->retry_after) break;
      delay = std::chrono::floor<seconds>((*until - now) / 2);
      if (delay < seconds{1}) break;
    }
    clock_.wait_until(now + delay);
  }

  // 6. Out of retries (or of time).
  now = clock_.now();
  if (!doubt) {
    // Nothing may have been committed: forget the write-ahead mark.
    auto clean = c;
    clean.unanswered_rotation.reset();
    if (store_.save(*lock, clean)) c = clean;
  }
  describe_held(c);
  const std::string tries = std::to_string(r.attempts) + (r.attempts == 1 ? " attempt" : " attempts");
  if (!detail::usable_for_job(policy, conservative(c), now)) {
    r.status = doubt ? run_status::chain_broken : run_status::unusable;
    r.ended_by = std::string(detail::check_for_job(policy, conservative(c), now).ended_by);
    r.detail = "failed after " + tries + " (" + last->describe() + ") and the token stopped working at " +
               detail::until_text(r.usable_until, now);
    r.advice = init_advice;
    return finish(r);
  }
  r.status = run_status::failed;
  r.detail = "failed after " + tries + " (" + last->describe() + "); the token is usable until " +
             detail::until_text(r.usable_until, now);
  if (doubt)
    r.detail += "; a rotation sent at " + format_time(*c.unanswered_rotation) +
                " got no answer: if the server committed it, the chain may be broken and the token ends then";
  r.advice = doubt ? "the next run will find out; if it reports chain-broken, " + init_advice
                   : "the next run retries";
  return finish(r);
}

}  // namespace rotary

#endif  // ROTARY_DETAIL_HTTP_READY
