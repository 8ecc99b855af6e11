// What the sandbox watches in a running task's containers, as ECS and Docker do: the awslogs
// driver's streams (made before the task runs, fed from the containers' log files), the memory
// hard limit (the OOM killer), and healthCheck commands.

#include "sandbox/ecs/ecs_module_impl.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

namespace ecsh::sandbox::ecs {

std::string Ecs::prepare_log_streams(Task& t, const json::object& def) {
  auto* defs = get_arr(def, "containerDefinitions");
  if (!defs || !options_.logs || options_.log_dir.empty()) return {};
  for (const auto& cv : *defs) {
    if (!cv.is_object()) continue;
    const auto& cd = cv.as_object();
    auto* lc = get_obj(cd, "logConfiguration");
    if (!lc || get(*lc, "logDriver") != "awslogs") continue;
    const json::object empty;
    const auto* opts = get_obj(*lc, "options");
    if (!opts) opts = &empty;
    std::string group = get(*opts, "awslogs-group");
    std::string prefix = get(*opts, "awslogs-stream-prefix");
    const std::string name = get(cd, "name");
    if (!options_.logs->group_exists(group)) {
      if (get(*opts, "awslogs-create-group") == "true" && !group.empty()) {
        options_.logs->create_group(group);
      } else if (t.launch_type == "FARGATE") {
        return "ResourceInitializationError: failed to validate logger args: create stream has "
               "been retried 1 times: failed to create Cloudwatch log stream: "
               "ResourceNotFoundException: The specified log group does not exist. : exit status "
               "1";
      } else {
        return "CannotStartContainerError: Error response from daemon: failed to initialize "
               "logging driver: failed to create Cloudwatch log stream: "
               "ResourceNotFoundException: The specified log group does not exist.";
      }
    }
    for (auto& c : t.containers) {
      if (c.name != name) continue;
      LogForward f;
      f.group = group;
      f.stream = prefix.empty() ? std::string() : prefix + "/" + name + "/" + t.id;
      f.path = options_.log_dir + "/" + t.id + "-" + name + ".log";
      if (!f.stream.empty()) options_.logs->create_stream(group, f.stream);
      c.log = std::move(f);
    }
  }
  return {};
}

void Ecs::pump_logs(Task& t, bool flush) {
  for (auto& c : t.containers) pump_container_log(c, flush);
}

void Ecs::pump_container_log(Container& c, bool flush) {
  if (!c.log || !options_.logs || c.log->stream.empty()) return;
  auto& f = *c.log;
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[65536];
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(f.offset));
    if (n <= 0) break;
    f.offset += static_cast<std::uint64_t>(n);
    f.partial.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // The awslogs driver sends a line per event, stamped when it read it, without the newline;
  // a line longer than 256 KiB is split as Docker's log buffer does (16 KiB there).
  const auto stamp =
      std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  std::size_t start = 0;
  for (;;) {
    auto nl = f.partial.find('\n', start);
    if (nl == std::string::npos) break;
    options_.logs->append_quietly(f.group, f.stream,
                                  std::string_view(f.partial).substr(start, nl - start), stamp);
    start = nl + 1;
  }
  f.partial.erase(0, start);
  if ((flush && !f.partial.empty()) || f.partial.size() > 256 * 1024) {
    options_.logs->append_quietly(f.group, f.stream, f.partial, stamp);
    f.partial.clear();
  }
}

namespace {

// The memory a process is charged for, in bytes: its private resident pages (smaps_rollup's
// Private_Clean + Private_Dirty), as a memory cgroup charges pages to whoever touched them
// first. Resident pages it shares copy-on-write with the process it was forked from are not
// its own: the container's init is a fork of the sandbox, and under AddressSanitizer the
// sandbox's resident set alone is over a 64 MiB limit. Falls back to statm's resident set
// on a kernel without smaps_rollup.
std::uint64_t charged_memory(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  if (FILE* f = std::fopen((dir + "/smaps_rollup").c_str(), "r")) {
    std::uint64_t kib = 0;
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      unsigned long long v = 0;
      if (std::sscanf(line, "Private_Clean: %llu kB", &v) == 1 ||
          std::sscanf(line, "Private_Dirty: %llu kB", &v) == 1)
        kib += v;
    }
    std::fclose(f);
    return kib * 1024;
  }
  static const long page = ::sysconf(_SC_PAGESIZE);
  std::uint64_t total = 0;
  if (FILE* f = std::fopen((dir + "/statm").c_str(), "r")) {
    unsigned long size = 0, resident = 0;
    if (std::fscanf(f, "%lu %lu", &size, &resident) == 2)
      total = static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(page);
    std::fclose(f);
  }
  return total;
}

