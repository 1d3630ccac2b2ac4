// rotary/detail/server_faults.hpp: the fake server's seeded fault injector.
//
// The generator is rotary's own (detail/random.hpp: xoshiro256** seeded through splitmix64,
// 53-bit fractions), so a seed gives the same faults on every machine and standard library.
//
// Every rule whose scope covers a request sees it: its count (if any) goes down by one and one
// number is drawn against its probability, in rule order. Latency rules that fire add up; the
// first other rule that fires decides what happens to the request.
#pragma once

#include <rotary/detail/random.hpp>
#include <rotary/wire.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rotary::detail {

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
      rng_ = xoshiro256(seed_);
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
      const bool fires = rng_.uniform() < it->probability;
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
  xoshiro256 rng_;
  std::uint64_t seed_;
  std::atomic<bool> any_{false};
};

}  // namespace rotary::detail
