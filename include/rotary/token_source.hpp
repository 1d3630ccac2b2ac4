// rotary/token_source.hpp: the current secret of a token store, for the code that calls the API.
//
// The rotation job replaces the store's record when it rotates; the program that uses the token
// must then start using the new secret. A `token_source` holds the latest good record of one
// store, hands out its secret to any number of threads, and reloads it when the file changes:
//
//     rotary::token_source source{rotary::token_store{"/var/lib/rotary/token.store", key}};
//     source.secret();                      // "glsa_..." (a copy), from any thread
//     source.snapshot().usable_until;       // when the held token stops working
//     source.on_change([](const rotary::token_snapshot& s) { reconnect(s.secret); });
//     source.refresh();                     // a stat; a reload and the callback if the file changed
//     source.start(std::chrono::seconds{30}, clock);   // or: a thread that refreshes every 30 s
//
// `refresh()` is cheap when nothing changed: it compares the file's identity (device, inode,
// size, modification and change times to the nanosecond) with the one it last read, so it
// costs one lstat(2), never a decrypt. A failed reload (a missing, damaged or foreign file, a
// wrong key) keeps the last good secret and returns the store's error; it never throws for them.
// Docs: docs/token-source.md.
#pragma once

#include <rotary/clock.hpp>
#include <rotary/outcome.hpp>
#include <rotary/policy.hpp>
#include <rotary/stop_token.hpp>
#include <rotary/store.hpp>
#include <rotary/time.hpp>
#include <rotary/token.hpp>

#if ROTARY_DETAIL_OPENSSL_READY  // store.hpp has said why not, once

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace rotary {

// What a token_source holds: the current token of the store's last good record.
struct token_snapshot {
  std::string secret;                       // the secret to call the API with
  token_state state;                        // its facts (creation, period, hard expiry, rotation)
  std::optional<sys_seconds> usable_until;  // when it stops working (an unanswered rotation counts)
  std::uint64_t generation = 0;             // the record's save counter (store_contents::generation)
  friend bool operator==(const token_snapshot&, const token_snapshot&) = default;
};

// What refresh() did.
enum class refresh_result {
  unchanged,  // the file is the one last read: nothing was read
  reread,     // the file changed, but its record holds the same token and generation: no callback
  changed,    // a new record: the snapshot was replaced and the callback called
};

// Counters, for tests and monitoring.
struct token_source_stats {
  std::uint64_t checks = 0;   // refresh() and reload() calls, the watcher's included
  std::uint64_t loads = 0;    // token_store::load() calls (each one decrypts)
  std::uint64_t changes = 0;  // snapshots replaced after construction (callback calls)
  std::uint64_t polls = 0;    // refreshes made by the watcher
};

// Thread-safe: every member may be called from any thread at once, except that the move
// operations and the destructor need the usual exclusive access. The callback has its rules
// at on_change().
class token_source {
 public:
  // Loads the store once. The store is taken by value (a token_store is a path and a key): the
  // source owns its copy and needs nothing else to outlive it.
  [[nodiscard]] static outcome<token_source, store_error> open(token_store store);
  // The same, throwing store_exception when the first load fails (not_found for a missing store).
  explicit token_source(token_store store);

  token_source(token_source&&) noexcept = default;
  token_source& operator=(token_source&& other) noexcept;
  token_source(const token_source&) = delete;
  token_source& operator=(const token_source&) = delete;
  ~token_source();  // stops the watcher, if started

  // The current secret (a copy) and the whole snapshot: never torn, never empty.
  [[nodiscard]] std::string secret() const;
  [[nodiscard]] token_snapshot snapshot() const;

  // Reloads if the file changed since it was last read (see the top of this file). On an error
  // the last good snapshot stays, the error is returned and kept for last_error(); the same
  // error is returned without reading again until the file changes. Refreshes from several
  // threads are serialized.
  outcome<refresh_result, store_error> refresh();
  // Reloads whether or not the file looks changed (after a restore that kept the file's times).
  outcome<refresh_result, store_error> reload();

  // Called with the new snapshot after each reload that replaced it (refresh_result::changed),
  // once per change, in order, in the thread that refreshed (the caller's, or the watcher's),
  // after the snapshot is in place and outside the lock that secret() takes. Replaces the
  // previous callback; an empty function removes it. The callback may call secret(),
  // snapshot(), stats(), last_error() and on_change(); it must not call refresh(), reload(),
  // start() or stop() (they would wait for it). An exception it throws leaves refresh() (the
  // snapshot is already replaced); the watcher catches and ignores it.
  void on_change(std::function<void(const token_snapshot&)> callback);

  // The error of the last refresh or reload, nullopt after a successful one.
  [[nodiscard]] std::optional<store_error> last_error() const;
  [[nodiscard]] token_source_stats stats() const;
  [[nodiscard]] const token_store& store() const noexcept;

  // A thread that refreshes at now + interval, now + 2 * interval, ... on `clock` (which must
  // outlive the source or the next stop()); after a jump of the clock past several instants it
  // refreshes once and goes on from the new time. It ends at stop(), at the destructor, or when
  // `stop` is requested, promptly in each case (its wait is woken, not timed out). Throws
  // std::invalid_argument for an interval of zero or less and std::logic_error when running.
  void start(seconds interval, clock_ref clock, stop_token stop = {});
  void stop();  // waits for the thread to end; does nothing when it is not running
  [[nodiscard]] bool running() const noexcept;

 private:
  struct state;
  explicit token_source(std::unique_ptr<state> s) : state_(std::move(s)) {}
  std::unique_ptr<state> state_;
};

// =================================================================================================

namespace detail {

// What identifies one version of the store file without reading it.
struct file_identity {
  int error = 0;  // errno of lstat, 0 when it succeeded
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  friend bool operator==(const file_identity&, const file_identity&) = default;
};

inline std::int64_t timespec_ns(const struct timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + static_cast<std::int64_t>(t.tv_nsec);
}

inline file_identity identify_file(const std::filesystem::path& file) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) return {errno == 0 ? EIO : errno};
#if defined(__APPLE__)
  return {0, st.st_dev, st.st_ino, st.st_size, timespec_ns(st.st_mtimespec), timespec_ns(st.st_ctimespec)};
#else
  return {0, st.st_dev, st.st_ino, st.st_size, timespec_ns(st.st_mtim), timespec_ns(st.st_ctim)};
#endif
}

