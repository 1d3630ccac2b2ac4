# The HTTP headers of rotary, compiled without what they need, fail with exactly one error line:
# the #error of rotary/detail/http_config.hpp, and nothing of rotary's code is compiled after it.
#
#     cmake -DCXX=g++ -DSOURCE_DIR=<repo> -DWORK_DIR=<scratch dir> -P tests/http_config_error.cmake
#
# Cases: no -DCPPHTTPLIB_OPENSSL_SUPPORT (what a plain `g++ -I include` gives), for each header
# and for two in one file; no httplib.h; no OpenSSL headers; store.hpp without OpenSSL, and
# store.hpp without cpp-httplib (which it does not need). A header is hidden by compiling with
# -nostdinc and the compiler's own search list, in which the directory that holds it is replaced
# by a copy (of symbolic links) without it.
cmake_minimum_required(VERSION 3.20)
foreach(v CXX SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "http_config_error.cmake: -D${v}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# The texts of the #error lines, as rotary/detail/http_config.hpp has them.
set(no_httplib "rotary: the HTTP part of rotary (client.hpp, fake_server.hpp, rotator.hpp, drill.hpp) needs cpp-httplib (Debian: libcpp-httplib-dev); use the rotary::http CMake target or pkg-config rotary-http")
set(no_define "rotary: the HTTP part of rotary needs cpp-httplib built with OpenSSL: compile with the flags of pkg-config --cflags cpp-httplib (-DCPPHTTPLIB_OPENSSL_SUPPORT -DCPPHTTPLIB_ZLIB_SUPPORT -DCPPHTTPLIB_BROTLI_SUPPORT), the macros Debian's libcpp-httplib is built with (its classes differ without them); the rotary::http CMake target and pkg-config rotary-http add them")
set(no_openssl "rotary: the HTTP part of rotary needs OpenSSL (Debian: libssl-dev); use the rotary::http CMake target or pkg-config rotary-http")
set(store_no_openssl "rotary/store.hpp: the token store needs OpenSSL (Debian: libssl-dev); use the rotary::http CMake target or pkg-config rotary-http")

set(failures 0)

# Compiles `includes` (a list of headers) with `flags`; `expected` is the one #error text wanted,
# or "" for a clean compile.
function(expect name includes flags expected)
  set(source "")
  foreach(h IN LISTS includes)
    string(APPEND source "#include <rotary/${h}>\n")
  endforeach()
  file(WRITE ${WORK_DIR}/${name}.cpp "${source}")
  execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only ${flags} -I${SOURCE_DIR}/include ${WORK_DIR}/${name}.cpp
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  # The messages hold ';', which a CMake list would split on.
  string(REPLACE ";" "<semicolon>" text "${out}${err}")
  string(REPLACE ";" "<semicolon>" want "${expected}")
  string(REGEX MATCHALL "[^\n]*error:[^\n]*" errors "${text}")
  list(LENGTH errors count)
  set(ok TRUE)
  if(want STREQUAL "")
    if(NOT rc EQUAL 0 OR NOT count EQUAL 0)
      set(ok FALSE)
    endif()
  elseif(rc EQUAL 0 OR NOT count EQUAL 1)
    set(ok FALSE)
  else()
    string(FIND "${errors}" "\"${want}\"" at)  # GCC: error: #error "..."; clang: error: "..."
    if(at EQUAL -1)
      set(ok FALSE)
    endif()
  endif()
  if(ok)
    message(STATUS "ok: ${name}")
  else()
    if(want STREQUAL "")
      set(wanted "a clean compile")
    else()
      set(wanted "exactly one error line, #error \"${expected}\"")
    endif()
    message(SEND_ERROR "${name}: expected ${wanted}; got exit ${rc} and ${count} error lines:\n${out}${err}")
    math(EXPR f "${failures} + 1")
    set(failures ${f} PARENT_SCOPE)
  endif()
endfunction()

# --- the compiler's search list, and copies of it without a header -------------------------------
execute_process(COMMAND ${CXX} -std=c++20 -x c++ -E -v /dev/null OUTPUT_QUIET ERROR_VARIABLE verbose)
string(REGEX MATCH "#include <...> search starts here:\n(.*)\nEnd of search list" _ "${verbose}")
string(REGEX REPLACE "\n" ";" search_dirs "${CMAKE_MATCH_1}")
set(dirs "")
foreach(d IN LISTS search_dirs)
  string(STRIP "${d}" d)
  if(IS_DIRECTORY "${d}")
    list(APPEND dirs "${d}")
  endif()
endforeach()
if(dirs STREQUAL "")
  message(FATAL_ERROR "cannot read the search list of ${CXX}:\n${verbose}")
endif()

# Sets `out` to the flags of a search list without `hidden` (a path like openssl/evp.h): the
# directory that has it is replaced by links to all of its entries but the first part of `hidden`.
function(flags_without hidden out)
  string(REGEX REPLACE "/.*" "" top "${hidden}")
  set(flags -nostdinc -nostdinc++)
  set(replaced FALSE)
  foreach(d IN LISTS dirs)
    if(NOT replaced AND EXISTS "${d}/${hidden}")
      string(MAKE_C_IDENTIFIER "${hidden}" tag)
      set(shadow ${WORK_DIR}/without_${tag})
      file(MAKE_DIRECTORY ${shadow})
      file(GLOB entries RELATIVE "${d}" "${d}/*")
      foreach(e IN LISTS entries)
        if(NOT e STREQUAL top)
          file(CREATE_LINK "${d}/${e}" "${shadow}/${e}" SYMBOLIC)
        endif()
      endforeach()
      list(APPEND flags -isystem ${shadow})
      set(replaced TRUE)
    else()
      list(APPEND flags -isystem ${d})
    endif()
  endforeach()
  if(NOT replaced)
    message(FATAL_ERROR "${hidden} is in no directory of the search list: ${dirs}")
  endif()
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

# --- the cases ------------------------------------------------------------------------------------
foreach(h client fake_server rotator drill)
  expect(${h}_without_the_define ${h}.hpp "" "${no_define}")
endforeach()
expect(two_headers_report_once "client.hpp;fake_server.hpp" "" "${no_define}")

flags_without(httplib.h without_httplib)
expect(fake_server_without_httplib fake_server.hpp "${without_httplib}" "${no_httplib}")
expect(store_without_httplib store.hpp "${without_httplib}" "")

flags_without(openssl/evp.h without_openssl)
expect(client_without_openssl client.hpp "${without_openssl};-DCPPHTTPLIB_OPENSSL_SUPPORT" "${no_openssl}")
expect(store_without_openssl store.hpp "${without_openssl}" "${store_no_openssl}")

if(NOT failures EQUAL 0)
  message(FATAL_ERROR "${failures} case(s) failed")
endif()
