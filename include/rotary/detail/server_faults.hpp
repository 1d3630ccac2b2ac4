// rotary/detail/server_faults.hpp: the fake server's seeded fault injector.
//
// The generator is xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
// generators", 2018) seeded through splitmix64, and probabilities are drawn as 53-bit fractions,
// so a seed gives the same faults on every machine and standard library (never the
// std::uniform_*_distribution family, whose output is implementation-defined).
//
// Every rule whose scope covers a request sees it: its count (if any) goes down by one and one
// number is drawn against its probability, in rule order. Latency rules that fire add up; the
// first other rule that fires decides what happens to the request.
#pragma once

#include <rotary/wire.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rotary::detail {
namespace fault_random {

// splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014).
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class xoshiro256ss {
 public:
  constexpr explicit xoshiro256ss(std::uint64_t seed = 0) noexcept {
    for (auto& w : s_) w = splitmix64(seed);
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
  // Uniform in [0, 1), 53 bits.
  constexpr double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

}  // namespace fault_random

// What the faults do to one request.
struct fault_decision {
  std::chrono::milliseconds latency{0};
  std::optional<wire::fault> action;  // the first non-latency rule that fired
  [[nodiscard]] std::string names() const {
    std::string s = latency.count() > 0 ? "latency" : "";
    if (action) s += (s.empty() ? "" : ",") + std::string(wire::to_string(action->kind));
    return s;
  }
};

class fault_injector {
 public:
  explicit fault_injector(std::uint64_t seed = 0) : rng_(seed), seed_(seed) {}

  // Replaces every rule; a seed in the config restarts the generator.
  void configure(wire::fault_config config) {
    std::lock_guard lock(mutex_);
    if (config.seed) {
      seed_ = *config.seed;
      rng_ = fault_random::xoshiro256ss(seed_);
    }
    rules_ = std::move(config.faults);
    any_.store(!rules_.empty(), std::memory_order_release);
  }

  [[nodiscard]] wire::fault_config config() const {
    std::lock_guard lock(mutex_);
    return wire::fault_config{rules_, seed_};
  }

  // Decides the faults of one /api/index/v1/* request (`rotate`: it is the rotate endpoint).
  fault_decision draw(bool rotate) {
    fault_decision d;
    if (!any_.load(std::memory_order_acquire)) return d;
    std::lock_guard lock(mutex_);
    for (auto it = rules_.begin(); it != rules_.end();) {
      if (it->scope == wire::fault_scope::rotate && !rotate) {
        ++it;
        continue;
      }
      const bool fires = rng_.unit() < it->probability;
      if (fires) {
        if (it->kind == wire::fault_kind::latency)
          d.latency += it->latency;
        else if (!d.action)
          d.action = *it;
      }
      if (it->count && --*it->count == 0)
        it = rules_.erase(it);
      else
        ++it;
    }
    any_.store(!rules_.empty(), std::memory_order_release);
    return d;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<wire::fault> rules_;
  fault_random::xoshiro256ss rng_;
  std::uint64_t seed_;
  std::atomic<bool> any_{false};
};

}  // namespace rotary::detail
