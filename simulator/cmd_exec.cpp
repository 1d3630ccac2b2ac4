// rotary exec: runs a program with the token held in a store in one environment variable,
// replacing itself with it (execvp). Reads the store only. See docs/consumers.md.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.hpp"
#include "store_flags.hpp"

namespace {

using namespace rotary;

// Besides NAME, the child gets the instant its token stops working here (absent: no end).
constexpr const char* until_variable = "ROTARY_TOKEN_USABLE_UNTIL";

struct options {
  cli::store_flags store;
  std::string env = "ROTARY_TOKEN";
  std::vector<std::string> command;
};

bool valid_name(const std::string& n) {
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (n.empty() || !alpha(n[0])) return false;
  for (char c : n)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

int run(const options& o) {
  if (!valid_name(o.env))
    throw cli::usage_error{"--env " + cli::escape(o.env) +
                           ": not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"};
  if (o.env == until_variable)
    throw cli::usage_error{"--env " + o.env + ": rotary exec sets that one to the token's end"};
  if (o.command.empty())
    throw cli::usage_error{"no command: give it after --, e.g. rotary exec ... -- CMD ARGS"};
  const auto store = o.store.open();  // usage errors (exit 2) before anything is read
  const auto held = cli::pick_token(store, false);
  if (!held) {
    cli::error_line(held.error().message);
    return held.error().exit;  // CMD never starts with an unusable token
  }
  // The secret goes in the environment only, never in argv; the store key does not go at all.
  if (!o.store.key_env.empty()) ::unsetenv(o.store.key_env.c_str());
  if (::setenv(o.env.c_str(), held->secret.c_str(), 1) != 0 ||
      (held->usable_until ? ::setenv(until_variable, format_time(*held->usable_until).c_str(), 1)
                          : ::unsetenv(until_variable)) != 0) {
    cli::error_line(std::string("cannot set the environment: ") + std::strerror(errno));
    return 126;
  }
  std::vector<char*> argv;
  argv.reserve(o.command.size() + 1);
  for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  ::execvp(argv[0], argv.data());
  const int e = errno;  // only on failure, as env(1) reports it
  ::unsetenv(o.env.c_str());
  if (e == ENOENT || e == ENOTDIR) {
    cli::error_line(cli::escape(o.command[0]) + ": command not found");
    return 127;
  }
  cli::error_line(cli::escape(o.command[0]) + ": cannot run: " + std::strerror(e));
  return 126;
}

}  // namespace

ROTARY_COMMAND(
    "exec", "Run a program with the token held in a store in an environment variable", [](CLI::App& app) {
      auto o = std::make_shared<options>();
      o->store.add_to(app);
      app.add_option("--env", o->env, "The environment variable that holds the token for CMD")
          ->capture_default_str();
      app.add_option("command", o->command, "-- CMD [ARGS...]: the program to run, and its arguments");
      app.footer(
          "Replaces itself with CMD (execvp): CMD's exit status is the status. CMD gets the secret in\n"
          "$NAME (never in its arguments) and ROTARY_TOKEN_USABLE_UNTIL (ISO-8601, absent when the\n"
          "token has no end); the --key-env variable is removed from its environment.\n"
          "Exit codes before CMD starts: 2 usage or key problem; 3 the token is unusable or the store\n"
          "cannot be read (CMD is not run); 126 CMD cannot be run; 127 CMD not found.");
      return [o]() -> int { return run(*o); };
    });
