// tests/fuzz/fuzz_server.hpp: requests for the fake server from fuzz input, served without a
// socket through fake_server::handle().
//
// A request in text form:
//     METHOD PATH[?query]\n
//     Header-Name: value\n          (any number; "X-Remote-Addr: a" sets the client address)
//     \n
//     body
// In the header values and the body, "$ADMIN" becomes the admin key and "$TOKEN" the secret of
// the latest token the server handed out (created or rotated), so that a corpus entry reaches
// past authentication. Several requests in one input are separated by a line "%%\n".
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <rotary/fake_server.hpp>

#include "fuzz_check.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz {

inline constexpr std::string_view admin_key = "fuzz-admin-key-0123456789";

inline std::string substitute(std::string s, std::string_view token) {
  auto replace = [&](std::string_view from, std::string_view to) {
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
      s.replace(p, from.size(), to);
  };
  replace("$ADMIN", admin_key);
  replace("$TOKEN", token);
  return s;
}

inline httplib::Request parse_request(std::string_view text, std::string_view token) {
  httplib::Request req;
  req.remote_addr = "127.0.0.1";
  req.remote_port = 40000;
  req.version = "HTTP/1.1";
  auto line = [&]() {
    const auto nl = text.find('\n');
    std::string_view l = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    return l;
  };
  const auto first = line();
  const auto sp = first.find(' ');
  req.method = std::string(first.substr(0, sp));
  std::string_view target = sp == std::string_view::npos ? std::string_view() : first.substr(sp + 1);
  req.target = std::string(target);
  const auto q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto pair = query.substr(0, amp);
      const auto eq = pair.find('=');
      req.params.emplace(std::string(pair.substr(0, eq)),
                         eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1)));
      query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    }
  }
  while (!text.empty()) {
    const auto h = line();
    if (h.empty()) break;
    const auto colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    const std::string name(h.substr(0, colon));
    if (name == "X-Remote-Addr")
      req.remote_addr = std::string(value);
    else
      req.headers.emplace(name, substitute(std::string(value), token));
  }
  req.body = substitute(std::string(text), token);
  return req;
}

// One server per input, so that an input always does the same thing.
struct harness {
  rotary::manual_clock clock{rotary::from_unix(1'798'761'600)};  // 2027-01-01T00:00:00Z
  rotary::fake_server server;
  std::string token;  // the latest secret handed out

  explicit harness(rotary::rerotation mode = rotary::rerotation::reject, bool greenlist = false)
      : server(make_options(clock, mode, greenlist)) {
    token = server
                .create_token({.rotation_period = std::chrono::minutes{3600},
                               .expires_at = clock.now() + std::chrono::days{365}})
                .value()
                .raw_secret;
  }

  static rotary::fake_server_options make_options(rotary::manual_clock& c, rotary::rerotation mode,
                                                  bool greenlist) {
    rotary::fake_server_options o;
    o.clock = c;
    o.admin_key = std::string(admin_key);
    o.rerotate = mode;
    o.max_body_bytes = 4096;
    o.max_events = 64;
    if (greenlist) o.greenlist = {"127.0.0.0/8", "::1/128", "10.1.0.0/16"};
    return o;
  }

  // Serves a request and checks the answer: never an internal error, always a JSON body (but
  // for a response a "malformed" fault cut in half), a status the server documents.
  httplib::Response serve(const httplib::Request& req) {
    // Whether a "malformed" fault may cut this answer (asked before: a counted fault is used up).
    const auto before_faults = server.faults().faults;
    const bool malformed = std::any_of(
        before_faults.begin(), before_faults.end(),
        [](const rotary::wire::fault& f) { return f.kind == rotary::wire::fault_kind::malformed; });
    httplib::Response res;
    server.handle(req, res);
    FUZZ_CHECK(res.status >= 200 && res.status <= 599);
    const bool maybe_cut = malformed && res.status == 200;
    // A fault that drops the connection (reset, empty, commit-drop) leaves a 500 "{}" that would
    // never arrive; its event has status 0.
    const auto events = server.events();
    const bool dropped = res.status == 500 && !events.empty() && events.back().status == 0;
    if (!maybe_cut && !dropped) {
      const auto body = nlohmann::json::parse(res.body, nullptr, false);
      FUZZ_CHECK(!body.is_discarded());
      if (res.status >= 400) {
        FUZZ_CHECK(body.is_object() && body.contains("error") && body["error"].is_string());
        if (body["error"] == "internal-error") {
          std::fprintf(stderr, "internal error: %s\n", res.body.c_str());
          FUZZ_CHECK(!"an exception escaped a handler");
        }
      }
      if (res.status == 200 || res.status == 201) {
        if (body.is_object() && body.contains("rawSecret") && body["rawSecret"].is_string())
          token = body["rawSecret"].get<std::string>();
      }
    }
    // A latency fault would make the next request sleep up to a minute: drop those rules.
    auto faults = server.faults();
    const auto before = faults.faults.size();
    std::erase_if(faults.faults,
                  [](const rotary::wire::fault& f) { return f.kind == rotary::wire::fault_kind::latency; });
    if (faults.faults.size() != before) server.set_faults(faults);
    return res;
  }
};

}  // namespace fuzz
