// The process runtime, parent side: tasks, containers, exec processes and reaping. What runs in
// the children between clone/fork and exec is in process_child.cpp; the programs, environments
// and users prepared for them in process_plan.cpp.

#include "sandbox/runtime/process_runtime.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/unique_fd.hpp"
#include "sandbox/runtime/process_child.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
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

using detail::clone_process;
using detail::env_has;
using detail::env_set;
using detail::ExecImage;
using detail::kDefaultPath;
using detail::read_failure;
using detail::reap_blocking;
using detail::resolve_program;
using detail::resolve_user;
using detail::SignalBlock;
using detail::status_to_code;
using detail::Step;
using detail::step_text;
using detail::UserIds;

using Fd = UniqueFd;

std::string errno_text(int err) { return std::strerror(err); }

Error setup_error(const std::string& what, int err) {
  return Error::internal(what + ": " + errno_text(err));
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
    if (pid == 0) detail::run_network_namespace_holder(wr.fd, parent);
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
    detail::ContainerInitPlan plan;
    plan.isolated = isolated;
    plan.netns_fd = task.netns.fd;
    plan.hostname = c.runtime_id.c_str();
    plan.hostname_len = c.runtime_id.size();
    plan.read_only_root = cs.read_only_root && isolated;
    plan.parent = ::getpid();
    plan.error_fd = wr.fd;
    plan.stdin_fd = null_fd.fd;
    plan.output_fd = out_fd;
    plan.working_dir = c.working_dir.c_str();
    plan.user = &user;
    plan.image = &img;

    pid_t pid;
    {
      SignalBlock block;
      unsigned long flags =
          isolated ? (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) : 0;
      pid = clone_process(flags);
      if (pid == 0) detail::run_container_init(plan);  // the container's init
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

    std::vector<int> raw_ns;
    for (const auto& f : ns_fds) raw_ns.push_back(f.fd);
    detail::ExecChildPlan plan;
    plan.tty = options.tty;
    plan.terminal_fd = slave.fd;
    plan.stdin_fd = options.tty ? slave.fd : child_in.fd;
    plan.stdout_fd = options.tty ? slave.fd : child_out.fd;
    plan.stderr_fd = options.tty ? slave.fd : child_err.fd;
    plan.error_fd = wr.fd;
    plan.parent = ::getpid();
    plan.isolated = isolated;
    plan.ns_fds = raw_ns;
    plan.ns_types = ns_types;
    plan.working_dir = working_dir.c_str();
    plan.image = &img;

    pid_t pid;
    {
      SignalBlock block;
      pid = ::_Fork();
      if (pid == 0) detail::run_exec_child(plan);
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
