#include "sandbox/runtime/docker_runtime.hpp"

#include "ecsh/common/strings.hpp"
#include "ecsh/common/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstring>

extern char** environ;

namespace ecsh::sandbox::runtime {

struct DockerRuntime::TaskEntry {
  struct Container {
    std::string name, id;
    bool exited = false;
  };
  std::string task_id;
  std::vector<Container> containers;
  ExitCallback on_exit;
  std::vector<std::function<void()>> on_stopped;
};

namespace {

constexpr auto kCliTimeout = std::chrono::seconds(120);

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The last line of the CLI's error output, without the "docker: " prefix and the hint to run
// --help that `docker run` adds.
std::string cli_message(const std::string& err) {
  std::string text = trim(err);
  std::string best;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? end : end - start);
    if (!line.empty() && !line.starts_with("See '") && !line.starts_with("Run '")) best = line;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (best.starts_with("docker: ")) best = best.substr(8);
  if (!best.empty() && best.back() == '.') best.pop_back();
  return best.empty() ? std::string("the docker CLI failed") : best;
}

}  // namespace

DockerRuntime::DockerRuntime(ProcessRuntime& host, DockerRuntimeOptions options)
    : host_(host), options_(std::move(options)) {}

DockerRuntime::~DockerRuntime() { shutdown(); }

EnvList DockerRuntime::cli_environment() const {
  EnvList env{{"PATH", options_.host_path}};
  if (!options_.docker_host.empty()) env.emplace_back("DOCKER_HOST", options_.docker_host);
  return env;
}

DockerRuntime::CliResult DockerRuntime::run_cli(const std::vector<std::string>& args) const {
  // The CLI is found on options_.host_path, not on the sandbox's own PATH.
  std::string program = options_.docker_cli;
  if (program.find('/') == std::string::npos) {
    for (const auto& dir : str::split(options_.host_path, ':')) {
      std::string candidate = std::string(dir) + "/" + program;
      if (::access(candidate.c_str(), X_OK) == 0) {
        program = candidate;
        break;
      }
    }
  }
  subprocess::Spec spec;
  spec.argv = {program};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.search_path = false;
  std::vector<std::string> env;
  for (const auto& [k, v] : cli_environment()) env.push_back(k + "=" + v);
  if (const char* home = ::getenv("HOME")) env.push_back(std::string("HOME=") + home);
  spec.env = std::move(env);
  spec.in = subprocess::Stream::null;
  spec.out = subprocess::Stream::capture;
  spec.err = subprocess::Stream::capture;
  spec.timeout = kCliTimeout;
  auto done = subprocess::run(spec);
  CliResult r;
  if (done.error != 0) {
    r.err = "cannot run " + program + ": " + std::strerror(done.error);
    return r;
  }
  r.exit_code = done.exit_code;
  r.out = std::move(done.out);
  r.err = std::move(done.err);
  if (done.timed_out) r.err += "\nthe docker CLI did not finish within 120 s";
  return r;
}

Result<void> DockerRuntime::check_engine() {
  auto r = run_cli({"version", "--format", "{{.Server.Version}}"});
  if (r.exit_code != 0) return Error::connection("Docker Engine: " + cli_message(r.err));
  return ok();
}

Result<StartedTask> DockerRuntime::start_task(const TaskSpec& spec, ExitCallback on_exit) {
  if (shut_down_) return Error::internal("the docker runtime is shut down");
  if (tasks_.count(spec.task_id)) return Error::usage("task " + spec.task_id + " is running");
  auto entry = std::make_shared<TaskEntry>();
  entry->task_id = spec.task_id;
  entry->on_exit = std::move(on_exit);
  StartedTask started;
  started.task_id = spec.task_id;
  started.isolated = true;
  auto undo = [&] {
    std::vector<std::string> rm{"rm", "-f"};
    for (const auto& c : entry->containers) rm.push_back(c.id);
    if (rm.size() > 2) run_cli(rm);
  };
  for (const auto& cs : spec.containers) {
    // --pull never: no registry is reachable (nor asked); the image must be in the engine.
    std::vector<std::string> args{"run", "-d", "--pull", "never", "--network", "none"};
    if (!cs.docker_name.empty()) args.insert(args.end(), {"--name", cs.docker_name});
    for (const auto& [k, v] : cs.labels) args.insert(args.end(), {"--label", k + "=" + v});
    for (const auto& [k, v] : cs.env) {
      if (k == "PATH") continue;  // the sandbox's host PATH means nothing in an image
      args.insert(args.end(), {"--env", k + "=" + v});
    }
    if (cs.read_only_root) args.push_back("--read-only");
    if (!cs.working_dir.empty()) args.insert(args.end(), {"--workdir", cs.working_dir});
    if (!cs.user.empty()) args.insert(args.end(), {"--user", cs.user});
    if (!cs.argv.empty()) args.insert(args.end(), {"--entrypoint", cs.argv[0]});
    args.push_back(cs.image);
    if (cs.argv.size() > 1) args.insert(args.end(), cs.argv.begin() + 1, cs.argv.end());
    auto r = run_cli(args);
    std::string id = trim(r.out);
    if (r.exit_code != 0 || id.size() < 12) {
      if (!id.empty() && id.size() >= 12) run_cli({"rm", "-f", id});
      undo();
      std::string message = cli_message(r.err);
      if (message.find("No such image") != std::string::npos ||
          message.find("Unable to find image") != std::string::npos ||
          message.find("pull access denied") != std::string::npos ||
          message.find("not found") != std::string::npos) {
        return Error::usage("CannotPullContainerError: pull image manifest " + cs.image + ": " +
                            message);
      }
      return Error::usage("CannotStartContainerError: " + message);
    }
    created_.push_back(id);
    entry->containers.push_back({cs.name, id, false});
    StartedContainer sc;
    sc.name = cs.name;
    sc.runtime_id = id;  // the engine's 64-hex ID, as ECS reports it
    started.containers.push_back(sc);
  }
  tasks_[spec.task_id] = entry;
  for (const auto& c : entry->containers) watch(spec.task_id, c.name, c.id);
  return started;
}

