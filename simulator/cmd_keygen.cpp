// rotary keygen: a fresh key for the token store, in the documented text form
// ("rotary-key-v1:" + base64 of 32 random bytes).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <rotary/store.hpp>

#include "command.hpp"

namespace {

struct options {
  std::string out;
  bool json = false;
};

int run(const options& o) {
  const auto key = rotary::store_key::generate();
  if (o.out.empty()) {
    if (o.json)
      std::cout << nlohmann::json{{"key", key.text()}, {"keyId", key.id_hex()}, {"file", nullptr}}.dump()
                << "\n";
    else
      std::cout << key.text() << "\n";
    return 0;
  }
  // O_EXCL: never overwrite a key (the stores written with it would be lost); 0600 from birth.
  const int fd = ::open(o.out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      throw rotary::cli::usage_error{"--out " + rotary::cli::escape(o.out) +
                                     ": exists; keygen never overwrites a key"};
    throw std::runtime_error("--out " + rotary::cli::escape(o.out) + ": " + std::strerror(errno));
  }
  const std::string line = key.text() + "\n";
  const bool ok =
      ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(o.out.c_str());
    throw std::runtime_error("--out " + rotary::cli::escape(o.out) + ": cannot write the key");
  }
  if (o.json)
    std::cout << nlohmann::json{{"key", nullptr}, {"keyId", key.id_hex()}, {"file", o.out}}.dump() << "\n";
  else
    std::cout << "wrote a new key to " << o.out << " (mode 0600, key id " << key.id_hex() << ")\n";
  return 0;
}

}  // namespace

ROTARY_COMMAND("keygen", "Print a fresh key for the encrypted token store", [](CLI::App& app) {
  auto o = std::make_shared<options>();
  app.add_option("--out", o->out, "Write the key to this new file (mode 0600) instead of stdout");
  app.add_flag("--json", o->json, "Print {\"key\", \"keyId\", \"file\"}");
  app.footer("Key format: one line, \"rotary-key-v1:\" followed by the standard base64 of 32 random bytes.");
  return [o]() -> int { return run(*o); };
});
