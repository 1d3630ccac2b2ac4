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
#include "job_flags.hpp"

namespace {

using namespace rotary;

struct options : cli::job_flags {
  std::string period, expires, created;
  bool init = false, json = false;
};

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
  const auto secret_file = o.secret_file_path();
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
  const auto store = o.open_store();  // every flag is checked before the key is read
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
  const rotator_options r = o.rotation();
  const auto store = o.open_store();  // every flag is checked before the key is read
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
      o->add_to(app, "always");
      app.add_flag("--init", o->init, "Create the store from the token on stdin (never from a flag)");
      app.add_option("--period", o->period, "--init: the token's rotation period in minutes");
      app.add_option("--created", o->created, "--init: when the token was created (ISO-8601)");
      app.add_option("--expires", o->expires, "--init: the token's hard expiry (ISO-8601)");
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
