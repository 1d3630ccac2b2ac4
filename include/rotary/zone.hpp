// rotary/zone.hpp: IANA time zones, read from the system's zone files, and the civil (local)
// time of an instant in one of them.
//
//     const rotary::time_zone& ny = rotary::locate_zone("America/New_York");
//     auto t = rotary::parse_time("2027-03-14T07:00:00Z").value();
//     ny.offset(t);                          // -4h: EDT began at 07:00Z that morning
//     ny.info(t).abbreviation;               // "EDT"
//     rotary::format_local(ny.to_local(t));  // "2027-03-14T03:00:00"
//     ny.to_local(rotary::parse_time("2040-07-01T12:00:00Z").value());  // 08:00: DST in 2040 too
//
// Absolute time (`sys_seconds`) and civil time (`std::chrono::local_seconds`) never mix: the
// zone is the one place that converts between them.
//
// ## Where the data come from, and why rotary reads them itself
//
// A zone is the TZif file (RFC 8536) of that name under `$TZDIR` or, when TZDIR is unset,
// `/usr/share/zoneinfo` (Debian's `tzdata`), read once and kept for the life of the process.
// Before its first listed transition a zone keeps its first local time type (RFC 8536 section
// 3.2); after the last one, the POSIX TZ rule in the file's footer ("EST5EDT,M3.2.0,M11.1.0")
// gives the transitions for every later year. rotary reads the files itself rather than through
// Howard Hinnant's date/tz because (1) the Debian build of date/tz ignores the footer, so every
// zone stopped changing offset after 2037, (2) that library is built against libstdc++ and
// cannot be linked into a libc++ program, and (3) a header-only zone reader costs users no
// library to link and a small fraction of `<date/tz.h>`'s compile time. tests/zone_test.cpp
// holds the reader against glibc's own (localtime_r) for every zone on the system, at both
// sides of every transition from 1901 to 2100 and at random instants up to 2399.
//
// Leap-second ("right/") files are read as if their leap records were absent: rotary's time is
// POSIX time, like `std::chrono::system_clock`.
#pragma once

#include <rotary/detail/posix_tz.hpp>
#include <rotary/detail/safe_file.hpp>
#include <rotary/outcome.hpp>
#include <rotary/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rotary {

using local_seconds = std::chrono::local_seconds;

// One stretch of a zone's history with a single UTC offset: [begin, end).
struct zone_info {
  sys_seconds begin, end;
  seconds offset;  // local time = UTC + offset
  bool is_dst = false;
  std::string_view abbreviation;  // "EDT"; valid as long as the zone (for the process)
};

// Why a zone could not be had.
struct zone_error {
  std::string name;     // the name asked for
  std::string message;  // "unknown time zone 'Mars/Olympus' (expected an IANA name like Europe/Berlin)"
};

class time_zone {
 public:
  // A zone from the bytes of a TZif file; `name` is what `name()` will answer.
  [[nodiscard]] static outcome<time_zone, zone_error> from_tzif(std::string name, std::string_view bytes);
  // The zone of constant offset 0 ("UTC"), without any file.
  [[nodiscard]] static time_zone utc();

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  // The stretch of the zone's history holding `t`.
  [[nodiscard]] zone_info info(sys_seconds t) const;
  // The UTC offset at `t` (local time = t + offset).
  [[nodiscard]] seconds offset(sys_seconds t) const { return info(t).offset; }
  // The civil time at `t`: 2027-03-14T07:00:00Z in America/New_York is 03:00:00 local.
  [[nodiscard]] local_seconds to_local(sys_seconds t) const {
    return local_seconds{(t + offset(t)).time_since_epoch()};
  }

 private:
  struct type {
    std::int64_t offset = 0;
    bool is_dst = false;
    std::string abbreviation;
  };
  std::string name_;
  std::vector<std::int64_t> at_;          // transition instants, ascending
  std::vector<std::uint8_t> type_of_;     // the type in effect from at_[i]
  std::vector<type> types_;               // types_[0]: before the first transition
  std::optional<detail::posix_tz> rule_;  // after the last transition (only when it has DST)
};

