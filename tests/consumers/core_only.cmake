# A core-only user on a machine without OpenSSL or cpp-httplib: rotary configured library-only
# with both hidden, installed, and examples/consumer (find_package(rotary COMPONENTS core))
# built against it with both still hidden and poisoned copies of their headers first on the
# include path; the http component then fails at configure time, naming what is missing.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
set(hide -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON)
set(prefix ${WORK_DIR}/prefix)

run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/rotary -DCMAKE_CXX_COMPILER=${CXX} -DROTARY_LIBRARY_ONLY=ON ${hide})
expect_output("rotary::http is not available")
run(${CMAKE_COMMAND} --install ${WORK_DIR}/rotary --prefix ${prefix})
foreach(f include/rotary/policy.hpp include/rotary/zone.hpp share/cmake/rotary/rotaryConfig.cmake
        share/pkgconfig/rotary.pc share/pkgconfig/rotary-http.pc)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the library-only install did not put ${f} in the prefix")
  endif()
endforeach()
if(EXISTS ${prefix}/bin/rotary)
  message(FATAL_ERROR "the library-only install installed the program")
endif()

make_poisoned_include_dir(${WORK_DIR}/poison)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/consumer -B ${WORK_DIR}/consumer -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_PREFIX_PATH=${prefix} "-DCMAKE_CXX_FLAGS=-I${WORK_DIR}/poison" ${hide})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${WORK_DIR}/consumer/consumer)
expect_output("usable until 2027-01-01T01:00:00Z")
expect_output("2040-07-01T08:00:00-04:00")

# Asking for http on this machine is a configure error that names the missing package.
file(WRITE ${WORK_DIR}/wants_http/CMakeLists.txt
  "cmake_minimum_required(VERSION 3.20)\nproject(wants_http LANGUAGES CXX)\n"
  "find_package(rotary 0.1 CONFIG REQUIRED COMPONENTS core http)\n")
run_fails("rotary's http component needs OpenSSL 1.1.1 or later (Debian: libssl-dev)"
  ${CMAKE_COMMAND} -S ${WORK_DIR}/wants_http -B ${WORK_DIR}/wants_http/build -DCMAKE_PREFIX_PATH=${prefix} ${hide})
file(WRITE ${WORK_DIR}/wants_tls/CMakeLists.txt
  "cmake_minimum_required(VERSION 3.20)\nproject(wants_tls LANGUAGES CXX)\n"
  "find_package(rotary 0.1 CONFIG REQUIRED COMPONENTS tls)\n")
run_fails("rotary has no component 'tls' (it has: core, http)"
  ${CMAKE_COMMAND} -S ${WORK_DIR}/wants_tls -B ${WORK_DIR}/wants_tls/build -DCMAKE_PREFIX_PATH=${prefix})
# So is rotary's own build of the http part.
run_fails("rotary: rotary::http needs OpenSSL 1.1.1 or later (Debian: libssl-dev)"
  ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/rotary_http -DROTARY_LIBRARY_ONLY=ON -DROTARY_HTTP=ON ${hide})
run_fails("rotary: ROTARY_HTTP is 'yes': expected AUTO, ON or OFF"
  ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/rotary_bad_option -DROTARY_LIBRARY_ONLY=ON -DROTARY_HTTP=yes)
message(STATUS "core-only consumer built and ran without OpenSSL or cpp-httplib")
