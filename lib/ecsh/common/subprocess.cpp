#include "ecsh/common/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdint>

extern char** environ;

namespace ecsh::subprocess {
namespace {

// posix_spawn's attributes and file actions, destroyed with it.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Appends what is read to `into`, keeping at most `limit` bytes: the first ones (keep_tail
// false) or the last ones.
void keep(std::string& into, const char* data, std::size_t n, std::size_t limit, bool keep_tail,
          bool& cut) {
  if (!keep_tail) {
    std::size_t room = into.size() < limit ? limit - into.size() : 0;
    if (n > room) cut = true;
    into.append(data, std::min(n, room));
    return;
  }
  into.append(data, n);
  if (into.size() > limit) {
    into.erase(0, into.size() - limit);
    cut = true;
  }
}

}  // namespace

Child spawn(const Spec& spec) {
  Child child;
  if (spec.argv.empty()) {
    child.error = EINVAL;
    return child;
  }
  UniqueFd out_pipe[2], err_pipe[2];
  auto make_pipe = [](UniqueFd(&p)[2]) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return errno;
    p[0] = UniqueFd(fds[0]);
    p[1] = UniqueFd(fds[1]);
    return 0;
  };
  if (spec.out == Stream::capture) {
    if (int e = make_pipe(out_pipe)) {
      child.error = e;
      return child;
    }
  }
  if (spec.err == Stream::capture) {
    if (int e = make_pipe(err_pipe)) {
      child.error = e;
      return child;
    }
  }

  SpawnSetup setup;
  auto* actions = &setup.actions;
  if (spec.in == Stream::null)
    posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0);
  if (spec.out == Stream::null) {
    posix_spawn_file_actions_addopen(actions, 1, "/dev/null", O_WRONLY, 0);
  } else if (spec.out == Stream::capture) {
    posix_spawn_file_actions_adddup2(actions, out_pipe[1].fd, 1);
  }
  if (spec.err == Stream::null) {
    posix_spawn_file_actions_addopen(actions, 2, "/dev/null", O_WRONLY, 0);
  } else if (spec.err == Stream::capture) {
    posix_spawn_file_actions_adddup2(actions, err_pipe[1].fd, 2);
  } else if (spec.err == Stream::append_file) {
    posix_spawn_file_actions_addopen(actions, 2, spec.err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
  }
  // After the dup2s: ecsh's sockets, pipes and files are not the child's to hold open.
  posix_spawn_file_actions_addclosefrom_np(actions, 3);

  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGQUIT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> argv = spec.argv;
  auto argv_ptrs = pointers(argv);
  std::vector<std::string> env_copy;
  std::vector<char*> env_ptrs;
  char** envp = environ;
  if (spec.env) {
    env_copy = *spec.env;
    env_ptrs = pointers(env_copy);
    envp = env_ptrs.data();
  }
  pid_t pid = -1;
  int rc = spec.search_path
               ? ::posix_spawnp(&pid, argv_ptrs[0], actions, &setup.attr, argv_ptrs.data(), envp)
               : ::posix_spawn(&pid, argv_ptrs[0], actions, &setup.attr, argv_ptrs.data(), envp);
  if (rc != 0) {
    child.error = rc;
    return child;
  }
  child.pid = pid;
  child.out = std::move(out_pipe[0]);
  child.err = std::move(err_pipe[0]);
  return child;  // the write ends close here: the child holds the only ones
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Completed run(const Spec& spec) {
  Completed result;
  struct sigaction ignore {
  }, old_int{}, old_quit{};
  if (spec.ignore_interrupts) {
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &old_int);
    ::sigaction(SIGQUIT, &ignore, &old_quit);
  }
  Child child = spawn(spec);
  if (child.error != 0) {
    result.error = child.error;
  } else {
    // Read both captured streams as they come: a child that fills one pipe while ecsh waits
    // on the other would never finish.
    using Clock = std::chrono::steady_clock;
    // (A time point and a flag rather than an optional: g++ 12 warns that the optional's value
    // "may be used uninitialized".)
    const bool limited = spec.timeout.has_value();
    const Clock::time_point deadline =
        Clock::now() + spec.timeout.value_or(std::chrono::milliseconds(0));
    // Milliseconds poll() may wait: -1 without a timeout, 0 once it has passed.
    auto wait_ms = [limited, deadline]() -> int {
      if (!limited) return -1;
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1000));
    };
    char buf[4096];
    for (;;) {
      pollfd fds[2];
      nfds_t n = 0;
      if (child.out.fd >= 0) fds[n++] = pollfd{child.out.fd, POLLIN, 0};
      if (child.err.fd >= 0) fds[n++] = pollfd{child.err.fd, POLLIN, 0};
      if (n == 0) break;
      if (limited && Clock::now() >= deadline) {
        result.timed_out = true;
        ::kill(child.pid, SIGKILL);
        break;
      }
      if (::poll(fds, n, wait_ms()) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        const bool is_out = fds[i].fd == child.out.fd;
        ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) {
          (is_out ? child.out : child.err).reset();
          continue;
        }
        auto size = static_cast<std::size_t>(got);
        if (is_out) {
          keep(result.out, buf, size, spec.out_limit, false, result.out_cut);
        } else {
          keep(result.err, buf, size, spec.err_limit, true, result.err_cut);
        }
      }
    }
    child.out.reset();
    child.err.reset();
    // Its streams are closed (or were never captured); with a timeout, the child itself must
    // still end by the deadline.
    while (limited && !result.timed_out) {
      int status = 0;
      pid_t done = ::waitpid(child.pid, &status, WNOHANG);
      if (done == child.pid) {
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (done < 0 && errno != EINTR) break;
      if (Clock::now() >= deadline) {
        result.timed_out = true;
        ::kill(child.pid, SIGKILL);
        break;
      }
      ::poll(nullptr, 0, 10);
    }
    if (result.exit_code < 0) result.exit_code = wait_for(child.pid);
  }
  if (spec.ignore_interrupts) {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
  }
  return result;
}

std::vector<std::string> environment_without(const std::function<bool(std::string_view)>& drop) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string_view name = kv.substr(0, kv.find('='));
    if (!drop(name)) env.emplace_back(kv);
  }
  return env;
}

}  // namespace ecsh::subprocess
