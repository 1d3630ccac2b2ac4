// Tests for rotary/zone.hpp: TZif zones from the system's files, the civil time of an instant,
// held against glibc's own reader of the same files (localtime_r, which applies the footer rule
// past the last listed transition too), and malformed files and names.
#define BOOST_TEST_MODULE zone
#include <boost/test/unit_test.hpp>
#include <rotary/zone.hpp>
#include "bounded.hpp"
#include "files.hpp"
#include "print.hpp"

#include <stdlib.h>    // setenv (POSIX)
#include <sys/stat.h>  // mkfifo (POSIX)
#include <time.h>      // localtime_r, tzset (POSIX)

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using rotary::sys_seconds;

namespace {

sys_seconds at(std::string_view s) { return rotary::parse_time(s).value(); }

// splitmix64 (Steele, Lea, Flood 2014): fixed seed, same output everywhere.
struct splitmix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
};

// Every zone file of the system (not the posix/ and right/ copies, not localtime/posixrules).
std::vector<std::string> system_zones() {
  const std::filesystem::path root = "/usr/share/zoneinfo";
  std::vector<std::string> out;
  for (auto it = std::filesystem::recursive_directory_iterator(root); it != decltype(it){}; ++it) {
    const auto rel = std::filesystem::relative(it->path(), root).string();
    if (it->is_directory() && (rel == "posix" || rel == "right")) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || rel == "localtime" || rel == "posixrules" || rel == "Factory") continue;
    const std::string bytes = rotary::test::read_file(it->path());
    if (bytes.compare(0, 4, "TZif") == 0) out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct glibc_local {
  std::int64_t offset;
  bool dst;
  std::string abbrev;
};
glibc_local glibc_at(std::int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  localtime_r(&tt, &tm);
  return {tm.tm_gmtoff, tm.tm_isdst > 0, tm.tm_zone != nullptr ? tm.tm_zone : ""};
}
void use_glibc_zone(const std::string& name) {
  ::setenv("TZ", (":" + name).c_str(), 1);
  ::tzset();
}

// A TZif version 2 file built byte by byte.
struct tzif_builder {
  std::vector<std::int64_t> at;
  std::vector<std::uint8_t> types;
  struct ttinfo {
    std::int32_t offset;
    std::uint8_t dst, abbrev;
  };
  std::vector<ttinfo> infos;
  std::string chars;
  std::string footer;

  static void be(std::string& out, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i) & 0xff));
  }
  std::string header(char version) const {
    std::string h = "TZif";
    h.push_back(version);
    h.append(15, '\0');
    for (auto c : {std::size_t{0}, std::size_t{0}, std::size_t{0}, at.size(), infos.size(), chars.size()})
      be(h, c, 4);
    return h;
  }
  std::string block(int time_size) const {
    std::string b;
    for (auto t : at) be(b, static_cast<std::uint64_t>(t), time_size);
    for (auto t : types) b.push_back(static_cast<char>(t));
    for (const auto& i : infos) {
      be(b, static_cast<std::uint32_t>(i.offset), 4);
      b.push_back(static_cast<char>(i.dst));
      b.push_back(static_cast<char>(i.abbrev));
    }
    return b + chars;
  }
  std::string bytes() const { return header('2') + block(4) + header('2') + block(8) + "\n" + footer + "\n"; }
};

tzif_builder small_zone() {
  tzif_builder b;
  b.at = {0, 3600};
  b.types = {1, 0};
  b.infos = {{3600, 0, 0}, {7200, 1, 4}};
  b.chars = std::string("STD\0DST\0", 8);
  b.footer = "STD-1";
  return b;
}

