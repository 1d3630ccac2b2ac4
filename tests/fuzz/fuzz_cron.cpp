// Fuzz target: the cron parser, and next/prev/lint on what it parses, in UTC and in a zone.
//
// Input (FuzzedDataProvider): a range flag, an instant, a zone and DST mode byte, then the
// expression's text. Checks: parse_cron never throws, agrees with try_parse_cron, and a failure
// points inside the text; a parsed expression keeps its text and lint columns stay inside it;
// in UTC next(t) > t and prev(t) < t, on whole minutes, matching the expression, with no fire
// between t and either of them; in a zone the same order, runs_at agrees, and lint never throws.
#include <fuzzer/FuzzedDataProvider.h>

#include <rotary/cron.hpp>
#include <rotary/schedule.hpp>

#include "fuzz_check.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace {

constexpr std::array<const char*, 6> zones = {"Europe/Berlin",  "America/New_York",  "Australia/Lord_Howe",
                                              "Asia/Kathmandu", "America/Sao_Paulo", "Pacific/Apia"};

bool matches_utc(const rotary::cron_expr& e, rotary::sys_seconds t) {
  const auto s = rotary::to_unix(t);
  const auto day = s >= 0 ? s / 86400 : (s - 86399) / 86400;
  const auto sod = s - day * 86400;
  const auto c = rotary::detail::civil_from_days(day);
  return e.matches(c.year, c.month, c.day, static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  // From 1900 to 2200 mostly, sometimes anywhere in the cron range (year 1 to 9999).
  const bool wide = in.ConsumeBool();
  const std::int64_t lo = wide ? rotary::detail::cron_min_minute * 60 : -2'208'988'800;
  const std::int64_t hi = wide ? rotary::detail::cron_max_minute * 60 : 7'258'118'400;
  const auto t = rotary::from_unix(in.ConsumeIntegralInRange<std::int64_t>(lo, hi));
  const auto zone_pick = in.ConsumeIntegral<std::uint8_t>();
  const std::string text = in.ConsumeRemainingBytesAsString();

  const auto parsed = rotary::parse_cron(text);
  FUZZ_CHECK(parsed.has_value() == rotary::try_parse_cron(text).has_value());
  if (!parsed) {
    FUZZ_CHECK(parsed.error().column >= 1 && parsed.error().column <= text.size() + 1);
    FUZZ_CHECK(!parsed.error().message.empty());
    (void)rotary::render(parsed.error(), text);
    return 0;
  }
  const auto& e = *parsed;
  FUZZ_CHECK(e.text() == text);
  FUZZ_CHECK(*rotary::parse_cron(e.text()) == e);
  for (const auto& f : rotary::lint(e)) {
    FUZZ_CHECK(f.column >= 1 && f.column + f.length <= text.size() + 1);
    FUZZ_CHECK(!f.code.empty());
  }

  const auto n = rotary::next(e, t);
  const auto p = rotary::prev(e, t);
  FUZZ_CHECK(!e.never_fires() || (!n && !p));
  if (n) {
    FUZZ_CHECK(*n > t && rotary::to_unix(*n) % 60 == 0 && matches_utc(e, *n));
    const auto back = rotary::prev(e, *n);  // no fire in (t, n): the one before n is at or before t
    if (back) FUZZ_CHECK(*back <= t && (!p || *back >= *p));
    FUZZ_CHECK(back.has_value() == p.has_value() || (back && *back == t));
  }
  if (p) {
    FUZZ_CHECK(*p < t && rotary::to_unix(*p) % 60 == 0 && matches_utc(e, *p));
    const auto fwd = rotary::next(e, *p);
    FUZZ_CHECK(fwd && *fwd >= t);  // no fire in (p, t)
    if (n) FUZZ_CHECK(*fwd <= *n);
  }

  // In a zone: next/prev keep their order, runs_at agrees, lint with DST findings never throws.
  const auto* zone = rotary::find_zone(zones[zone_pick % zones.size()]);
  if (zone == nullptr) return 0;
  const rotary::dst_mode mode = zone_pick & 0x80 ? rotary::dst_mode::wallclock : rotary::dst_mode::cronie;
  const rotary::cron_schedule s(e, zone, mode);
  // The zone database's range: keep to the years 1800 to 2500 for the zone arithmetic.
  const auto zt =
      rotary::from_unix(std::clamp<std::int64_t>(rotary::to_unix(t), -5'364'662'400, 16'725'225'600));
  const auto zn = s.next_fire(zt);
  if (zn) {
    FUZZ_CHECK(zn->at > zt && zn->runs >= 1);
    FUZZ_CHECK(s.runs_at(zn->at) == zn->runs);
  }
  const auto zp = s.prev(zt);
  if (zp) FUZZ_CHECK(*zp < zt && s.runs_at(*zp) >= 1);
  if (zn && zp) FUZZ_CHECK(*zp < zn->at);
  for (const auto& f : rotary::lint(e, zone, zt)) FUZZ_CHECK(!f.code.empty());
  return 0;
}
