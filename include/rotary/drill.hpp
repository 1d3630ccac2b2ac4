// rotary/drill.hpp: the real rotation job against a real fake server, in warped time, checked
// against the simulator event by event.
//
// The simulator predicts; the drill proves. `run_drill` starts a `fake_server` on loopback,
// creates the scenario's token through its admin interface, initialises an encrypted store,
// and runs the job (the real `rotator`, or a job under test) at every fire of the schedule. The
// simulator's seeded sample run owns every source of nondeterminism: before each rotate
// request the drill tells the server what the simulator decided for that attempt (fail with
// 500, commit and drop the response, or answer), so a seed replays any run. Then it compares:
//
//     auto plan = rotary::prepare(scenario).value();
//     rotary::drill_result d = rotary::run_drill(plan, {.seed = 1});
//     d.agrees;            // every run did what the simulator said, and the lapse (if any) too
//     d.divergence_text;   // else the first diverging run, both sides
//
// Time: a `manual_clock` shared by the server and the job. The driver jumps it to the next
// fire, consumer reload or retry deadline as soon as the job waits (`warp = nullopt`: as fast
// as possible), or paces those jumps against real time at `warp` times real speed. Either way
// the job sees virtual time only through its clock.
//
// What the drill does not model: `job_duration` (the job runs at the fire) and retries that
// would outlast the gap to the next fire (the simulator ends them there, a real job does not);
// both are refused as `drill_error`.
#pragma once

#include <rotary/detail/http_config.hpp>  // first: one clear #error without cpp-httplib and OpenSSL
#if ROTARY_DETAIL_HTTP_READY              // otherwise nothing here is compiled after that #error

#include <httplib.h>

#include <rotary/clock.hpp>
#include <rotary/fake_server.hpp>
#include <rotary/report.hpp>
#include <rotary/rotator.hpp>
#include <rotary/simulate.hpp>
#include <rotary/store.hpp>
#include <rotary/time.hpp>
#include <rotary/token_source.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace rotary {

// A scenario the drill cannot run faithfully.
class drill_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One run of the job, as the simulator predicted it or as it happened.
struct drill_step {
  sys_seconds fire;
  std::string outcome;                 // "rotated", "not-due" or "failed"
  std::optional<sys_seconds> created;  // the new token's creation, for "rotated"
  int attempts = 0;                    // rotate requests (informational)
  friend bool operator==(const drill_step& a, const drill_step& b) {
    return a.fire == b.fire && a.outcome == b.outcome && a.created == b.created;
  }
};

struct drill_progress {
  sys_seconds now;
  std::size_t fires_done = 0;
  std::size_t fires_total = 0;
  std::int64_t rotations = 0;
  std::int64_t failures = 0;
};

// The job under test: one run against `store`, with these options, on this clock.
using drill_job = std::function<run_report(const token_store&, const rotator_options&, clock_ref)>;

struct drill_options {
  std::uint64_t seed = 1;             // of the simulator's sample run (and so of the faults)
  std::optional<double> warp;         // nullopt: as fast as possible; else virtual/real speed
  consumer_config consumers{};        // readers that reload from the store and call the API
  std::filesystem::path directory{};  // for the store; empty: a fresh one in /dev/shm or /tmp
  drill_job job{};                    // empty: rotary::rotator
  std::function<void(const drill_progress&)> on_progress{};  // about 100 times a drill
};

struct drill_result {
  report predicted;                  // the simulator's report for the same plan and seed
  std::vector<drill_step> expected;  // from the simulator's sample run
  std::vector<drill_step> observed;  // from the job's run reports
  std::optional<lapse_point> expected_lapse;
  std::optional<sys_seconds> observed_lapse;
  bool agrees = false;
  std::string divergence_text;        // the first difference, both sides ("" when they agree)
  std::int64_t rotate_requests = 0;   // seen by the server's audit log
  std::int64_t server_rotations = 0;  // rotations the server committed (answered or not)
  std::int64_t consumer_calls = 0;
  std::int64_t consumer_rejections = 0;   // 401s the readers got: a dead secret in hand
  std::int64_t predicted_rejections = 0;  // what the simulator's run says they should get
  double real_seconds = 0;
  double simulated_days_per_second = 0;
};

