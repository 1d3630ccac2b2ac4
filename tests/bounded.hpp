// A call that must not block, run with a bound: a test that regresses fails instead of hanging.
//
//     bool done = rotary::test::returns_within(2s, [&] { r = store.load(); }, {fifo});
//     BOOST_TEST(done);   // false: load() was still waiting on the FIFO after 2 s
//
// When the call is still running after the bound, each FIFO given is opened for writing and
// closed again: an open() blocked on it returns and the read that follows sees the end of the
// file, so the thread ends and is joined. Assertions belong after the call, in the test's
// thread (Boost.Test's are not thread-safe); an exception thrown by the call is rethrown there.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>
#include <vector>

namespace rotary::test {

inline bool returns_within(std::chrono::milliseconds limit, const std::function<void()>& call,
                           const std::vector<std::filesystem::path>& fifos = {}) {
  std::promise<void> done;
  auto finished = done.get_future();
  std::exception_ptr error;
  std::thread worker([&] {
    try {
      call();
    } catch (...) {
      error = std::current_exception();
    }
    done.set_value();
  });
  const bool in_time = finished.wait_for(limit) == std::future_status::ready;
  while (!in_time && finished.wait_for(std::chrono::milliseconds{50}) != std::future_status::ready)
    for (const auto& f : fifos) {
      const int fd = ::open(f.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // succeeds once a reader waits
      if (fd >= 0) ::close(fd);
    }
  worker.join();
  if (error) std::rethrow_exception(error);
  return in_time;
}

}  // namespace rotary::test
