// rotary/detail/config.hpp: what differs between the standard libraries rotary supports.
//
// ROTARY_CONSTEXPR_STRING marks functions that build std::string (the cron parser and its
// diagnostics): constexpr where std::string is (libstdc++ 12), plain inline where it is not
// (libc++ 14), so the same code parses at compile time on one and at run time on the other.
#pragma once

#include <version>

#if defined(__cpp_lib_constexpr_string) && __cpp_lib_constexpr_string >= 201907L
#define ROTARY_CONSTEXPR_STRING constexpr
#else
#define ROTARY_CONSTEXPR_STRING inline
#endif
