// Lets Boost.Test print rotary's time types in failure messages: instants as ISO-8601,
// durations compactly, optionals as the value or "none".
#pragma once

#include <boost/test/unit_test.hpp>
#include <rotary/time.hpp>

#include <optional>
#include <ostream>

namespace boost::test_tools::tt_detail {

template <>
struct print_log_value<rotary::sys_seconds> {
  void operator()(std::ostream& os, rotary::sys_seconds t) { os << rotary::format_time(t); }
};
template <class Rep, class Period>
struct print_log_value<std::chrono::duration<Rep, Period>> {
  void operator()(std::ostream& os, std::chrono::duration<Rep, Period> d) {
    os << rotary::format_duration(std::chrono::duration_cast<rotary::seconds>(d));
  }
};
template <class Duration>
struct print_log_value<std::chrono::time_point<std::chrono::steady_clock, Duration>> {
  void operator()(std::ostream& os, std::chrono::time_point<std::chrono::steady_clock, Duration>) {
    os << "(steady time)";
  }
};
template <class T>
struct print_log_value<std::optional<T>> {
  void operator()(std::ostream& os, const std::optional<T>& v) {
    if (v)
      print_log_value<T>()(os, *v);
    else
      os << "none";
  }
};

}  // namespace boost::test_tools::tt_detail
