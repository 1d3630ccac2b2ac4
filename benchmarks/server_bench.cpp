// The fake server under load, beside a bare cpp-httplib handler tuned the same way, in one run.
//
// An in-process load generator: N threads, each with one keep-alive connection (TCP_NODELAY),
// sending requests back to back for a fixed time; requests per second and latency percentiles
// are reported as counters. The rotate benchmark rotates a chain per connection (each response's
// secret is the next request's token), so every request is a real rotation. Client and server
// share the machine's cores, for the baseline and the fake server alike.
//
//     build/benchmarks/server_bench                        # all, 3 s per load run
//     build/benchmarks/server_bench --benchmark_filter=memory
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>
#include <rotary/fake_server.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr auto load_time = 3s;

struct load_result {
  double requests_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::size_t errors = 0;
};

// `next(connection, client, body_out) -> status` sends one request on `client`.
template <class Request>
load_result run_load(const std::string& url, int connections, Request request) {
  std::vector<std::vector<float>> latencies(static_cast<std::size_t>(connections));
  std::atomic<std::size_t> errors{0};
  std::latch ready(connections + 1);
  std::atomic<bool> go{false};
  steady::time_point end;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(connections));
  for (int i = 0; i < connections; ++i)
    threads.emplace_back([&, i] {
      httplib::Client c(url);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      c.set_decompress(false);
      auto& mine = latencies[static_cast<std::size_t>(i)];
      mine.reserve(400'000);
      request(i, c, true);  // warm-up: connect
      ready.arrive_and_wait();
      while (!go.load()) std::this_thread::yield();
      while (true) {
        const auto t0 = steady::now();
        if (t0 >= end) break;
        if (!request(i, c, false)) ++errors;
        mine.push_back(std::chrono::duration<float, std::micro>(steady::now() - t0).count());
      }
    });
  ready.arrive_and_wait();
  const auto start = steady::now();
  end = start + load_time;
  go = true;
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(steady::now() - start).count();
  std::vector<float> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  load_result r;
  r.requests_per_second = static_cast<double>(all.size()) / seconds;
  if (!all.empty()) {
    r.p50_us = all[all.size() / 2];
    r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  r.errors = errors;
  return r;
}

void report(benchmark::State& state, const load_result& r) {
  state.counters["req_per_s"] = r.requests_per_second;
  state.counters["p50_us"] = r.p50_us;
  state.counters["p99_us"] = r.p99_us;
  state.counters["errors"] = static_cast<double>(r.errors);
}

const httplib::Headers identity{{"Accept-Encoding", "identity"}};

// The baseline: cpp-httplib answering a fixed JSON body of the size of a rotate response, tuned
// like the fake server (TCP_NODELAY, unlimited keep-alive, a pool larger than the connections;
// docs/fake-server.md, "Decisions").
void bare_handler(benchmark::State& state) {
  const int connections = static_cast<int>(state.range(0));
  httplib::Server svr;
  svr.new_task_queue = [] { return new httplib::ThreadPool(80); };
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(1'000'000'000);
  const std::string body =
      R"j({"createdAt":1798761600,"rawSecret":"Q2xhc3NpY2FsbHkgMzIgcmFuZG9tIGJ5dGVzIGluIGI2NA","rotationPeriodMinutes":3600})j";
  svr.Post("/api/index/v1/rotatetoken", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  });
  const int port = svr.bind_to_any_port("127.0.0.1");
  std::thread t([&] { svr.listen_after_bind(); });
  while (!svr.is_running()) std::this_thread::sleep_for(1ms);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  for (auto _ : state) {
    const auto r = run_load(url, connections, [](int, httplib::Client& c, bool) {
      const auto res = c.Post("/api/index/v1/rotatetoken", identity, "", "text/plain");
      return res && res->status == 200;
    });
    report(state, r);
    state.SetIterationTime(std::chrono::duration<double>(load_time).count());
  }
  svr.stop();
  t.join();
}

struct fake_fixture {
  rotary::manual_clock clock{rotary::from_unix(1798761600)};
  rotary::fake_server server;
  std::string url;
  explicit fake_fixture(int threads) : server(options(clock, threads)) { url = server.start(); }
  static rotary::fake_server_options options(rotary::manual_clock& clock, int threads) {
    rotary::fake_server_options o;
    o.clock = clock;
    o.threads = static_cast<std::size_t>(threads);
    o.max_events = 10'000;
    return o;
  }
};

void fake_rotate(benchmark::State& state) {
  const int connections = static_cast<int>(state.range(0));
  fake_fixture f(80);
  std::vector<std::string> secrets;
  secrets.reserve(static_cast<std::size_t>(connections));
  for (int i = 0; i < connections; ++i)
    secrets.push_back(f.server
                          .create_token({.rotation_period = std::chrono::minutes{3600},
                                         .expires_at = f.clock.now() + std::chrono::days{365}})
                          .value()
                          .raw_secret);
  for (auto _ : state) {
    const auto r = run_load(f.url, connections, [&](int i, httplib::Client& c, bool warm_up) {
      auto& secret = secrets[static_cast<std::size_t>(i)];
      if (warm_up) return c.Get("/api/index/v1/ping", identity) != nullptr;
      httplib::Headers h = identity;
      h.emplace("Authorization", "Bearer " + secret);
      const auto res = c.Post("/api/index/v1/rotatetoken", h, "", "text/plain");
      if (!res || res->status != 200) return false;
      // The next token: "rawSecret" is 43 characters after its key.
      const auto p = res->body.find("\"rawSecret\":\"");
      secret = res->body.substr(p + 13, 43);
      return true;
    });
    report(state, r);
    state.SetIterationTime(std::chrono::duration<double>(load_time).count());
  }
  state.counters["tokens"] = static_cast<double>(f.server.token_count());
}

void fake_protected(benchmark::State& state) {
  const int connections = static_cast<int>(state.range(0));
  fake_fixture f(80);
  const auto secret = f.server
                          .create_token({.rotation_period = std::chrono::minutes{3600},
                                         .expires_at = f.clock.now() + std::chrono::days{365}})
                          .value()
                          .raw_secret;
  httplib::Headers h = identity;
  h.emplace("Authorization", "Bearer " + secret);
  for (auto _ : state) {
    const auto r = run_load(f.url, connections, [&](int, httplib::Client& c, bool) {
      const auto res = c.Post("/api/index/v1/documents", h, "", "text/plain");
      return res && res->status == 200;
    });
    report(state, r);
    state.SetIterationTime(std::chrono::duration<double>(load_time).count());
  }
}

long resident_kib() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// A million tokens held by the server (created through the C++ API, as the admin API would).
void tokens_memory(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    rotary::manual_clock clock{rotary::from_unix(1798761600)};
    rotary::fake_server_options o;
    o.clock = clock;
    o.max_events = 1;  // measure the tokens, not the audit log
    const long before = resident_kib();
    rotary::fake_server server{o};
    for (std::size_t i = 0; i < n; ++i)
      benchmark::DoNotOptimize(server.create_token({.rotation_period = std::chrono::minutes{3600},
                                                    .expires_at = clock.now() + std::chrono::days{365}}));
    const long after = resident_kib();
    state.counters["MB"] = static_cast<double>(after - before) / 1024.0;
    state.counters["bytes_per_token"] = static_cast<double>(after - before) * 1024.0 / static_cast<double>(n);
  }
}

}  // namespace

BENCHMARK(bare_handler)->Arg(8)->Arg(64)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(fake_rotate)->Arg(8)->Arg(64)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(fake_protected)->Arg(8)->Arg(64)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(tokens_memory)->Arg(1'000'000)->Iterations(1)->Unit(benchmark::kSecond);

BENCHMARK_MAIN();
