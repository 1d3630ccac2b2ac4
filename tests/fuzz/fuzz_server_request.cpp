// Fuzz target: the fake server's request handling without a socket (fake_server::handle):
// routing, the Authorization header (Bearer/Basic, case, spaces, control characters), the
// greenlist, the public endpoints, the admin API and faults. Up to 8 requests per input on one
// server (see fuzz_server.hpp for the text form), so sequences (create, rotate, rotate again,
// advance the clock, revoke) are reached. Checks: no exception escapes, every answer is JSON
// with a documented status, errors carry a code.
#include "fuzz_server.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte: the re-rotation mode and whether a greenlist is configured.
  const auto mode = static_cast<rotary::rerotation>(data[0] % 3);
  const bool greenlist = (data[0] & 0x80) != 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  fuzz::harness h(mode, greenlist);
  for (int n = 0; n < 8 && !text.empty(); ++n) {
    const auto sep = text.find("\n%%\n");
    const auto one = text.substr(0, sep);
    text.remove_prefix(sep == std::string_view::npos ? text.size() : sep + 4);
    const auto req = fuzz::parse_request(one, h.token);
    (void)h.serve(req);
  }
  return 0;
}
