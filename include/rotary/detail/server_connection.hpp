// rotary/detail/server_connection.hpp: the fake server's connections, with limits that hold
// before any request is authenticated.
//
// cpp-httplib 0.11.4 reads a request line and each header line until its '\n' whatever its
// length (and checks the length afterwards), counts no header fields, reads a chunked body
// without bound, skips an over-limit Content-Length body by reading all of it, and waits
// 5 seconds per read with no deadline for the whole request: a client dripping a byte every 4
// seconds holds a worker thread forever. So the server (`tuned_server`, fake_server.hpp) serves
// each connection itself, through a `guarded_stream`: cpp-httplib's own request parser
// (`Server::process_request`) reads from it, and it
//   - cuts the request line and each header line at `max_line_bytes`, the header fields at
//     `max_header_fields` and `max_header_bytes`, and the bytes after the headers (chunk framing
//     included) at `max_body_wire_bytes`: past a limit it answers end-of-stream, so the parser
//     stops there, and `hit()` says which limit the answer must name;
//   - gives each request a deadline: the whole request (the wait for its first byte included)
//     must arrive within `request_timeout` of the worker starting to wait for it, and an idle
//     keep-alive connection is closed after `idle_timeout`;
//   - keeps the raw bytes of the Authorization header (cpp-httplib trims the value and
//     percent-decodes it, so "Bearer%20x " would reach a handler as "Bearer x");
//   - for TLS, does the handshake itself on a non-blocking socket, under the same deadline.
// The decoded body limit (after chunked decoding and Content-Encoding) is the content
// receiver's, in fake_server.hpp.
#pragma once

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace rotary::detail {

struct connection_limits {
  std::size_t max_line_bytes = 8192;         // the request line and each header line, CRLF included
  std::size_t max_header_fields = 100;       // header lines after the request line
  std::size_t max_header_bytes = 32 * 1024;  // all of them, CRLFs included
  std::size_t max_body_wire_bytes = 8 * 16 * 1024 + 1024;  // the bytes after the headers, as sent
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{5'000};
  std::chrono::milliseconds write_timeout{5'000};  // per write that makes no progress
  std::chrono::milliseconds linger{1'000};         // draining a refused request before closing
};

// The limit a request ran into; the answer names it (414, 431, 413, 408).
enum class limit_hit { none, line_too_long, headers_too_large, body_too_large, timed_out };

class guarded_stream final : public httplib::Stream {
 public:
  // `ssl`: a TLS connection whose SSL object is set to `fd` (the handshake is accept_tls()).
  guarded_stream(int fd, SSL* ssl, const connection_limits& limits);
  guarded_stream(const guarded_stream&) = delete;
  guarded_stream& operator=(const guarded_stream&) = delete;
  ~guarded_stream() override = default;

  // The connection whose request this thread is serving; nullptr outside one (fake_server::handle).
  [[nodiscard]] static guarded_stream* current() noexcept { return current_; }
  // Makes `s` current() for its lifetime (nullptr: none).
  class current_scope {
   public:
    explicit current_scope(guarded_stream* s) noexcept : was_(std::exchange(current_, s)) {}
    current_scope(const current_scope&) = delete;
    current_scope& operator=(const current_scope&) = delete;
    ~current_scope() { current_ = was_; }

   private:
    guarded_stream* was_;
  };

  // A new request: its deadline starts now, its limits are counted from zero.
  void begin_request();
  // The TLS handshake, by the request's deadline.
  [[nodiscard]] bool accept_tls();
  // Waits until the next request's first byte is there: false when the connection stayed idle
  // for idle_timeout (or the deadline passed first) or failed.
  [[nodiscard]] bool wait_for_request();
  [[nodiscard]] limit_hit hit() const noexcept { return hit_; }
  // The response to this request ends the connection (its unread bytes are still in it).
  void close_after_response() noexcept { close_ = true; }
  [[nodiscard]] bool closing() const noexcept { return close_ || hit_ != limit_hit::none; }
  // Every Authorization header of the request, raw: the bytes after the colon and the spaces
  // and tabs that follow it, up to the CRLF.
  [[nodiscard]] const std::vector<std::string>& authorization() const noexcept { return authorization_; }
  // Ends a refused request politely: sends TLS close_notify and FIN, then reads and drops what
  // the client still sends (at most `linger` and 256 KiB), so the answer is not lost to a RST.
  void linger();

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  using httplib::Stream::write;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  using steady = std::chrono::steady_clock;
  enum class phase { request_line, headers, body };

  // Waits for `events` on the socket until `until`; false on timeout or error.
  [[nodiscard]] bool wait(short events, steady::time_point until) const;
  // Reads more bytes into buf_: > 0, 0 at the end of the stream (or the deadline: hit_ says it),
  // -1 on an error.
  ssize_t fill();
  // Accounts for the bytes handed to the parser; returns how many of `n` it may take.
  std::size_t admit(const char* p, std::size_t n);
  void end_header_line();
  std::size_t hit_limit(limit_hit h) noexcept {
    hit_ = h;
    return 0;
  }

  static inline thread_local guarded_stream* current_ = nullptr;

  int fd_;
  SSL* ssl_;
  const connection_limits& limits_;
  std::array<char, 16 * 1024> buf_{};
  std::size_t pos_ = 0, end_ = 0;
  steady::time_point deadline_{};
  phase phase_ = phase::request_line;
  std::size_t line_bytes_ = 0, header_bytes_ = 0, header_fields_ = 0, body_bytes_ = 0;
  std::string line_;  // the header line being read (up to max_line_bytes)
  std::vector<std::string> authorization_;
  limit_hit hit_ = limit_hit::none;
  bool close_ = false;
};

// The HTTP server (httplib::Server or httplib::SSLServer) serving connections through
// guarded_stream, and exposing its listening socket (to raise cpp-httplib's listen backlog of 5).
// process_and_close_socket() is cpp-httplib's per-connection entry point (a private virtual);
// process_request() is its parser of one request (protected).
template <class Base>
class tuned_server : public Base {
 public:
  using Base::Base;
  [[nodiscard]] int listening_socket() const { return static_cast<int>(this->svr_sock_); }
  void set_limits(const connection_limits& limits) { limits_ = limits; }

 private:
  bool process_and_close_socket(socket_t sock) override;
  connection_limits limits_;
};

// ---------------------------------------------------------------------------------------------

inline guarded_stream::guarded_stream(int fd, SSL* ssl, const connection_limits& limits)
    : fd_(fd), ssl_(ssl), limits_(limits) {
  const int flags = fcntl(fd_, F_GETFL, 0);
  if (flags >= 0) fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  line_.reserve(256);
  begin_request();
}

inline void guarded_stream::begin_request() {
  deadline_ = steady::now() + limits_.request_timeout;
  phase_ = phase::request_line;
  line_bytes_ = header_bytes_ = header_fields_ = body_bytes_ = 0;
  line_.clear();
  authorization_.clear();
}

inline bool guarded_stream::wait(short events, steady::time_point until) const {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - steady::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

inline bool guarded_stream::accept_tls() {
  for (;;) {
    const int r = SSL_accept(ssl_);
    if (r == 1) return true;
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ && wait(POLLIN, deadline_)) continue;
    if (err == SSL_ERROR_WANT_WRITE && wait(POLLOUT, deadline_)) continue;
    return false;
  }
}

inline bool guarded_stream::wait_for_request() {
  if (pos_ < end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0)) return true;
  return wait(POLLIN, std::min(deadline_, steady::now() + limits_.idle_timeout));
}

inline ssize_t guarded_stream::fill() {
  pos_ = end_ = 0;
  for (;;) {
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, buf_.data(), static_cast<int>(buf_.size()));
      if (n > 0) {
        end_ = static_cast<std::size_t>(n);
        return n;
      }
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_ZERO_RETURN) return 0;
      short events = 0;
      if (err == SSL_ERROR_WANT_READ) events = POLLIN;
      if (err == SSL_ERROR_WANT_WRITE) events = POLLOUT;
      if (events == 0) return -1;
      if (!wait(events, deadline_)) break;
    } else {
      const auto n = ::recv(fd_, buf_.data(), buf_.size(), 0);
      if (n > 0) {
        end_ = static_cast<std::size_t>(n);
        return n;
      }
      if (n == 0) return 0;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (!wait(POLLIN, deadline_)) break;
    }
  }
  if (steady::now() < deadline_) return -1;  // poll failed
  hit_ = limit_hit::timed_out;
  return 0;
}

