// rotary/detail/random.hpp: a seeded generator whose draws rotary defines itself, so a seed
// gives the same numbers with every compiler and standard library (std::uniform_*_distribution
// does not). xoshiro256** seeded through splitmix64 (Blackman and Vigna, "Scrambled linear
// pseudorandom number generators", 2018).
#pragma once

#include <cstdint>

namespace rotary::detail {

constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class xoshiro256 {
 public:
  constexpr explicit xoshiro256(std::uint64_t seed) noexcept {
    for (auto& word : s_) word = splitmix64(seed);
  }
  constexpr std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // A double in [0, 1) from the top 53 bits: exactly representable, the same everywhere.
  constexpr double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // True with probability p (p <= 0 never draws true, p >= 1 always).
  constexpr bool chance(double p) noexcept { return uniform() < p; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

// The seed of trial `index` of a sweep seeded with `seed`.
constexpr std::uint64_t trial_seed(std::uint64_t seed, std::uint64_t index) noexcept {
  std::uint64_t state = seed ^ (index * 0xd1b54a32d192ed03ULL);
  return splitmix64(state);
}

}  // namespace rotary::detail
