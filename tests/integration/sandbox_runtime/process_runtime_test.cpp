// The process runtime against real processes. Every test runs twice: with namespaces (skipped
// with the reason when this machine does not permit them; CI runs as root) and with the plain
// process fallback. Timeouts are bounded; only the processes the runtime started are killed.

#include "sandbox/runtime/process_runtime.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#ifndef ECSH_TEST_BUILTIN_EXE
#error "ECSH_TEST_BUILTIN_EXE must name the built-in helper executable"
#endif

namespace {

using namespace ecsh::sandbox::runtime;
namespace asio = ecsh::asio;
using namespace std::chrono_literals;

struct Output {
  int code = -1;
  std::string out;
  std::string err;
};

// Reads fds until each reaches end of file (EIO for a pty master whose terminal closed).
void drain(std::vector<std::pair<int, std::string*>> fds, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!fds.empty() && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> p;
    for (auto& [fd, s] : fds) p.push_back(pollfd{fd, POLLIN, 0});
    int r = ::poll(p.data(), p.size(), 100);
    if (r <= 0) continue;
    for (std::size_t i = p.size(); i-- > 0;) {
      if (!p[i].revents) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].first, buf, sizeof buf);
      if (n > 0) {
        fds[i].second->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
}

std::uint16_t free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a;
  std::memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// The state letter of a process, or 0 when it is gone.
char process_state(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return 0;
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

bool gone_or_zombie(int pid) {
  char s = process_state(pid);
  return s == 0 || s == 'Z' || s == 'X';
}

// Host PIDs of the live descendants of `root`.
std::set<int> descendants(int root) {
  std::map<int, int> parent;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    int ppid;
    rest >> state >> ppid;
    if (state != 'Z') parent[std::stoi(name)] = ppid;
  }
  std::set<int> out;
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& [pid, ppid] : parent)
      if ((ppid == root || out.count(ppid)) && !out.count(pid)) {
        out.insert(pid);
        grew = true;
      }
  }
  return out;
}

class ProcessRuntimeTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    RuntimeOptions o;
    o.builtin_exe = ECSH_TEST_BUILTIN_EXE;
    o.use_namespaces = GetParam();
    rt = std::make_unique<ProcessRuntime>(io.get_executor(), o);
  }
  void TearDown() override { rt->shutdown(); }

  bool isolated() const { return GetParam(); }

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io.run_one_for(20ms);
    }
    return true;
  }

  // Starts a task; returns false after GTEST_SKIP when the namespaced variant cannot run here.
  bool start(const TaskSpec& spec, StartedTask* started = nullptr) {
    auto r = rt->start_task(spec, [this](const ContainerExit& e) { exits.push_back(e); });
    if (!r) {
      ADD_FAILURE() << "start_task: " << r.error().describe();
      return false;
    }
    if (isolated() && !r.value().isolated) {
      skipped = true;
      return false;
    }
    EXPECT_EQ(r.value().isolated, isolated());
    if (started) *started = r.value();
    return true;
  }

  static ContainerSpec container(std::string name, std::vector<std::string> argv) {
    ContainerSpec c;
    c.name = std::move(name);
    c.argv = std::move(argv);
    return c;
  }
  static TaskSpec task(std::string id, std::vector<ContainerSpec> containers) {
    TaskSpec t;
    t.task_id = std::move(id);
    t.containers = std::move(containers);
    return t;
  }

  Output run_exec(const std::string& task_id, const std::string& name,
                  const std::vector<std::string>& argv) {
    Output o;
    ExecOptions opts;
    opts.tty = false;
    auto p = rt->exec(task_id, name, argv, opts);
    if (!p) {
      ADD_FAILURE() << "exec: " << p.error().describe();
      return o;
    }
    auto proc = p.value();
    proc->close_stdin();
    drain({{proc->stdout_fd(), &o.out}, {proc->stderr_fd(), &o.err}}, 15s);
    EXPECT_TRUE(run_until([&] { return proc->exit_code().has_value(); })) << "exec did not exit";
    o.code = proc->exit_code().value_or(-1);
    return o;
  }

  std::optional<ContainerExit> exit_of(const std::string& name) const {
    for (const auto& e : exits)
      if (e.container == name) return e;
    return std::nullopt;
  }

  asio::io_context io;
  std::unique_ptr<ProcessRuntime> rt;
  std::vector<ContainerExit> exits;
  bool skipped = false;
};

