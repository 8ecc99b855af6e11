#include "sandbox/runtime/process_runtime.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/unique_fd.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace ecsh::sandbox::runtime {

namespace {

// ---------------------------------------------------------------------------------------------
// What a child reports on its error pipe before it gives up: the step and errno. The pipe is
// close-on-exec, so end of file means the program was executed.

enum class Step : int {
  netns = 1,
  make_private,
  mount_proc,
  hostname,
  read_only,
  setns,
  chdir,
  user,
  exec,
  fork,
  terminal,
};

struct ChildFailure {
  int step = 0;
  int err = 0;
};

const char* step_text(int step) {
  switch (static_cast<Step>(step)) {
    case Step::netns:
      return "joining the task's network namespace";
    case Step::make_private:
      return "making the container's mounts private";
    case Step::mount_proc:
      return "mounting /proc in the container";
    case Step::hostname:
      return "setting the container's hostname";
    case Step::read_only:
      return "remounting the container's root filesystem read-only";
    case Step::setns:
      return "entering the container's namespaces";
    case Step::chdir:
      return "changing to the working directory";
    case Step::user:
      return "switching to the container's user";
    case Step::exec:
      return "executing the program";
    case Step::fork:
      return "starting a process";
    case Step::terminal:
      return "attaching the terminal";
  }
  return "starting the process";
}

// Async-signal-safe helpers for the code that runs between fork and exec (the runtime may have
// other threads: no malloc, no locks, no stdio there).

void write_failure(int fd, Step step, int err) {
  ChildFailure f;
  f.step = static_cast<int>(step);
  f.err = err;
  if (fd >= 0) {
    ssize_t n;
    do n = ::write(fd, &f, sizeof f);
    while (n < 0 && errno == EINTR);
  }
}

[[noreturn]] void fail_child(int fd, Step step, int code = 127) {
  write_failure(fd, step, errno);
  ::_exit(code);
}

void reset_signal_dispositions() {
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    ::sigaction(s, &sa, nullptr);  // fails harmlessly for the C library's reserved signals
  }
}

void unblock_all_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Dies with the process (thread) that started us, closing the race where it already died.
// expected_parent is getppid() as seen from here: 0 when the parent is outside our pid namespace.
void die_with_parent(pid_t expected_parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != expected_parent) ::_exit(137);
}