// The memory charged to the process tree under `root`, in bytes, and its PIDs (from /proc).
std::pair<std::uint64_t, std::vector<int>> tree_memory(int root,
                                                       const std::multimap<int, int>& children_of) {
  std::uint64_t total = 0;
  std::vector<int> pids{root}, stack{root};
  while (!stack.empty()) {
    int pid = stack.back();
    stack.pop_back();
    total += charged_memory(pid);
    auto [b, e] = children_of.equal_range(pid);
    for (auto it = b; it != e; ++it) {
      pids.push_back(it->second);
      stack.push_back(it->second);
    }
  }
  return {total, pids};
}

std::multimap<int, int> process_children() {
  std::multimap<int, int> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (auto* ent = ::readdir(d)) {
    int pid = std::atoi(ent->d_name);
    if (pid <= 0) continue;
    FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (!f) continue;
    char buf[512];
    std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ')' ends it.
    const char* close = std::strrchr(buf, ')');
    int ppid = 0;
    char state = 0;
    if (close && std::sscanf(close + 1, " %c %d", &state, &ppid) == 2) out.emplace(ppid, pid);
  }
  ::closedir(d);
  return out;
}

}  // namespace

void Ecs::watch_memory() {
  bool any = false;
  for (const auto& [id, t] : tasks_) {
    for (const auto& c : t.containers) {
      any |= t.runtime_started && c.pid > 0 && c.memory_limit_mib > 0 && !c.exit_code;
    }
  }
  if (!any) return;
  const auto children = process_children();
  for (auto& [id, t] : tasks_) {
    if (!t.runtime_started) continue;
    for (auto& c : t.containers) {
      if (c.pid <= 0 || c.memory_limit_mib <= 0 || c.exit_code || c.oom_killed) continue;
      auto [charged, pids] = tree_memory(c.pid, children);
      if (charged <= static_cast<std::uint64_t>(c.memory_limit_mib) * 1024 * 1024) continue;
      // The cgroup's OOM killer: SIGKILL, the container exits with 137.
      c.oom_killed = true;
      for (int pid : pids) ::kill(pid, SIGKILL);
    }
  }
}

bool Ecs::run_health_checks(Task& t, TimePoint now_tp) {
  if (t.last_status != TaskStatus::running || t.desired_status == TaskStatus::stopped) return false;
  bool changed = false;
  for (auto& c : t.containers) {
    if (!c.health || c.last_status != ContainerStatus::running) continue;
    auto& h = *c.health;
    if (h.running_since) {
      if (now_tp - *h.running_since > h.timeout && h.process) h.process->kill(SIGKILL);
      continue;
    }
    if (now_tp < h.next) continue;
    runtime::ExecOptions o;
    o.tty = false;
    o.env.emplace_back("PATH", options_.container_path);
    auto started = runtime_.exec(t.id, c.name, h.argv, o);
    h.next = now_tp + h.interval;
    if (!started) {
      health_check_done(t.id, c.name, 127);
      changed = true;
      continue;
    }
    h.running_since = now_tp;
    h.process = started.value();
    std::string task_id = t.id, container = c.name;
    h.process->async_wait([this, task_id, container](int code) {
      health_check_done(task_id, container, code);
      if (env_.state_changed) env_.state_changed();
    });
  }
  return changed;
}

void Ecs::health_check_done(const std::string& task_id, const std::string& container, int code) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  auto& t = it->second;
  for (auto& c : t.containers) {
    if (c.name != container || !c.health) continue;
    auto& h = *c.health;
    h.running_since.reset();
    h.process.reset();
    if (code == 0) {
      h.failures = 0;
      c.health_status = HealthStatus::healthy;
    } else if (now() - t.started >= h.start_period || c.health_status == HealthStatus::healthy) {
      // Failures within the start period do not count (until a first success).
      if (++h.failures >= h.retries) c.health_status = HealthStatus::unhealthy;
    }
    if (c.health_status == HealthStatus::unhealthy && c.essential &&
        t.desired_status != TaskStatus::stopped && t.group.starts_with("service:")) {
      // The service scheduler replaces a task whose essential container is unhealthy.
      auto s = services_.find(t.cluster + "/" + t.group.substr(8));
      request_stop(t, "Task failed container health checks", "ServiceSchedulerInitiated");
      if (s != services_.end()) {
        event(s->second, "(task " + t.id + ") failed container health checks.");
        event(s->second, "has stopped 1 running tasks: (task " + t.id + ").");
      }
    }
  }
}

}  // namespace ecsh::sandbox::ecs
