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

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace rotary::test {

// A loopback connection to 127.0.0.1:port that a test writes to bit by bit; closed when it goes.
class connection {
 public:
  explicit connection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
    }
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() { ::close(fd_); }

  // Sends all of `bytes`; false when the server stopped taking them (closed or reset).
  bool send(const std::string& bytes) const {
    for (std::size_t sent = 0; sent < bytes.size();) {
      const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  // What the server sent until it closed, `wait` passed, or `complete(got)` held.
  [[nodiscard]] std::string receive(std::chrono::milliseconds wait,
                                    const std::function<bool(const std::string&)>& complete = {}) const {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    char buf[4096];
    while (!complete || !complete(got)) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  // Whether the server closed the connection (EOF or reset) within `wait`.
  [[nodiscard]] bool closed_within(std::chrono::milliseconds wait) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
    char c = 0;
    return ::recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  int fd_;
};

// Sends `request` to 127.0.0.1:port and returns what the server sent: up to one complete
// response (by Content-Length), the server closing, or `wait` passing, whichever comes first.
// A server may answer and close before reading all of a huge request: sending stops there.
inline std::string raw_exchange(int port, const std::string& request,
                                std::chrono::milliseconds wait = std::chrono::milliseconds{3000}) {
  const connection c(port);
  (void)c.send(request);
  return c.receive(wait, [](const std::string& got) {
    const auto head_end = got.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    const auto length = got.find("Content-Length: ");
    return length != std::string::npos && length < head_end &&
           got.size() >= head_end + 4 + std::stoul(got.substr(length + 16));
  });
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
