// Tests of rotary/wire.hpp and its JSON (rotary/detail/json_wire.hpp).
#define BOOST_TEST_MODULE wire
#include <boost/test/unit_test.hpp>

#include "print.hpp"

#include <rotary/detail/json_wire.hpp>
#include <rotary/wire.hpp>

#include <string>

using namespace std::chrono_literals;
namespace wire = rotary::wire;
using nlohmann::json;

// Boost.Test prints wire values as their JSON in failure messages.
namespace rotary::wire {
template <class T>
requires requires(const T& t) { nlohmann::json(t); }
std::ostream& boost_test_print_type(std::ostream& os, const T& t) { return os << nlohmann::json(t).dump(); }
}  // namespace rotary::wire

namespace {

// The message of the json_error that reading `text` as T throws ("" if none).
template <class T>
std::string error_reading(const std::string& text) {
  try {
    (void)json::parse(text).get<T>();
  } catch (const rotary::json_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

static_assert(wire::to_string(wire::fault_kind::commit_drop) == "commit-drop");
static_assert(wire::parse_fault_kind("latency") == wire::fault_kind::latency);
static_assert(!wire::parse_fault_kind("Latency"));

BOOST_AUTO_TEST_CASE(the_guide_sample_response_reads_as_a_rotate_response) {
  const auto r =
      json::parse(R"({"rawSecret": "new-secret", "createdAt": 16400000, "rotationPeriodMinutes": 3600})")
          .get<wire::rotate_response>();
  BOOST_TEST(r.raw_secret == "new-secret");
  BOOST_TEST(rotary::to_unix(r.created_at) == 16400000);
  BOOST_TEST(r.rotation_period == 3600min);
}

BOOST_AUTO_TEST_CASE(a_rotate_response_writes_the_three_wire_fields) {
  const wire::rotate_response r{"s3cret", rotary::from_unix(1798761600), 3600min};
  BOOST_TEST(json(r).dump() ==
             R"j({"createdAt":1798761600,"rawSecret":"s3cret","rotationPeriodMinutes":3600})j");
  BOOST_TEST(json(r).get<wire::rotate_response>() == r);
}

BOOST_AUTO_TEST_CASE(responses_ignore_unknown_keys_but_not_wrong_types) {
  BOOST_TEST(error_reading<wire::rotate_response>(
                 R"j({"rawSecret": "x", "createdAt": 1, "rotationPeriodMinutes": 60, "newField": true})j") ==
             "");
  BOOST_TEST(error_reading<wire::rotate_response>(
                 R"j({"rawSecret": "x", "createdAt": "1", "rotationPeriodMinutes": 60})j") ==
             "createdAt: expected Unix seconds (an integer), got a string");
  BOOST_TEST(error_reading<wire::rotate_response>(R"j({"rawSecret": "x", "createdAt": 1})j") ==
             "rotationPeriodMinutes: missing (minutes)");
  BOOST_TEST(error_reading<wire::rotate_response>(
                 R"j({"rawSecret": "", "createdAt": 1, "rotationPeriodMinutes": 1})j") == "rawSecret: empty");
  BOOST_TEST(error_reading<wire::rotate_response>(R"j({"createdAt": 1, "rotationPeriodMinutes": 1})j") ==
             "rawSecret: missing (a string)");
  BOOST_TEST(error_reading<wire::rotate_response>("[]") ==
             "rotate response: expected a JSON object, got an array");
}

BOOST_AUTO_TEST_CASE(an_error_body_round_trips) {
  const wire::error_body e{"already-rotated", "the token was already rotated"};
  BOOST_TEST(json(e).dump() == R"j({"error":"already-rotated","message":"the token was already rotated"})j");
  BOOST_TEST(json(e).get<wire::error_body>() == e);
}

BOOST_AUTO_TEST_CASE(admin_requests_are_strict_about_keys_and_ranges) {
  BOOST_TEST(error_reading<wire::create_token_request>(R"j({"rotationPeriod": 60})j") ==
             "rotationPeriod: unknown field (expected rotationPeriodMinutes or expiresAt)");
  BOOST_TEST(error_reading<wire::create_token_request>(R"j({"rotationPeriodMinutes": 0})j") ==
             "rotationPeriodMinutes: expected minutes between 1 and 100000000, got 0");
  BOOST_TEST(error_reading<wire::create_token_request>(R"j({"rotationPeriodMinutes": 1.5})j") ==
             "rotationPeriodMinutes: expected minutes (an integer), got a fractional number");
  const auto empty = json::parse("{}").get<wire::create_token_request>();
  BOOST_TEST(!empty.rotation_period);
  BOOST_TEST(!empty.expires_at);
  const auto nulls = json::parse(R"j({"rotationPeriodMinutes": null, "expiresAt": 1830297600})j")
                         .get<wire::create_token_request>();
  BOOST_TEST(!nulls.rotation_period);
  BOOST_TEST(rotary::to_unix(*nulls.expires_at) == 1830297600);
}

BOOST_AUTO_TEST_CASE(a_clock_request_takes_one_move_and_maybe_a_warp) {
  const auto a = json::parse(R"j({"advanceSeconds": 600})j").get<wire::clock_request>();
  BOOST_TEST(a.advance == rotary::seconds{600});
  const auto s = json::parse(R"j({"set": 1798761600, "warp": 0})j").get<wire::clock_request>();
  BOOST_TEST(rotary::to_unix(*s.set) == 1798761600);
  BOOST_TEST(*s.warp == 0.0);
  BOOST_TEST(json(s).get<wire::clock_request>() == s);
  BOOST_TEST(error_reading<wire::clock_request>(R"j({"warp": -1})j") ==
             "warp: expected a number between 0.0 and 1000000000.0, got -1");
  BOOST_TEST(error_reading<wire::clock_request>(R"j({"warp": "fast"})j") ==
             "warp: expected a number, got a string");
  BOOST_TEST(error_reading<wire::clock_request>("{}") ==
             "request body: expected advanceSeconds, set or warp");
}

BOOST_AUTO_TEST_CASE(fault_rules_read_with_their_defaults) {
  const auto c = json::parse(R"j({"faults": [{"kind": "status", "status": 429},
                                             {"kind": "latency", "latencyMs": 250, "probability": 0.25, "scope": "api"},
                                             {"kind": "commit-drop", "count": 3}], "seed": 42})j")
                     .get<wire::fault_config>();
  BOOST_REQUIRE(c.faults.size() == 3u);
  BOOST_TEST(c.faults[0].status == 429);
  BOOST_TEST(c.faults[0].probability == 1.0);
  BOOST_TEST(!c.faults[0].count);
  BOOST_TEST((c.faults[1].scope == wire::fault_scope::api));
  BOOST_TEST(c.faults[1].latency.count() == 250);
  BOOST_TEST(*c.faults[2].count == 3u);
  BOOST_TEST((c.faults[2].scope == wire::fault_scope::rotate));
  BOOST_TEST(*c.seed == 42u);
  BOOST_TEST(json(c).get<wire::fault_config>() == c);
}

BOOST_AUTO_TEST_CASE(fault_rules_refuse_what_their_kind_does_not_take) {
  BOOST_TEST(error_reading<wire::fault_config>(R"j({"faults": [{"kind": "reset", "latencyMs": 5}]})j") ==
             "faults[0].latencyMs: only for kind \"latency\"");
  BOOST_TEST(error_reading<wire::fault_config>(R"j({"faults": [{"kind": "reset", "status": 503}]})j") ==
             "faults[0].status: only for kind \"status\"");
  BOOST_TEST(error_reading<wire::fault_config>(R"j({"faults": [{"kind": "empty", "count": 0}]})j") ==
             "faults[0].count: expected a request count between 1 and 1000000000000, got 0");
  BOOST_TEST(
      error_reading<wire::fault_config>(R"j({"faults": [{"kind": "empty", "scope": "everything"}]})j") ==
      "faults[0].scope: expected \"rotate\" or \"api\", got \"everything\"");
  BOOST_TEST(error_reading<wire::fault_config>(R"j({"faults": {}})j") ==
             "faults: expected an array, got an object");
  BOOST_TEST(error_reading<wire::fault_config>(R"j({"faults": [], "seed": -1})j") ==
             "seed: expected a non-negative integer, got a number");
  BOOST_TEST(error_reading<wire::fault_config>(R"j({"faults": [], "sed": 1})j") ==
             "sed: unknown field (expected faults or seed)");
}

BOOST_AUTO_TEST_CASE(an_event_leaves_out_empty_fields_and_round_trips) {
  wire::event e;
  e.seq = 7;
  e.at = rotary::from_unix(1798761600);
  e.kind = "rotation";
  e.method = "POST";
  e.path = std::string(wire::rotate_path);
  e.status = 200;
  e.token_id = "tok_1";
  e.child_id = "tok_2";
  BOOST_TEST(
      json(e).dump() ==
      R"j({"at":1798761600,"childId":"tok_2","kind":"rotation","method":"POST","path":"/api/index/v1/rotatetoken","seq":7,"status":200,"tokenId":"tok_1"})j");
  BOOST_TEST(json(e).get<wire::event>() == e);
}

BOOST_AUTO_TEST_CASE(a_token_view_round_trips_with_nulls_for_absent_fields) {
  wire::token_view v;
  v.id = "tok_2";
  v.parent_id = "tok_1";
  v.state.created_at = rotary::from_unix(1798761600);
  v.state.rotation_period = 60min;
  v.status = "active";
  v.usable = true;
  v.usable_until = rotary::from_unix(1798765200);
  const json j = v;
  BOOST_TEST(j.at("expiresAt").is_null());
  BOOST_TEST(j.at("endedBy").is_null());
  BOOST_TEST(j.at("childIds") == json::array());
  BOOST_TEST(j.get<wire::token_view>() == v);
}

BOOST_AUTO_TEST_CASE(a_created_token_and_a_clock_view_round_trip) {
  const wire::created_token t{"tok_1", "secret", rotary::from_unix(10), 1440min, rotary::from_unix(99)};
  BOOST_TEST(json(t).get<wire::created_token>() == t);
  const wire::created_token bare{"tok_2", "secret", rotary::from_unix(10), std::nullopt, std::nullopt};
  BOOST_TEST(json(bare).at("rotationPeriodMinutes").is_null());
  BOOST_TEST(json(bare).get<wire::created_token>() == bare);
  const wire::clock_view c{rotary::from_unix(1798761600), 3600};
  BOOST_TEST(json(c).dump() == R"j({"now":1798761600,"warp":3600.0})j");
  BOOST_TEST(json(c).get<wire::clock_view>() == c);
}
