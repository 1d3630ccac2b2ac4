// rotary/hook.hpp: run a command after a rotation (`rotary rotate --on-rotate`), and write the new
// secret to a file for a consumer that can only read one (`--secret-file`).
//
//     rotary::hook_command hook{.command = "systemctl reload myapp", .secret_env = "MYAPP_TOKEN"};
//     rotary::hook_result r = rotary::run_hook(hook, {{"ROTARY_STORE", "/var/lib/rotary/token.store"}},
//     &secret); if (!r.ok()) std::cerr << r.describe() << "\n";   // "exit 3", "timed out after 60s", ...
//
// The command is a shell command line, run as `/bin/sh -c COMMAND` (like a crontab entry) in a
// process group of its own, with stdin from /dev/null, stdout sent to stderr (a job's stdout is
// its report) and stderr inherited. Its environment is this process's plus the variables given
// (replacing any of the same name), less `unset_env`; the secret goes only into `secret_env`, and
// only when one is named. Past `timeout`, the whole process group gets SIGTERM, and SIGKILL
// `kill_grace` later. run_hook waits for the shell; it never throws for what the command does.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rotary/detail/store_file.hpp>
#include <rotary/time.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace rotary {

struct hook_command {
  std::string command;                    // a shell command line
  std::optional<std::string> secret_env;  // the variable that gets the secret; none: no secret
  seconds timeout{60};                    // then SIGTERM to the process group
  seconds kill_grace{5};                  // then SIGKILL
  std::vector<std::string> unset_env{};   // variables of this process the command must not see
  std::filesystem::path shell{"/bin/sh"};
};

struct hook_result {
  bool started = false;  // false: the shell could not be started (`error` says why)
  int exit_code = -1;    // the shell's exit status; -1 when it did not exit (signal, not started)
  int signal = 0;        // the signal that ended it, 0 when none
  bool timed_out = false;
  std::string error;  // why it could not start
  std::chrono::milliseconds took{0};
  seconds timeout{0};  // the timeout it ran with (for describe())

  [[nodiscard]] bool ok() const noexcept { return started && !timed_out && signal == 0 && exit_code == 0; }
  // "exit 0", "exit 3", "killed by signal 9", "timed out after 60s", "cannot start: ...".
  [[nodiscard]] std::string describe() const;
};

// Is `name` a usable environment variable name: [A-Za-z_][A-Za-z0-9_]*?
[[nodiscard]] inline bool is_env_name(std::string_view name) noexcept;

[[nodiscard]] inline hook_result run_hook(const hook_command& hook,
                                          const std::vector<std::pair<std::string, std::string>>& env,
                                          const std::string* secret);

// Writes `secret` and a newline to `path` atomically: a temporary file in the same directory
// (mode 0600), fsync, rename, fsync of the directory. "" when written, else what failed.
[[nodiscard]] inline std::string write_secret_file(const std::filesystem::path& path,
                                                   std::string_view secret);

// =================================================================================================

inline std::string hook_result::describe() const {
  if (!started) return "cannot start: " + error;
  if (timed_out) return "timed out after " + std::to_string(timeout.count()) + "s";
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit " + std::to_string(exit_code);
}

inline bool is_env_name(std::string_view name) noexcept {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

namespace detail {
// Reaps `pid` without blocking; true once it is reaped (status in `status`).
inline bool reap(pid_t pid, int& status) {
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) return true;
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {  // ECHILD: someone else reaped it
      status = 0;
      return true;
    }
    return false;
  }
}
}  // namespace detail

inline hook_result run_hook(const hook_command& hook,
                            const std::vector<std::pair<std::string, std::string>>& env,
                            const std::string* secret) {
  using clock = std::chrono::steady_clock;
  hook_result r;
  r.timeout = hook.timeout;
  const auto start = clock::now();

  // The environment: this process's, less what is replaced or unset, then ours.
  std::vector<std::string> names;
  names.reserve(env.size() + 1 + hook.unset_env.size());
  for (const auto& [name, value] : env) names.push_back(name);
  if (hook.secret_env && secret != nullptr) names.push_back(*hook.secret_env);
  names.insert(names.end(), hook.unset_env.begin(), hook.unset_env.end());
  std::vector<std::string> storage;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry{*e};
    const auto name = entry.substr(0, entry.find('='));
    bool dropped = false;
    for (const auto& n : names) dropped = dropped || n == name;
    if (!dropped) storage.emplace_back(entry);
  }
  for (const auto& [name, value] : env) storage.push_back(name + "=" + value);
  if (hook.secret_env && secret != nullptr) storage.push_back(*hook.secret_env + "=" + *secret);
  std::vector<char*> envp;
  envp.reserve(storage.size() + 1);
  for (auto& s : storage) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::string shell = hook.shell.string(), dash_c = "-c", command = hook.command;
  std::vector<char*> argv{shell.data(), dash_c.data(), command.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // its own process group, to end it whole
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, shell.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  for (auto& s : storage) std::fill(s.begin(), s.end(), '\0');  // the secret, if any
  if (rc != 0) {
    r.error = shell + ": " + std::error_code(rc, std::generic_category()).message();
    r.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    return r;
  }
  r.started = true;

  constexpr auto tick = std::chrono::milliseconds{10};
  int status = 0;
  bool reaped = false;
  const auto deadline = start + hook.timeout;
  while (!(reaped = detail::reap(pid, status)) && clock::now() < deadline) std::this_thread::sleep_for(tick);
  if (!reaped) {
    r.timed_out = true;
    ::kill(-pid, SIGTERM);
    const auto hard = clock::now() + hook.kill_grace;
    // Until the grace ends or the whole group is gone (a reaped shell may leave children).
    while (clock::now() < hard) {
      if (!reaped) reaped = detail::reap(pid, status);
      if (reaped && ::kill(-pid, 0) != 0 && errno == ESRCH) break;
      std::this_thread::sleep_for(tick);
    }
    ::kill(-pid, SIGKILL);
    while (!reaped) {
      if (::waitpid(pid, &status, 0) == pid || errno != EINTR) reaped = true;
    }
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  return r;
}

inline std::string write_secret_file(const std::filesystem::path& path, std::string_view secret) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  auto why = [](const std::string& step, int e) {
    return "cannot " + step + ": " + std::error_code(e, std::generic_category()).message();
  };
  std::string temp = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return why("create a temporary file in " + dir.string(), errno);
  std::string contents(secret);
  contents += '\n';
  int e = detail::write_all(fd, reinterpret_cast<const unsigned char*>(contents.data()), contents.size());
  std::fill(contents.begin(), contents.end(), '\0');
  if (e == 0 && ::fsync(fd) != 0) e = errno;
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e != 0) {
    ::unlink(temp.c_str());
    return why("write " + path.string(), e);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    e = errno;
    ::unlink(temp.c_str());
    return why("replace " + path.string(), e);
  }
  if (const int d = detail::fsync_directory(dir.string()); d != 0) return why("flush " + dir.string(), d);
  return {};
}

}  // namespace rotary
