// Files for tests: a private temporary directory removed with everything in it, whole-file
// reads and writes, and the 256 byte values.
//
//     rotary::test::temp_dir dir;                       // /tmp/rotary-test-XXXXXX, mode 0700
//     rotary::test::write_file(dir.path / "state.json", "{}");
//     BOOST_TEST(rotary::test::read_file(dir.path / "state.json") == "{}");
#pragma once

#include <stdlib.h>  // mkdtemp (POSIX)

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

namespace rotary::test {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string name = (std::filesystem::temp_directory_path() / "rotary-test-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = name;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Replaces the file's bytes; the file is left readable by its owner only (0600), as key files
// must be.
inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out.flush()) throw std::runtime_error("cannot write " + p.string());
  }
  std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// Every byte value once, 0 to 255.
inline std::string binary_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

}  // namespace rotary::test