// Runs the drill. Throws drill_error for a plan it cannot run faithfully, and whatever the
// server or the store throw when the machine refuses (no port, no disk).
[[nodiscard]] drill_result run_drill(const simulation_plan& plan, const drill_options& options = {});

// ---------------------------------------------------------------------------------------------

namespace detail {

// What the simulator decided for each attempt of each run: the script the server follows.
enum class attempt_script { answer, fail, drop };

struct predicted_run {
  drill_step step;
  std::vector<attempt_script> attempts;
};

inline std::vector<predicted_run> predicted_runs(const std::vector<sim_event>& events,
                                                 std::optional<lapse_point>& lapse) {
  std::vector<predicted_run> runs;
  bool open = false;
  for (const auto& e : events) {
    switch (e.kind) {
      case sim_event::run:
        runs.push_back({{e.at, "failed", std::nullopt, 0}, {}});
        open = true;
        break;
      case sim_event::skipped:
        runs.push_back({{e.at, "not-due", std::nullopt, 0}, {}});
        open = false;
        break;
      case sim_event::attempt_failed:
      case sim_event::outage:
        runs.back().attempts.push_back(attempt_script::fail);
        ++runs.back().step.attempts;
        break;
      case sim_event::response_lost:
        runs.back().attempts.push_back(attempt_script::drop);
        ++runs.back().step.attempts;
        break;
      case sim_event::refused:
        runs.back().attempts.push_back(attempt_script::answer);
        ++runs.back().step.attempts;
        break;
      case sim_event::rotated:
        runs.back().attempts.push_back(attempt_script::answer);
        ++runs.back().step.attempts;
        runs.back().step.outcome = "rotated";
        runs.back().step.created = e.created ? *e.created : e.at;
        open = false;
        break;
      case sim_event::run_failed:
        open = false;
        break;
      case sim_event::lapse:
        lapse = lapse_point{e.at, e.rule};
        break;
    }
  }
  (void)open;
  return runs;
}

// For each consumer tick, whether the secret the reader cached at its previous tick is dead.
inline std::int64_t predicted_consumer_rejections(const simulation_plan& plan,
                                                  const std::vector<sim_event>& events,
                                                  consumer_config consumers, sys_seconds end) {
  if (consumers.count <= 0 || consumers.reload <= seconds{0}) return 0;
  // The tokens the client held: creation and death (as the server sees them).
  struct held {
    sys_seconds created, dies;
  };
  std::vector<held> tokens{{plan.initial.created_at, death_of(plan, plan.initial)}};
  for (const auto& e : events) {
    if (e.kind == sim_event::response_lost && e.until) tokens.back().dies = *e.until;
    if (e.kind == sim_event::rotated) {
      if (e.until) tokens.back().dies = *e.until;
      const sys_seconds created = e.created ? *e.created : e.at;
      const token_state child{created, plan.initial.rotation_period, plan.initial.expires_at, std::nullopt};
      tokens.push_back({e.at, death_of(plan, child)});
    }
  }
  auto token_at = [&](sys_seconds t) {
    std::size_t i = 0;
    while (i + 1 < tokens.size() && tokens[i + 1].created <= t) ++i;
    return tokens[i];
  };
  std::int64_t stale = 0;
  for (int c = 0; c < consumers.count; ++c) {
    const sys_seconds phase = plan.from + consumers.reload * c / consumers.count;
    for (sys_seconds t = phase + consumers.reload; t < end; t += consumers.reload)
      if (token_at(t - consumers.reload).dies <= t) ++stale;
  }
  return stale;
}

inline wire::fault_config fault_for(attempt_script s) {
  wire::fault_config c;
  if (s == attempt_script::fail)
    // A 500: the server failed and committed nothing, as the simulator's failed attempt (the job
    // counts a 502/503/504 as a rotation that may have been made, docs/rotation-job.md).
    c.faults.push_back(wire::fault{.kind = wire::fault_kind::status, .count = 1, .status = 500});
  if (s == attempt_script::drop)
    c.faults.push_back(wire::fault{.kind = wire::fault_kind::commit_drop, .count = 1});
  return c;
}

// A clock `skew` ahead of (or behind) another: the job's view of time.
class skewed_clock {
 public:
  skewed_clock(manual_clock& base, seconds skew) : base_(base), skew_(skew) {}
  [[nodiscard]] sys_seconds now() const { return base_.now() + skew_; }
  bool wait_until(sys_seconds deadline, stop_token stop = {}) {
    return base_.wait_until(deadline - skew_, stop);
  }

