// rotary/detail/server_table.hpp: the fake server's tokens, found by the SHA-256 of their secret.
//
// Records live in a vector indexed by token number (id "tok_1" is index 0); an open-addressing
// index (linear probing over 32-bit slots, at most half full) maps a secret's hash to its
// record. About 110 bytes per token: a million tokens take about 115 MB. The final match
// compares the full 32-byte hash with CRYPTO_memcmp. Not thread-safe: fake_server locks.
#pragma once

#include <rotary/detail/server_crypto.hpp>
#include <rotary/token.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rotary::detail {

inline constexpr std::uint32_t no_token = 0xffff'ffff;

struct token_record {
  digest hash{};
  token_state state;
  std::uint32_t parent = no_token;
  std::uint32_t first_child = no_token;  // the child made by the first rotation
  bool revoked = false;
};

class token_table {
 public:
  // Adds a token; throws std::invalid_argument when the hash is already there.
  std::uint32_t insert(const digest& hash, const token_state& state, std::uint32_t parent = no_token);
  [[nodiscard]] std::optional<std::uint32_t> find(const digest& hash) const noexcept;
  [[nodiscard]] token_record& operator[](std::uint32_t i) { return records_[i]; }
  [[nodiscard]] const token_record& operator[](std::uint32_t i) const { return records_[i]; }
  [[nodiscard]] std::size_t size() const noexcept { return records_.size(); }
  [[nodiscard]] const std::vector<token_record>& records() const noexcept { return records_; }
  void reserve(std::size_t n);
  // Removes the token inserted last (undoing insert: no other token's probe sequence passes its
  // slot, since it was filled after all of them).
  void pop_back() noexcept;
  void clear() {
    records_.clear();
    slots_.clear();
  }

  // "tok_1" for index 0.
  [[nodiscard]] static std::string id(std::uint32_t index) {
    return "tok_" + std::to_string(std::uint64_t{index} + 1);
  }
  // The index an id names, if it is of the form tok_<n> (n >= 1) and within the table.
  [[nodiscard]] std::optional<std::uint32_t> parse_id(std::string_view id) const noexcept;

 private:
  static std::uint64_t slot_hash(const digest& d) noexcept {
    std::uint64_t h = 0;
    std::memcpy(&h, d.data(), sizeof h);  // already uniform: it is SHA-256
    return h;
  }
  void rehash(std::size_t slots);

  std::vector<token_record> records_;
  std::vector<std::uint32_t> slots_;
};

// ---------------------------------------------------------------------------------------------

inline void token_table::rehash(std::size_t slots) {
  std::vector<std::uint32_t> fresh(slots, no_token);
  const std::size_t mask = slots - 1;
  for (std::uint32_t i = 0; i < records_.size(); ++i) {
    std::size_t s = slot_hash(records_[i].hash) & mask;
    while (fresh[s] != no_token) s = (s + 1) & mask;
    fresh[s] = i;
  }
  slots_ = std::move(fresh);
}

inline void token_table::reserve(std::size_t n) {
  records_.reserve(n);
  std::size_t want = 1024;
  while (want < 2 * n) want *= 2;
  if (want > slots_.size()) rehash(want);
}

inline std::uint32_t token_table::insert(const digest& hash, const token_state& state, std::uint32_t parent) {
  if (records_.size() >= no_token - 1) throw std::length_error("token table is full");
  if (find(hash)) throw std::invalid_argument("a token with this secret already exists");
  if (2 * (records_.size() + 1) > slots_.size()) rehash(slots_.empty() ? 1024 : slots_.size() * 2);
  const auto index = static_cast<std::uint32_t>(records_.size());
  records_.push_back(token_record{hash, state, parent, no_token, false});
  const std::size_t mask = slots_.size() - 1;
  std::size_t s = slot_hash(hash) & mask;
  while (slots_[s] != no_token) s = (s + 1) & mask;
  slots_[s] = index;
  return index;
}

inline void token_table::pop_back() noexcept {
  if (records_.empty()) return;
  const auto index = static_cast<std::uint32_t>(records_.size() - 1);
  const std::size_t mask = slots_.size() - 1;
  std::size_t s = slot_hash(records_.back().hash) & mask;
  while (slots_[s] != index) s = (s + 1) & mask;
  slots_[s] = no_token;
  records_.pop_back();
}

inline std::optional<std::uint32_t> token_table::find(const digest& hash) const noexcept {
  if (slots_.empty()) return std::nullopt;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t s = slot_hash(hash) & mask; slots_[s] != no_token; s = (s + 1) & mask)
    if (constant_time_equal(records_[slots_[s]].hash, hash)) return slots_[s];
  return std::nullopt;
}

inline std::optional<std::uint32_t> token_table::parse_id(std::string_view id) const noexcept {
  if (!id.starts_with("tok_") || id.size() == 4 || id[4] == '0') return std::nullopt;
  std::uint64_t n = 0;
  const auto* end = id.data() + id.size();
  const auto [p, ec] = std::from_chars(id.data() + 4, end, n);
  if (ec != std::errc{} || p != end || n == 0 || n > records_.size()) return std::nullopt;
  return static_cast<std::uint32_t>(n - 1);
}

}  // namespace rotary::detail
