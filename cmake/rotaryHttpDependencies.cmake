# What rotary::http needs: OpenSSL 1.1.1 or later, and cpp-httplib built with OpenSSL support,
# found through pkg-config (Debian ships no CMake package for it, and splits it into a header
# of declarations and libcpp-httplib.so: the header must see the macros the library was built
# with, which its pkg-config file gives). Used by rotary's own build and by the installed
# package's http component.
#
#   rotary_find_http_dependencies(<found-var> <missing-var> [GLOBAL])
#
# sets <found-var> to TRUE or FALSE, <missing-var> to what is missing, in words with the Debian
# package ("OpenSSL 1.1.1 or later (Debian: libssl-dev)"), and rotary_http_link_libraries to the
# targets rotary::http links. GLOBAL makes the imported targets visible to parent directories.
function(rotary_find_http_dependencies found_var missing_var)
  set(missing "")
  set(libs "")
  find_package(OpenSSL 1.1.1 QUIET)
  if(TARGET OpenSSL::SSL AND TARGET OpenSSL::Crypto)
    list(APPEND libs OpenSSL::SSL OpenSSL::Crypto)
    if("GLOBAL" IN_LIST ARGN)
      foreach(t OpenSSL::SSL OpenSSL::Crypto)
        get_target_property(global ${t} IMPORTED_GLOBAL)
        if(NOT global)
          set_target_properties(${t} PROPERTIES IMPORTED_GLOBAL TRUE)
        endif()
      endforeach()
    endif()
  else()
    list(APPEND missing "OpenSSL 1.1.1 or later (Debian: libssl-dev)")
  endif()
  if(NOT TARGET PkgConfig::rotary_cpp_httplib)
    find_package(PkgConfig QUIET)
    if(NOT PkgConfig_FOUND)
      list(APPEND missing "pkg-config, to find cpp-httplib (Debian: pkg-config)")
    else()
      pkg_check_modules(rotary_cpp_httplib QUIET IMPORTED_TARGET ${ARGN} cpp-httplib>=0.11)
      if(NOT rotary_cpp_httplib_FOUND)
        list(APPEND missing "cpp-httplib 0.11 or later with a pkg-config file (Debian: libcpp-httplib-dev)")
      elseif(NOT "-DCPPHTTPLIB_OPENSSL_SUPPORT" IN_LIST rotary_cpp_httplib_CFLAGS_OTHER)
        list(APPEND missing "cpp-httplib built with OpenSSL support (its pkg-config Cflags lack -DCPPHTTPLIB_OPENSSL_SUPPORT)")
      endif()
    endif()
  endif()
  if(TARGET PkgConfig::rotary_cpp_httplib AND missing STREQUAL "")
    list(APPEND libs PkgConfig::rotary_cpp_httplib)
  endif()
  list(JOIN missing " and " missing_text)
  if(missing STREQUAL "")
    set(${found_var} TRUE PARENT_SCOPE)
  else()
    set(${found_var} FALSE PARENT_SCOPE)
  endif()
  set(${missing_var} "${missing_text}" PARENT_SCOPE)
  set(rotary_http_link_libraries "${libs}" PARENT_SCOPE)
endfunction()