int status_to_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// A fork that starts new namespaces in the child (like clone(2) without a new stack). The child
// must only make system calls until it executes a program or exits.
pid_t clone_process(unsigned long flags) {
  return static_cast<pid_t>(
      ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

// Waits (all signals blocked) until `child` exits and returns its exit code, reaping any other
// child on the way (as PID 1 must). Signals other than SIGCHLD are forwarded to `child`, except
// a SIGTERM that came from outside (the runtime signals the whole process group itself).
int supervise(pid_t child, pid_t outside_sender) {
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info;
    int s = ::sigwaitinfo(&all, &info);
    if (s < 0) continue;
    if (s == SIGCHLD) {
      for (;;) {
        int status = 0;
        pid_t p = ::waitpid(-1, &status, WNOHANG);
        if (p <= 0) break;
        if (p == child) return status_to_code(status);
      }
      continue;
    }
    if (s == SIGTERM && (info.si_pid == 0 || info.si_pid == outside_sender)) continue;
    ::kill(child, s);
  }
}

// ---------------------------------------------------------------------------------------------
// Plans prepared in the parent: everything the child needs, as plain pointers.

struct ExecImage {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv_ptrs;
  std::vector<char*> env_ptrs;

  void finish() {
    argv_ptrs.clear();
    env_ptrs.clear();
    for (auto& a : args) argv_ptrs.push_back(a.data());
    argv_ptrs.push_back(nullptr);
    for (auto& e : env) env_ptrs.push_back(e.data());
    env_ptrs.push_back(nullptr);
  }
};

struct UserIds {
  bool set = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

using Fd = UniqueFd;

std::string errno_text(int err) { return std::strerror(err); }

Error setup_error(const std::string& what, int err) {
  return Error::internal(what + ": " + errno_text(err));
}

const std::string kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string env_value(const EnvList& env, const std::string& key) {
  for (auto it = env.rbegin(); it != env.rend(); ++it)
    if (it->first == key) return it->second;
  return {};
}

bool env_has(const EnvList& env, const std::string& key) {
  for (const auto& kv : env)
    if (kv.first == key) return true;
  return false;
}

void env_set(EnvList& env, const std::string& key, const std::string& value) {
  for (auto& kv : env)
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  env.emplace_back(key, value);
}

std::vector<std::string> env_strings(const EnvList& env) {
  std::vector<std::string> out;
  std::map<std::string, std::size_t> index;  // the last value of a key wins
  for (const auto& [k, v] : env) {
    auto it = index.find(k);
    if (it != index.end()) {
      out[it->second] = k + "=" + v;
    } else {
      index.emplace(k, out.size());
      out.push_back(k + "=" + v);
    }
  }
  return out;
}

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// argv[0] → the program to execute: built-ins map to the builtin executable, a name without a
// slash is looked up in PATH (the image is the host filesystem, so the lookup is the same here).
Result<ExecImage> resolve_program(const std::vector<std::string>& argv, const EnvList& env,
                                  const std::string& builtin_exe) {
  if (argv.empty() || argv[0].empty()) return Error::usage("the command is empty");
  ExecImage img;
  if (argv[0] == "sandbox-httpd" || argv[0] == "sandbox-http-get") {
    if (builtin_exe.empty())
      return Error::internal("the sandbox's built-in tools are unavailable (no executable)");
    img.path = builtin_exe;
    img.args = {builtin_exe, "builtin", argv[0].substr(std::strlen("sandbox-"))};
    img.args.insert(img.args.end(), argv.begin() + 1, argv.end());
  } else {
    img.args = argv;
    if (argv[0].find('/') != std::string::npos) {
      img.path = argv[0];
      if (!is_executable_file(img.path))
        return Error::usage("exec: \"" + argv[0] + "\": no such executable file");
    } else {
      std::string path = env_has(env, "PATH") ? env_value(env, "PATH") : kDefaultPath;
      std::size_t start = 0;
      while (start <= path.size()) {
        auto end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + argv[0];
        if (is_executable_file(candidate)) {
          img.path = candidate;
          break;
        }
        start = end + 1;
      }
      if (img.path.empty())
        return Error::usage("exec: \"" + argv[0] + "\": executable file not found in $PATH");
    }
  }
  img.env = env_strings(env);
  img.finish();
  return img;
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

Result<UserIds> resolve_user(const std::string& user) {
  UserIds ids;
  if (user.empty()) return ids;
  std::string u = user, g;
  if (auto colon = user.find(':'); colon != std::string::npos) {
    u = user.substr(0, colon);
    g = user.substr(colon + 1);
  }
  ids.set = true;
  std::vector<char> buf(16384);
  if (all_digits(u)) {
    ids.uid = static_cast<uid_t>(std::stoul(u));
    struct passwd pw, *res = nullptr;
    ids.gid = (::getpwuid_r(ids.uid, &pw, buf.data(), buf.size(), &res) == 0 && res)
                  ? pw.pw_gid
                  : static_cast<gid_t>(ids.uid);
  } else {
    struct passwd pw, *res = nullptr;
    if (::getpwnam_r(u.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res)
      return Error::usage("unable to find user " + u + ": no matching entries in passwd file");
    ids.uid = pw.pw_uid;
    ids.gid = pw.pw_gid;
  }
  if (!g.empty()) {
    if (all_digits(g)) {
      ids.gid = static_cast<gid_t>(std::stoul(g));
    } else {
      struct group gr, *res = nullptr;
      if (::getgrnam_r(g.c_str(), &gr, buf.data(), buf.size(), &res) != 0 || !res)
        return Error::usage("unable to find group " + g + ": no matching entries in group file");
      ids.gid = gr.gr_gid;
    }
  }
  return ids;
}

// Raw system calls: the C library's setuid() would try to synchronise threads that the child
// of a fork does not have.
bool switch_user(const UserIds& ids) {
  if (!ids.set) return true;
  gid_t groups[1] = {ids.gid};
  return ::syscall(SYS_setgroups, 1, groups) == 0 &&
         ::syscall(SYS_setresgid, ids.gid, ids.gid, ids.gid) == 0 &&
         ::syscall(SYS_setresuid, ids.uid, ids.uid, ids.uid) == 0;
}

// Reads the child's report: nullopt when the pipe reached end of file (the program runs).
std::optional<ChildFailure> read_failure(int fd) {
  ChildFailure f;
  std::size_t got = 0;
  auto* p = reinterpret_cast<char*>(&f);
  while (got < sizeof f) {
    pollfd pfd{fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, 10000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      f.step = static_cast<int>(Step::exec);
      f.err = ETIMEDOUT;
      return f;
    }
    ssize_t n = ::read(fd, p + got, sizeof f - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < sizeof f) return std::nullopt;
  return f;
}

class SignalBlock {
 public:
  SignalBlock() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old_);
  }
  ~SignalBlock() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t old_;
};

void reap_blocking(pid_t pid) {
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// A new network namespace with loopback up, kept alive by the returned descriptor. EPERM (no
// privilege for namespaces) is returned as such so that the caller can fall back.
Result<Fd> make_network_namespace(int* err_out) {
  *err_out = 0;
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return setup_error("pipe", errno);
  Fd rd(pipefd[0]), wr(pipefd[1]);
  pid_t parent = ::getpid();
  pid_t pid;
  {
    SignalBlock block;
    pid = clone_process(CLONE_NEWNET);
    if (pid == 0) {
      die_with_parent(parent);
      int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct ifreq ifr;
      std::memset(&ifr, 0, sizeof ifr);
      std::memcpy(ifr.ifr_name, "lo", 3);
      if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) fail_child(wr.fd, Step::netns, 1);
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
      if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) fail_child(wr.fd, Step::netns, 1);
      write_failure(wr.fd, Step::netns, 0);  // ready
      sigset_t all;
      sigfillset(&all);
      for (;;) ::sigsuspend(&all);  // until the parent kills us
    }
  }
  if (pid < 0) {
    *err_out = errno;
    return setup_error("creating a network namespace", errno);
  }
  wr.reset();
  auto report = read_failure(rd.fd);
  Fd ns;
  if (report && report->err == 0) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    ns = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  }
  int open_err = errno;
  ::kill(pid, SIGKILL);
  reap_blocking(pid);
  if (!report) return Error::internal("creating a network namespace: the helper exited");
  if (report->err != 0)
    return setup_error("bringing up loopback in the task's network namespace", report->err);
  if (ns.fd < 0) return setup_error("opening the task's network namespace", open_err);
  return ns;
}

std::string new_runtime_id() { return crypto::hex(crypto::random_bytes(6)); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// ExecProcess

struct ExecProcess::State {
  explicit State(asio::any_io_executor ex) : done(ex, asio::steady_timer::time_point::max()) {}
  pid_t pid = -1;
  pid_t group = -1;  // the session the program leads, when visible from here (no pid namespace)
  bool tty = false;
  Fd master, in, out, err;
  std::optional<int> exit_code;
  asio::steady_timer done;  // cancelled when the process has exited

  void finish(int code) {
    if (exit_code) return;
    exit_code = code;
    done.cancel();
  }
};

ExecProcess::ExecProcess(std::shared_ptr<State> state) : state_(std::move(state)) {}
ExecProcess::~ExecProcess() = default;

int ExecProcess::pid() const { return state_->pid; }
bool ExecProcess::tty() const { return state_->tty; }
int ExecProcess::master_fd() const { return state_->master.fd; }
int ExecProcess::stdin_fd() const { return state_->in.fd; }
int ExecProcess::stdout_fd() const { return state_->out.fd; }
int ExecProcess::stderr_fd() const { return state_->err.fd; }
int ExecProcess::release_master_fd() { return state_->master.release(); }
int ExecProcess::release_stdin_fd() { return state_->in.release(); }
int ExecProcess::release_stdout_fd() { return state_->out.release(); }
int ExecProcess::release_stderr_fd() { return state_->err.release(); }
void ExecProcess::close_stdin() { state_->in.reset(); }

Result<void> ExecProcess::resize(unsigned short cols, unsigned short rows) {
  if (state_->master.fd < 0) return Error::usage("the process has no terminal to resize");
  struct winsize ws;
  std::memset(&ws, 0, sizeof ws);
  ws.ws_col = cols;
  ws.ws_row = rows;
  if (::ioctl(state_->master.fd, TIOCSWINSZ, &ws) != 0)
    return setup_error("resizing the terminal", errno);
  return ok();
}

void ExecProcess::kill(int signal) {
  if (state_->exit_code || state_->pid <= 0) return;  // reaped: the PID may be someone else's
  ::kill(state_->pid, signal);
}

std::optional<int> ExecProcess::exit_code() const { return state_->exit_code; }

void ExecProcess::async_wait(std::function<void(int)> done) {
  auto state = state_;
  if (state->exit_code) {
    asio::post(state->done.get_executor(),
               [state, done = std::move(done)] { done(*state->exit_code); });
    return;
  }
  state->done.async_wait([state, done = std::move(done)](boost::system::error_code) {
    done(state->exit_code.value_or(255));
  });
}

Awaitable<int> ExecProcess::wait() {
  auto state = state_;
  while (!state->exit_code) {
    auto [ec] = co_await state->done.async_wait(use_awaitable_nothrow);
    (void)ec;
  }
  co_return *state->exit_code;
}

// ---------------------------------------------------------------------------------------------
// ProcessRuntime

struct ProcessRuntime::Impl : std::enable_shared_from_this<ProcessRuntime::Impl> {
  struct Container {
    std::string name;
    std::string runtime_id;
    pid_t pid = -1;
    bool exited = false;
    EnvList env;
    std::string working_dir;
  };
  struct TaskEntry {
    std::string id;
    bool isolated = false;
    Fd netns;
    std::vector<Container> containers;
    ExitCallback on_exit;
    std::vector<std::function<void()>> on_stopped;
    std::unique_ptr<asio::steady_timer> kill_timer;
  };
  enum class Namespaces { unknown, yes, no };

  Impl(asio::any_io_executor ex, RuntimeOptions opts)
      : executor(ex), options(std::move(opts)), sigchld(ex, SIGCHLD) {
    builtin_exe = options.builtin_exe;
    if (builtin_exe.empty()) {
      char buf[4096];
      ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
      if (n > 0) builtin_exe.assign(buf, static_cast<std::size_t>(n));
    }
    namespaces = options.use_namespaces ? Namespaces::unknown : Namespaces::no;
  }

  asio::any_io_executor executor;
  RuntimeOptions options;
  std::string builtin_exe;
  asio::signal_set sigchld;
  Namespaces namespaces;
  std::map<std::string, std::unique_ptr<TaskEntry>> tasks;
  std::vector<std::shared_ptr<ExecProcess::State>> execs;
  bool is_shut_down = false;

  void arm() {
    std::weak_ptr<Impl> weak = weak_from_this();
    sigchld.async_wait([weak](boost::system::error_code ec, int) {
      if (ec) return;
      auto self = weak.lock();
      if (!self || self->is_shut_down) return;
      self->on_sigchld();
      if (!self->is_shut_down) self->arm();
    });
  }

  void fall_back(const char* why) {
    if (namespaces == Namespaces::no) return;
    namespaces = Namespaces::no;
    static std::atomic<bool> said{false};  // once per process, however many runtimes
    if (said.exchange(true)) return;
    std::fprintf(stderr,
                 "ecsh-sandbox: Linux namespaces are not permitted here (%s); containers run as "
                 "plain host processes without isolation\n",
                 why);
  }

  // Reaps the container inits and exec processes that have exited; then runs the callbacks.
  void on_sigchld() {
    std::vector<std::function<void()>> calls;
    for (auto it = tasks.begin(); it != tasks.end();) {
      TaskEntry& t = *it->second;
      for (auto& c : t.containers) {
        if (c.exited) continue;
        siginfo_t info;
        std::memset(&info, 0, sizeof info);
        if (::waitid(P_PID, static_cast<id_t>(c.pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            info.si_pid != c.pid)
          continue;
        // Without a pid namespace nothing takes the rest of the tree down: its process group
        // still exists while the init is a zombie, so the PGID cannot have been reused yet.
        if (!t.isolated) ::kill(-c.pid, SIGKILL);
        int status = 0;
        while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
        }
        c.exited = true;
        ContainerExit ex;
        ex.task_id = t.id;
        ex.container = c.name;
        ex.exit_code = status_to_code(status);
        ex.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        if (t.on_exit) calls.push_back([cb = t.on_exit, ex] { cb(ex); });
      }
      bool all_exited = true;
      for (const auto& c : t.containers) all_exited = all_exited && c.exited;
      if (all_exited) {
        for (auto& f : t.on_stopped) calls.push_back(std::move(f));
        if (t.kill_timer) t.kill_timer->cancel();
        it = tasks.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = execs.begin(); it != execs.end();) {
      pid_t pid = (*it)->pid;
      siginfo_t info;
      std::memset(&info, 0, sizeof info);
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        if ((*it)->group > 0) ::kill(-(*it)->group, SIGKILL);  // its session's leftovers
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        (*it)->finish(status_to_code(status));
        it = execs.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& f : calls) f();
  }

  Result<StartedTask> start_task(const TaskSpec& spec, ExitCallback on_exit) {
    if (is_shut_down) return Error::internal("the process runtime is shut down");
    if (spec.task_id.empty()) return Error::usage("the task id is empty");
    if (tasks.count(spec.task_id))
      return Error::usage("task " + spec.task_id + " is already running");
    if (spec.containers.empty()) return Error::usage("task " + spec.task_id + " has no containers");
    for (std::size_t i = 0; i < spec.containers.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (spec.containers[i].name == spec.containers[j].name)
          return Error::usage("task " + spec.task_id + " has two containers named " +
                              spec.containers[i].name);

    auto task = std::make_unique<TaskEntry>();
    task->id = spec.task_id;
    task->on_exit = std::move(on_exit);

    if (namespaces != Namespaces::no) {
      int err = 0;
      auto ns = make_network_namespace(&err);
      if (ns) {
        namespaces = Namespaces::yes;
        task->netns = std::move(ns.value());
      } else if (err == EPERM || err == EACCES || err == EINVAL || err == ENOSYS) {
        fall_back(std::strerror(err));
      } else {
        return std::move(ns.error());
      }
    }
    task->isolated = namespaces == Namespaces::yes;

    StartedTask started;
    started.task_id = spec.task_id;
    started.isolated = task->isolated;
    for (const auto& cs : spec.containers) {
      auto c = start_container(*task, cs);
      if (!c) {
        kill_task_now(*task);
        Error e = c.error();
        e.message = "container " + cs.name + ": " + e.message;
        return e;
      }
      StartedContainer sc;
      sc.name = c.value().name;
      sc.runtime_id = c.value().runtime_id;
      sc.pid = c.value().pid;
      started.containers.push_back(sc);
      task->containers.push_back(std::move(c.value()));
    }
    started.isolated = task->isolated;
    tasks.emplace(spec.task_id, std::move(task));
    return started;
  }

  Result<Container> start_container(TaskEntry& task, const ContainerSpec& cs) {
    Container c;
    c.name = cs.name;
    c.runtime_id = new_runtime_id();
    c.working_dir = cs.working_dir.empty() ? "/" : cs.working_dir;
    c.env = cs.env;
    if (!env_has(c.env, "PATH")) c.env.emplace_back("PATH", kDefaultPath);
    if (!env_has(c.env, "HOME")) c.env.emplace_back("HOME", "/root");
    if (task.isolated && !env_has(c.env, "HOSTNAME")) c.env.emplace_back("HOSTNAME", c.runtime_id);
    env_set(c.env, "ECSH_SANDBOX_TASK_ID", task.id);
    env_set(c.env, "ECSH_SANDBOX_CONTAINER", cs.name);

    ECSH_TRY(auto img, resolve_program(cs.argv, c.env, builtin_exe));
    ECSH_TRY(auto user, resolve_user(cs.user));
    Fd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (null_fd.fd < 0) return setup_error("opening /dev/null", errno);
    Fd log_fd;
    if (!cs.log_path.empty()) {
      log_fd = Fd(::open(cs.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
      if (log_fd.fd < 0) return setup_error("opening the log file " + cs.log_path, errno);
    }
    int out_fd = log_fd.fd >= 0 ? log_fd.fd : null_fd.fd;
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return setup_error("pipe", errno);
    Fd rd(pipefd[0]), wr(pipefd[1]);

    const bool isolated = task.isolated;
    const int netns_fd = task.netns.fd;
    const char* hostname = c.runtime_id.c_str();
    const std::size_t hostname_len = c.runtime_id.size();
    const char* workdir = c.working_dir.c_str();
    const bool read_only = cs.read_only_root && isolated;
    const pid_t parent = ::getpid();

    pid_t pid;
    {
      SignalBlock block;
      unsigned long flags =
          isolated ? (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) : 0;
      pid = clone_process(flags);
      if (pid == 0) {
        // The container's init.
        reset_signal_dispositions();
        die_with_parent(isolated ? 0 : parent);
        int errfd = wr.fd;
        if (isolated) {
          if (::setns(netns_fd, CLONE_NEWNET) != 0) fail_child(errfd, Step::netns);
          if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            fail_child(errfd, Step::make_private);
          if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
            fail_child(errfd, Step::mount_proc);
          if (::sethostname(hostname, hostname_len) != 0) fail_child(errfd, Step::hostname);
          // Its own /dev/shm, as Docker gives (best effort: the host may not have one).
          ::mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=1777,size=65536k");
          if (read_only &&
              ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
            fail_child(errfd, Step::read_only);
        } else {
          ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        }
        ::setsid();
        if (::dup2(null_fd.fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0)
          fail_child(errfd, Step::fork);
        if (errfd != 3) {
          if (::dup2(errfd, 3) < 0) fail_child(errfd, Step::fork);
          errfd = 3;
        }
        ::fcntl(3, F_SETFD, FD_CLOEXEC);
        ::close_range(4, ~0U, 0);
        pid_t init_pid = ::getpid();
        pid_t w = ::_Fork();
        if (w < 0) fail_child(3, Step::fork);
        if (w == 0) {
          die_with_parent(isolated ? 1 : init_pid);
          if (::chdir(workdir) != 0) fail_child(3, Step::chdir);
          if (!switch_user(user)) fail_child(3, Step::user);
          unblock_all_signals();
          ::execve(img.path.c_str(), img.argv_ptrs.data(), img.env_ptrs.data());
          fail_child(3, Step::exec);
        }
        ::close(3);
        ::_exit(supervise(w, isolated ? 0 : parent));
      }
    }
    if (pid < 0) return setup_error("starting the container's init", errno);
    wr.reset();
    if (auto failure = read_failure(rd.fd)) {
      if (!isolated) ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      reap_blocking(pid);
      std::string what = std::string(step_text(failure->step)) + " failed";
      if (failure->step == static_cast<int>(Step::exec)) what += " (" + img.path + ")";
      return setup_error(what, failure->err);
    }
    c.pid = pid;
    return c;
  }

  void kill_container_now(bool isolated, Container& c) {
    if (c.exited || c.pid <= 0) return;
    ::kill(-c.pid, SIGKILL);
    ::kill(c.pid, SIGKILL);
    reap_blocking(c.pid);
    if (!isolated) ::kill(-c.pid, SIGKILL);
    c.exited = true;
  }

  void kill_task_now(TaskEntry& t) {
    for (auto& c : t.containers) kill_container_now(t.isolated, c);
  }

  void stop_task(const std::string& task_id, std::chrono::milliseconds grace,
                 std::function<void()> on_stopped) {
    auto it = tasks.find(task_id);
    if (it == tasks.end()) {
      if (on_stopped) asio::post(executor, std::move(on_stopped));
      return;
    }
    TaskEntry& t = *it->second;
    if (on_stopped) t.on_stopped.push_back(std::move(on_stopped));
    int first = grace.count() > 0 ? SIGTERM : SIGKILL;
    for (auto& c : t.containers) {
      if (c.exited) continue;
      ::kill(-c.pid, first);
      if (first == SIGKILL) ::kill(c.pid, SIGKILL);
    }
    if (first == SIGKILL || t.kill_timer) return;
    t.kill_timer = std::make_unique<asio::steady_timer>(executor, grace);
    std::weak_ptr<Impl> weak = weak_from_this();
    t.kill_timer->async_wait([weak, task_id](boost::system::error_code ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self) return;
      auto found = self->tasks.find(task_id);
      if (found == self->tasks.end()) return;
      for (auto& c : found->second->containers) {
        if (c.exited) continue;
        ::kill(-c.pid, SIGKILL);
        ::kill(c.pid, SIGKILL);
      }
    });
  }

  Result<std::shared_ptr<ExecProcess>> exec(const std::string& task_id,
                                            const std::string& container,
                                            const std::vector<std::string>& argv,
                                            const ExecOptions& options) {
    if (is_shut_down) return Error::internal("the process runtime is shut down");
    auto it = tasks.find(task_id);
    if (it == tasks.end()) return Error::usage("task " + task_id + " is not running");
    TaskEntry& t = *it->second;
    Container* c = nullptr;
    for (auto& cc : t.containers)
      if (cc.name == container) c = &cc;
    if (!c) return Error::usage("task " + task_id + " has no container named " + container);
    if (c->exited) return Error::usage("container " + container + " is not running");

    EnvList env = c->env;
    for (const auto& [k, v] : options.env) env_set(env, k, v);
    if (!env_has(env, "TERM")) env.emplace_back("TERM", "xterm-256color");
    if (!env_has(env, "LANG")) env.emplace_back("LANG", "C.UTF-8");
    ECSH_TRY(auto img, resolve_program(argv, env, builtin_exe));

    // The container's namespaces, entered by the child (pid last: it applies to its children).
    std::vector<Fd> ns_fds;
    std::vector<int> ns_types;
    if (t.isolated) {
      static const std::pair<const char*, int> kinds[] = {{"net", CLONE_NEWNET},
                                                          {"uts", CLONE_NEWUTS},
                                                          {"ipc", CLONE_NEWIPC},
                                                          {"pid", CLONE_NEWPID},
                                                          {"mnt", CLONE_NEWNS}};
      for (const auto& [name, type] : kinds) {
        std::string path = "/proc/" + std::to_string(c->pid) + "/ns/" + name;
        Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (f.fd < 0) return setup_error("opening " + path, errno);
        ns_fds.push_back(std::move(f));
        ns_types.push_back(type);
      }
    }

    return spawn(img, c->working_dir, t.isolated, std::move(ns_fds), std::move(ns_types), options);
  }

  Result<std::shared_ptr<ExecProcess>> exec_host(const std::vector<std::string>& argv,
                                                 const ExecOptions& options) {
    if (is_shut_down) return Error::internal("the process runtime is shut down");
    EnvList env = options.env;
    if (!env_has(env, "TERM")) env.emplace_back("TERM", "xterm-256color");
    if (!env_has(env, "LANG")) env.emplace_back("LANG", "C.UTF-8");
    ECSH_TRY(auto img, resolve_program(argv, env, builtin_exe));
    return spawn(img, options.working_dir.empty() ? std::string("/") : options.working_dir, false,
                 {}, {}, options);
  }

  // Starts the program with a pty or pipes, inside the namespaces given (none: on the host).
  Result<std::shared_ptr<ExecProcess>> spawn(const ExecImage& img, const std::string& working_dir,
                                             bool isolated, std::vector<Fd> ns_fds,
                                             std::vector<int> ns_types,
                                             const ExecOptions& options) {
    auto state = std::make_shared<ExecProcess::State>(executor);
    state->tty = options.tty;
    Fd slave, child_in, child_out, child_err;
    if (options.tty) {
      state->master = Fd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (state->master.fd < 0) return setup_error("opening a pseudo-terminal", errno);
      if (::grantpt(state->master.fd) != 0 || ::unlockpt(state->master.fd) != 0)
        return setup_error("unlocking the pseudo-terminal", errno);
      char name[128];
      if (::ptsname_r(state->master.fd, name, sizeof name) != 0)
        return setup_error("naming the pseudo-terminal", errno);
      slave = Fd(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (slave.fd < 0) return setup_error(std::string("opening ") + name, errno);
      struct winsize ws;
      std::memset(&ws, 0, sizeof ws);
      ws.ws_col = options.cols;
      ws.ws_row = options.rows;
      ::ioctl(state->master.fd, TIOCSWINSZ, &ws);
    } else {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return setup_error("pipe", errno);
      child_in = Fd(p[0]);
      state->in = Fd(p[1]);
      if (::pipe2(p, O_CLOEXEC) != 0) return setup_error("pipe", errno);
      state->out = Fd(p[0]);
      child_out = Fd(p[1]);
      if (::pipe2(p, O_CLOEXEC) != 0) return setup_error("pipe", errno);
      state->err = Fd(p[0]);
      child_err = Fd(p[1]);
    }
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return setup_error("pipe", errno);
    Fd rd(pipefd[0]), wr(pipefd[1]);

    const bool tty = options.tty;
    const char* workdir = working_dir.c_str();
    const pid_t parent = ::getpid();
    std::vector<int> raw_ns;
    for (const auto& f : ns_fds) raw_ns.push_back(f.fd);

    // The program: session leader with the terminal (or pipes) as stdio; fd 3 is the error pipe.
    auto run_program = [&](int errfd) {
      ::setsid();
      int in_fd = tty ? slave.fd : child_in.fd;
      int out_fd = tty ? slave.fd : child_out.fd;
      int err_fd = tty ? slave.fd : child_err.fd;
      if (tty && ::ioctl(slave.fd, TIOCSCTTY, 0) != 0) fail_child(errfd, Step::terminal);
      // Move the error pipe out of the way of stdio first.
      int e = ::fcntl(errfd, F_DUPFD_CLOEXEC, 10);
      if (e < 0 || ::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0 ||
          ::dup2(e, 3) < 0)
        fail_child(errfd, Step::fork);
      ::fcntl(3, F_SETFD, FD_CLOEXEC);
      ::close_range(4, ~0U, 0);
      if (::chdir(workdir) != 0) fail_child(3, Step::chdir);
      unblock_all_signals();
      ::execve(img.path.c_str(), img.argv_ptrs.data(), img.env_ptrs.data());
      fail_child(3, Step::exec);
    };

    pid_t pid;
    {
      SignalBlock block;
      pid = ::_Fork();
      if (pid == 0) {
        reset_signal_dispositions();
        die_with_parent(parent);
        if (!isolated) run_program(wr.fd);
        for (std::size_t i = 0; i < raw_ns.size(); ++i)
          if (::setns(raw_ns[i], ns_types[i]) != 0) fail_child(wr.fd, Step::setns, 126);
        pid_t g = ::_Fork();
        if (g < 0) fail_child(wr.fd, Step::fork, 126);
        if (g == 0) {
          die_with_parent(0);  // E is outside the container's pid namespace
          run_program(wr.fd);
        }
        // The intermediate stays outside the container (its PID is ours to wait for) and
        // holds nothing of the runtime's.
        ::close_range(3, ~0U, 0);
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
          ::dup2(null, 0);
          ::dup2(null, 1);
          ::dup2(null, 2);
          if (null > 2) ::close(null);
        }
        ::_exit(supervise(g, -1));
      }
    }
    if (pid < 0) return setup_error("starting the exec process", errno);
    wr.reset();
    slave.reset();
    child_in.reset();
    child_out.reset();
    child_err.reset();
    if (auto failure = read_failure(rd.fd)) {
      if (!isolated) ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      reap_blocking(pid);
      std::string what = std::string(step_text(failure->step)) + " failed";
      if (failure->step == static_cast<int>(Step::exec)) what += " (" + img.path + ")";
      return setup_error(what, failure->err);
    }
    state->pid = pid;
    state->group = isolated ? -1 : pid;
    execs.push_back(state);
    // It may have exited already, before we knew its PID.
    asio::post(executor, [weak = weak_from_this()] {
      if (auto self = weak.lock(); self && !self->is_shut_down) self->on_sigchld();
    });
    return std::make_shared<ExecProcess>(state);
  }

  std::size_t running_tasks() const {
    std::size_t n = 0;
    for (const auto& [id, t] : tasks) {
      for (const auto& c : t->containers)
        if (!c.exited) {
          ++n;
          break;
        }
    }
    return n;
  }

  void shutdown() {
    if (is_shut_down) return;
    is_shut_down = true;
    boost::system::error_code ec;
    sigchld.cancel(ec);
    for (auto& [id, t] : tasks) {
      if (t->kill_timer) t->kill_timer->cancel();
      kill_task_now(*t);
    }
    tasks.clear();
    for (auto& e : execs) {
      if (e->exit_code) continue;
      ::kill(e->pid, SIGKILL);
      if (e->group > 0) ::kill(-e->group, SIGKILL);
      int status = 0;
      while (::waitpid(e->pid, &status, 0) < 0 && errno == EINTR) {
      }
      e->finish(status_to_code(status));
    }
    execs.clear();
  }
};

ProcessRuntime::ProcessRuntime(asio::any_io_executor executor, RuntimeOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {
  impl_->arm();
}

ProcessRuntime::~ProcessRuntime() { impl_->shutdown(); }

Result<StartedTask> ProcessRuntime::start_task(const TaskSpec& spec, ExitCallback on_exit) {
  auto r = impl_->start_task(spec, std::move(on_exit));
  // A container may have exited before we recorded it.
  asio::post(impl_->executor, [weak = std::weak_ptr<Impl>(impl_)] {
    if (auto self = weak.lock(); self && !self->is_shut_down) self->on_sigchld();
  });
  return r;
}

void ProcessRuntime::stop_task(const std::string& task_id, std::chrono::milliseconds grace,
                               std::function<void()> on_stopped) {
  impl_->stop_task(task_id, grace, std::move(on_stopped));
}

Result<std::shared_ptr<ExecProcess>> ProcessRuntime::exec_host(const std::vector<std::string>& argv,
                                                               const ExecOptions& options) {
  return impl_->exec_host(argv, options);
}

Result<std::shared_ptr<ExecProcess>> ProcessRuntime::exec(const std::string& task_id,
                                                          const std::string& container,
                                                          const std::vector<std::string>& argv,
                                                          const ExecOptions& options) {
  return impl_->exec(task_id, container, argv, options);
}

Result<int> socket_in_network_namespace(int netns_fd, int family) {
  if (netns_fd < 0) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return setup_error("socket", errno);
    return fd;
  }
  // A socket belongs to the namespace it was made in; only this thread moves, and back.
  Fd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (own.fd < 0) return setup_error("opening this thread's network namespace", errno);
  if (::setns(netns_fd, CLONE_NEWNET) != 0) {
    return setup_error("entering the task's network namespace", errno);
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int socket_err = errno;
  if (::setns(own.fd, CLONE_NEWNET) != 0) {
    // Every later socket of this thread would land in the task: not recoverable.
    std::fprintf(stderr, "ecsh-sandbox: cannot return to the host's network namespace\n");
    std::abort();
  }
  if (fd < 0) return setup_error("socket in the task's network namespace", socket_err);
  return fd;
}

Result<int> ProcessRuntime::open_task_socket(const std::string& task_id, int family) {
  auto it = impl_->tasks.find(task_id);
  if (it == impl_->tasks.end()) return Error::usage("task " + task_id + " is not running");
  return socket_in_network_namespace(it->second->isolated ? it->second->netns.fd : -1, family);
}

std::size_t ProcessRuntime::running_tasks() const { return impl_->running_tasks(); }

bool ProcessRuntime::namespaces_active() const {
  return impl_->namespaces == Impl::Namespaces::yes;
}

void ProcessRuntime::shutdown() { impl_->shutdown(); }

}  // namespace ecsh::sandbox::runtime
