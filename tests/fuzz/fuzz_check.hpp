// tests/fuzz/fuzz_check.hpp: what every fuzz target shares.
#pragma once

#include <cstdio>
#include <cstdlib>

// A property the target checks: a failure aborts, which libFuzzer reports as a crash.
#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
