// Raw HTTP for tests: bytes exactly as given, on a fresh loopback connection, so a test can send
// what no client library would (no Content-Length, a broken header, 64 KB of target).
//
//     auto raw = rotary::test::raw_exchange(port, "POST /x HTTP/1.1\r\nHost: a\r\n\r\n");
//     BOOST_TEST(rotary::test::status_of(raw) == 400);
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace rotary::test {

// Sends `request` to 127.0.0.1:port and returns what the server sent: up to one complete
// response (by Content-Length), the server closing, or `wait` passing, whichever comes first.
// A server may answer and close before reading all of a huge request: sending stops there.
inline std::string raw_exchange(int port, const std::string& request,
                                std::chrono::milliseconds wait = std::chrono::milliseconds{3000}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  for (std::size_t sent = 0; sent < request.size();) {
    const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  char buf[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) break;
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
    const auto head_end = got.find("\r\n\r\n");
    if (head_end == std::string::npos) continue;
    const auto length = got.find("Content-Length: ");
    if (length != std::string::npos && length < head_end &&
        got.size() >= head_end + 4 + std::stoul(got.substr(length + 16)))
      break;
  }
  ::close(fd);
  return got;
}

// The status code of a raw response, 0 when there is none.
inline int status_of(const std::string& raw) {
  return raw.rfind("HTTP/1.1 ", 0) == 0 && raw.size() >= 12 ? std::stoi(raw.substr(9, 3)) : 0;
}

// The body of a raw response, empty when there is none.
inline std::string body_of(const std::string& raw) {
  const auto p = raw.find("\r\n\r\n");
  return p == std::string::npos ? "" : raw.substr(p + 4);
}

}  // namespace rotary::test
