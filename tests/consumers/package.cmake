# The installed package, used both ways: rotary installed from this build (program included),
# examples/consumer_http built with find_package(rotary COMPONENTS http) and run; then both
# pkg-config modules used by a plain Makefile (examples/pkg-config), the core one under C++23:
# no -std= in any Cflags.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
foreach(f bin/rotary include/rotary/fake_server.hpp share/cmake/rotary/rotaryConfigVersion.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install did not put ${f} in the prefix")
  endif()
endforeach()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/consumer_http -B ${WORK_DIR}/cmake_http
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake_http)
run(${WORK_DIR}/cmake_http/consumer_http)
expect_output("rotated: the old secret is refused")

set(ENV{PKG_CONFIG_PATH} ${prefix}/share/pkgconfig)
run(pkg-config --cflags rotary rotary-http)
if(last_output MATCHES "-std=")
  message(FATAL_ERROR "a pkg-config module forces a C++ standard: ${last_output}")
endif()
if(NOT last_output MATCHES "-I${prefix}/share/pkgconfig/../../include" OR NOT last_output MATCHES "-DCPPHTTPLIB_OPENSSL_SUPPORT")
  message(FATAL_ERROR "unexpected pkg-config flags: ${last_output}")
endif()
file(MAKE_DIRECTORY ${WORK_DIR}/make)
run(make -C ${SOURCE_DIR}/examples/pkg-config CXX=${CXX} OUT=${WORK_DIR}/make ${WORK_DIR}/make/core_app "STD=-std=c++23")
run(make -C ${SOURCE_DIR}/examples/pkg-config CXX=${CXX} OUT=${WORK_DIR}/make ${WORK_DIR}/make/http_app "STD=-std=c++20")
run(${WORK_DIR}/make/core_app)
expect_output("usable until 2027-01-01T01:00:00Z")
run(${WORK_DIR}/make/http_app)
expect_output("rotated: the old secret is refused")
message(STATUS "installed package used through CMake (http) and pkg-config (core under C++23, http)")
