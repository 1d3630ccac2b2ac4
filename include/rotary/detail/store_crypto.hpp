// rotary/detail/store_crypto.hpp: what the token store needs from OpenSSL. AES-256-GCM with a
// 96-bit nonce and a 128-bit tag (NIST SP 800-38D), SHA-256, the OS CSPRNG, and standard
// base64 with padding (RFC 4648 section 4) for the key's text form.
#pragma once

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rotary::detail {

inline constexpr std::size_t gcm_key_bytes = 32;
inline constexpr std::size_t gcm_nonce_bytes = 12;
inline constexpr std::size_t gcm_tag_bytes = 16;

using bytes = std::vector<unsigned char>;

inline void store_random(unsigned char* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed: the OS random generator is unavailable");
}

inline std::array<unsigned char, 32> store_sha256(const unsigned char* data, std::size_t n) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data, n, out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size())
    throw std::runtime_error("SHA-256 failed");
  return out;
}

struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

inline cipher_ctx new_cipher_ctx() {
  cipher_ctx c(EVP_CIPHER_CTX_new());
  if (!c) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return c;
}

// Encrypts `plain` under `key` and `nonce`, authenticating `aad` too; returns ciphertext || tag.
inline bytes gcm_seal(const unsigned char* key, const unsigned char* nonce, const unsigned char* aad,
                      std::size_t aad_len, const unsigned char* plain, std::size_t plain_len) {
  auto ctx = new_cipher_ctx();
  bytes out(plain_len + gcm_tag_bytes);
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(gcm_nonce_bytes),
                                nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key, nonce) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad, static_cast<int>(aad_len)) == 1;
  ok = ok && (plain_len == 0 ||
              EVP_EncryptUpdate(ctx.get(), out.data(), &len, plain, static_cast<int>(plain_len)) == 1);
  int tail = 0;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out.data() + plain_len, &tail) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(gcm_tag_bytes),
                           out.data() + plain_len) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

// Decrypts ciphertext || tag; nullopt when the tag does not authenticate (wrong key or a
// modified byte anywhere in the AAD, the ciphertext or the tag).
inline std::optional<bytes> gcm_open(const unsigned char* key, const unsigned char* nonce,
                                     const unsigned char* aad, std::size_t aad_len,
                                     const unsigned char* sealed, std::size_t sealed_len) {
  if (sealed_len < gcm_tag_bytes) return std::nullopt;
  const std::size_t n = sealed_len - gcm_tag_bytes;
  auto ctx = new_cipher_ctx();
  bytes out(n == 0 ? 1 : n);
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(gcm_nonce_bytes), nullptr) !=
          1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key, nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad, static_cast<int>(aad_len)) != 1)
    throw std::runtime_error("AES-256-GCM decryption could not start");
  if (n > 0 && EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed, static_cast<int>(n)) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  std::array<unsigned char, gcm_tag_bytes> tag{};
  std::copy(sealed + n, sealed + sealed_len, tag.begin());
  int tail = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(gcm_tag_bytes), tag.data()) !=
          1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &tail) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  out.resize(n);
  return out;
}

inline std::string base64_encode(const unsigned char* data, std::size_t n) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (std::size_t i = 0; i < n; i += 3) {
    const std::uint32_t b0 = data[i];
    const std::uint32_t b1 = i + 1 < n ? data[i + 1] : 0;
    const std::uint32_t b2 = i + 2 < n ? data[i + 2] : 0;
    const std::uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < n ? alphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < n ? alphabet[v & 63] : '=');
  }
  return out;
}

// Strict decoding: the length is a multiple of 4, padding only at the end, and the unused low
// bits of the last symbol are zero (so each byte string has exactly one text form).
inline std::optional<bytes> base64_decode(std::string_view s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (s.size() % 4 != 0) return std::nullopt;
  bytes out;
  for (std::size_t i = 0; i < s.size(); i += 4) {
    const bool last = i + 4 == s.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s[i + static_cast<std::size_t>(k)];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;
      v[k] = value(c);
      if (v[k] < 0) return std::nullopt;
    }
    const std::uint32_t word = (static_cast<std::uint32_t>(v[0]) << 18) |
                               (static_cast<std::uint32_t>(v[1]) << 12) |
                               (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    if (pad == 2 && (word & 0xFFFF) != 0) return std::nullopt;
    if (pad == 1 && (word & 0xFF) != 0) return std::nullopt;
    out.push_back(static_cast<unsigned char>(word >> 16));
    if (pad < 2) out.push_back(static_cast<unsigned char>((word >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<unsigned char>(word & 0xFF));
  }
  return out;
}

}  // namespace rotary::detail
