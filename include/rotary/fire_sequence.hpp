// rotary/fire_sequence.hpp: the fires of a horizon, kept as runs of equal steps.
//
// A schedule's fires are mostly evenly spaced: `* * * * *` over a year is 525,600 fires a minute
// apart, `17 3 * * *` in a zone is a run of days broken only at the DST changes. A
// `fire_sequence` keeps each stretch of equal steps as one run {first, step, count}: a minutely
// year is one run, not 4 MB of instants, and the simulator crosses a run in one step where
// nothing can happen inside it (simulate.hpp).
//
//     rotary::fire_sequence f;
//     for (rotary::sys_seconds t : rotary::fires(schedule, from, until)) f.push_back(t);
//     f.size();       // 525600
//     f.runs().size() // 1
//     f[1440];        // the fire a day after the first (a binary search over the runs)
//     for (rotary::sys_seconds t : f) ...
//
// The instants are strictly increasing: push_back throws std::invalid_argument otherwise.
// Runs are made greedily, a run absorbing the next instant whenever its step repeats.
#pragma once

#include <rotary/time.hpp>

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace rotary {

class fire_sequence {
 public:
  // `count` fires at first, first + step, ...; step is 0 when count is 1.
  struct run {
    sys_seconds first;
    seconds step{0};
    std::size_t count = 0;
    [[nodiscard]] sys_seconds at(std::size_t k) const noexcept {
      return first + step * static_cast<std::int64_t>(k);
    }
    [[nodiscard]] sys_seconds last() const noexcept { return at(count - 1); }
    friend bool operator==(const run&, const run&) = default;
  };

  // A forward iterator over the instants; `run_index()` and `index_in_run()` say where it is.
  class iterator {
   public:
    using iterator_concept = std::forward_iterator_tag;
    using iterator_category = std::forward_iterator_tag;
    using value_type = sys_seconds;
    using difference_type = std::ptrdiff_t;
    using reference = sys_seconds;

    iterator() = default;
    reference operator*() const noexcept { return (*runs_)[r_].at(k_); }
    iterator& operator++() noexcept {
      if (++k_ == (*runs_)[r_].count) ++r_, k_ = 0;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator old = *this;
      ++*this;
      return old;
    }
    // Moves to the `k`-th fire of the current run (k < its count).
    void seek_in_run(std::size_t k) noexcept { k_ = k; }
    [[nodiscard]] std::size_t run_index() const noexcept { return r_; }
    [[nodiscard]] std::size_t index_in_run() const noexcept { return k_; }
    [[nodiscard]] const run& current_run() const noexcept { return (*runs_)[r_]; }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.r_ == b.r_ && a.k_ == b.k_;
    }

   private:
    friend class fire_sequence;
    iterator(const std::vector<run>* runs, std::size_t r, std::size_t k) noexcept
        : runs_(runs), r_(r), k_(k) {}
    const std::vector<run>* runs_ = nullptr;
    std::size_t r_ = 0, k_ = 0;
  };
  using const_iterator = iterator;
  using value_type = sys_seconds;
  using size_type = std::size_t;

  fire_sequence() = default;
  fire_sequence(std::initializer_list<sys_seconds> fires) {
    for (const sys_seconds t : fires) push_back(t);
  }
  explicit fire_sequence(const std::vector<sys_seconds>& fires) {
    for (const sys_seconds t : fires) push_back(t);
  }

  // Appends `t`, which must come after back().
  void push_back(sys_seconds t) {
    if (!runs_.empty() && runs_.back().count > 1 && t - last_ == runs_.back().step) {  // the usual case
      ++runs_.back().count;
      last_ = t;
      ++size_;
      return;
    }
    append(t);
  }

  // Keeps the first `n` fires (n <= size()).
  void resize(std::size_t n) {
    if (n >= size_) return;
    if (n == 0) return clear();
    const auto r = run_of(n - 1);
    runs_.resize(r + 1);
    starts_.resize(r + 1);
    runs_[r].count = n - starts_[r];
    if (runs_[r].count == 1) runs_[r].step = seconds{0};
    size_ = n;
    last_ = runs_[r].last();
  }
  void clear() noexcept {
    runs_.clear();
    starts_.clear();
    size_ = 0;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] sys_seconds front() const noexcept { return runs_.front().first; }
  [[nodiscard]] sys_seconds back() const noexcept { return last_; }
  // The i-th fire (i < size()): O(log runs).
  [[nodiscard]] sys_seconds operator[](std::size_t i) const noexcept {
    const auto r = run_of(i);
    return runs_[r].at(i - starts_[r]);
  }
  [[nodiscard]] const std::vector<run>& runs() const noexcept { return runs_; }
  // The index of the first fire of run r.
  [[nodiscard]] std::size_t run_start(std::size_t r) const noexcept { return starts_[r]; }

  [[nodiscard]] iterator begin() const noexcept { return {&runs_, 0, 0}; }
  [[nodiscard]] iterator end() const noexcept { return {&runs_, runs_.size(), 0}; }

  friend bool operator==(const fire_sequence& a, const fire_sequence& b) noexcept {
    return a.runs_ == b.runs_;
  }

 private:
  void append(sys_seconds t) {
    if (runs_.empty()) {
      runs_.push_back({t, seconds{0}, 1});
      starts_.push_back(0);
    } else if (t <= last_) {
      throw std::invalid_argument("rotary: fires must be strictly increasing (" + format_time(t) + " after " +
                                  format_time(last_) + ")");
    } else if (run& r = runs_.back(); r.count == 1) {
      r.step = t - r.first;
      r.count = 2;
    } else if (t - last_ == r.step) {
      ++r.count;
    } else {
      runs_.push_back({t, seconds{0}, 1});
      starts_.push_back(size_);
    }
    last_ = t;
    ++size_;
  }

  [[nodiscard]] std::size_t run_of(std::size_t i) const noexcept {
    return static_cast<std::size_t>(std::upper_bound(starts_.begin(), starts_.end(), i) - starts_.begin()) -
           1;
  }

  std::vector<run> runs_;
  std::vector<std::size_t> starts_;  // index of each run's first fire
  std::size_t size_ = 0;
  sys_seconds last_{};
};

}  // namespace rotary