// The zone called `name` ("Europe/Berlin"), or nullptr if the system has none by that name (or
// its file is not a valid TZif file). Thread-safe; the zone lives as long as the process.
[[nodiscard]] const time_zone* find_zone(std::string_view name) noexcept;
// The same, or the reason there is none.
[[nodiscard]] outcome<const time_zone*, zone_error> lookup_zone(std::string_view name);
// The same; throws std::invalid_argument (what(): the zone_error's message) if there is none.
[[nodiscard]] const time_zone& locate_zone(std::string_view name);

// "2027-03-14T03:00:00": a civil time, without offset or zone.
[[nodiscard]] std::string format_local(local_seconds t);
// "2027-03-14T03:00:00-04:00": the civil time of `t` in `zone` with its offset.
[[nodiscard]] std::string format_local(sys_seconds t, const time_zone& zone);

// ---------------------------------------------------------------------------------------------
// Implementation.

namespace detail {

// Beyond any instant rotary handles (years 1-9999), like date's year -32767 and 32767.
inline constexpr std::int64_t zone_far_past = -1'000'000'000'000;
inline constexpr std::int64_t zone_far_future = 1'000'000'000'000;

// A cursor over big-endian TZif bytes that never reads past the end.
class tzif_reader {
 public:
  explicit tzif_reader(std::string_view b) : b_(b) {}
  [[nodiscard]] bool has(std::size_t n) const noexcept { return b_.size() - i_ >= n; }
  [[nodiscard]] std::size_t position() const noexcept { return i_; }
  void skip(std::size_t n) noexcept { i_ += n; }
  [[nodiscard]] std::uint64_t be(std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k) v = v << 8 | static_cast<unsigned char>(b_[i_ + k]);
    i_ += n;
    return v;
  }
  [[nodiscard]] std::int64_t be_signed(std::size_t n) noexcept {
    const std::uint64_t v = be(n);
    if (n == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    return static_cast<std::int64_t>(v);
  }
  [[nodiscard]] std::string_view rest() const noexcept { return b_.substr(i_); }
  [[nodiscard]] std::string_view bytes(std::size_t n) noexcept {
    const auto s = b_.substr(i_, n);
    i_ += n;
    return s;
  }

 private:
  std::string_view b_;
  std::size_t i_ = 0;
};

struct tzif_counts {
  std::uint64_t isut = 0, isstd = 0, leap = 0, time = 0, type = 0, chars = 0;
  char version = 0;
};

inline std::optional<tzif_counts> read_tzif_header(tzif_reader& r) {
  if (!r.has(44) || r.bytes(4) != "TZif") return std::nullopt;
  tzif_counts c;
  c.version = r.bytes(1)[0];
  r.skip(15);
  c.isut = r.be(4), c.isstd = r.be(4), c.leap = r.be(4), c.time = r.be(4), c.type = r.be(4),
  c.chars = r.be(4);
  return c;
}

inline std::string valid_zone_name_error(std::string_view name) {
  if (name.empty()) return "empty time zone name";
  if (name.size() > 255) return "time zone name longer than 255 bytes";
  if (name.front() == '/') return "time zone name must not start with '/'";
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      const auto part = name.substr(start, i - start);
      if (part.empty() || part == "." || part == "..")
        return "time zone name with an empty, '.' or '..' part";
      start = i + 1;
      continue;
    }
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '+' || c == '.';
    if (!ok) return "time zone name with a character other than letters, digits and _-+./";
  }
  return {};
}

inline std::string zone_directory() {
  const char* dir = std::getenv("TZDIR");  // NOLINT(concurrency-mt-unsafe): read, never set
  return dir != nullptr && *dir != '\0' ? std::string(dir) : std::string("/usr/share/zoneinfo");
}

// The whole file, or nullopt (missing, unreadable, not a regular file, or over 1 MiB: no zone
// is). A FIFO or a device under TZDIR is refused without being opened (safe_file.hpp); the
// links of /usr/share/zoneinfo are followed.
inline std::optional<std::string> read_zone_file(const std::string& path) {
  auto text = read_regular_file(path, std::size_t{1} << 20, links::follow);
  if (!text) return std::nullopt;
  return std::move(*text);
}

struct zone_registry {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<const time_zone>, std::less<>> zones;
};
inline zone_registry& zones() {
  static zone_registry r;
  return r;
}

}  // namespace detail

