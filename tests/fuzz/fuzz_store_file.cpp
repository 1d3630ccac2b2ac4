// Fuzz target: the encrypted token store file (token_store::load) with a fixed key.
//
// The first byte picks how the rest becomes the file:
//   0: the bytes as they are, opened with the key (header, lengths, key id, tag checks)
//   1: the bytes as they are, opened as a plain-text store
//   2: the bytes are the record's JSON, sealed correctly under the key (reaches the record
//      parser behind AES-256-GCM, which random bytes never pass)
//   3: the same, as a plain-text store with a correct checksum
// Checks: load never throws and every error has a code and a message; a record that loads saves
// (under the lock) and loads back equal, one generation later.
#include <rotary/store.hpp>

#include "fuzz_check.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

const rotary::store_key& fixed_key() {
  static const rotary::store_key key =
      rotary::store_key::parse("rotary-key-v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").value();
  return key;
}

const std::filesystem::path& work_dir() {
  static const std::filesystem::path dir = [] {
    std::string base =
        access("/dev/shm", W_OK) == 0 ? "/dev/shm" : std::filesystem::temp_directory_path().string();
    std::string templ = base + "/rotary-fuzz-store-XXXXXX";
    FUZZ_CHECK(mkdtemp(templ.data()) != nullptr);
    std::filesystem::path p = templ;
    std::atexit([] { std::filesystem::remove_all(work_dir()); });
    return p;
  }();
  return dir;
}

rotary::detail::bytes sealed(const std::string& text, bool gcm) {
  namespace f = rotary::detail::store_format;
  rotary::detail::bytes out(f::header_bytes);
  std::copy(f::magic.begin(), f::magic.end(), out.begin());
  out[8] = f::version;
  out[9] = gcm ? f::mode_gcm : f::mode_plaintext;
  if (gcm) {
    const auto id = fixed_key().id();
    std::copy(id.begin(), id.end(), out.begin() + 12);
    for (std::size_t i = 0; i < rotary::detail::gcm_nonce_bytes; ++i)
      out[20 + i] = static_cast<unsigned char>(i * 7);
  }
  const auto n = static_cast<std::uint32_t>(text.size());
  for (int k = 0; k < 4; ++k)
    out[32 + static_cast<std::size_t>(k)] = static_cast<unsigned char>(n >> (24 - 8 * k));
  const auto* plain = reinterpret_cast<const unsigned char*>(text.data());
  if (gcm) {
    const auto c = rotary::detail::gcm_seal(fixed_key().data(), out.data() + 20, out.data(), f::header_bytes,
                                            plain, text.size());
    out.insert(out.end(), c.begin(), c.end());
  } else {
    out.insert(out.end(), plain, plain + text.size());
    const auto sum = rotary::detail::store_sha256(out.data(), out.size());
    out.insert(out.end(), sum.begin(), sum.begin() + f::trailer_bytes);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int how = data[0] % 4;
  const bool gcm = how == 0 || how == 2;
  rotary::detail::bytes file;
  if (how < 2)
    file.assign(data + 1, data + size);
  else
    file = sealed(std::string(reinterpret_cast<const char*>(data + 1), size - 1), gcm);

  const auto path = work_dir() / "token.store";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
  const auto store =
      gcm ? rotary::token_store(path, fixed_key()) : rotary::token_store(path, rotary::plaintext);
  const auto loaded = store.load();
  if (!loaded) {
    FUZZ_CHECK(!loaded.error().code().empty() && !loaded.error().message.empty());
    return 0;
  }
  // What loads saves, and loads back the same.
  auto lock = store.lock().value();
  const auto generation = store.save(lock, *loaded);
  FUZZ_CHECK(generation.has_value() && *generation == loaded->generation + 1);
  auto again = store.load();
  FUZZ_CHECK(again.has_value());
  auto expected = *loaded;
  expected.generation += 1;
  FUZZ_CHECK(*again == expected);
  return 0;
}
