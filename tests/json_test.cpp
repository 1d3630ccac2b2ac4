#define BOOST_TEST_MODULE json
#include <boost/test/unit_test.hpp>

#include <rotary/json.hpp>
#include "print.hpp"

using namespace rotary;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {
const sys_seconds t0 = from_unix(1798761600);

std::string read_error(const json& j) {
  try {
    (void)j.get<token_state>();
  } catch (const json_error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

BOOST_AUTO_TEST_CASE(token_state_uses_unix_seconds_and_camel_case) {
  const token_state t{.created_at = t0, .rotation_period = 3600min, .expires_at = t0 + 24h * 365};
  const json j = t;
  BOOST_TEST(j.dump() == R"({"createdAt":1798761600,"expiresAt":1830297600,"rotationPeriodMinutes":3600})");
  BOOST_TEST((j.get<token_state>() == t));
  token_state rotated = t;
  rotated.rotated_at = t0 + 1h;
  BOOST_TEST((json(rotated).get<token_state>() == rotated));
  BOOST_TEST(json(rotated)["rotatedAt"] == 1798765200);
}

BOOST_AUTO_TEST_CASE(null_fields_read_as_absent_and_unknown_keys_are_ignored) {
  const auto t =
      json::parse(R"({"createdAt":1798761600,"rotationPeriodMinutes":null,"id":"x"})").get<token_state>();
  BOOST_TEST(!t.rotation_period.has_value());
  BOOST_TEST(to_unix(t.created_at) == 1798761600);
}

BOOST_AUTO_TEST_CASE(malformed_token_documents_get_an_error_naming_the_field) {
  BOOST_TEST(read_error(json::array()) == "token: expected a JSON object, got an array");
  BOOST_TEST(read_error(json::object()) == "createdAt: missing (Unix seconds)");
  BOOST_TEST(read_error(json{{"createdAt", "2027-01-01"}}) ==
             "createdAt: expected Unix seconds (an integer), got a string");
  BOOST_TEST(read_error(json{{"createdAt", 1.5}}) ==
             "createdAt: expected Unix seconds (an integer), got a fractional number");
  BOOST_TEST(read_error(json{{"createdAt", -1}}) ==
             "createdAt: expected Unix seconds between 0 and 253402300799, got -1");
  BOOST_TEST(read_error(json{{"createdAt", 18446744073709551615ULL}}) ==
             "createdAt: expected Unix seconds (at most 253402300799), got 18446744073709551615");
  BOOST_TEST(read_error(json{{"createdAt", 0}, {"rotationPeriodMinutes", 0}}) ==
             "rotationPeriodMinutes: expected minutes between 1 and 100000000, got 0");
  // Parsed from text, a 0 is stored unsigned: the lower bound still applies.
  BOOST_TEST(read_error(json::parse(R"({"createdAt": 0, "rotationPeriodMinutes": 0})")) ==
             "rotationPeriodMinutes: expected minutes between 1 and 100000000, got 0");
  BOOST_TEST(read_error(json{{"createdAt", 0}, {"expiresAt", true}}) ==
             "expiresAt: expected Unix seconds (an integer), got a boolean");
}

BOOST_AUTO_TEST_CASE(policy_answers_serialise) {
  const token_state t{.created_at = t0, .rotation_period = 60min};
  BOOST_TEST(json(api_policy.check(t, t0 + 2h)).dump() ==
             R"({"endedBy":"rotation-period","until":1798765200,"usable":false})");
  BOOST_TEST(json(api_policy.check(t, t0)).dump() == R"({"endedBy":null,"until":1798765200,"usable":true})");
  const auto r = api_policy.rotate(t, t0 + 30min).value();
  BOOST_TEST(json(r)["child"]["createdAt"] == 1798763400);
  BOOST_TEST(json(r)["parent"]["rotatedAt"] == 1798763400);
  BOOST_TEST(json(api_policy.rotate(r.parent, t0 + 31min).error()).dump() ==
             R"({"error":"already-rotated"})");
  BOOST_TEST(json(rerotation::fork) == "fork");
  BOOST_TEST((json("idempotent").get<rerotation>() == rerotation::idempotent));
}

// nlohmann reads a NUL byte as the end of the input; rotary's reader says where it is, and
// text after it is never silently dropped.
BOOST_AUTO_TEST_CASE(a_nul_byte_is_an_error_where_it_stands) {
  using namespace std::string_literals;
  const auto message = [](const std::string& text) -> std::string {
    try {
      (void)detail::parse_json_text(text);
    } catch (const nlohmann::json::exception& e) {
      return detail::json_parse_message(e);
    }
    return "parsed";
  };
  BOOST_TEST(message("\0"s) == "parse error at line 1, column 1: a NUL byte, which JSON text cannot hold");
  BOOST_TEST(message("\0\0\0{}"s) ==
             "parse error at line 1, column 1: a NUL byte, which JSON text cannot hold");
  BOOST_TEST(message("{}\0junk"s) ==
             "parse error at line 1, column 3: a NUL byte, which JSON text cannot hold");
  BOOST_TEST(message("{\"a\":\n 1}\n\0"s) ==
             "parse error at line 3, column 1: a NUL byte, which JSON text cannot hold");
  BOOST_TEST(message("{\"a\": \0}"s) ==
             "parse error at line 1, column 7: a NUL byte, which JSON text cannot hold");
  // The first error wins: nlohmann's own, before the NUL.
  BOOST_TEST(
      message("x\0"s).starts_with("parse error at line 1, column 1: syntax error while parsing value"));
  BOOST_TEST(message("\"a\0\""s) ==  // inside a string too
             "parse error at line 1, column 3: a NUL byte, which JSON text cannot hold");
  BOOST_TEST(message("{\"a\": \"\\u0000\"}") == "parsed");  // an escaped NUL is a character like any
  BOOST_TEST(message(" {} ") == "parsed");
  BOOST_TEST(detail::parse_json_text("[1, 2]") == json::array({1, 2}));
}