inline outcome<time_zone, zone_error> time_zone::from_tzif(std::string name, std::string_view bytes) {
  auto fail = [&](std::string why) {
    return zone_error{name, "time zone '" + name + "': not a valid TZif file (" + std::move(why) + ")"};
  };
  detail::tzif_reader r(bytes);
  auto h = detail::read_tzif_header(r);
  if (!h) return fail("no TZif header");
  std::size_t time_size = 4;
  auto block_size = [&](const detail::tzif_counts& c, std::size_t ts) {
    return c.time * ts + c.time + c.type * 6 + c.chars + c.leap * (ts + 4) + c.isstd + c.isut;
  };
  // A counts field is 32 bits: the products above cannot overflow 64 bits.
  if (h->version >= '2') {  // skip the 32-bit block, use the 64-bit one that follows
    if (!r.has(block_size(*h, 4))) return fail("truncated");
    r.skip(block_size(*h, 4));
    h = detail::read_tzif_header(r);
    if (!h) return fail("no second header");
    time_size = 8;
  } else if (h->version != '\0') {
    return fail("unknown version");
  }
  if (h->type == 0 || h->type > 256) return fail("needs 1 to 256 local time types");
  if (h->chars == 0) return fail("no abbreviations");
  if ((h->isstd != 0 && h->isstd != h->type) || (h->isut != 0 && h->isut != h->type))
    return fail("indicator counts differ from the type count");
  if (!r.has(block_size(*h, time_size))) return fail("truncated");

  time_zone z;
  z.name_ = name;
  z.at_.reserve(h->time);
  for (std::uint64_t i = 0; i < h->time; ++i) {
    const std::int64_t at = r.be_signed(time_size);
    if (!z.at_.empty() && at <= z.at_.back()) return fail("transitions out of order");
    z.at_.push_back(at);
  }
  z.type_of_.reserve(h->time);
  for (std::uint64_t i = 0; i < h->time; ++i) {
    const auto t = static_cast<std::uint8_t>(r.be(1));
    if (t >= h->type) return fail("transition to a type that does not exist");
    z.type_of_.push_back(t);
  }
  struct raw_type {
    std::int64_t offset;
    bool dst;
    std::size_t abbrev;
  };
  std::vector<raw_type> raw;
  for (std::uint64_t i = 0; i < h->type; ++i) {
    const std::int64_t offset = r.be_signed(4);
    const auto dst = r.be(1);
    const auto abbrev = static_cast<std::size_t>(r.be(1));
    // RFC 8536 3.2: -2^31 is invalid; real offsets are within a day.
    if (offset <= -86'400 || offset >= 86'400) return fail("UTC offset beyond a day");
    if (dst > 1) return fail("isdst neither 0 nor 1");
    if (abbrev >= h->chars) return fail("abbreviation index out of range");
    raw.push_back({offset, dst == 1, abbrev});
  }
  const std::string_view chars = r.bytes(h->chars);
  if (chars.back() != '\0') return fail("abbreviations not NUL-terminated");
  for (const auto& t : raw) {
    const auto end = chars.find('\0', t.abbrev);
    z.types_.push_back({t.offset, t.dst, std::string(chars.substr(t.abbrev, end - t.abbrev))});
  }
  r.skip(h->leap * (time_size + 4) + h->isstd + h->isut);

  if (time_size == 8) {  // the footer: "\n" POSIX-TZ "\n"
    const std::string_view rest = r.rest();
    if (rest.size() < 2 || rest.front() != '\n') return fail("no footer");
    const auto nl = rest.find('\n', 1);
    if (nl == std::string_view::npos) return fail("footer not terminated");
    const std::string_view tz = rest.substr(1, nl - 1);
    if (!tz.empty()) {
      auto rule = detail::parse_posix_tz(tz);
      if (!rule) return fail("footer is not a POSIX TZ string");
      for (const std::int64_t offset : {rule->std_offset, rule->dst_offset})
        if (offset <= -86'400 || offset >= 86'400) return fail("footer offset beyond a day");
      if (rule->has_dst) z.rule_ = std::move(*rule);
    }
  }
  return z;
}

inline time_zone time_zone::utc() {
  time_zone z;
  z.name_ = "UTC";
  z.types_.push_back({0, false, "UTC"});
  return z;
}