inline void guarded_stream::end_header_line() {
  // cpp-httplib ends the headers at a line that is exactly CRLF; a line ending in a bare LF is
  // skipped, not parsed (CPPHTTPLIB_ALLOW_LF_AS_LINE_TERMINATOR is off), and counts here too.
  if (line_ == "\r\n") {
    phase_ = phase::body;
    return;
  }
  constexpr std::string_view name = "authorization:";
  if (line_.size() >= name.size() + 2 && line_.ends_with("\r\n")) {
    bool match = true;
    for (std::size_t i = 0; i < name.size() && match; ++i) {
      const char c = line_[i];
      match = (c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c) == name[i];
    }
    if (match) {
      std::string_view v(line_);
      v.remove_prefix(name.size());
      v.remove_suffix(2);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      authorization_.emplace_back(v);
    }
  }
  line_.clear();
  line_bytes_ = 0;
}

inline std::size_t guarded_stream::admit(const char* p, std::size_t n) {
  if (phase_ == phase::body) {
    if (body_bytes_ >= limits_.max_body_wire_bytes) return hit_limit(limit_hit::body_too_large);
    n = std::min(n, limits_.max_body_wire_bytes - body_bytes_);
    body_bytes_ += n;
    return n;
  }
  // The request line and the header lines are handed over up to the end of a line at most,
  // so that the phase changes exactly where the body begins.
  const auto* nl = static_cast<const char*>(std::memchr(p, '\n', n));
  if (nl != nullptr) n = static_cast<std::size_t>(nl - p) + 1;
  if (line_bytes_ + n > limits_.max_line_bytes)
    return hit_limit(phase_ == phase::request_line ? limit_hit::line_too_long : limit_hit::headers_too_large);
  line_bytes_ += n;
  if (phase_ == phase::request_line) {
    if (nl != nullptr) {
      phase_ = phase::headers;
      line_bytes_ = 0;
    }
    return n;
  }
  if (header_bytes_ + n > limits_.max_header_bytes) return hit_limit(limit_hit::headers_too_large);
  header_bytes_ += n;
  line_.append(p, n);
  if (nl != nullptr) {
    if (line_ != "\r\n" && ++header_fields_ > limits_.max_header_fields)
      return hit_limit(limit_hit::headers_too_large);
    end_header_line();
  }
  return n;
}