void DockerRuntime::watch(const std::string& task_id, const std::string& container,
                          const std::string& id) {
  ExecOptions o;
  o.tty = false;
  o.env = cli_environment();
  auto proc = host_.exec_host({options_.docker_cli, "wait", id}, o);
  auto report = [this, task_id, container](int code) {
    if (shut_down_) return;
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) return;
    auto entry = it->second;
    for (auto& c : entry->containers) {
      if (c.name == container && !c.exited) {
        c.exited = true;
        ContainerExit exit;
        exit.task_id = task_id;
        exit.container = container;
        exit.exit_code = code;
        exit.signal = code > 128 ? code - 128 : 0;
        if (entry->on_exit) entry->on_exit(exit);
      }
    }
    bool all = true;
    for (const auto& c : entry->containers) all = all && c.exited;
    if (!all) return;
    tasks_.erase(task_id);
    for (auto& f : entry->on_stopped) f();
  };
  if (!proc) {
    report(137);
    return;
  }
  auto p = proc.value();
  p->async_wait([p, report](int wait_status) {
    std::string out;
    char buf[256];
    for (;;) {
      ssize_t n = ::read(p->stdout_fd(), buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    int code = 137;  // the engine lost the container: as if killed
    if (wait_status == 0) {
      try {
        code = std::stoi(trim(out));
      } catch (const std::exception&) {
      }
    }
    report(code);
  });
}

void DockerRuntime::stop_task(const std::string& task_id, std::chrono::milliseconds grace,
                              std::function<void()> on_stopped) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) {
    if (on_stopped) on_stopped();
    return;
  }
  auto& entry = *it->second;
  if (on_stopped) entry.on_stopped.push_back(std::move(on_stopped));
  std::vector<std::string> argv{options_.docker_cli, "stop", "--time",
                                std::to_string(std::max<long>(0, grace.count() / 1000))};
  for (const auto& c : entry.containers) {
    if (!c.exited) argv.push_back(c.id);
  }
  ExecOptions o;
  o.tty = false;
  o.env = cli_environment();
  // Asynchronous: the `docker wait` watchers report the exits.
  (void)host_.exec_host(argv, o);
}

Result<std::shared_ptr<ExecProcess>> DockerRuntime::exec(const std::string& task_id,
                                                         const std::string& container,
                                                         const std::vector<std::string>& argv,
                                                         const ExecOptions& options) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return Error::usage("task " + task_id + " is not running");
  const TaskEntry::Container* found = nullptr;
  for (const auto& c : it->second->containers) {
    if (c.name == container) found = &c;
  }
  if (!found) return Error::usage("task " + task_id + " has no container named " + container);
  if (found->exited) return Error::usage("container " + container + " is not running");
  // As ECS Exec: root, whatever user the container definition names (containers-roadmap#1457).
  std::vector<std::string> cmd{options_.docker_cli, "exec", "--interactive", "--user", "0"};
  if (options.tty) cmd.push_back("--tty");
  for (const auto& [k, v] : options.env) {
    if (k != "PATH") cmd.insert(cmd.end(), {"--env", k + "=" + v});
  }
  cmd.push_back(found->id);
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  ExecOptions host_options = options;
  host_options.env = cli_environment();
  host_options.env.emplace_back("TERM", "xterm-256color");
  return host_.exec_host(cmd, host_options);
}

Result<int> DockerRuntime::open_task_socket(const std::string& task_id, int family) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return Error::usage("task " + task_id + " is not running");
  // The containers of a task share one network namespace (awsvpc); the first running one's is
  // the task's. This needs the engine on this host, as the sandbox's is.
  for (const auto& c : it->second->containers) {
    if (c.exited) continue;
    auto pid = run_cli({"inspect", "--format", "{{.State.Pid}}", c.id});
    if (pid.exit_code != 0) return Error::internal("docker inspect " + c.id + ": " + pid.err);
    std::string path = "/proc/" + trim(pid.out) + "/ns/net";
    int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) return Error::internal("opening " + path + ": " + std::strerror(errno));
    auto fd = socket_in_network_namespace(ns, family);
    ::close(ns);
    return fd;
  }
  return Error::usage("task " + task_id + " has no running container");
}

std::size_t DockerRuntime::running_tasks() const { return tasks_.size(); }

void DockerRuntime::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  tasks_.clear();
  if (created_.empty()) return;
  std::vector<std::string> rm{"rm", "-f"};
  rm.insert(rm.end(), created_.begin(), created_.end());
  run_cli(rm);
  created_.clear();
}

}  // namespace ecsh::sandbox::runtime
