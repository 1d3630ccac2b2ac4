// rotary: rotate API tokens safely. See `rotary --help` and README.md.
#include "command.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>

#ifndef ROTARY_VERSION
#define ROTARY_VERSION "0.0.0"
#endif

namespace {

// One line, no trailing "Run with --help" paragraph: the form a cron log wants. The text is
// escaped (rotary::detail::escape) here once more, for the values CLI11 and the libraries quote
// without escaping; text escaped already is unchanged by it.
void error_line(const std::string& what) {
  std::cerr << "rotary: error: " << rotary::detail::escape(what) << "\n";
}

int usage(const std::string& what) {
  error_line(what);
  return rotary::cli::exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "rotary: rotate API tokens safely: lifecycle rules, cron schedules, a simulator,\n"
      "a fake /rotatetoken server and the rotation job.",
      "rotary"};
  app.set_version_flag("--version", std::string("rotary ") + ROTARY_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 the check found a problem (a lapse, an unusable token, an invalid\n"
      "expression), 2 usage error; rotary rotate adds 3 (the token is unusable or the chain is\n"
      "broken: a person must act). Every subcommand has --help and --json.");

  auto& commands = rotary::cli::registry();
  std::sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::function<int()> chosen;
  for (auto& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    auto run = c.setup(*sub);
    sub->callback([&chosen, run] { chosen = run; });
  }

  if (argc < 2) return usage("missing command; see 'rotary --help'");
  const std::string first = argv[1];
  if (first[0] != '-' &&
      std::none_of(commands.begin(), commands.end(), [&](const auto& c) { return c.name == first; }))
    return usage("unknown command '" + rotary::cli::escape(argv[1]) + "'; see 'rotary --help'");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage(e.what());
  } catch (const rotary::cli::usage_error& e) {
    return usage(e.what);
  }
  // A flag given an empty value (`--period ''`, `--out ''`) is a usage error: the commands read
  // an empty string as "flag not given", which would silently drop what the user asked for.
  for (const CLI::App* sub : app.get_subcommands())
    for (const CLI::Option* opt : sub->get_options())
      if (opt->nonpositional() && opt->get_type_size_max() > 0 && opt->count() > 0)
        for (const auto& value : opt->results())
          if (value.empty()) return usage(opt->get_name() + ": empty value");
  try {
    return chosen ? chosen() : rotary::cli::exit_usage;
  } catch (const rotary::cli::usage_error& e) {
    return usage(e.what);
  } catch (const std::exception& e) {
    error_line(e.what());
    return rotary::cli::exit_found;
  }
}