#define START_OR_RETURN(...)                                                                \
  do {                                                                                      \
    if (!start(__VA_ARGS__)) {                                                              \
      if (skipped) GTEST_SKIP() << "Linux namespaces are not permitted here (run as root)"; \
      return;                                                                               \
    }                                                                                       \
  } while (0)

#define NAMESPACES_ONLY() \
  if (!isolated()) GTEST_SKIP() << "the plain-process fallback has no namespaces to check"

TEST_P(ProcessRuntimeTest, ContainerExitIsReportedWithItsCode) {
  START_OR_RETURN(task("t-exit", {container("main", {"sh", "-c", "exit 3"})}));
  ASSERT_TRUE(run_until([&] { return exit_of("main").has_value(); }));
  EXPECT_EQ(exit_of("main")->task_id, "t-exit");
  EXPECT_EQ(exit_of("main")->exit_code, 3);
  EXPECT_EQ(exit_of("main")->signal, 0);
  EXPECT_EQ(rt->running_tasks(), 0u);
}

TEST_P(ProcessRuntimeTest, HttpdPageIsServedInsideTheTask) {
  std::string port = isolated() ? "80" : std::to_string(free_port());
  START_OR_RETURN(task("t-web", {container("web", {"sandbox-httpd", "--port", port})}));
  EXPECT_EQ(rt->running_tasks(), 1u);
  auto o = run_exec("t-web", "web",
                    {"sandbox-http-get", "--wait", "5", "http://127.0.0.1:" + port + "/"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("<html>"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("task <b>t-web</b>"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("container <b>web</b>"), std::string::npos) << o.out;
  // A path the server does not have is an error for the client.
  auto missing = run_exec("t-web", "web", {"sandbox-http-get", "http://127.0.0.1:" + port + "/x"});
  EXPECT_EQ(missing.code, 22);
}

TEST_P(ProcessRuntimeTest, TwoTasksBothListenOnPort80) {
  NAMESPACES_ONLY();
  START_OR_RETURN(
      task("t-one", {container("web", {"sandbox-httpd", "--port", "80", "--body", "one"})}));
  START_OR_RETURN(
      task("t-two", {container("web", {"sandbox-httpd", "--port", "80", "--body", "two"})}));
  EXPECT_EQ(rt->running_tasks(), 2u);
  auto a = run_exec("t-one", "web", {"sandbox-http-get", "--wait", "5", "http://localhost/"});
  auto b = run_exec("t-two", "web", {"sandbox-http-get", "--wait", "5", "http://localhost/"});
  EXPECT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(a.out, "one");
  EXPECT_EQ(b.out, "two");
  EXPECT_TRUE(exits.empty()) << "an httpd exited: port 80 was taken";
}

TEST_P(ProcessRuntimeTest, ContainersOfATaskShareLocalhostButNotTheirHostname) {
  NAMESPACES_ONLY();
  StartedTask st;
  START_OR_RETURN(task("t-pair", {container("app", {"sandbox-httpd", "--port", "80"}),
                                  container("sidecar", {"sleep", "1000"})}),
                  &st);
  ASSERT_EQ(st.containers.size(), 2u);
  auto o = run_exec("t-pair", "sidecar", {"sandbox-http-get", "--wait", "5", "http://localhost/"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("container <b>app</b>"), std::string::npos) << o.out;

  auto h1 = run_exec("t-pair", "app", {"hostname"});
  auto h2 = run_exec("t-pair", "sidecar", {"hostname"});
  EXPECT_EQ(h1.out, st.containers[0].runtime_id + "\n");
  EXPECT_EQ(h2.out, st.containers[1].runtime_id + "\n");
  EXPECT_NE(h1.out, h2.out);

  // Its own pid namespace: /proc shows the container's few processes, not the host's.
  auto ps = run_exec("t-pair", "sidecar", {"sh", "-c", "ls /proc | grep -c '^[0-9]'"});
  EXPECT_EQ(ps.code, 0);
  EXPECT_LT(std::atoi(ps.out.c_str()), 6) << ps.out;
}

TEST_P(ProcessRuntimeTest, PtyReportsTheSizeAndTerm) {
  START_OR_RETURN(task("t-pty", {container("main", {"sleep", "1000"})}));
  ExecOptions opts;
  opts.tty = true;
  opts.cols = 100;
  opts.rows = 33;
  auto p = rt->exec("t-pty", "main", {"sh", "-c", "stty size; echo $TERM; echo $LANG; tty"}, opts);
  ASSERT_TRUE(p) << p.error().describe();
  auto proc = p.value();
  EXPECT_TRUE(proc->tty());
  EXPECT_EQ(proc->stdout_fd(), -1);
  std::string out;
  drain({{proc->master_fd(), &out}}, 10s);
  ASSERT_TRUE(run_until([&] { return proc->exit_code().has_value(); }));
  EXPECT_EQ(*proc->exit_code(), 0);
  EXPECT_NE(out.find("33 100"), std::string::npos) << out;
  EXPECT_NE(out.find("xterm-256color"), std::string::npos) << out;
  EXPECT_NE(out.find("C.UTF-8"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;  // a controlling terminal
}

TEST_P(ProcessRuntimeTest, ResizeReachesTheRunningProgram) {
  START_OR_RETURN(task("t-resize", {container("main", {"sleep", "1000"})}));
  ExecOptions opts;
  opts.tty = true;
  auto p = rt->exec("t-resize", "main", {"sh", "-c", "stty size; read line; stty size"}, opts);
  ASSERT_TRUE(p) << p.error().describe();
  auto proc = p.value();
  std::string out;
  // Wait for the first size, then resize and let the shell go on.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (out.find("24 80") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{proc->master_fd(), POLLIN, 0};
    if (::poll(&pfd, 1, 100) > 0) {
      char buf[256];
      ssize_t n = ::read(proc->master_fd(), buf, sizeof buf);
      if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ASSERT_NE(out.find("24 80"), std::string::npos) << out;
  ASSERT_TRUE(proc->resize(120, 40));
  ASSERT_EQ(::write(proc->master_fd(), "go\n", 3), 3);
  drain({{proc->master_fd(), &out}}, 10s);
  ASSERT_TRUE(run_until([&] { return proc->exit_code().has_value(); }));
  EXPECT_NE(out.find("40 120"), std::string::npos) << out;
}

TEST_P(ProcessRuntimeTest, ExecExitCodesPropagate) {
  START_OR_RETURN(task("t-codes", {container("main", {"sleep", "1000"})}));
  EXPECT_EQ(run_exec("t-codes", "main", {"sh", "-c", "exit 7"}).code, 7);
  EXPECT_EQ(run_exec("t-codes", "main", {"sh", "-c", "kill -KILL $$"}).code, 128 + SIGKILL);
  auto echoed = run_exec("t-codes", "main", {"sh", "-c", "echo out; echo err >&2"});
  EXPECT_EQ(echoed.out, "out\n");
  EXPECT_EQ(echoed.err, "err\n");
  // No shell in between: the argument reaches the program as one word.
  EXPECT_EQ(run_exec("t-codes", "main", {"echo", "a  b;c"}).out, "a  b;c\n");
}

TEST_P(ProcessRuntimeTest, ExecWaitsAsynchronously) {
  START_OR_RETURN(task("t-wait", {container("main", {"sleep", "1000"})}));
  ExecOptions opts;
  opts.tty = false;
  auto p = rt->exec("t-wait", "main", {"sh", "-c", "exit 5"}, opts);
  ASSERT_TRUE(p);
  int via_callback = -1, via_coroutine = -1;
  p.value()->async_wait([&](int code) { via_callback = code; });
  asio::co_spawn(
      io,
      [&, proc = p.value()]() -> ecsh::Awaitable<void> { via_coroutine = co_await proc->wait(); },
      asio::detached);
  ASSERT_TRUE(run_until([&] { return via_callback >= 0 && via_coroutine >= 0; }));
  EXPECT_EQ(via_callback, 5);
  EXPECT_EQ(via_coroutine, 5);
}

std::size_t open_fds(int pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec))
    ++n;
  return n;
}

TEST_P(ProcessRuntimeTest, NoDescriptorLeaksIntoTheContainer) {
  StartedTask st;
  START_OR_RETURN(task("t-fds", {container("main", {"sleep", "1000"})}), &st);
  // The init and the program hold stdin, stdout and stderr only.
  int init = st.containers.at(0).pid;
  EXPECT_EQ(open_fds(init), 3u);
  std::set<int> tree;
  ASSERT_TRUE(run_until([&] {
    tree = descendants(init);
    return !tree.empty();
  }));
  for (int pid : tree) EXPECT_EQ(open_fds(pid), 3u) << "pid " << pid;
  // ls opens the directory it lists, so 0, 1, 2 and that one.
  auto o = run_exec("t-fds", "main", {"ls", "/proc/self/fd"});
  EXPECT_EQ(o.code, 0);
  std::istringstream lines(o.out);
  std::string fd;
  int count = 0;
  while (lines >> fd) ++count;
  EXPECT_LE(count, 4) << o.out;
}

TEST_P(ProcessRuntimeTest, StopKillsTheWholeTreeAfterTheGracePeriod) {
  StartedTask st;
  START_OR_RETURN(task("t-stubborn", {container("main", {"sh", "-c",
                                                         "trap '' TERM; sleep 1000 & sleep 1000 "
                                                         "& wait"})}),
                  &st);
  int init = st.containers.at(0).pid;
  std::set<int> tree;
  ASSERT_TRUE(run_until([&] {
    tree = descendants(init);
    return tree.size() >= 3;  // sh and its two sleeps
  })) << "the container's processes did not appear";

  bool stopped = false;
  auto t0 = std::chrono::steady_clock::now();
  rt->stop_task("t-stubborn", 300ms, [&] { stopped = true; });
  ASSERT_TRUE(run_until([&] { return stopped; }));
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, 250ms) << "SIGTERM alone should not have stopped it";
  ASSERT_TRUE(exit_of("main"));
  EXPECT_EQ(exit_of("main")->exit_code, 128 + SIGKILL);
  EXPECT_EQ(exit_of("main")->signal, SIGKILL);
  EXPECT_EQ(rt->running_tasks(), 0u);
  EXPECT_TRUE(run_until([&] {
    for (int pid : tree)
      if (!gone_or_zombie(pid)) return false;
    return true;
  })) << "a process of the container survived";
}

TEST_P(ProcessRuntimeTest, StopEndsAProgramThatHonoursSigterm) {
  START_OR_RETURN(task("t-polite", {container("main", {"sleep", "1000"})}));
  bool stopped = false;
  auto t0 = std::chrono::steady_clock::now();
  rt->stop_task("t-polite", 20s, [&] { stopped = true; });
  ASSERT_TRUE(run_until([&] { return stopped; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  ASSERT_TRUE(exit_of("main"));
  EXPECT_EQ(exit_of("main")->exit_code, 128 + SIGTERM);
  // Stopping what is already gone completes at once.
  bool again = false;
  rt->stop_task("t-polite", 1s, [&] { again = true; });
  EXPECT_TRUE(run_until([&] { return again; }));
}

TEST_P(ProcessRuntimeTest, ReadOnlyRootRefusesWrites) {
  NAMESPACES_ONLY();
  ContainerSpec ro = container("ro", {"sleep", "1000"});
  ro.read_only_root = true;
  START_OR_RETURN(task("t-ro", {ro, container("rw", {"sleep", "1000"})}));
  std::string probe = "/var/tmp/ecsh-runtime-ro-probe-" + std::to_string(::getpid());
  std::filesystem::remove(probe);
  auto refused = run_exec("t-ro", "ro", {"sh", "-c", "echo x > " + probe});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("Read-only file system"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(probe));
  auto allowed = run_exec("t-ro", "rw", {"sh", "-c", "echo x > " + probe});
  EXPECT_EQ(allowed.code, 0) << allowed.err;
  EXPECT_TRUE(std::filesystem::exists(probe));
  std::filesystem::remove(probe);
}

TEST_P(ProcessRuntimeTest, AMissingProgramFailsTheStart) {
  auto r = rt->start_task(task("t-missing", {container("ok", {"sleep", "1000"}),
                                             container("bad", {"ecsh-no-such-program"})}),
                          [](const ContainerExit&) {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bad"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("executable file not found"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(rt->running_tasks(), 0u);
  // The id is free again.
  START_OR_RETURN(task("t-missing", {container("ok", {"sleep", "1000"})}));
}

TEST_P(ProcessRuntimeTest, OutputGoesToTheLogAsTheConfiguredUserAndDirectory) {
  auto log = std::filesystem::temp_directory_path() /
             ("ecsh-runtime-log-" + std::to_string(::getpid()) + (isolated() ? "-ns" : "-plain"));
  std::filesystem::remove(log);
  ContainerSpec c = container("main", {"sh", "-c", "pwd; id -u; id -g; echo oops >&2"});
  c.working_dir = "/usr";
  c.user = "65534:65534";
  c.log_path = log.string();
  c.env = {{"GREETING", "hi"}};
  START_OR_RETURN(task("t-log", {c}));
  ASSERT_TRUE(run_until([&] { return exit_of("main").has_value(); }));
  EXPECT_EQ(exit_of("main")->exit_code, 0);
  std::ifstream f(log);
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_EQ(text.str(), "/usr\n65534\n65534\noops\n");
  std::filesystem::remove(log);
}

TEST_P(ProcessRuntimeTest, BadTaskSpecsAreRefused) {
  EXPECT_FALSE(rt->start_task(task("", {container("main", {"true"})}), {}));
  EXPECT_FALSE(rt->start_task(task("t-empty", {}), {}));
  EXPECT_FALSE(rt->start_task(task("t-empty-argv", {container("main", {})}), {}));
  auto dup =
      rt->start_task(task("t-dup", {container("main", {"true"}), container("main", {"true"})}), {});
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("two containers named main"), std::string::npos);
  ContainerSpec nobody = container("main", {"true"});
  nobody.user = "ecsh-no-such-user";
  auto user = rt->start_task(task("t-user", {nobody}), {});
  ASSERT_FALSE(user);
  EXPECT_NE(user.error().message.find("ecsh-no-such-user"), std::string::npos);
  ContainerSpec nowhere = container("main", {"true"});
  nowhere.working_dir = "/ecsh-no-such-dir";
  auto dir = rt->start_task(task("t-dir", {nowhere}), {});
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message.find("working directory"), std::string::npos)
      << dir.error().message;
  EXPECT_EQ(rt->running_tasks(), 0u);
}

TEST_P(ProcessRuntimeTest, ExecNeedsARunningContainer) {
  ExecOptions opts;
  EXPECT_FALSE(rt->exec("t-none", "main", {"true"}, opts));
  START_OR_RETURN(task("t-one-container", {container("main", {"sleep", "1000"})}));
  EXPECT_FALSE(rt->exec("t-one-container", "other", {"true"}, opts));
  auto missing = rt->exec("t-one-container", "main", {"ecsh-no-such-program"}, opts);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("not found"), std::string::npos);
}

TEST_P(ProcessRuntimeTest, ShutdownStopsEverythingItStarted) {
  StartedTask st;
  START_OR_RETURN(task("t-shutdown", {container("main", {"sleep", "1000"})}), &st);
  ExecOptions opts;
  opts.tty = false;
  auto p = rt->exec("t-shutdown", "main", {"sleep", "1000"}, opts);
  ASSERT_TRUE(p);
  int init = st.containers.at(0).pid;
  std::set<int> tree;
  ASSERT_TRUE(run_until([&] {
    tree = descendants(init);
    return !tree.empty();
  }));
  rt->shutdown();
  EXPECT_EQ(rt->running_tasks(), 0u);
  errno = 0;
  EXPECT_EQ(::kill(init, 0), -1);  // reaped: no such process
  EXPECT_EQ(errno, ESRCH);
  ASSERT_TRUE(p.value()->exit_code());
  EXPECT_EQ(*p.value()->exit_code(), 128 + SIGKILL);
  EXPECT_TRUE(run_until([&] {
    for (int pid : tree)
      if (!gone_or_zombie(pid)) return false;
    return true;
  }));
  EXPECT_FALSE(rt->start_task(task("t-after", {container("main", {"true"})}), {}));
}

TEST_P(ProcessRuntimeTest, TwoHundredTasksRunAtOnce) {
  constexpr int kTasks = 200;
  for (int i = 0; i < kTasks; ++i)
    START_OR_RETURN(task("t-many-" + std::to_string(i), {container("main", {"sleep", "1000"})}));
  EXPECT_EQ(rt->running_tasks(), std::size_t(kTasks));
  auto o = run_exec("t-many-123", "main", {"sh", "-c", "echo $ECSH_SANDBOX_TASK_ID"});
  EXPECT_EQ(o.out, "t-many-123\n");
  int stopped = 0;
  for (int i = 0; i < kTasks; ++i)
    rt->stop_task("t-many-" + std::to_string(i), 5s, [&] { ++stopped; });
  EXPECT_TRUE(run_until([&] { return stopped == kTasks; }, 30s));
  EXPECT_EQ(rt->running_tasks(), 0u);
  EXPECT_EQ(exits.size(), std::size_t(kTasks));
}

INSTANTIATE_TEST_SUITE_P(Runtime, ProcessRuntimeTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Namespaces")
                                             : std::string("PlainProcesses");
                         });

}  // namespace
