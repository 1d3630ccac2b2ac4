// rotary/detail/server_net.hpp: addresses and connections for the fake server.
//
// - CIDR ranges for the greenlist, IPv4 and IPv6 alike: every address is held as 16 bytes,
//   IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so "10.0.0.0/8" also matches ::ffff:10.1.2.3.
// - Ending a connection from inside a cpp-httplib handler, which offers no way to do it: the
//   connection is found by its address pair among the process's sockets (or through the SSL
//   object for TLS) and is reset (TCP RST, via connect(AF_UNSPEC)) or shut down (FIN without a
//   response). The descriptor stays open; cpp-httplib's write fails and it closes the socket as
//   usual, so no descriptor is ever closed behind its back.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rotary::detail {

using ip_bytes = std::array<unsigned char, 16>;

// "127.0.0.1", "::1", "::ffff:127.0.0.1" as 16 bytes (IPv4 mapped); nullopt if not an address.
inline std::optional<ip_bytes> parse_ip(std::string_view text) {
  const std::string s(text);
  ip_bytes out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

inline std::optional<std::pair<ip_bytes, int>> sockaddr_ip(const sockaddr_storage& sa) {
  ip_bytes out{};
  if (sa.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(sa);
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &in.sin_addr, 4);
    return std::pair{out, static_cast<int>(ntohs(in.sin_port))};
  }
  if (sa.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
    std::memcpy(out.data(), &in6.sin6_addr, 16);
    return std::pair{out, static_cast<int>(ntohs(in6.sin6_port))};
  }
  return std::nullopt;
}

// An address range: "10.0.0.0/8", "2001:db8::/32", or one address ("192.0.2.7" is /32).
struct cidr {
  ip_bytes network{};
  int prefix = 128;  // over the 16-byte form: an IPv4 /8 is 104

  [[nodiscard]] bool contains(const ip_bytes& ip) const noexcept {
    int bits = prefix;
    for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
      const auto mask = static_cast<unsigned char>(bits >= 8 ? 0xff : 0xff << (8 - bits));
      if ((ip[i] & mask) != network[i]) return false;
    }
    return true;
  }
};

// Parses a CIDR range; on error, `error` says what is wrong. Host bits below the prefix are
// ignored ("10.1.2.3/8" is 10.0.0.0/8).
inline std::optional<cidr> parse_cidr(std::string_view text, std::string& error) {
  const auto slash = text.find('/');
  const auto address = text.substr(0, slash);
  const auto ip = parse_ip(address);
  if (!ip) {
    error = "\"" + std::string(address) + "\" is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  const bool v4 = std::string(address).find(':') == std::string::npos;
  const int width = v4 ? 32 : 128;
  int prefix = width;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc{} || p != digits.data() + digits.size() || prefix < 0 ||
        prefix > width) {
      error =
          "prefix length \"" + std::string(digits) + "\" must be a number from 0 to " + std::to_string(width);
      return std::nullopt;
    }
  }
  cidr c;
  c.prefix = v4 ? prefix + 96 : prefix;
  int bits = c.prefix;
  for (std::size_t i = 0; i < 16; ++i, bits -= 8)
    c.network[i] = bits >= 8   ? (*ip)[i]
                   : bits <= 0 ? static_cast<unsigned char>(0)
                               : static_cast<unsigned char>((*ip)[i] & (0xff << (8 - bits)));
  return c;
}

// Every open socket descriptor of this process, from /proc/self/fd.
inline std::vector<int> open_descriptors() {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int self = dirfd(dir);
  while (const dirent* e = readdir(dir)) {
    int fd = -1;
    const std::string_view name(e->d_name);
    const auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (ec == std::errc{} && p == name.data() + name.size() && fd != self) fds.push_back(fd);
  }
  closedir(dir);
  return fds;
}

struct endpoint_pair {
  ip_bytes local{};
  int local_port = -1;
  ip_bytes remote{};
  int remote_port = -1;
};

inline std::optional<endpoint_pair> socket_endpoints(int fd) {
  sockaddr_storage local{}, remote{};
  socklen_t ll = sizeof local, rl = sizeof remote;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) return std::nullopt;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &rl) != 0) return std::nullopt;
  const auto l = sockaddr_ip(local);
  const auto r = sockaddr_ip(remote);
  if (!l || !r) return std::nullopt;
  return endpoint_pair{l->first, l->second, r->first, r->second};
}

// The descriptor of the accepted connection with these addresses, or -1.
inline int find_connection(std::string_view local_addr, int local_port, std::string_view remote_addr,
                           int remote_port) {
  const auto local = parse_ip(local_addr);
  const auto remote = parse_ip(remote_addr);
  if (!local || !remote) return -1;
  for (int fd : open_descriptors()) {
    const auto e = socket_endpoints(fd);
    if (e && e->local_port == local_port && e->remote_port == remote_port && e->local == *local &&
        e->remote == *remote)
      return fd;
  }
  return -1;
}

// Ends a connection without a response: `reset` sends a TCP RST, otherwise a FIN.
inline void end_connection(int fd, bool reset) {
  if (fd < 0) return;
  if (reset) {
    sockaddr unspecified{};
    unspecified.sa_family = AF_UNSPEC;
    if (connect(fd, &unspecified, sizeof unspecified) == 0) return;
  }
  shutdown(fd, SHUT_RDWR);
}

// Shuts down every accepted connection to `local`:`port` (any local address when `local` is
// nullopt), so idle keep-alive connections do not hold up stopping the server.
inline void end_connections_to(const std::optional<ip_bytes>& local, int port) {
  for (int fd : open_descriptors()) {
    const auto e = socket_endpoints(fd);
    if (e && e->local_port == port && (!local || e->local == *local)) shutdown(fd, SHUT_RDWR);
  }
}

}  // namespace rotary::detail
