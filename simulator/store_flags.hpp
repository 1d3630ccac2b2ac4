// Shared by `rotary secret` and `rotary exec`: the store flags (--store, --key-file, --key-env,
// --plaintext) as `rotary rotate` reads them, and the held token's usability at the real clock.
// See docs/consumers.md.
#pragma once

#include <rotary/clock.hpp>
#include <rotary/policy.hpp>
#include <rotary/rotator.hpp>
#include <rotary/store.hpp>

#include <iostream>
#include <optional>
#include <string>

#include "command.hpp"

namespace rotary::cli {

// Exit code of `secret` and `exec` when no usable token can be handed out: a person must act.
inline constexpr int exit_unusable = 3;

// The store of --store FILE with its key (--key-file, --key-env or --plaintext): a missing flag
// or a bad key is a usage error (exit 2). Every command that opens a store opens it so.
inline token_store open_store(const std::string& store, const std::string& key_file,
                              const std::string& key_env, bool plaintext) {
  const int given = (!key_file.empty()) + (!key_env.empty()) + (plaintext ? 1 : 0);
  if (store.empty()) throw usage_error{"--store FILE is required"};
  if (given != 1) throw usage_error{"give exactly one of --key-file FILE, --key-env VAR or --plaintext"};
  if (plaintext) return token_store{store, rotary::plaintext};
  auto key = key_file.empty() ? store_key::from_env(key_env) : store_key::from_file(key_file);
  if (!key) throw usage_error{key.error().message};
  return token_store{store, *key};
}

struct store_flags {
  std::string store, key_file, key_env;
  bool plaintext = false;

  void add_to(CLI::App& app) {
    app.add_option("--store", store, "The token store file (rotary rotate --init makes one)");
    app.add_option("--key-file", key_file, "File with the store key (rotary keygen), mode 0600 or 0400");
    app.add_option("--key-env", key_env, "Environment variable holding the store key");
    app.add_flag("--plaintext", plaintext, "The store is unencrypted (made with rotate --init --plaintext)");
  }

  // As `rotary rotate` does: a missing flag or a bad key is a usage error (exit 2).
  [[nodiscard]] token_store open() const { return open_store(store, key_file, key_env, plaintext); }
};

// A token picked from the store, with the instant it stops working.
struct held_token {
  std::string secret;
  token_state state;
  std::optional<sys_seconds> usable_until;  // nullopt: no rule ends it
  bool previous = false;
};

// What went wrong: one line for stderr (never a secret) and the exit code.
struct held_error {
  std::string message;
  int exit = exit_unusable;
};

// Loads the store (no lock: saves are atomic renames; nothing is written) and picks the current
// token, or with `previous` its parent still inside its buffer. The current token counts a
// rotation sent without an answer as the start of its buffer, as the rotation job does.
inline outcome<held_token, held_error> pick_token(const token_store& store, bool previous) {
  const auto loaded = store.load();
  if (!loaded) return held_error{loaded.error().message};  // escaped by the store
  const store_contents& c = *loaded;
  const standard_policy policy{fixed_period{}, buffer_period{c.buffer}, hard_expiry{}};
  const sys_seconds now = real_clock{}.now();
  if (previous) {
    if (!c.previous) return held_error{store.file().string() + ": no previous token (none was rotated yet)"};
    const auto u = detail::check_for_job(policy, c.previous->state, now);
    if (!u.usable)
      return held_error{"the previous token stopped working at " + detail::until_text(u.until, now) + " (" +
                        std::string(u.ended_by) + ")"};
    return held_token{c.previous->secret, c.previous->state, u.until, true};
  }
  token_state t = c.current.state;
  if (c.unanswered_rotation && !t.rotated_at) t.rotated_at = c.unanswered_rotation;
  const auto u = detail::check_for_job(policy, t, now);
  if (!u.usable) {
    std::string line = "the token stopped working at " + detail::until_text(u.until, now) + " (" +
                       std::string(u.ended_by) + ")";
    if (c.unanswered_rotation)
      line += "; a rotation sent at " + format_time(*c.unanswered_rotation) + " got no answer";
    return held_error{line + "; a person must act: see rotary rotate"};
  }
  return held_token{c.current.secret, c.current.state, u.until, false};
}

inline void error_line(const std::string& what) { std::cerr << "rotary: error: " << escape(what) << "\n"; }

}  // namespace rotary::cli
