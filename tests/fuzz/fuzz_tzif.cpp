// Fuzz target: TZif zone files (time_zone::from_tzif), the bytes rotary reads from
// /usr/share/zoneinfo or $TZDIR. Checks: no exception, no read out of bounds (ASan); a malformed
// file gets a message naming the zone; a valid one answers every instant of years 1-9999 with a
// stretch that holds it, an offset within a day, and local time = UTC + offset.
#include <rotary/zone.hpp>

#include "fuzz_check.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto zone = rotary::time_zone::from_tzif("Fuzz/Zone", bytes);
  if (!zone) {
    FUZZ_CHECK(zone.error().message.rfind("time zone 'Fuzz/Zone': not a valid TZif file (", 0) == 0);
    return 0;
  }
  constexpr std::int64_t instants[] = {
      -62'135'596'800, -2'208'988'800, -1, 0, 1, 951'782'400, 2'147'483'647, 2'147'483'648,
      4'102'444'800,   253'402'300'799};
  for (const std::int64_t t : instants) {
    const auto at = rotary::from_unix(t);
    const auto info = zone->info(at);
    FUZZ_CHECK(info.begin <= at && at < info.end);
    FUZZ_CHECK(info.offset.count() > -86'400 && info.offset.count() < 86'400);
    FUZZ_CHECK(zone->to_local(at).time_since_epoch() == (at + info.offset).time_since_epoch());
  }
  return 0;
}
