// rotary/detail/store_file.hpp: the POSIX calls of the token store (write, fsync, flock), with
// errno kept for the message; opening and reading are in safe_file.hpp.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rotary/detail/safe_file.hpp>

#include <cerrno>
#include <cstring>
#include <string>

namespace rotary::detail {

inline int write_all(int fd, const unsigned char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return 0;
}

inline int fsync_directory(const std::string& dir) {
  unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno;
  if (::fsync(fd.get()) != 0) return errno;
  return 0;
}

// flock(LOCK_EX | LOCK_NB); 0, EWOULDBLOCK, or another errno.
inline int try_flock(int fd) {
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno == EINTR) continue;
    return errno == EAGAIN ? EWOULDBLOCK : errno;
  }
}

}  // namespace rotary::detail
