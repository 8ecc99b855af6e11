#include "ecsh/fleet/plan.hpp"

#include "ecsh/common/strings.hpp"
#include "ecsh/ecs/exec_readiness.hpp"
#include "ecsh/ecs/target_match.hpp"

#include <algorithm>
#include <tuple>

namespace ecsh::fleet {

std::string task_family(const ecs::TaskView& task) {
  std::string name = ecs::arn_name(task.task_definition_arn);
  auto colon = name.rfind(':');
  return colon == std::string::npos ? name : name.substr(0, colon);
}

std::optional<Unreachable> precheck(const std::string& cluster_name, const ecs::TaskView& task,
                                    const ecs::ContainerView& container) {
  const auto readiness = ecs::exec_readiness(task, container);
  if (readiness.ready()) return std::nullopt;
  Unreachable u;
  const std::string doctor =
      "ecsh doctor -c " + cluster_name + " -t " + task.id + " -n " + container.name;
  switch (readiness.blocker) {
    case ecs::ExecBlocker::exec_not_enabled: {
      u.reason = "exec disabled at launch (the task was started without enableExecuteCommand)";
      std::string service = task.service_name();
      u.fix = service.empty() ? "Run a new task with --enable-execute-command."
                              : "ecsh enable -c " + cluster_name + " -s " + service +
                                    "  (new tasks replace it)";
      break;
    }
    case ecs::ExecBlocker::no_agent:
      u.reason = "container " + container.name + " has no exec agent";
      u.fix = doctor;
      break;
    case ecs::ExecBlocker::no_agent_in_task:
      u.reason = "no container of the task has an exec agent";
      u.fix = doctor;
      break;
    case ecs::ExecBlocker::task_starting:
    case ecs::ExecBlocker::task_not_running:
      u.reason = readiness.summary();
      break;
    default:
      u.reason = "exec " + readiness.summary();
      u.fix = doctor;
      break;
  }
  return u;
}

std::vector<std::string> short_ids(const std::vector<std::string>& ids, std::size_t min_len) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  std::vector<std::string> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& id : ids) {
    // The longest prefix shared with a neighbour in sorted order, plus one character.
    auto it = std::lower_bound(sorted.begin(), sorted.end(), id);
    std::size_t need = 0;
    auto common = [&id](const std::string& other) {
      std::size_t n = 0;
      while (n < id.size() && n < other.size() && id[n] == other[n]) ++n;
      return n;
    };
    if (it != sorted.begin()) need = std::max(need, common(*std::prev(it)) + 1);
    auto next = std::next(it);
    // Equal IDs (the same task twice) share everything; skip over them.
    while (next != sorted.end() && *next == id) ++next;
    if (next != sorted.end()) need = std::max(need, common(*next) + 1);
    out.push_back(id.substr(0, std::min(id.size(), std::max(need, min_len))));
  }
  return out;
}

namespace {

// The container of `task` that `wanted` names (exact, else a unique prefix); nullopt: none.
// Without a name, the only application container; an error when there are several.
Result<std::optional<std::size_t>> pick_container(const ecs::TaskView& task,
                                                  const std::string& wanted) {
  const auto& cs = task.containers;
  if (!wanted.empty()) {
    for (std::size_t i = 0; i < cs.size(); ++i) {
      if (cs[i].name == wanted) return std::optional<std::size_t>(i);
    }
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      if (!cs[i].name.starts_with(wanted)) continue;
      if (found) return std::optional<std::size_t>();  // ambiguous in this task: no match
      found = i;
    }
    return found;
  }
  std::vector<std::size_t> apps;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    if (!ecs::is_sidecar_container(cs[i].name)) apps.push_back(i);
  }
  if (apps.size() == 1) return std::optional<std::size_t>(apps[0]);
  if (apps.empty() && !cs.empty()) return std::optional<std::size_t>(0);
  if (apps.empty()) return std::optional<std::size_t>();
  std::vector<std::string> names;
  for (auto i : apps) names.push_back(cs[i].name);
  return Error::usage(
      "task " + task.id + " has several containers (" + str::join(names, ", ") + ")",
      "Name the one to run in with -n CONTAINER.");
}

}  // namespace

Result<std::vector<Target>> plan(const std::vector<ClusterTasks>& clusters,
                                 const Selection& selection) {
  std::vector<Target> targets;
  for (const auto& c : clusters) {
    for (const auto& task : c.tasks) {
      if (task.last_status != ecs::TaskStatus::running) continue;
      if (!selection.family.empty() && task_family(task) != selection.family) continue;
      if (!selection.services.empty() &&
          std::find(selection.services.begin(), selection.services.end(), task.service_name()) ==
              selection.services.end()) {
        continue;
      }
      ECSH_TRY(auto index, pick_container(task, selection.container));
      if (!index) continue;
      Target t;
      t.cluster_arn = c.cluster_arn;
      t.cluster_name = c.cluster_name;
      t.task = task;
      t.container = task.containers[*index];
      t.unreachable = precheck(c.cluster_name, task, t.container);
      targets.push_back(std::move(t));
    }
  }
  if (targets.empty()) {
    std::string what = "no RUNNING task";
    if (!selection.services.empty()) what += " of service " + str::join(selection.services, ", ");
    if (!selection.family.empty()) what += " of family " + selection.family;
    if (!selection.container.empty()) what += " with a container " + selection.container;
    std::vector<std::string> names;
    for (const auto& c : clusters) names.push_back(c.cluster_name);
    what +=
        names.size() == 1 ? " in cluster " + names[0] : " in clusters " + str::join(names, ", ");
    return Error::usage(what, "See what runs with: ecsh ls tasks");
  }
  std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) {
    auto sa = a.task.service_name();
    auto sb = b.task.service_name();
    return std::tie(a.cluster_name, sa, a.task.id) < std::tie(b.cluster_name, sb, b.task.id);
  });
  std::vector<std::string> ids;
  for (const auto& t : targets) ids.push_back(t.task.id);
  auto shorts = short_ids(ids);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    targets[i].label = shorts[i] + "/" + targets[i].container.name;
  }
  return targets;
}

}  // namespace ecsh::fleet
