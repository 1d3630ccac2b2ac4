// Fuzz target: the fake server's state file (detail::state_from_text, what start() reads with
// --state). Checks: only state_file_error comes out; a file that loads writes back
// (state_to_text) to a file that loads to the same tokens, clock and replay key.
#include <rotary/detail/server_state.hpp>

#include "fuzz_check.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  rotary::detail::server_snapshot s;
  try {
    s = rotary::detail::state_from_text(text);
  } catch (const rotary::state_file_error& e) {
    FUZZ_CHECK(e.what()[0] != '\0');
    return 0;
  }
  const auto written = rotary::detail::state_to_text(s);
  const auto again = rotary::detail::state_from_text(written);
  FUZZ_CHECK(again.now == s.now && again.warp == s.warp && again.replay_key == s.replay_key);
  FUZZ_CHECK(again.tokens.size() == s.tokens.size());
  for (std::uint32_t i = 0; i < s.tokens.size(); ++i) {
    FUZZ_CHECK(again.tokens[i].hash == s.tokens[i].hash);
    FUZZ_CHECK(again.tokens[i].state == s.tokens[i].state);
    FUZZ_CHECK(again.tokens[i].parent == s.tokens[i].parent);
    FUZZ_CHECK(again.tokens[i].revoked == s.tokens[i].revoked);
  }
  FUZZ_CHECK(rotary::detail::state_to_text(again) == written);
  return 0;
}
