// Boost.Test for a libc++ build: Debian's libboost_unit_test_framework is built against
// libstdc++, so a libc++ test program compiles the framework itself (the header-only variant,
// <boost/test/included/unit_test.hpp>). This directory comes first on a libc++ test's include
// path: the first include of <boost/test/unit_test.hpp> in a test (after its BOOST_TEST_MODULE)
// brings the framework, which includes the real header through the #include_next below.
#ifndef ROTARY_TEST_BOOST_INCLUDED
#define ROTARY_TEST_BOOST_INCLUDED
#include <boost/test/included/unit_test.hpp>
#else
#include_next <boost/test/unit_test.hpp>
#endif