inline ssize_t guarded_stream::read(char* ptr, size_t size) {
  if (hit_ != limit_hit::none || size == 0) return 0;
  if (pos_ == end_) {
    const auto n = fill();
    if (n <= 0) return n;
  }
  const auto n = admit(buf_.data() + pos_, std::min(size, end_ - pos_));
  if (n == 0) return 0;
  std::memcpy(ptr, buf_.data() + pos_, n);
  pos_ += n;
  return static_cast<ssize_t>(n);
}

inline ssize_t guarded_stream::write(const char* ptr, size_t size) {
  if (size == 0) return 0;
  for (;;) {
    if (ssl_ != nullptr) {
      const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT_MAX)));
      if (n > 0) return n;
      const int err = SSL_get_error(ssl_, n);
      short events = 0;
      if (err == SSL_ERROR_WANT_WRITE) events = POLLOUT;
      if (err == SSL_ERROR_WANT_READ) events = POLLIN;
      if (events == 0 || !wait(events, steady::now() + limits_.write_timeout)) return -1;
    } else {
      const auto n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLOUT, steady::now() + limits_.write_timeout))
        return -1;
    }
  }
}

inline bool guarded_stream::is_readable() const {
  return pos_ < end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0) || wait(POLLIN, deadline_);
}

inline bool guarded_stream::is_writable() const {
  return wait(POLLOUT, steady::now() + limits_.write_timeout);
}

namespace connection_detail {
inline void ip_and_port(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  if (addr.ss_family == AF_INET)
    port = ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  else if (addr.ss_family == AF_INET6)
    port = ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  else
    return;
  std::array<char, NI_MAXHOST> host{};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host.data(),
                  static_cast<socklen_t>(host.size()), nullptr, 0, NI_NUMERICHOST) == 0)
    ip = host.data();
}
}  // namespace connection_detail

inline void guarded_stream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    connection_detail::ip_and_port(addr, len, ip, port);
}

inline void guarded_stream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    connection_detail::ip_and_port(addr, len, ip, port);
}

inline void guarded_stream::linger() {
  if (ssl_ != nullptr) SSL_shutdown(ssl_);  // non-blocking: close_notify if it fits, else nothing
  ::shutdown(fd_, SHUT_WR);
  const auto until = steady::now() + limits_.linger;
  std::size_t drained = 0;
  while (drained < 256 * 1024 && wait(POLLIN, until)) {
    const auto n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
    if (n > 0) drained += static_cast<std::size_t>(n);
  }
}

template <class Base>
bool tuned_server<Base>::process_and_close_socket(socket_t sock) {
  SSL* ssl = nullptr;
  bool ret = false;
  if constexpr (std::is_base_of_v<httplib::SSLServer, Base>) {
    ssl = SSL_new(this->ssl_context());
    if (ssl != nullptr && SSL_set_fd(ssl, sock) != 1) {
      SSL_free(ssl);
      ssl = nullptr;
    }
    if (ssl == nullptr) {
      ::shutdown(sock, SHUT_RDWR);
      ::close(sock);
      return false;
    }
  }
  {
    guarded_stream connection(sock, ssl, limits_);
    if (ssl == nullptr || connection.accept_tls()) {
      const auto setup = [ssl](httplib::Request& req) { req.ssl = ssl; };
      while (this->svr_sock_ != INVALID_SOCKET && connection.wait_for_request()) {
        bool closed = false;
        {
          const guarded_stream::current_scope serving(&connection);
          ret = this->process_request(connection, false, closed, setup);
        }
        if (!ret || closed || connection.closing()) break;
        connection.begin_request();
      }
      if (connection.hit() == limit_hit::timed_out)
        ;  // a client too slow to send its request: nothing to wait for
      else if (connection.closing())
        connection.linger();
      else if (ssl != nullptr && ret)
        SSL_shutdown(ssl);
    }
  }
  if (ssl != nullptr) SSL_free(ssl);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace rotary::detail
