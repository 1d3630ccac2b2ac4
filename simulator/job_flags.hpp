// The flags of the rotation job, shared by `rotary rotate` (one run, for cron) and `rotary agent`
// (the same engine as a service): the store and its key, the endpoint, the strategy, retries,
// timeouts, and the hand-over of a new token (--on-rotate, --secret-file). Each is checked,
// with its one-line usage error, before the key is read. See docs/rotation-job.md.
#pragma once

#include <rotary/client.hpp>
#include <rotary/hook.hpp>
#include <rotary/job_strategy.hpp>
#include <rotary/rotator.hpp>
#include <rotary/store.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "command.hpp"
#include "store_flags.hpp"

#ifndef ROTARY_VERSION
#define ROTARY_VERSION "0.0.0"
#endif

namespace rotary::cli {

inline job_strategy strategy_flag(const std::string& text) {
  if (text == "always") return {};
  constexpr std::string_view prefix = "when-due:";
  if (text.rfind(prefix, 0) != 0)
    throw usage_error{"--strategy " + text + ": expected always or when-due:DUR (e.g. when-due:24h)"};
  const auto margin = parse_duration(std::string_view{text}.substr(prefix.size()));
  if (!margin)  // the column counts from the start of the whole value
    throw usage_error{"--strategy " + text + ": " + margin.error().message + " (column " +
                      std::to_string(margin.error().column + prefix.size()) + ")"};
  return {job_strategy::when_due, *margin};
}

struct job_flags {
  std::string endpoint, store, key_file, key_env, strategy,
      timeout = "30s", retry_delay = "30s", lock_wait = "10s", ca_file, retries = "3", on_rotate,
      on_rotate_secret_env, on_rotate_timeout = "60s", secret_file;
  bool plaintext = false;

  void add_to(CLI::App& app, const std::string& default_strategy) {
    strategy = default_strategy;
    app.add_option(
        "--endpoint", endpoint,
        "Rotate endpoint: base URL (https://host) or the full /api/index/v1/rotatetoken URL; default: the "
        "one in the store");
    app.add_option("--store", store, "The token store file (a FILE.lock beside it holds the run lock)");
    app.add_option("--key-file", key_file, "File with the store key (rotary keygen), mode 0600 or 0400");
    app.add_option("--key-env", key_env, "Environment variable holding the store key");
    app.add_flag("--plaintext", plaintext, "Keep the store unencrypted (marked in its header)");
    app.add_option("--strategy", strategy, "always, or when-due:DUR (rotate once the deadline is DUR away)")
        ->capture_default_str();
    app.add_option("--retries", retries, "Retries of transient failures (429, 5xx, network)")
        ->capture_default_str();
    app.add_option("--retry-delay", retry_delay, "First backoff, doubled after each failure")
        ->capture_default_str();
    app.add_option("--timeout", timeout,
                   "Time for a whole request: connect, TLS, send, answer (connect: at most 10s)")
        ->capture_default_str();
    app.add_option("--ca-file", ca_file, "PEM CA certificates to trust instead of the system store");
    app.add_option("--lock-wait", lock_wait, "How long a second run waits for the lock, then exits 1 (busy)")
        ->capture_default_str();
    app.add_option("--on-rotate", on_rotate,
                   "Shell command run (/bin/sh -c) once a new token is saved, with its facts in ROTARY_* "
                   "variables");
    app.add_option("--on-rotate-secret-env", on_rotate_secret_env,
                   "Give the --on-rotate command the new secret in this environment variable (only there)");
    app.add_option("--on-rotate-timeout", on_rotate_timeout,
                   "Then SIGTERM to the command's process group, SIGKILL 5s later")
        ->capture_default_str();
    app.add_option("--secret-file", secret_file,
                   "Also write the new secret to this file (mode 0600, PLAIN TEXT); rotate: on --init too");
  }

  // The store, with its key: a missing flag or a bad key is a usage error (exit 2).
  [[nodiscard]] token_store open_store() const {
    return cli::open_store(store, key_file, key_env, plaintext);
  }

  // --secret-file: any path but the store's own files.
  [[nodiscard]] std::filesystem::path secret_file_path() const {
    if (secret_file.empty()) return {};
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto same = [&](const fs::path& other) {
      return fs::weakly_canonical(fs::absolute(secret_file, ec), ec) ==
             fs::weakly_canonical(fs::absolute(other, ec), ec);
    };
    if (!store.empty() && same(store))
      throw usage_error{"--secret-file " + detail::escape(secret_file) + ": is the store itself"};
    if (!store.empty() && same(store + ".lock"))
      throw usage_error{"--secret-file " + detail::escape(secret_file) + ": is the store's lock file"};
    return secret_file;
  }

  // --on-rotate and its two companions.
  [[nodiscard]] std::optional<hook_command> on_rotate_command() const {
    if (on_rotate.empty()) {
      if (!on_rotate_secret_env.empty()) throw usage_error{"--on-rotate-secret-env needs --on-rotate"};
      return std::nullopt;
    }
    hook_command h;
    h.command = on_rotate;
    h.timeout = duration_flag("--on-rotate-timeout", on_rotate_timeout);
    if (h.timeout < seconds{1})
      throw usage_error{"--on-rotate-timeout " + detail::escape(on_rotate_timeout) + ": at least 1s"};
    if (!on_rotate_secret_env.empty()) {
      if (!is_env_name(on_rotate_secret_env))
        throw usage_error{"--on-rotate-secret-env " + detail::escape(on_rotate_secret_env) +
                          ": not a variable name (letters, digits and _, not starting with a digit)"};
      if (on_rotate_secret_env.rfind("ROTARY_", 0) == 0)
        throw usage_error{"--on-rotate-secret-env " + detail::escape(on_rotate_secret_env) +
                          ": ROTARY_ names are rotary's own"};
      h.secret_env = on_rotate_secret_env;
    }
    if (!key_env.empty()) h.unset_env.push_back(key_env);  // the store key stays here
    return h;
  }

  // Every option of the engine, from the flags.
  [[nodiscard]] rotator_options rotation() const {
    rotator_options r;
    r.endpoint = endpoint;
    if (!r.endpoint.empty())
      if (const auto e = parse_endpoint(r.endpoint); !e) throw usage_error{e.error().message};
    r.strategy = strategy_flag(strategy);
    r.retries = static_cast<int>(integer_flag("--retries", retries, 0, 100));
    r.retry_delay = duration_flag("--retry-delay", retry_delay);
    if (r.retry_delay < seconds{1}) throw usage_error{"--retry-delay " + retry_delay + ": at least 1s"};
    const auto total = duration_flag("--timeout", timeout);
    if (total < seconds{1}) throw usage_error{"--timeout " + timeout + ": at least 1s"};
    r.client.total_timeout = total;  // the whole request, each attempt
    r.client.read_timeout = total;
    r.client.connect_timeout = std::min<seconds>(total, seconds{10});
    r.client.ca_file = ca_file;
    r.client.user_agent = std::string("rotary/") + ROTARY_VERSION;
    r.lock_wait = duration_flag("--lock-wait", lock_wait);
    r.on_rotate = on_rotate_command();
    r.secret_file = secret_file_path();
    return r;
  }
};

}  // namespace rotary::cli
