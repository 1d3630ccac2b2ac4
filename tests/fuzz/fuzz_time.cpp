// Fuzz target: ISO-8601 instants (parse_time) and durations (parse_duration, each bare-number
// mode). Checks: neither throws; a failure points inside the text; an instant is at or after
// 1970 and before year 10000, and its formatted text parses back to itself; a duration is
// between 0 and 10,000 years and format_duration's text parses back to it.
#include <rotary/time.hpp>

#include "fuzz_check.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace {
void check_diagnostic(const rotary::diagnostic& d, std::string_view text) {
  FUZZ_CHECK(d.column >= 1 && d.column <= text.size() + 1);
  FUZZ_CHECK(d.length >= 1);
  FUZZ_CHECK(!d.message.empty());
  (void)rotary::render(d, text);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto t = rotary::parse_time(text);
  if (t) {
    FUZZ_CHECK(rotary::to_unix(*t) >= 0 && rotary::to_unix(*t) <= 253'402'300'799);
    const auto again = rotary::parse_time(rotary::format_time(*t));
    FUZZ_CHECK(again && *again == *t);
  } else {
    check_diagnostic(t.error(), text);
  }

  constexpr std::int64_t max_seconds = 10'000LL * 366 * 86'400;
  for (const auto bare :
       {rotary::bare_number::reject, rotary::bare_number::in_seconds, rotary::bare_number::in_minutes}) {
    const auto d = rotary::parse_duration(text, bare);
    if (!d) {
      check_diagnostic(d.error(), text);
      continue;
    }
    FUZZ_CHECK(d->count() >= 0 && d->count() <= max_seconds);
    const auto again = rotary::parse_duration(rotary::format_duration(*d));
    FUZZ_CHECK(again && *again == *d);
  }
  return 0;
}
