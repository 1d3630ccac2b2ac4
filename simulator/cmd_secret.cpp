// rotary secret: prints the token held in a store, for a program that needs it. Reads only.
// See docs/consumers.md.
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "command.hpp"
#include "store_flags.hpp"

namespace {

using namespace rotary;

struct options {
  cli::store_flags store;
  bool previous = false, json = false;
};

int print_secret(const options& o) {
  const auto store = o.store.open();  // usage errors (exit 2) before anything is read
  const auto held = cli::pick_token(store, o.previous);
  if (!held) {
    cli::error_line(held.error().message);
    return held.error().exit;
  }
  if (o.json) {
    const nlohmann::json j = {
        {"secret", held->secret},
        {"which", held->previous ? "previous" : "current"},
        {"createdAt", format_time(held->state.created_at)},
        {"usableUntil",
         held->usable_until ? nlohmann::json(format_time(*held->usable_until)) : nlohmann::json()}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << held->secret << "\n";
  }
  std::cout.flush();
  return std::cout ? cli::exit_ok : cli::exit_found;
}

}  // namespace

ROTARY_COMMAND("secret", "Print the token held in a store (stdout only), for the program that uses it",
               [](CLI::App& app) {
                 auto o = std::make_shared<options>();
                 o->store.add_to(app);
                 app.add_flag("--previous", o->previous,
                              "Print the parent of the current token, while its buffer lasts");
                 app.add_flag("--json", o->json,
                              "Print one JSON object: secret, which, createdAt, usableUntil");
                 app.footer(
                     "Prints the secret and one newline on stdout, nothing else; never writes the store.\n"
                     "Exit codes: 0 printed; 2 usage or key problem; 3 the token is unusable, there is no\n"
                     "previous token inside its buffer (--previous), or the store cannot be read: a person\n"
                     "must act.");
                 return [o]() -> int { return print_secret(*o); };
               });