// Wipes the secret when the last reader of a snapshot lets go of it.
struct cleansing_delete {
  void operator()(token_snapshot* s) const noexcept {
    if (!s->secret.empty()) OPENSSL_cleanse(s->secret.data(), s->secret.size());
    delete s;
  }
};

inline std::shared_ptr<const token_snapshot> make_snapshot(store_contents& c) {
  const standard_policy policy{fixed_period{}, buffer_period{c.buffer}, hard_expiry{}};
  token_state seen = c.current.state;  // as the server may see it: a lost response started its buffer
  if (c.unanswered_rotation && !seen.rotated_at) seen.rotated_at = c.unanswered_rotation;
  std::shared_ptr<token_snapshot> s(new token_snapshot{std::move(c.current.secret), c.current.state,
                                                       policy.usable_until(seen), c.generation},
                                    cleansing_delete{});
  if (c.previous) OPENSSL_cleanse(c.previous->secret.data(), c.previous->secret.size());
  return s;
}

}  // namespace detail

struct token_source::state {
  explicit state(token_store s) : store(std::move(s)) {}

  const token_store store;

  // Guards `current` only, held for a pointer copy: readers never wait for a decrypt.
  mutable std::mutex data_mutex;
  std::shared_ptr<const token_snapshot> current;

  // Serializes refreshes (and the callbacks they make); guards what follows.
  std::mutex refresh_mutex;
  std::optional<detail::file_identity> seen;  // the file as last read (good or not)
  std::optional<store_error> error;           // the last read's error

  mutable std::mutex callback_mutex;
  std::shared_ptr<const std::function<void(const token_snapshot&)>> callback;

  mutable std::mutex stats_mutex;
  token_source_stats counters;
  std::optional<store_error> last_error;  // a copy of `error`, readable without refresh_mutex

  std::mutex watch_mutex;  // guards watcher and stop
  std::thread watcher;
  stop_source stop{nostopstate};
  std::atomic<bool> watching{false};

  void count(std::uint64_t token_source_stats::*field) {
    std::lock_guard lock(stats_mutex);
    ++(counters.*field);
  }

  // Under refresh_mutex. `force`: read even when the file looks the same.
  outcome<refresh_result, store_error> check(bool force) {
    count(&token_source_stats::checks);
    // Identify before loading: what load() reads is this version or a newer one, so a save
    // between the two is seen by the next refresh, never missed.
    const auto id = detail::identify_file(store.file());
    if (!force && seen && *seen == id) {
      if (error) return *error;
      return refresh_result::unchanged;
    }
    seen = id;
    count(&token_source_stats::loads);
    auto loaded = store.load();
    if (!loaded) {
      error = loaded.error();
      std::lock_guard lock(stats_mutex);
      last_error = error;
      return *error;
    }
    error.reset();
    {
      std::lock_guard lock(stats_mutex);
      last_error.reset();
    }
    auto next = detail::make_snapshot(*loaded);
    {
      std::lock_guard lock(data_mutex);
      if (current && *current == *next) return refresh_result::reread;
      current = next;
    }
    count(&token_source_stats::changes);
    std::shared_ptr<const std::function<void(const token_snapshot&)>> call;
    {
      std::lock_guard lock(callback_mutex);
      call = callback;
    }
    if (call && *call) (*call)(*next);
    return refresh_result::changed;
  }

