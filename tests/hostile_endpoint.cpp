// hostile_endpoint: a rotate endpoint that misbehaves at the byte level, for the client's tests.
//
//     hostile_endpoint MODE [FILE] [--interval-ms N] [--limit-ms N]
//
// Listens on 127.0.0.1, port 0, and prints the port on stdout (one line). For each connection
// (each on its own thread) it reads the request (up to its blank line; for drip-tls, the first
// bytes of the ClientHello), then, by MODE:
//
//     drip-headers         200, then one header line every interval, forever
//     endless-headers      200, then short header lines as fast as the client reads them
//     big-headers          200 with 40 header lines of 1000 bytes (40 KB of headers), a valid body
//     huge-header          200 with one header line of 1 MiB, a valid body
//     gzip-bomb            200, Content-Encoding: gzip, the gzip of 2 GiB of zeros (made while
//                          sending, about 2 MB), close-delimited
//     unasked-encoding     200, Content-Encoding: gzip, a small valid body gzipped
//     endless-body         200, Content-Length: 1 TiB, spaces for as long as the client reads
//     endless-chunked      200, Transfer-Encoding: chunked, 4 KiB chunks forever
//     endless-unframed     200, no length, spaces until the client closes
//     status-endless-body  500, chunked, spaces forever
//     slow-body            200 with a valid body, one byte every interval
//     silent               reads the request and never answers
//     close-mid-headers    200 and one header line, then closes
//     drip-tls             one TLS record header announcing 16 KiB, then one byte every interval
//     raw FILE             the bytes of FILE verbatim, then closes (a scripted answer)
//
// --interval-ms (default 1000) paces the drip modes; --limit-ms (default: none) ends every
// connection after that long (the endless modes then close), so that a client without bounds
// makes a test fail instead of hanging it. The valid body is {"rawSecret":
// "hostile-child-secret-0123456789", "createdAt": now, "rotationPeriodMinutes": 3600}.
//
// It exits when stdin reaches its end or its parent dies, so a test never leaks it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>

namespace {

using clock_type = std::chrono::steady_clock;

struct settings {
  std::string mode;
  std::string file;
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds limit{0};  // 0: none
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "hostile_endpoint: %s\nusage: hostile_endpoint MODE [FILE] [--interval-ms N] [--limit-ms N]\n",
               why.c_str());
  std::exit(2);
}

// One connection: sends until the client goes away or the limit passes.
class connection {
 public:
  connection(int fd, const settings& s)
      : fd_(fd), end_(s.limit.count() > 0 ? clock_type::now() + s.limit : clock_type::time_point::max()) {}
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() { ::close(fd_); }

  [[nodiscard]] bool alive() const { return clock_type::now() < end_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      if (!alive()) return false;
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Waits `d`; false when the client closed meanwhile (or the limit passed).
  bool pause(std::chrono::milliseconds d) {
    const auto until = std::min(clock_type::now() + d, end_);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
      if (left.count() <= 0) return alive();
      pollfd p{fd_, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n > 0) {
        std::array<char, 4096> buf{};
        const auto r = ::recv(fd_, buf.data(), buf.size(), 0);
        if (r <= 0) return false;  // closed or reset; bytes after the request are ignored
      }
    }
  }

  // The request: up to its blank line (64 KiB at most), or for a TLS client its first bytes.
  void read_request(bool tls) {
    std::string got;
    const auto until = clock_type::now() + std::chrono::seconds{5};
    while (got.size() < 65536 && clock_type::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      std::array<char, 4096> buf{};
      const auto n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) return;
      got.append(buf.data(), static_cast<std::size_t>(n));
      if (tls || got.find("\r\n\r\n") != std::string::npos) return;
    }
  }

  // Sends the end of the answer and waits for the client to close (5 s at most).
  void finish() {
    ::shutdown(fd_, SHUT_WR);
    (void)pause(std::chrono::seconds{5});
  }

 private:
  int fd_;
  clock_type::time_point end_;
};

std::string valid_body() {
  return R"({"rawSecret":"hostile-child-secret-0123456789","createdAt":)" +
         std::to_string(std::time(nullptr)) + R"(,"rotationPeriodMinutes":3600})";
}

