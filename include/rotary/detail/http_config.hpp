// rotary/detail/http_config.hpp: one clear #error when a header of rotary::http is compiled
// without what it needs, instead of pages of errors from inside cpp-httplib or our code.
//
// The HTTP headers (client.hpp, fake_server.hpp, rotator.hpp, drill.hpp) include this first and
// compile nothing when `ROTARY_DETAIL_HTTP_READY` is 0:
//
//     #include <rotary/detail/http_config.hpp>
//     #if ROTARY_DETAIL_HTTP_READY
//     ...the header...
//     #endif
//
// They need cpp-httplib compiled with the macros its library was built with: Debian's
// libcpp-httplib is built with -DCPPHTTPLIB_OPENSSL_SUPPORT (and ZLIB, BROTLI), and without them
// its classes have another layout (and no SSLServer). store.hpp needs OpenSSL only: it defines
// `ROTARY_DETAIL_NEEDS_OPENSSL_ONLY` before including this and reads
// `ROTARY_DETAIL_OPENSSL_READY`. The CMake target rotary::http and `pkg-config rotary-http` bring
// all the flags.
//
// There is no include guard: every header that includes this asks its own question. The first
// failed check reports, once per translation unit (`ROTARY_DETAIL_CONFIG_REPORTED`); #error does
// not stop the compiler, so the headers themselves must skip their contents. Each #error stays on
// one line, so that the compiler's echo of the source line shows the whole message.

// clang-format off
#if defined(ROTARY_DETAIL_NEEDS_OPENSSL_ONLY)
#undef ROTARY_DETAIL_NEEDS_OPENSSL_ONLY
#undef ROTARY_DETAIL_OPENSSL_READY
#if __has_include(<openssl/evp.h>)
#define ROTARY_DETAIL_OPENSSL_READY 1
#else
#define ROTARY_DETAIL_OPENSSL_READY 0
#ifndef ROTARY_DETAIL_CONFIG_REPORTED
#define ROTARY_DETAIL_CONFIG_REPORTED
#error "rotary/store.hpp: the token store needs OpenSSL (Debian: libssl-dev); use the rotary::http CMake target or pkg-config rotary-http"
#endif
#endif

#else
#undef ROTARY_DETAIL_HTTP_READY
#if !__has_include(<httplib.h>)
#define ROTARY_DETAIL_HTTP_READY 0
#ifndef ROTARY_DETAIL_CONFIG_REPORTED
#define ROTARY_DETAIL_CONFIG_REPORTED
#error "rotary: the HTTP part of rotary (client.hpp, fake_server.hpp, rotator.hpp, drill.hpp) needs cpp-httplib (Debian: libcpp-httplib-dev); use the rotary::http CMake target or pkg-config rotary-http"
#endif
#elif !defined(CPPHTTPLIB_OPENSSL_SUPPORT)
#define ROTARY_DETAIL_HTTP_READY 0
#ifndef ROTARY_DETAIL_CONFIG_REPORTED
#define ROTARY_DETAIL_CONFIG_REPORTED
#error "rotary: the HTTP part of rotary needs cpp-httplib built with OpenSSL: compile with the flags of pkg-config --cflags cpp-httplib (-DCPPHTTPLIB_OPENSSL_SUPPORT -DCPPHTTPLIB_ZLIB_SUPPORT -DCPPHTTPLIB_BROTLI_SUPPORT), the macros Debian's libcpp-httplib is built with (its classes differ without them); the rotary::http CMake target and pkg-config rotary-http add them"
#endif
#elif !__has_include(<openssl/evp.h>)
#define ROTARY_DETAIL_HTTP_READY 0
#ifndef ROTARY_DETAIL_CONFIG_REPORTED
#define ROTARY_DETAIL_CONFIG_REPORTED
#error "rotary: the HTTP part of rotary needs OpenSSL (Debian: libssl-dev); use the rotary::http CMake target or pkg-config rotary-http"
#endif
#else
#define ROTARY_DETAIL_HTTP_READY 1
#endif
#endif
// clang-format on