inline zone_info time_zone::info(sys_seconds when) const {
  const std::int64_t t = to_unix(when);
  auto make = [](std::int64_t b, std::int64_t e, std::int64_t offset, bool dst, std::string_view abbrev) {
    return zone_info{from_unix(b), from_unix(e), seconds{offset}, dst, abbrev};
  };
  // The last listed transition at or before t.
  const auto it = std::upper_bound(at_.begin(), at_.end(), t);
  if (it == at_.begin()) {
    const type& first = types_[0];
    if (!at_.empty())
      return make(detail::zone_far_past, at_.front(), first.offset, first.is_dst, first.abbreviation);
    if (!rule_)
      return make(detail::zone_far_past, detail::zone_far_future, first.offset, first.is_dst,
                  first.abbreviation);
  } else if (it != at_.end()) {
    const auto i = static_cast<std::size_t>(it - at_.begin()) - 1;
    const type& ty = types_[type_of_[i]];
    return make(at_[i], *it, ty.offset, ty.is_dst, ty.abbreviation);
  }
  // Past the last listed transition (or a zone with a rule and no transitions).
  const std::int64_t last = at_.empty() ? detail::zone_far_past : at_.back();
  const type& last_type = types_[at_.empty() ? 0 : type_of_.back()];
  if (!rule_)
    return make(last, detail::zone_far_future, last_type.offset, last_type.is_dst, last_type.abbreviation);
  const auto year = detail::civil_from_days(detail::posix_floor_div(t, 86'400)).year;
  const auto around = detail::posix_transitions_around(*rule_, year);
  std::int64_t begin = last, offset = last_type.offset;
  bool dst = last_type.is_dst;
  std::string_view abbrev = last_type.abbreviation;
  for (const auto& x : around) {
    if (x.at <= last) continue;
    if (x.at > t) return make(begin, x.at, offset, dst, abbrev);
    begin = x.at, offset = x.offset, dst = x.dst;
    abbrev = x.dst ? std::string_view(rule_->dst_name) : std::string_view(rule_->std_name);
  }
  return make(begin, detail::zone_far_future, offset, dst, abbrev);  // not reached: years y+1 follow
}

inline outcome<const time_zone*, zone_error> lookup_zone(std::string_view name) {
  auto& reg = detail::zones();
  {
    std::lock_guard lock(reg.mutex);
    if (const auto it = reg.zones.find(name); it != reg.zones.end()) return it->second.get();
  }
  const std::string text(name);
  if (auto why = detail::valid_zone_name_error(name); !why.empty())
    return zone_error{text, "invalid time zone name '" + text + "': " + why};
  std::optional<time_zone> zone;
  if (auto bytes = detail::read_zone_file(detail::zone_directory() + "/" + text)) {
    auto z = time_zone::from_tzif(text, *bytes);
    if (!z) return z.error();
    zone = std::move(*z);
  } else if (name == "UTC" || name == "Etc/UTC") {  // a system without tzdata still has UTC
    zone = time_zone::utc();
  } else {
    return zone_error{text, "unknown time zone '" + text + "' (expected an IANA name like Europe/Berlin)"};
  }
  std::lock_guard lock(reg.mutex);
  auto [it, added] = reg.zones.try_emplace(text, std::make_unique<const time_zone>(std::move(*zone)));
  return it->second.get();
}

inline const time_zone* find_zone(std::string_view name) noexcept {
  try {
    auto z = lookup_zone(name);
    return z ? *z : nullptr;
  } catch (...) {
    return nullptr;
  }
}

inline const time_zone& locate_zone(std::string_view name) {
  auto z = lookup_zone(name);
  if (!z) throw std::invalid_argument(z.error().message);
  return **z;
}

inline std::string format_local(local_seconds t) {
  std::string s = format_time(sys_seconds{t.time_since_epoch()});
  s.pop_back();  // the 'Z'
  return s;
}

inline std::string format_local(sys_seconds t, const time_zone& zone) {
  const auto off = zone.offset(t).count();
  const auto a = off < 0 ? -off : off;
  std::string s = format_local(local_seconds{(t + seconds{off}).time_since_epoch()});
  s += off < 0 ? '-' : '+';
  s += static_cast<char>('0' + a / 36000);
  s += static_cast<char>('0' + a / 3600 % 10);
  s += ':';
  s += static_cast<char>('0' + a / 600 % 6);
  s += static_cast<char>('0' + a / 60 % 10);
  if (a % 60 != 0) {
    s += ':';
    s += static_cast<char>('0' + a % 60 / 10);
    s += static_cast<char>('0' + a % 10);
  }
  return s;
}

}  // namespace rotary