  outcome<refresh_result, store_error> refresh(bool force) {
    std::lock_guard lock(refresh_mutex);
    return check(force);
  }

  // The watcher's loop.
  // `own` is stop's, requested by stop(); a request of `outside` is passed on to it.
  void watch(seconds interval, clock_ref clock, sys_seconds first, stop_source own_source,
             stop_token outside) {
    struct forward {
      stop_source* to;
      void operator()() const noexcept { to->request_stop(); }
    };
    const stop_token own = own_source.get_token();
    const stop_callback<forward> link(outside, forward{&own_source});
    for (sys_seconds next = first; clock.wait_until(next, own);) {
      try {
        (void)refresh(false);
      } catch (...) {  // NOLINT(bugprone-empty-catch): a callback's exception must not end the thread
      }
      count(&token_source_stats::polls);
      const sys_seconds now = clock.now();
      next += interval;
      if (next <= now) next = now + interval;
    }
    watching.store(false);
  }

  void stop_watcher() {
    std::thread done;
    {
      std::lock_guard lock(watch_mutex);
      stop.request_stop();
      done = std::move(watcher);
    }
    if (done.joinable()) done.join();
    watching.store(false);
  }
};

inline outcome<token_source, store_error> token_source::open(token_store store) {
  auto s = std::make_unique<state>(std::move(store));
  s->seen = detail::identify_file(s->store.file());
  auto loaded = s->store.load();
  s->counters.loads = 1;
  if (!loaded) return loaded.error();
  s->current = detail::make_snapshot(*loaded);
  return token_source(std::move(s));
}

inline token_source::token_source(token_store store) : token_source(open(std::move(store)).value()) {}

inline token_source& token_source::operator=(token_source&& other) noexcept {
  if (this != &other) {
    if (state_) state_->stop_watcher();
    state_ = std::move(other.state_);
  }
  return *this;
}

inline token_source::~token_source() {
  if (state_) state_->stop_watcher();
}

inline token_snapshot token_source::snapshot() const {
  std::shared_ptr<const token_snapshot> s;
  {
    std::lock_guard lock(state_->data_mutex);
    s = state_->current;
  }
  return *s;
}

inline std::string token_source::secret() const {
  std::shared_ptr<const token_snapshot> s;
  {
    std::lock_guard lock(state_->data_mutex);
    s = state_->current;
  }
  return s->secret;
}

inline outcome<refresh_result, store_error> token_source::refresh() { return state_->refresh(false); }
inline outcome<refresh_result, store_error> token_source::reload() { return state_->refresh(true); }

inline void token_source::on_change(std::function<void(const token_snapshot&)> callback) {
  auto next = std::make_shared<const std::function<void(const token_snapshot&)>>(std::move(callback));
  std::lock_guard lock(state_->callback_mutex);
  state_->callback = std::move(next);
}

inline std::optional<store_error> token_source::last_error() const {
  std::lock_guard lock(state_->stats_mutex);
  return state_->last_error;
}

inline token_source_stats token_source::stats() const {
  std::lock_guard lock(state_->stats_mutex);
  return state_->counters;
}

inline const token_store& token_source::store() const noexcept { return state_->store; }

inline void token_source::start(seconds interval, clock_ref clock, stop_token stop) {
  if (interval <= seconds{0})
    throw std::invalid_argument("token_source::start: the interval must be positive, not " +
                                format_duration(interval));
  std::thread finished;
  {
    std::lock_guard lock(state_->watch_mutex);
    if (state_->watching.load())
      throw std::logic_error("token_source::start: the watcher is already running");
    finished = std::move(state_->watcher);  // one that ended by its stop token
  }
  if (finished.joinable()) finished.join();
  std::lock_guard lock(state_->watch_mutex);
  state_->stop = stop_source{};
  // The first instant is taken here, not in the thread: a clock advanced right after start()
  // returns is always seen.
  const sys_seconds first = clock.now() + interval;
  state_->watching.store(true);
  state_->watcher =
      std::thread([s = state_.get(), interval, clock, first, own = state_->stop, outside = std::move(stop)] {
        s->watch(interval, clock, first, own, outside);
      });
}

inline void token_source::stop() { state_->stop_watcher(); }

inline bool token_source::running() const noexcept { return state_ && state_->watching.load(); }

}  // namespace rotary

#endif  // ROTARY_DETAIL_OPENSSL_READY
