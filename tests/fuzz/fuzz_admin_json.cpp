// Fuzz target: the admin API's JSON bodies: POST /admin/v1/tokens (create_token_request),
// POST /admin/v1/clock (clock_request), PUT /admin/v1/faults (fault_config). The first byte
// picks the body type; the rest is the body. Each body is read twice: by from_json directly
// (only rotary::json_error or nlohmann's parse errors may come out; what is accepted writes
// back to JSON that reads as the same value) and by the server through handle() with the admin
// key (a 4xx with a JSON error or a 2xx, never an internal error).
#include "fuzz_server.hpp"

#include <rotary/detail/json_wire.hpp>

#include <cstdint>
#include <string>

namespace {

template <class T>
void round_trip(const std::string& body) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {  // not JSON, or a number past a double (1e999)
    return;
  }
  T value;
  try {
    value = j.get<T>();
  } catch (const rotary::json_error&) {
    return;
  }
  const nlohmann::json out = value;
  const auto again = nlohmann::json::parse(out.dump()).get<T>();
  FUZZ_CHECK(again == value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int which = data[0] % 3;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  httplib::Request req;
  req.remote_addr = "127.0.0.1";
  req.headers.emplace("Authorization", "Bearer " + std::string(fuzz::admin_key));
  req.body = body;
  switch (which) {
    case 0:
      round_trip<rotary::wire::create_token_request>(body);
      req.method = "POST";
      req.path = "/admin/v1/tokens";
      break;
    case 1:
      round_trip<rotary::wire::clock_request>(body);
      req.method = "POST";
      req.path = "/admin/v1/clock";
      break;
    default:
      round_trip<rotary::wire::fault_config>(body);
      req.method = "PUT";
      req.path = "/admin/v1/faults";
      break;
  }
  fuzz::harness h;
  const auto res = h.serve(req);
  FUZZ_CHECK(res.status == 200 || res.status == 201 || res.status == 400 || res.status == 409 ||
             res.status == 413);
  return 0;
}
