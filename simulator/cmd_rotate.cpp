// rotary rotate: one run of the rotation job (rotator.hpp) for cron; with --init, a new store
// from a token read on stdin. See docs/rotation-job.md.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <rotary/clock.hpp>
#include <rotary/hook.hpp>
#include <rotary/json.hpp>
#include <rotary/rotator.hpp>
#include <rotary/store.hpp>

#include "command.hpp"

namespace {

using namespace rotary;

struct options {
  std::string endpoint, store, key_file, key_env,
      strategy = "always", timeout = "30s", retry_delay = "30s", lock_wait = "10s", ca_file, period, expires,
      created, retries = "3", on_rotate, on_rotate_secret_env, on_rotate_timeout = "60s", secret_file;
  bool plaintext = false, init = false, json = false;
};

token_store open_store(const options& o) {
  const int given = (!o.key_file.empty()) + (!o.key_env.empty()) + (o.plaintext ? 1 : 0);
  if (o.store.empty()) throw cli::usage_error{"--store FILE is required"};
  if (given != 1) throw cli::usage_error{"give exactly one of --key-file FILE, --key-env VAR or --plaintext"};
  if (o.plaintext) return token_store{o.store, plaintext};
  auto key = o.key_file.empty() ? store_key::from_env(o.key_env) : store_key::from_file(o.key_file);
  if (!key) throw cli::usage_error{key.error().message};
  return token_store{o.store, *key};
}

// --secret-file: any path but the store's own files.
std::filesystem::path secret_file_flag(const options& o) {
  if (o.secret_file.empty()) return {};
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto same = [&](const fs::path& other) {
    return fs::weakly_canonical(fs::absolute(o.secret_file, ec), ec) ==
           fs::weakly_canonical(fs::absolute(other, ec), ec);
  };
  if (!o.store.empty() && same(o.store))
    throw cli::usage_error{"--secret-file " + detail::escape(o.secret_file) + ": is the store itself"};
  if (!o.store.empty() && same(o.store + ".lock"))
    throw cli::usage_error{"--secret-file " + detail::escape(o.secret_file) + ": is the store's lock file"};
  return o.secret_file;
}

// --on-rotate and its two companions.
std::optional<hook_command> on_rotate_flags(const options& o) {
  if (o.on_rotate.empty()) {
    if (!o.on_rotate_secret_env.empty()) throw cli::usage_error{"--on-rotate-secret-env needs --on-rotate"};
    return std::nullopt;
  }
  hook_command h;
  h.command = o.on_rotate;
  h.timeout = cli::duration_flag("--on-rotate-timeout", o.on_rotate_timeout);
  if (h.timeout < seconds{1})
    throw cli::usage_error{"--on-rotate-timeout " + detail::escape(o.on_rotate_timeout) + ": at least 1s"};
  if (!o.on_rotate_secret_env.empty()) {
    if (!is_env_name(o.on_rotate_secret_env))
      throw cli::usage_error{"--on-rotate-secret-env " + detail::escape(o.on_rotate_secret_env) +
                             ": not a variable name (letters, digits and _, not starting with a digit)"};
    if (o.on_rotate_secret_env.rfind("ROTARY_", 0) == 0)
      throw cli::usage_error{"--on-rotate-secret-env " + detail::escape(o.on_rotate_secret_env) +
                             ": ROTARY_ names are rotary's own"};
    h.secret_env = o.on_rotate_secret_env;
  }
  if (!o.key_env.empty()) h.unset_env.push_back(o.key_env);  // the store key stays here
  return h;
}

job_strategy strategy_flag(const std::string& text) {
  if (text == "always") return {};
  constexpr std::string_view prefix = "when-due:";
  if (text.rfind(prefix, 0) != 0)
    throw cli::usage_error{"--strategy " + text + ": expected always or when-due:DUR (e.g. when-due:24h)"};
  const auto margin = parse_duration(std::string_view{text}.substr(prefix.size()));
  if (!margin)  // the column counts from the start of the whole value
    throw cli::usage_error{"--strategy " + text + ": " + margin.error().message + " (column " +
                           std::to_string(margin.error().column + prefix.size()) + ")"};
  return {job_strategy::when_due, *margin};
}

// The secret, from stdin: one line of printable characters without spaces. At most 8195 bytes
// are read (8192 and a CRLF, and one more to see that there is more): stdin from /dev/zero or an
// endless pipe is refused, not read until memory runs out.
std::string read_secret() {
  constexpr std::size_t cap = 8192 + 3;
  std::string text(cap, '\0');
  std::cin.read(text.data(), static_cast<std::streamsize>(cap));  // up to cap bytes or the end
  text.resize(static_cast<std::size_t>(std::cin.gcount()));
  if (text.ends_with("\r\n"))
    text.resize(text.size() - 2);
  else if (text.ends_with('\n'))
    text.pop_back();
  if (text.empty()) throw cli::usage_error{"--init reads the token from stdin, and stdin is empty"};
  if (!is_valid_secret(text))
    throw cli::usage_error{
        "--init: stdin must hold the token alone on one line (printable characters, no spaces, at most "
        "8192)"};
  return text;
}

int init(const options& o) {
  if (!o.on_rotate.empty() || !o.on_rotate_secret_env.empty())
    throw cli::usage_error{"--on-rotate runs after a rotation, not with --init"};
  const auto secret_file = secret_file_flag(o);
  const auto now = real_clock{}.now();
  store_contents c;
  c.current.state.created_at = o.created.empty() ? now : cli::time_flag("--created", o.created);
  if (!o.period.empty()) c.current.state.rotation_period = cli::minutes_flag("--period", o.period);
  c.current.state.expires_at = cli::optional_time_flag("--expires", o.expires);
  if (c.current.state.expires_at && *c.current.state.expires_at <= c.current.state.created_at)
    throw cli::usage_error{"--expires " + o.expires + ": not after the token's creation"};
  std::vector<std::string> warnings;
  if (!o.endpoint.empty()) {
    const auto e = parse_endpoint(o.endpoint);
    if (!e) throw cli::usage_error{e.error().message};
    if (auto w = detail::plain_http_warning(*e)) warnings.push_back(std::move(*w));
    c.endpoint = o.endpoint;
  }
  const auto lock_wait =
      std::chrono::duration_cast<std::chrono::milliseconds>(cli::duration_flag("--lock-wait", o.lock_wait));
  c.unverified = o.created.empty() || o.period.empty();
  const auto store = open_store(o);  // every flag is checked before the key is read
  c.current.secret = read_secret();

  const standard_policy policy{};
  auto fail = [&](const store_error& e) {
    if (o.json)
      std::cout << nlohmann::json{{"status", "not-initialized"},
                                  {"exitCode", 1},
                                  {"error", e.code()},
                                  {"message", e.message}}
                       .dump()
                << "\n";
    else
      std::cout << format_time(now) << " not-initialized: " << e.message << "\n";
    return 1;
  };
  auto lock = store.lock(lock_wait);
  if (!lock) return fail(lock.error());
  const auto created = store.create(*lock, c);
  if (!created) return fail(created.error());
  const auto until = policy.usable_until(c.current.state);
  const std::string protection = store.encrypted()
                                     ? "encrypted (AES-256-GCM)"
                                     : "in PLAIN TEXT (--plaintext): anyone who can read it has the token";
  std::string line = format_time(now) + " initialized: " + store.file().string() + " " + protection;
  if (c.unverified)
    line +=
        "; without --created and --period the first run rotates to learn the token's facts from the server";
  else
    line += "; the token is usable until " + (until ? format_time(*until) : std::string("no end"));
  std::string secret_file_error;
  if (!secret_file.empty()) {
    secret_file_error = write_secret_file(secret_file, c.current.secret);
    if (!secret_file_error.empty()) line += "; secret-file: " + secret_file_error;
  }
  const int exit = secret_file_error.empty() ? 0 : 4;
  for (const auto& w : warnings) line += "; warning: " + w;  // as every run's report will say
  if (o.json) {
    nlohmann::json j = {
        {"status", "initialized"},
        {"exitCode", exit},
        {"store", store.file().string()},
        {"encrypted", store.encrypted()},
        {"token", c.current.state},
        {"unverified", c.unverified},
        {"usableUntil", until && !c.unverified ? nlohmann::json(format_time(*until)) : nlohmann::json()},
        {"secretFileError", secret_file_error.empty() ? nlohmann::json() : nlohmann::json(secret_file_error)},
        {"warnings", warnings},
        {"line", line}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << line << "\n";
  }
  return exit;
}

int rotate_once(const options& o) {
  rotator_options r;
  r.endpoint = o.endpoint;
  if (!r.endpoint.empty())
    if (const auto e = parse_endpoint(r.endpoint); !e) throw cli::usage_error{e.error().message};
  r.strategy = strategy_flag(o.strategy);
  r.retries = static_cast<int>(cli::integer_flag("--retries", o.retries, 0, 100));
  r.retry_delay = cli::duration_flag("--retry-delay", o.retry_delay);
  if (r.retry_delay < seconds{1}) throw cli::usage_error{"--retry-delay " + o.retry_delay + ": at least 1s"};
  const auto timeout = cli::duration_flag("--timeout", o.timeout);
  if (timeout < seconds{1}) throw cli::usage_error{"--timeout " + o.timeout + ": at least 1s"};
  r.client.total_timeout = timeout;  // the whole request, each attempt
  r.client.read_timeout = timeout;
  r.client.connect_timeout = std::min<seconds>(timeout, seconds{10});
  r.client.ca_file = o.ca_file;
  r.client.user_agent = std::string("rotary/") + ROTARY_VERSION;
  r.lock_wait = cli::duration_flag("--lock-wait", o.lock_wait);
  r.on_rotate = on_rotate_flags(o);
  r.secret_file = secret_file_flag(o);
  const auto store = open_store(o);  // every flag is checked before the key is read
  real_clock clock;
  const auto report = rotator(store, r, clock).run();
  if (o.json)
    std::cout << nlohmann::json(report).dump() << "\n";
  else
    std::cout << report.line() << "\n";
  return report.exit_code();
}

}  // namespace

ROTARY_COMMAND(
    "rotate", "Rotate the token in a store once (for cron); --init creates the store", [](CLI::App& app) {
      auto o = std::make_shared<options>();
      app.add_option(
          "--endpoint", o->endpoint,
          "Rotate endpoint: base URL (https://host) or the full /api/index/v1/rotatetoken URL; default: the "
          "one in the store");
      app.add_option("--store", o->store, "The token store file (a FILE.lock beside it holds the run lock)");
      app.add_option("--key-file", o->key_file, "File with the store key (rotary keygen), mode 0600 or 0400");
      app.add_option("--key-env", o->key_env, "Environment variable holding the store key");
      app.add_flag("--plaintext", o->plaintext, "Keep the store unencrypted (marked in its header)");
      app.add_option("--strategy", o->strategy,
                     "always, or when-due:DUR (rotate once the deadline is DUR away)")
          ->capture_default_str();
      app.add_option("--retries", o->retries, "Retries of transient failures (429, 5xx, network)")
          ->capture_default_str();
      app.add_option("--retry-delay", o->retry_delay, "First backoff, doubled after each failure")
          ->capture_default_str();
      app.add_option("--timeout", o->timeout,
                     "Time for a whole request: connect, TLS, send, answer (connect: at most 10s)")
          ->capture_default_str();
      app.add_option("--ca-file", o->ca_file, "PEM CA certificates to trust instead of the system store");
      app.add_option("--lock-wait", o->lock_wait,
                     "How long a second run waits for the lock, then exits 1 (busy)")
          ->capture_default_str();
      app.add_flag("--init", o->init, "Create the store from the token on stdin (never from a flag)");
      app.add_option("--period", o->period, "--init: the token's rotation period in minutes");
      app.add_option("--created", o->created, "--init: when the token was created (ISO-8601)");
      app.add_option("--expires", o->expires, "--init: the token's hard expiry (ISO-8601)");
      app.add_option("--on-rotate", o->on_rotate,
                     "Shell command run (/bin/sh -c) once a new token is saved, with its facts in ROTARY_* "
                     "variables");
      app.add_option("--on-rotate-secret-env", o->on_rotate_secret_env,
                     "Give the --on-rotate command the new secret in this environment variable (only there)");
      app.add_option("--on-rotate-timeout", o->on_rotate_timeout,
                     "Then SIGTERM to the command's process group, SIGKILL 5s later")
          ->capture_default_str();
      app.add_option("--secret-file", o->secret_file,
                     "Also write the new secret to this file (mode 0600, PLAIN TEXT), and on --init");
      app.add_flag("--json", o->json, "Print one JSON document");
      app.footer(
          "Exit codes: 0 rotated or not due; 1 failed or busy, the token still works (the line says until "
          "when);\n"
          "3 the token is unusable, the chain is broken or the store unreadable: a person must act; 2 "
          "usage;\n"
          "4 rotated and saved, but --on-rotate or --secret-file failed: the consumer may not have the new "
          "token.\n"
          "--init: 0 created, 1 not created (store exists, locked), 2 usage, 4 created but --secret-file "
          "failed.");
      return [o]() -> int { return o->init ? init(*o) : rotate_once(*o); };
    });