 private:
  manual_clock& base_;
  seconds skew_;
};

inline std::filesystem::path drill_directory() {
  const std::filesystem::path base =
      std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  for (int i = 0;; ++i) {
    std::uint64_t r = 0;
    random_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
    auto dir = base / ("rotary-drill-" + std::to_string(r));
    std::error_code ec;
    if (std::filesystem::create_directory(dir, ec)) {
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
      return dir;
    }
    if (i > 100) throw drill_error("cannot create a directory for the drill's store in " + base.string());
  }
}

}  // namespace detail

inline drill_result run_drill(const simulation_plan& plan, const drill_options& options) {
  using namespace std::chrono;
  if (plan.job_duration != seconds{0})
    throw drill_error("the drill runs the job at the fire instant: a job duration is the simulator's only");
  if (!plan.initial.rotation_period) throw drill_error("the drill needs a rotatable token");
  for (std::size_t j = 1; j < plan.fires.size(); ++j)
    if (plan.retry_delay * plan.retries >= plan.fires[j] - plan.fires[j - 1])
      throw drill_error("retries (" + std::to_string(plan.retries) + " x " +
                        format_duration(plan.retry_delay) + ") outlast the gap between the runs at " +
                        format_time(plan.fires[j - 1]) + " and " + format_time(plan.fires[j]) +
                        ": a real job would overlap the next run");

  drill_result out;
  analysis_options analysis;
  analysis.seed = options.seed;
  analysis.consumers = options.consumers;
  analysis.keep_events = true;  // the drill compares the live run with the predicted events
  out.predicted = analyse(plan, analysis);
  const auto runs = detail::predicted_runs(out.predicted.events, out.expected_lapse);
  for (const auto& r : runs) out.expected.push_back(r.step);

  // The world: a manual clock, the server on it, the token, an encrypted store.
  manual_clock clock{plan.initial.created_at};
  fake_server_options server_options;
  server_options.clock = clock;
  server_options.rerotate = plan.semantics;
  server_options.buffer = plan.policy.get<buffer_period>().length;
  server_options.min_period = minutes{1};
  server_options.require_expiry = false;
  server_options.threads = 8;
  server_options.seed = options.seed;
  // Counted as they happen: the audit log keeps only the latest events.
  std::atomic<std::int64_t> rotate_requests{0}, server_rotations{0};
  server_options.on_event = [&](const wire::event& e) {
    if (e.path == wire::rotate_path && e.kind != "faults")
      rotate_requests.fetch_add(1, std::memory_order_relaxed);
    if (e.kind == "rotation") server_rotations.fetch_add(1, std::memory_order_relaxed);
  };
  fake_server server{server_options};
  const std::string url = server.start();
  const auto token = server.create_token(
      {.rotation_period = plan.initial.rotation_period, .expires_at = plan.initial.expires_at});
  if (!token)
    throw drill_error("the server refused the scenario's token: " + std::string(token.error().code()));

  const bool own_directory = options.directory.empty();
  const auto directory = own_directory ? detail::drill_directory() : options.directory;
  struct cleanup {
    std::filesystem::path dir;
    bool remove;
    ~cleanup() {
      std::error_code ec;
      if (remove) std::filesystem::remove_all(dir, ec);
    }
  } cleanup_directory{directory, own_directory};
  const token_store store{directory / "token.store", store_key::generate()};
  {
    store_contents contents;
    contents.current = stored_token{token->raw_secret, token_state{token->created_at, token->rotation_period,
                                                                   token->expires_at, std::nullopt}};
    contents.buffer = server_options.buffer;
    contents.endpoint = url + std::string(wire::rotate_path);
    const auto lock = store.lock().value();
    (void)store.create(lock, contents).value();
  }

  rotator_options job_options;
  job_options.endpoint = url + std::string(wire::rotate_path);
  job_options.strategy = plan.strategy;
  job_options.retries = plan.retries;
  job_options.retry_delay = plan.retry_delay;
  job_options.max_retry_delay = plan.retry_delay;
  job_options.lock_wait = milliseconds{2000};
  job_options.client.connect_timeout = seconds{5};
  job_options.client.read_timeout = seconds{10};
  const drill_job job =
      options.job ? options.job : [](const token_store& s, const rotator_options& o, clock_ref c) {
        return rotator{s, o, c}.run();
      };
  detail::skewed_clock job_clock{clock, plan.clock_skew};

  // Consumers: each reader holds a token_source on the store. At its first tick it refreshes
  // it; at every later tick it calls the API with the secret it holds (a 401 means it held a
  // dead one), then refreshes (a stat, and a reload only when the job saved since).
  struct reader {
    sys_seconds next;
    token_source source;
    bool primed = false;
  };
  std::vector<reader> readers;
  readers.reserve(static_cast<std::size_t>(std::max(0, options.consumers.count)));
  for (int c = 0; c < options.consumers.count; ++c)
    readers.push_back(
        {plan.from + options.consumers.reload * c / options.consumers.count, token_source{store}});
  httplib::Client api(url);
  std::string probe_path{wire::api_prefix};
  probe_path.append("datasources");  // any protected path answers 200 {} to a usable token
  api.set_keep_alive(true);
  api.set_tcp_nodelay(true);

  // Pacing: virtual time advances at `warp` times real time from here.
  const auto real_start = steady_clock::now();
  auto pace = [&](sys_seconds t) {
    if (!options.warp || *options.warp <= 0) return;
    const double virtual_elapsed = static_cast<double>((t - plan.from).count());
    const auto due =
        real_start + duration_cast<steady_clock::duration>(duration<double>(virtual_elapsed / *options.warp));
    std::this_thread::sleep_until(due);
  };
  auto move_to = [&](sys_seconds t) {
    if (t > clock.now()) {
      pace(t);
      clock.set(t);
    }
  };

  sys_seconds held_until = detail::death_of(plan, plan.initial);
  auto note_lapse = [&](sys_seconds now) {
    if (!out.observed_lapse && held_until <= now && held_until < plan.until)
      out.observed_lapse = std::max(held_until, plan.from);
    return out.observed_lapse.has_value();
  };
  move_to(plan.from);
  drill_progress progress{plan.from, 0, plan.fires.size(), 0, 0};
  const std::size_t report_every = std::max<std::size_t>(1, plan.fires.size() / 100);

  // The readers' ticks before `limit`, while the token the job holds still works.
  auto consumer_ticks = [&](sys_seconds limit) {
    for (;;) {
      reader* first = nullptr;
      for (auto& r : readers)
        if (r.next < limit && r.next < held_until && (!first || r.next < first->next)) first = &r;
      if (!first) return;
      move_to(first->next);
      if (first->primed) {
        ++out.consumer_calls;
        const auto res =
            api.Get(probe_path, httplib::Headers{{"Authorization", "Bearer " + first->source.secret()}});
        if (res && res->status == 401) ++out.consumer_rejections;
      }
      (void)first->source.refresh();  // on an error it keeps the secret it had, as before
      first->primed = true;
      first->next += options.consumers.reload;
    }
  };

  std::size_t run_index = 0;
  for (std::size_t j = 0; j < plan.fires.size(); ++j) {
    const sys_seconds fire = plan.fires[j];
    consumer_ticks(fire);
    if (note_lapse(fire)) break;
    move_to(fire);
    const auto* script =
        run_index < runs.size() && runs[run_index].step.fire == fire ? &runs[run_index] : nullptr;
    std::size_t attempt = 0;
    auto script_for = [&](std::size_t k) {
      return script && k < script->attempts.size() ? script->attempts[k] : detail::attempt_script::answer;
    };
    server.set_faults(detail::fault_for(script_for(attempt)));
    auto pending = std::async(std::launch::async, [&] { return job(store, job_options, job_clock); });
    while (pending.wait_for(microseconds{50}) != std::future_status::ready) {
      if (const auto deadline = clock.earliest_wait()) {
        consumer_ticks(*deadline);  // readers act while the job waits to retry
        server.set_faults(detail::fault_for(script_for(++attempt)));
        move_to(*deadline);
      }
    }
    const run_report report = pending.get();
    if (script) ++run_index;
    drill_step step{fire, "failed", std::nullopt, report.attempts};
    if (report.status == run_status::rotated) {
      step.outcome = "rotated";
      if (report.token) step.created = report.token->created_at;
      ++progress.rotations;
    } else if (report.status == run_status::not_due) {
      step.outcome = "not-due";
    } else {
      ++progress.failures;
    }
    out.observed.push_back(step);
    if (report.usable_until) held_until = *report.usable_until;
    progress.now = fire;
    progress.fires_done = j + 1;
    if (options.on_progress && (j + 1) % report_every == 0) options.on_progress(progress);
    if (out.expected_lapse && out.observed.size() >= out.expected.size()) {
      // The simulator stopped here: the lapse decides the rest.
      if (note_lapse(out.expected_lapse->at)) break;
    }
  }
  if (!out.observed_lapse) {
    consumer_ticks(plan.until);
    note_lapse(plan.until);
  }
  server.set_faults({});
  server.stop();
  out.rotate_requests = rotate_requests.load();
  out.server_rotations = server_rotations.load();
  const sys_seconds end = out.observed_lapse ? *out.observed_lapse : plan.until;
  out.predicted_rejections =
      detail::predicted_consumer_rejections(plan, out.predicted.events, options.consumers, end);
  out.real_seconds = duration<double>(steady_clock::now() - real_start).count();
  const double simulated_days = static_cast<double>((clock.now() - plan.from).count()) / 86'400.0;
  out.simulated_days_per_second = out.real_seconds > 0 ? simulated_days / out.real_seconds : 0;

  // Compare run by run, then the lapse, then the consumers.
  auto describe = [](const drill_step& s) {
    return format_time(s.fire) + " " + s.outcome +
           (s.created ? " (new token created " + format_time(*s.created) + ")" : "");
  };
  const std::size_t n = std::min(out.expected.size(), out.observed.size());
  for (std::size_t i = 0; i < n && out.divergence_text.empty(); ++i)
    if (!(out.expected[i] == out.observed[i]))
      out.divergence_text = "run " + std::to_string(i + 1) + ": simulator " + describe(out.expected[i]) +
                            "; job " + describe(out.observed[i]);
  if (out.divergence_text.empty() && out.expected.size() != out.observed.size()) {
    const bool sim_longer = out.expected.size() > out.observed.size();
    const auto& extra = sim_longer ? out.expected[n] : out.observed[n];
    out.divergence_text = "run " + std::to_string(n + 1) + ": " + (sim_longer ? "simulator " : "job ") +
                          describe(extra) + "; the " + (sim_longer ? "job" : "simulator") +
                          " had stopped (a lapse)";
  }
  const std::optional<sys_seconds> expected_lapse_at =
      out.expected_lapse ? std::optional<sys_seconds>(out.expected_lapse->at) : std::nullopt;
  if (out.divergence_text.empty() && expected_lapse_at != out.observed_lapse) {
    auto text = [](std::optional<sys_seconds> t) {
      return t ? "lapse at " + format_time(*t) : std::string("no lapse");
    };
    out.divergence_text = "lapse: simulator " + text(expected_lapse_at) + "; job " + text(out.observed_lapse);
  }
  if (out.divergence_text.empty() && out.consumer_rejections != out.predicted_rejections)
    out.divergence_text = "consumers: simulator predicts " + std::to_string(out.predicted_rejections) +
                          " rejected calls with a dead secret; the readers got " +
                          std::to_string(out.consumer_rejections);
  out.agrees = out.divergence_text.empty();
  return out;
}

}  // namespace rotary

#endif  // ROTARY_DETAIL_HTTP_READY