std::string zone_error_of(std::string_view bytes) {
  auto z = rotary::time_zone::from_tzif("Test/Zone", bytes);
  return z ? std::string("(valid)") : z.error().message;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(civil_time)

BOOST_AUTO_TEST_CASE(new_york_before_during_and_after_the_spring_forward_jump) {
  const auto& ny = rotary::locate_zone("America/New_York");
  BOOST_TEST(ny.name() == "America/New_York");
  BOOST_TEST(rotary::format_local(ny.to_local(at("2027-03-14T06:59:59Z"))) == "2027-03-14T01:59:59");
  BOOST_TEST(rotary::format_local(ny.to_local(at("2027-03-14T07:00:00Z"))) == "2027-03-14T03:00:00");
  const auto info = ny.info(at("2027-03-14T07:00:00Z"));
  BOOST_TEST(info.abbreviation == "EDT");
  BOOST_TEST(info.is_dst);
  BOOST_TEST(info.offset.count() == -4 * 3600);
  BOOST_TEST(rotary::format_time(info.begin) == "2027-03-14T07:00:00Z");
  BOOST_TEST(rotary::format_time(info.end) == "2027-11-07T06:00:00Z");
  BOOST_TEST(ny.info(at("2027-03-14T06:59:59Z")).abbreviation == "EST");
  BOOST_TEST(rotary::format_local(at("2027-03-14T07:00:00Z"), ny) == "2027-03-14T03:00:00-04:00");
}

BOOST_AUTO_TEST_CASE(the_footer_rule_gives_dst_after_2037) {
  const auto& ny = rotary::locate_zone("America/New_York");
  BOOST_TEST(rotary::format_local(at("2040-07-01T12:00:00Z"), ny) == "2040-07-01T08:00:00-04:00");
  BOOST_TEST(rotary::format_local(at("2040-12-01T12:00:00Z"), ny) == "2040-12-01T07:00:00-05:00");
  const auto spring = ny.info(at("2040-06-01T00:00:00Z"));
  BOOST_TEST(rotary::format_time(spring.begin) == "2040-03-11T07:00:00Z");
  BOOST_TEST(rotary::format_time(spring.end) == "2040-11-04T06:00:00Z");
  BOOST_TEST(spring.abbreviation == "EDT");
  // Year 9999, the last year rotary handles: still two transitions a year.
  BOOST_TEST(ny.offset(at("9999-07-01T00:00:00Z")).count() == -4 * 3600);
  BOOST_TEST(ny.offset(at("9999-12-31T23:59:59Z")).count() == -5 * 3600);
  // Southern hemisphere: DST spans the new year.
  const auto& sydney = rotary::locate_zone("Australia/Sydney");
  BOOST_TEST(rotary::format_local(at("2050-01-01T00:00:00Z"), sydney) == "2050-01-01T11:00:00+11:00");
  BOOST_TEST(rotary::format_local(at("2050-07-01T00:00:00Z"), sydney) == "2050-07-01T10:00:00+10:00");
}

BOOST_AUTO_TEST_CASE(half_hour_and_quarter_hour_zones) {
  const auto& howe = rotary::locate_zone("Australia/Lord_Howe");  // DST moves the clock 30 minutes
  BOOST_TEST(rotary::format_local(at("2040-01-15T00:00:00Z"), howe) == "2040-01-15T11:00:00+11:00");
  BOOST_TEST(rotary::format_local(at("2040-07-15T00:00:00Z"), howe) == "2040-07-15T10:30:00+10:30");
  const auto& kathmandu = rotary::locate_zone("Asia/Kathmandu");
  BOOST_TEST(rotary::format_local(at("2027-06-01T00:00:00Z"), kathmandu) == "2027-06-01T05:45:00+05:45");
  BOOST_TEST(kathmandu.info(at("2050-06-01T00:00:00Z")).end ==
             rotary::from_unix(rotary::detail::zone_far_future));
}

BOOST_AUTO_TEST_CASE(utc_and_local_mean_time_before_the_first_transition) {
  const auto& utc = rotary::locate_zone("UTC");
  BOOST_TEST(utc.offset(at("2027-01-01T00:00:00Z")).count() == 0);
  BOOST_TEST(rotary::time_zone::utc().info(at("2027-01-01T00:00:00Z")).abbreviation == "UTC");
  // New York kept local mean time (-4:56:02) until 1883-11-18 noon.
  const auto& ny = rotary::locate_zone("America/New_York");
  const sys_seconds y1800 = rotary::from_unix(rotary::detail::days_from_civil(1800, 1, 1) * 86'400);
  BOOST_TEST(ny.offset(y1800).count() == -(4 * 3600 + 56 * 60 + 2));
  BOOST_TEST(ny.info(y1800).abbreviation == "LMT");
  BOOST_TEST(rotary::format_local(y1800, ny) == "1799-12-31T19:03:58-04:56:02");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(against_glibc)

// glibc reads the same files with its own code (tzfile.c) and applies the footer rule after the
// last transition: offset, DST flag and abbreviation must agree everywhere, for every zone.
BOOST_AUTO_TEST_CASE(every_zone_agrees_with_glibc_at_every_transition_and_at_random_instants) {
  const auto zones = system_zones();
  BOOST_TEST_REQUIRE(zones.size() > 300u);
  splitmix rng{12};
  int compared = 0, mismatches = 0;
  const std::int64_t lo = rotary::detail::days_from_civil(1901, 12, 14) * 86'400,
                     hi = rotary::to_unix(at("2399-12-31T00:00:00Z"));
  for (const auto& name : zones) {
    const rotary::time_zone* z = rotary::find_zone(name);
    BOOST_TEST_REQUIRE(z != nullptr, name);
    use_glibc_zone(name);
    std::vector<std::int64_t> instants;
    for (int i = 0; i < 200; ++i) instants.push_back(rng.between(lo, hi));
    // Both sides of every transition rotary sees from 1902 to 2100.
    for (std::int64_t t = lo; t < rotary::to_unix(at("2100-01-01T00:00:00Z"));) {
      const auto info = z->info(rotary::from_unix(t));
      const std::int64_t end = rotary::to_unix(info.end);
      if (end >= hi) break;
      instants.push_back(end - 1);
      instants.push_back(end);
      t = end;
    }
    for (const std::int64_t t : instants) {
      const auto ours = z->info(rotary::from_unix(t));
      const auto theirs = glibc_at(t);
      ++compared;
      if (ours.offset.count() != theirs.offset || ours.is_dst != theirs.dst ||
          ours.abbreviation != theirs.abbrev) {
        if (++mismatches <= 20)
          BOOST_ERROR(name << " at " << rotary::format_time(rotary::from_unix(t)) << ": rotary "
                           << ours.offset.count() << " " << ours.is_dst << " " << ours.abbreviation
                           << ", glibc " << theirs.offset << " " << theirs.dst << " " << theirs.abbrev);
      }
    }
  }
  BOOST_TEST(mismatches == 0);
  BOOST_TEST_MESSAGE(zones.size() << " zones, " << compared << " instants compared with glibc");
  BOOST_TEST(compared > 100'000);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lookup)

BOOST_AUTO_TEST_CASE(a_zone_is_read_once_and_kept) {
  const auto* a = rotary::find_zone("Europe/Berlin");
  const auto* b = rotary::find_zone("Europe/Berlin");
  BOOST_TEST_REQUIRE(a != nullptr);
  BOOST_TEST(a == b);
  BOOST_TEST(&rotary::locate_zone("Europe/Berlin") == a);
}

BOOST_AUTO_TEST_CASE(names_that_are_not_zones_get_exact_errors) {
  struct bad {
    std::string name, message;
  };
  const std::vector<bad> cases = {
      {"Mars/Olympus_Mons",
       "unknown time zone 'Mars/Olympus_Mons' (expected an IANA name like Europe/Berlin)"},
      {"", "invalid time zone name '': empty time zone name"},
      {"/etc/passwd", "invalid time zone name '/etc/passwd': time zone name must not start with '/'"},
      {"../../etc/passwd",
       "invalid time zone name '../../etc/passwd': time zone name with an empty, '.' or '..' part"},
      {"Europe//Berlin",
       "invalid time zone name 'Europe//Berlin': time zone name with an empty, '.' or '..' part"},
      {"Europe/", "invalid time zone name 'Europe/': time zone name with an empty, '.' or '..' part"},
      {"Europe/Berlin ",
       "invalid time zone name 'Europe/Berlin ': time zone name with a character other than "
       "letters, digits and _-+./"},
      {std::string(256, 'a'),
       "invalid time zone name '" + std::string(256, 'a') + "': time zone name longer than 255 bytes"},
      {"Europe", "unknown time zone 'Europe' (expected an IANA name like Europe/Berlin)"},  // a directory
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const auto z = rotary::lookup_zone(c.name);
      BOOST_TEST_REQUIRE(!z);
      BOOST_TEST(z.error().message == c.message);
      BOOST_TEST(rotary::find_zone(c.name) == nullptr);
      BOOST_CHECK_EXCEPTION((void)rotary::locate_zone(c.name), std::invalid_argument,
                            [&](const std::invalid_argument& e) { return e.what() == c.message; });
    }
  }
}

BOOST_AUTO_TEST_CASE(tzdir_names_the_directory_of_zone_files) {
  rotary::test::temp_dir dir;
  std::filesystem::create_directories(dir.path / "Test");
  rotary::test::write_file(dir.path / "Test" / "Plus_One", small_zone().bytes());
  rotary::test::write_file(dir.path / "Test" / "Broken", small_zone().bytes().substr(0, 60));
  ::setenv("TZDIR", dir.path.c_str(), 1);
  const auto* z = rotary::find_zone("Test/Plus_One");
  const auto broken = rotary::lookup_zone("Test/Broken");
  ::unsetenv("TZDIR");
  BOOST_TEST_REQUIRE(z != nullptr);
  BOOST_TEST(z->offset(rotary::from_unix(-1)).count() == 3600);  // type 0 before the first transition
  BOOST_TEST(z->offset(rotary::from_unix(0)).count() == 7200);   // DST from 0
  BOOST_TEST(z->info(rotary::from_unix(0)).abbreviation == "DST");
  BOOST_TEST(z->offset(rotary::from_unix(3600)).count() == 3600);  // then the footer: STD-1
  BOOST_TEST_REQUIRE(!broken);
  BOOST_TEST(broken.error().message == "time zone 'Test/Broken': not a valid TZif file (truncated)");
}

// A zone file is read like every other file (safe_file.hpp): a FIFO under TZDIR is refused at
// once instead of blocking, a file over 1 MiB is not read, a symbolic link (tzdata has many) is
// followed.
BOOST_AUTO_TEST_CASE(a_fifo_or_an_oversized_file_under_tzdir_is_no_zone_and_never_blocks) {
  rotary::test::temp_dir dir;
  std::filesystem::create_directories(dir.path / "Odd");
  rotary::test::write_file(dir.path / "Odd" / "Real", small_zone().bytes());
  std::filesystem::create_symlink("Real", dir.path / "Odd" / "Link");
  const auto fifo = dir.path / "Odd" / "Fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  rotary::test::write_file(dir.path / "Odd" / "Huge", small_zone().bytes());
  std::filesystem::resize_file(dir.path / "Odd" / "Huge", (std::uintmax_t{1} << 20) + 1);
  ::setenv("TZDIR", dir.path.c_str(), 1);
  std::optional<rotary::outcome<const rotary::time_zone*, rotary::zone_error>> from_fifo;
  const bool in_time = rotary::test::returns_within(
      std::chrono::seconds{2}, [&] { from_fifo = rotary::lookup_zone("Odd/Fifo"); }, {fifo});
  const auto huge = rotary::lookup_zone("Odd/Huge");
  const auto* linked = rotary::find_zone("Odd/Link");
  ::unsetenv("TZDIR");
  BOOST_TEST(in_time);
  BOOST_TEST_REQUIRE(from_fifo.has_value());
  BOOST_TEST_REQUIRE(!*from_fifo);
  BOOST_TEST(from_fifo->error().message ==
             "unknown time zone 'Odd/Fifo' (expected an IANA name like Europe/Berlin)");
  BOOST_TEST_REQUIRE(!huge);
  BOOST_TEST(huge.error().message ==
             "unknown time zone 'Odd/Huge' (expected an IANA name like Europe/Berlin)");
  BOOST_TEST_REQUIRE(linked != nullptr);
  BOOST_TEST(linked->offset(rotary::from_unix(0)).count() == 7200);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(malformed_files)

BOOST_AUTO_TEST_CASE(each_malformed_tzif_file_gets_its_exact_error) {
  BOOST_TEST(zone_error_of(small_zone().bytes()) == "(valid)");
  auto prefix = [](std::string_view why) {
    return "time zone 'Test/Zone': not a valid TZif file (" + std::string(why) + ")";
  };
  BOOST_TEST(zone_error_of("") == prefix("no TZif header"));
  BOOST_TEST(zone_error_of("TZjf" + std::string(40, '\0')) == prefix("no TZif header"));
  {
    auto b = small_zone();
    std::string bytes = b.header('5');
    bytes[4] = '1';  // an unknown version
    BOOST_TEST(zone_error_of(bytes + b.block(4)) == prefix("unknown version"));
  }
  {
    const std::string bytes = small_zone().bytes();
    BOOST_TEST(zone_error_of(bytes.substr(0, 60)) == prefix("truncated"));
    BOOST_TEST(zone_error_of(bytes.substr(0, bytes.size() - 1)) == prefix("footer not terminated"));
    const auto b = small_zone();
    BOOST_TEST(zone_error_of(b.header('2') + b.block(4) + "TZjf") == prefix("no second header"));
    BOOST_TEST(zone_error_of(b.header('2') + b.block(4) + b.header('2') + b.block(8)) == prefix("no footer"));
  }
  auto with = [](auto change) {
    auto b = small_zone();
    change(b);
    return zone_error_of(b.bytes());
  };
  BOOST_TEST(with([](tzif_builder& b) { b.at = {3600, 0}; }) == prefix("transitions out of order"));
  BOOST_TEST(with([](tzif_builder& b) { b.at = {0, 0}; }) == prefix("transitions out of order"));
  BOOST_TEST(with([](tzif_builder& b) {
               b.types = {1, 2};
             }) == prefix("transition to a type that does not exist"));
  BOOST_TEST(with([](tzif_builder& b) {
               b.infos.clear();
               b.at.clear();
               b.types.clear();
             }) == prefix("needs 1 to 256 local time types"));
  BOOST_TEST(with([](tzif_builder& b) { b.chars.clear(); }) == prefix("no abbreviations"));
  BOOST_TEST(with([](tzif_builder& b) {
               b.chars = "STD";
               b.infos[1].abbrev = 0;
             }) == prefix("abbreviations not NUL-terminated"));
  BOOST_TEST(with([](tzif_builder& b) { b.infos[1].abbrev = 8; }) ==
             prefix("abbreviation index out of range"));
  BOOST_TEST(with([](tzif_builder& b) { b.infos[1].dst = 2; }) == prefix("isdst neither 0 nor 1"));
  BOOST_TEST(with([](tzif_builder& b) { b.infos[0].offset = 86'400; }) == prefix("UTC offset beyond a day"));
  BOOST_TEST(with([](tzif_builder& b) { b.infos[0].offset = INT32_MIN; }) ==
             prefix("UTC offset beyond a day"));
  BOOST_TEST(with([](tzif_builder& b) { b.footer = "<+01"; }) == prefix("footer is not a POSIX TZ string"));
  // Found by fuzz_tzif: a POSIX rule offset of 91 hours (the parser reads hours up to 167 for
  // rule times).
  BOOST_TEST(with([](tzif_builder& b) { b.footer = "<+1030>-10:30<+11>-91,M10.1.0,M4.1.0"; }) ==
             prefix("footer offset beyond a day"));
  BOOST_TEST(with([](tzif_builder& b) { b.footer = ""; }) == "(valid)");  // no rule: the last type stays
}

BOOST_AUTO_TEST_CASE(a_footer_rule_with_dst_and_no_transitions_applies_everywhere) {
  tzif_builder b;
  b.infos = {{-18000, 0, 0}};
  b.chars = std::string("EST\0", 4);
  b.footer = "EST5EDT,M3.2.0,M11.1.0";
  const auto z = rotary::time_zone::from_tzif("Test/Rule", b.bytes());
  BOOST_TEST_REQUIRE(z.has_value());
  BOOST_TEST(z->offset(at("2027-07-01T00:00:00Z")).count() == -4 * 3600);
  BOOST_TEST(z->info(at("2027-07-01T00:00:00Z")).abbreviation == "EDT");
  BOOST_TEST(z->offset(at("2027-01-01T00:00:00Z")).count() == -5 * 3600);
  BOOST_TEST(rotary::format_time(z->info(at("2027-07-01T00:00:00Z")).begin) == "2027-03-14T07:00:00Z");
}

BOOST_AUTO_TEST_SUITE_END()
