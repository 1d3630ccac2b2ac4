// Fuzz target: what the client makes of an answer, without a socket
// (rotary::interpret_rotate_response, the function rotate() calls once the bytes arrived):
// the status, the framing headers it refuses (Content-Encoding, Transfer-Encoding,
// Content-Length), the error JSON of a non-2xx (status_error: code, message, Retry-After against
// Date, Location), and the rotate response JSON of a 2xx.
//
// Input: two bytes of status (100 + little-endian value % 500), then header lines
// "Name: value\n" up to an empty line, then the body. The secret sent is fixed; an input that
// names it ("$SECRET") checks that it is scrubbed.
//
// Checks: a result only for a 2xx, and then a usable secret and a positive period; an error's
// status and kind follow the status; a 2xx error is malformed_response with may_have_committed;
// no description holds the secret sent, a control character, or the rawSecret of the body
// (unless a header carries that text too: header values are quoted, scrubbed of the secret sent);
// Retry-After is at most a day.
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <rotary/client.hpp>

#include "fuzz_check.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view secret_sent = "fuzz-secret-sent-0123456789";

std::string substitute(std::string s) {
  for (std::size_t p = 0; (p = s.find("$SECRET", p)) != std::string::npos; p += secret_sent.size())
    s.replace(p, 7, secret_sent);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  httplib::Response res;
  res.status = 100 + (data[0] | (data[1] << 8)) % 500;
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  std::string header_text;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    res.headers.emplace(std::string(line.substr(0, colon)), substitute(std::string(value)));
    header_text += substitute(std::string(value));
  }
  res.body = substitute(std::string(text));

  const auto r = rotary::interpret_rotate_response(res, secret_sent);
  const bool ok_status = res.status >= 200 && res.status < 300;
  if (r) {
    FUZZ_CHECK(ok_status);
    FUZZ_CHECK(rotary::is_valid_secret(r->raw_secret));
    FUZZ_CHECK(r->rotation_period.count() > 0);
    return 0;
  }
  const auto& e = r.error();
  FUZZ_CHECK(e.status == res.status);
  FUZZ_CHECK(!e.code.empty());
  if (ok_status) {
    FUZZ_CHECK(e.kind == rotary::rotate_error::malformed_response);
    FUZZ_CHECK(e.code == "malformed-response");
    FUZZ_CHECK(e.may_have_committed);
  } else {
    const auto s = res.status;
    const auto kind = s == 401               ? rotary::rotate_error::unauthorized
                      : s == 403             ? rotary::rotate_error::forbidden
                      : s == 429             ? rotary::rotate_error::rate_limited
                      : s >= 500 || s == 408 ? rotary::rotate_error::server_error
                                             : rotary::rotate_error::bad_request;
    FUZZ_CHECK(e.kind == kind);
  }
  if (e.retry_after) FUZZ_CHECK(e.retry_after->count() >= 0 && e.retry_after->count() <= 86'400);
  const auto line = e.describe();
  FUZZ_CHECK(line.find(secret_sent) == std::string::npos);
  for (char c : line) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  if (ok_status) {
    const auto j = nlohmann::json::parse(res.body, nullptr, false);
    if (j.is_object() && j.contains("rawSecret") && j["rawSecret"].is_string()) {
      const auto child = j["rawSecret"].get<std::string>();
      if (child.size() >= 8 && header_text.find(child) == std::string::npos)
        FUZZ_CHECK(line.find(child) == std::string::npos);
    }
  }
  return 0;
}
