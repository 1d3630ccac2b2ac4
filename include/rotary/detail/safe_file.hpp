// rotary/detail/safe_file.hpp: reading the file a path names, when the path may name something
// else: a FIFO (opening one blocks until a writer comes), a device (/dev/zero never ends;
// opening /dev/watchdog arms it), a directory, a socket, or a symbolic link where one is refused.
//
//     auto text = detail::read_regular_file("/etc/rotary/key", 4096, detail::links::follow);
//     if (!text) text.error().describe();   // "not a regular file (a FIFO)", "larger than 4 KiB", ...
//
// Every file rotary reads goes through `open_regular`: the path is looked at first (lstat or
// stat) and anything but a regular file is refused without being opened; the open itself uses
// O_NONBLOCK (a FIFO swapped in after the look cannot block it) and O_NOCTTY, and fstat checks
// again what was opened; O_NONBLOCK is then cleared. Every read has a size cap (the callers'
// caps are listed in docs/rotation-job.md, "Files rotary reads").
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rotary/detail/escape.hpp>
#include <rotary/outcome.hpp>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace rotary::detail {

// An owned file descriptor.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
  // Closes now; returns errno of a failing close (0 when it succeeded).
  int reset() noexcept {
    int err = 0;
    if (fd_ >= 0 && ::close(fd_) != 0) err = errno;
    fd_ = -1;
    return err;
  }

 private:
  int fd_ = -1;
};

inline std::string errno_text(int err) { return std::strerror(err); }

// What a path names when it is not a regular file, for messages: "a FIFO", "a directory", ...
constexpr std::string_view file_type_name(mode_t mode) noexcept {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFDIR:
      return "a directory";
    case S_IFIFO:
      return "a FIFO";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFSOCK:
      return "a socket";
    case S_IFLNK:
      return "a symbolic link";
    default:
      return "a file of an unknown type";
  }
}

// "4 KiB", "1 MiB", "1000 bytes".
inline std::string size_text(std::size_t n) {
  if (n != 0 && n % (std::size_t{1} << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n != 0 && n % 1024 == 0) return std::to_string(n / 1024) + " KiB";
  return std::to_string(n) + " bytes";
}

// Whether the last component of a path may be a symbolic link (links in the directories above
// it are always followed).
enum class links { follow, refuse };

// Why a file was not read. `describe()` is the sentence after "PATH: ".
struct file_error {
  enum kind_type {
    os,           // a system call failed: `err` (ENOENT: there is no such file)
    not_regular,  // `type` is not S_IFREG; `link` is the target of a refused symbolic link
    too_large,    // more than `limit` bytes
  };
  kind_type kind = os;
  int err = 0;
  mode_t type = 0;
  std::string link;
  std::size_t limit = 0;

  [[nodiscard]] static file_error system(int err) { return {os, err, 0, {}, 0}; }
  [[nodiscard]] static file_error of_type(mode_t type, std::string link = {}) {
    return {not_regular, 0, type & S_IFMT, std::move(link), 0};
  }
  [[nodiscard]] static file_error over(std::size_t limit) { return {too_large, 0, 0, {}, limit}; }

  // "No such file or directory", "not a regular file (a FIFO)", "not a regular file (a symbolic
  // link to /var/lib/x)", "larger than 4 KiB". The link's target is escaped (detail::escape).
  [[nodiscard]] std::string describe() const {
    switch (kind) {
      case os:
        break;
      case not_regular:
        return "not a regular file (" + std::string(file_type_name(type)) +
               (link.empty() ? std::string() : " to " + escape(link)) + ")";
      case too_large:
        return "larger than " + size_text(limit);
    }
    return errno_text(err);
  }
};

// What `path` names, by lstat (links::refuse) or stat (links::follow): a regular file's stat, or
// an os error (ENOENT when nothing is there) or not_regular. Opens nothing.
inline outcome<struct stat, file_error> stat_regular(const std::string& path, links l) {
  struct stat st {};
  if ((l == links::refuse ? ::lstat(path.c_str(), &st) : ::stat(path.c_str(), &st)) != 0)
    return file_error::system(errno);
  if (S_ISREG(st.st_mode)) return st;
  if (!S_ISLNK(st.st_mode)) return file_error::of_type(st.st_mode);
  std::string target(4096, '\0');
  const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
  return file_error::of_type(st.st_mode, n > 0 ? target.substr(0, static_cast<std::size_t>(n)) : "?");
}

// Checks, without opening it, that `path` names a regular file of at most `limit` bytes: for a
// file that a library reads by its path (OpenSSL's PEM readers, through cpp-httplib), which
// rotary cannot open for it. A FIFO, a device or a directory is refused before the library can
// block on it; a file swapped in after the look is the library's to read.
inline outcome<void, file_error> check_regular(const std::string& path, links l, std::size_t limit) {
  auto st = stat_regular(path, l);
  if (!st) return st.error();
  if (st->st_size > 0 && static_cast<std::size_t>(st->st_size) > limit) return file_error::over(limit);
  return {};
}

// Opens `path` read-only when it names a regular file (see the top of this file); `st` receives
// the opened file's fstat. Never blocks on a FIFO, never opens a device.
inline outcome<unique_fd, file_error> open_regular(const std::string& path, links l, struct stat& st) {
  if (auto seen = stat_regular(path, l); !seen) return seen.error();
  const int nofollow = l == links::refuse ? O_NOFOLLOW : 0;
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | nofollow));
  if (!fd) {
    const int err = errno;
    if (auto now = stat_regular(path, l); !now) return now.error();  // swapped since: say for what
    return file_error::system(err);
  }
  if (::fstat(fd.get(), &st) != 0) return file_error::system(errno);
  if (!S_ISREG(st.st_mode)) return file_error::of_type(st.st_mode);
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return file_error::system(errno);
  return fd;
}

// Reads the rest of `fd` into `out` (a std::string or a std::vector of bytes), at most `limit`
// bytes: too_large beyond. Reads straight into `out`, sized from fstat's `size` first, so that a
// secret is not left behind in a buffer given back by a reallocation (only a file that grows
// while it is read makes `out` grow). On an error `out` may hold part of the file: a caller that
// reads a secret clears it either way.
template <class Buffer>
[[nodiscard]] outcome<void, file_error> read_all(int fd, Buffer& out, std::size_t limit, off_t size = 0) {
  const std::size_t expected = size > 0 ? static_cast<std::size_t>(size) : 0;
  out.resize((expected < limit ? expected : limit) + 1);  // one byte more: sees the end, or too much
  std::size_t length = 0;
  for (;;) {
    if (length == out.size()) out.resize(length < limit / 2 ? 2 * length : limit + 1);
    const ssize_t n = ::read(fd, out.data() + length, out.size() - length);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.resize(length);
      return file_error::system(errno);
    }
    if (n == 0) break;
    length += static_cast<std::size_t>(n);
    if (length > limit) {
      out.resize(length);
      return file_error::over(limit);
    }
  }
  out.resize(length);
  return {};
}

// The whole of a regular file of at most `limit` bytes.
template <class Buffer = std::string>
[[nodiscard]] outcome<Buffer, file_error> read_regular_file(const std::string& path, std::size_t limit,
                                                            links l) {
  struct stat st {};
  auto fd = open_regular(path, l, st);
  if (!fd) return fd.error();
  Buffer out;
  if (auto r = read_all(fd->get(), out, limit, st.st_size); !r) return r.error();
  return out;
}

}  // namespace rotary::detail
