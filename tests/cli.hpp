// Runs the built `rotary` program in a test and captures what it says.
//
//     auto r = rotary::test::run_rotary({"token", "--created", "2027-01-01T00:00:00Z", "--period", "60"});
//     BOOST_TEST(r.exit == 0);
//     BOOST_TEST(r.out.find("usable") != std::string::npos);
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace rotary::test {

struct run_result {
  int exit = -1;
  std::string out;
  std::string err;
};

// Runs `program args...` with `input` on stdin; returns its exit status and output.
inline run_result run_program(const std::string& program, const std::vector<std::string>& args,
                              const std::string& input = {}, const std::vector<std::string>& extra_env = {}) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0 || pipe(err_pipe) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
    posix_spawn_file_actions_addclose(&actions, fd);
  std::vector<std::string> argv_storage{program};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  // A program that stops reading its stdin early (it refuses the input) must not kill the test
  // by SIGPIPE: the test ignores it, and the program gets the default disposition back.
  static const bool sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipe_ignored;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw std::runtime_error("cannot start " + program);
  }
  std::size_t written = 0;
  if (input.empty()) {
    close(in_pipe[1]);
    in_pipe[1] = -1;
  } else {
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  run_result r;
  std::array<char, 4096> buf{};
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    std::array<pollfd, 3> fds{{{out_open ? out_pipe[0] : -1, POLLIN, 0},
                               {err_open ? err_pipe[0] : -1, POLLIN, 0},
                               {in_pipe[1], POLLOUT, 0}}};
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    if (fds[2].revents != 0 && in_pipe[1] >= 0) {
      const ssize_t n = write(in_pipe[1], input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 || written == input.size()) {
        close(in_pipe[1]);
        in_pipe[1] = -1;
      }
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[static_cast<std::size_t>(k)].revents == 0) continue;
      const ssize_t n = read(k == 0 ? out_pipe[0] : err_pipe[0], buf.data(), buf.size());
      if (n > 0) {
        (k == 0 ? r.out : r.err).append(buf.data(), static_cast<std::size_t>(n));
      } else {
        (k == 0 ? out_open : err_open) = false;
      }
    }
  }
  if (in_pipe[1] >= 0) close(in_pipe[1]);
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

#ifdef ROTARY_BINARY
inline run_result run_rotary(const std::vector<std::string>& args, const std::string& input = {},
                             const std::vector<std::string>& extra_env = {}) {
  return run_program(ROTARY_BINARY, args, input, extra_env);
}
#endif

}  // namespace rotary::test