std::string gzip(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
  std::string in = data;  // zlib's next_in is not const
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

const std::string ok_json = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";

std::string with_length(const std::string& body) {
  return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The gzip of `total` zero bytes, sent as it is made (a few MB for GiBs: deflate's ratio on
// zeros is about 1000:1), until the client stops reading.
void send_gzip_bomb(connection& c, std::uint64_t total) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  static const std::array<unsigned char, 1 << 20> zeros{};
  std::array<unsigned char, 1 << 16> out{};
  std::uint64_t fed = 0;
  bool ok = true;
  for (int flush = Z_NO_FLUSH; ok && flush != Z_FINISH;) {
    const auto n = static_cast<uInt>(std::min<std::uint64_t>(zeros.size(), total - fed));
    fed += n;
    flush = fed == total ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = const_cast<Bytef*>(zeros.data());
    z.avail_in = n;
    do {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      deflate(&z, flush);
      const auto have = out.size() - z.avail_out;
      if (have > 0) ok = c.send(std::string_view(reinterpret_cast<const char*>(out.data()), have));
    } while (ok && z.avail_out == 0);
  }
  deflateEnd(&z);
}

void serve(int fd, const settings& s) {
  connection c(fd, s);
  const std::string& m = s.mode;
  c.read_request(m == "drip-tls");
  if (m == "silent") {
    while (c.pause(std::chrono::seconds{1})) {
    }
  } else if (m == "drip-headers") {
    if (!c.send(ok_json)) return;
    for (int n = 0;
         c.pause(s.interval) && c.send("X-Drip-" + std::to_string(n) + ": " + std::to_string(n) + "\r\n");
         ++n) {
    }
  } else if (m == "endless-headers") {
    if (!c.send(ok_json)) return;
    std::string batch;
    for (int n = 0;; n += 100) {
      batch.clear();
      for (int k = n; k < n + 100; ++k) batch += "X-Endless-" + std::to_string(k) + ": 1\r\n";
      if (!c.send(batch)) break;
    }
  } else if (m == "big-headers" || m == "huge-header") {
    std::string head = ok_json;
    if (m == "big-headers")
      for (int n = 0; n < 40; ++n)
        head += "X-Big-" + std::to_string(n) + ": " + std::string(1000, 'b') + "\r\n";
    else
      head += "X-Huge: " + std::string(1 << 20, 'h') + "\r\n";
    if (c.send(head + with_length(valid_body()))) c.finish();
  } else if (m == "gzip-bomb") {
    if (c.send(ok_json + "Content-Encoding: gzip\r\nConnection: close\r\n\r\n"))
      send_gzip_bomb(c, std::uint64_t{2} << 30);
  } else if (m == "unasked-encoding") {
    if (c.send(ok_json + "Content-Encoding: gzip\r\n" + with_length(gzip(valid_body())))) c.finish();
  } else if (m == "endless-body" || m == "endless-unframed") {
    const std::string head = m == "endless-body" ? ok_json + "Content-Length: 1099511627776\r\n\r\n"
                                                 : ok_json + "Connection: close\r\n\r\n";
    if (!c.send(head)) return;
    const std::string spaces(4096, ' ');
    while (c.send(spaces)) {
    }
  } else if (m == "endless-chunked" || m == "status-endless-body") {
    const std::string status = m == "endless-chunked" ? ok_json
                                                      : "HTTP/1.1 500 Internal Server Error\r\nContent-Type: "
                                                        "application/json\r\n";
    if (!c.send(status + "Transfer-Encoding: chunked\r\n\r\n")) return;
    const std::string chunk = "1000\r\n" + std::string(4096, ' ') + "\r\n";
    while (c.send(chunk)) {
    }
  } else if (m == "slow-body") {
    const auto body = valid_body();
    if (!c.send(ok_json + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n")) return;
    for (char ch : body)
      if (!c.pause(s.interval) || !c.send(std::string(1, ch))) return;
    c.finish();
  } else if (m == "close-mid-headers") {
    (void)c.send(ok_json);
  } else if (m == "drip-tls") {
    // A handshake record of 16 KiB: the client's TLS library waits for all of it.
    if (!c.send(std::string("\x16\x03\x03\x40\x00", 5))) return;
    while (c.pause(s.interval) && c.send(std::string(1, '\x02'))) {
    }
  } else if (m == "raw") {
    std::ifstream in(s.file, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (c.send(bytes)) c.finish();
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  const pid_t parent = ::getppid();
  if (parent == 1) return 1;  // the parent is gone already
  ::signal(SIGPIPE, SIG_IGN);

  static settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--interval-ms" || a == "--limit-ms") {
      if (i + 1 >= argc) usage(a + " needs a value");
      (a == "--interval-ms" ? s.interval : s.limit) = std::chrono::milliseconds{std::atol(argv[++i])};
    } else if (s.mode.empty()) {
      s.mode = a;
    } else if (s.mode == "raw" && s.file.empty()) {
      s.file = a;
    } else {
      usage("unexpected argument " + a);
    }
  }
  static constexpr std::string_view modes[] = {
      "drip-headers",     "endless-headers", "big-headers",       "huge-header",      "gzip-bomb",
      "unasked-encoding", "endless-body",    "endless-chunked",   "endless-unframed", "status-endless-body",
      "slow-body",        "silent",          "close-mid-headers", "drip-tls",         "raw"};
  if (std::find(std::begin(modes), std::end(modes), s.mode) == std::end(modes))
    usage("unknown mode '" + s.mode + "'");
  if (s.mode == "raw" && !std::ifstream(s.file)) usage("raw: cannot read '" + s.file + "'");

  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 64) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("hostile_endpoint: listen");
    return 1;
  }
  std::printf("%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  // The end of stdin (the test closed it, or died) ends the program.
  std::thread([] {
    std::array<char, 256> buf{};
    while (::read(0, buf.data(), buf.size()) > 0) {
    }
    std::_Exit(0);
  }).detach();

  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::perror("hostile_endpoint: accept");
      return 1;
    }
    std::thread([fd] { serve(fd, s); }).detach();
  }
}
