#include "ecsh/logs/why.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>

namespace ecsh::logs {
namespace json = boost::json;

namespace {

bool has(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

Explanation ex(std::string what, std::string fix = {}) {
  Explanation e;
  e.what = std::move(what);
  e.fix = std::move(fix);
  return e;
}

// Reasons ECS writes on containers and tasks, most specific first.
std::optional<Explanation> explain_reason(std::string_view reason) {
  if (has(reason, "OutOfMemoryError")) {
    return ex("ran out of memory and was killed (OutOfMemoryError)",
              "Raise the container's memory limit (or the task's), or find what keeps growing.");
  }
  if (has(reason, "CannotPullContainerError")) {
    return ex("its image could not be pulled (CannotPullContainerError)",
              "Check the image name and tag; the execution role needs ecr:GetAuthorizationToken "
              "and ecr:BatchGetImage; the subnet needs a route to the registry (NAT, or VPC "
              "endpoints for ECR and S3).");
  }
  if (has(reason, "ResourceInitializationError")) {
    if (has(reason, "secret") || has(reason, "ssm") || has(reason, "parameter")) {
      return ex("ECS could not fetch the task's secrets (ResourceInitializationError)",
                "The execution role needs ssm:GetParameters or secretsmanager:GetSecretValue "
                "(and kms:Decrypt for a customer key) on a secret that exists, and the subnet a "
                "route to SSM or Secrets Manager (NAT or VPC endpoints).");
    }
    if (has(reason, "log group") || has(reason, "Cloudwatch") || has(reason, "logger")) {
      return ex("the awslogs log group does not exist (ResourceInitializationError)",
                "Create the log group, or set the awslogs-create-group option to \"true\" (the "
                "execution role then needs logs:CreateLogGroup).");
    }
    if (has(reason, "ENI") || has(reason, "network interface") || has(reason, "eni")) {
      return ex("the task's network interface could not be set up (ResourceInitializationError)",
                "Check that the subnet has free IP addresses, the account's ENI quota, and the "
                "security groups and subnets of the service.");
    }
    return ex("ECS could not prepare the task's resources (ResourceInitializationError)",
              "Read the reason above: secrets, log configuration, network or volumes.");
  }
  if (has(reason, "CannotStartContainerError") || has(reason, "CannotCreateContainerError")) {
    if (has(reason, "logging driver") || has(reason, "log group")) {
      return ex("the awslogs log group does not exist, so Docker could not start the container",
                "Create the log group, or set the awslogs-create-group option to \"true\" (the "
                "instance role then needs logs:CreateLogGroup).");
    }
    return ex("the container runtime could not start the container",
              "Usually an entryPoint or command that is not in the image, or a bad mount; the "
              "reason above names it.");
  }
  if (has(reason, "Task failed ELB health checks")) {
    return ex("the load balancer's health check failed, so the service replaced the task",
              "Check the target group's health check path and port, that the app answers there, "
              "the security group from the load balancer, and healthCheckGracePeriodSeconds for "
              "slow starts.");
  }
  if (has(reason, "Task failed container health checks")) {
    return ex("a container failed its healthCheck command, so the service replaced the task",
              "Run the health check command in the container (ecsh exec), and check its "
              "interval, timeout, retries and startPeriod, and the container's logs.");
  }
  if (has(reason, "Essential container in task exited")) {
    return ex("an essential container exited, so ECS stopped the whole task");
  }
  if (has(reason, "Scaling activity initiated by")) {
    return ex("the service scaled in (its desired count dropped)");
  }
  if (has(reason, "replaced by a new deployment") || has(reason, "Deployment")) {
    return ex("a new deployment of the service replaced it");
  }
  return std::nullopt;
}

bool stop_was_requested(std::string_view stop_code) {
  return stop_code == "UserInitiated" || stop_code == "ServiceSchedulerInitiated";
}

}  // namespace

std::optional<Explanation> explain_stop(std::string_view stop_code, std::string_view reason) {
  if (auto e = explain_reason(reason)) return e;
  if (stop_code == "UserInitiated") {
    return ex("someone stopped it (StopTask, the console, or a deployment tool)");
  }
  if (stop_code == "SpotInterruption") {
    return ex("Fargate Spot took its capacity back",
              "Run on FARGATE, or mix capacity providers, for tasks that must not be "
              "interrupted.");
  }
  if (stop_code == "TerminationNotice") {
    return ex("its host was retired or drained (TerminationNotice)");
  }
  if (stop_code == "ServiceSchedulerInitiated") return ex("the service scheduler stopped it");
  if (stop_code == "TaskFailedToStart") return ex("the task failed to start");
  return std::nullopt;
}

std::optional<Explanation> explain_container(const ecs::ContainerView& c, bool essential,
                                             bool stop_requested) {
  if (!c.reason.empty()) {
    if (auto e = explain_reason(c.reason)) return e;
  }
  if (!c.exit_code) return std::nullopt;
  int code = *c.exit_code;
  switch (code) {
    case 0:
      if (essential && !stop_requested) {
        return ex("exited normally (0), and since it is essential the task stopped",
                  "An essential container must keep running; make one-shot containers "
                  "essential: false (with dependsOn).");
      }
      return ex("exited normally (0)");
    case 137:
      if (stop_requested) {
        return ex(
            "was killed (SIGKILL, 137): it did not exit within the stop timeout after "
            "SIGTERM",
            "Handle SIGTERM in the app (with initProcessEnabled when it runs as PID 1), "
            "or raise stopTimeout.");
      }
      return ex(
          "was killed with SIGKILL (137) without an OutOfMemoryError: by another "
          "process, or the task as a whole ran out of memory",
          "Check the task's memory, and the container's last log lines.");
    case 143:
      return ex("stopped on SIGTERM (143), as ECS stops containers");
    case 139:
      return ex("crashed with a segmentation fault (SIGSEGV, 139)");
    case 134:
      return ex("aborted (SIGABRT, 134)");
    case 127:
      return ex("its command was not found (127)",
                "Check entryPoint and command, and that the program is in the image on PATH.");
    case 126:
      return ex("its command could not be executed (126)",
                "Check the file's execute permission and its #! interpreter line.");
    default:
      break;
  }
  if (code > 128 && code < 160) {
    return ex(fmt::format("was killed by signal {} ({})", code - 128, code));
  }
  return ex(fmt::format("exited with code {}: the application failed", code),
            "Its last log lines say why.");
}

TaskVerdict judge_task(const ecs::TaskView& t, const std::set<std::string>& essential) {
  TaskVerdict v;
  v.task_id = t.id;
  v.task_arn = t.arn;
  v.service = t.service_name();
  v.last_status = t.last_status;
  v.desired_status = t.desired_status;
  v.stop_code = t.stop_code;
  v.stopped_reason = t.stopped_reason;
  v.stopped_at = t.stopped_at;
  v.health = t.health_status;
  const bool requested = stop_was_requested(t.stop_code) && !has(t.stopped_reason, "health checks");
  for (const auto& c : t.containers) {
    ContainerVerdict cv;
    cv.name = c.name;
    cv.status = c.last_status;
    cv.exit_code = c.exit_code;
    cv.reason = c.reason;
    cv.health = c.health_status;
    cv.essential = essential.empty() || essential.count(c.name) > 0;
    cv.explanation = explain_container(c, cv.essential, requested);
    v.containers.push_back(std::move(cv));
  }
  auto find = [&v](auto pred) -> const ContainerVerdict* {
    for (const auto& c : v.containers) {
      if (pred(c)) return &c;
    }
    return nullptr;
  };
  const ContainerVerdict* culprit = nullptr;
  // Most telling first: a container that could not start, ran out of memory, is unhealthy, or
  // is essential and exited on its own (non-zero before zero; SIGTERM last).
  culprit = find([](const ContainerVerdict& c) {
    return has(c.reason, "CannotPull") || has(c.reason, "ResourceInitialization") ||
           has(c.reason, "CannotStart") || has(c.reason, "CannotCreate");
  });
  if (!culprit)
    culprit = find([](const ContainerVerdict& c) { return has(c.reason, "OutOfMemory"); });
  if (!culprit && has(t.stopped_reason, "health checks")) {
    culprit =
        find([](const ContainerVerdict& c) { return c.health == ecs::HealthStatus::unhealthy; });
    if (!culprit) culprit = find([](const ContainerVerdict& c) { return c.essential; });
  }
  if (!culprit && t.stop_code == "EssentialContainerExited") {
    culprit = find([](const ContainerVerdict& c) {
      return c.essential && c.exit_code && *c.exit_code != 0 && *c.exit_code != 143;
    });
    if (!culprit) {
      culprit = find([](const ContainerVerdict& c) { return c.essential && c.exit_code == 0; });
    }
    if (!culprit)
      culprit = find([](const ContainerVerdict& c) { return c.essential && c.exit_code; });
  }
  if (!culprit && t.last_status != ecs::TaskStatus::stopped) {
    culprit =
        find([](const ContainerVerdict& c) { return c.health == ecs::HealthStatus::unhealthy; });
  }
  if (culprit) v.culprit = culprit->name;

  if (t.last_status == ecs::TaskStatus::stopped || t.desired_status == ecs::TaskStatus::stopped) {
    const std::string state = t.last_status == ecs::TaskStatus::stopped ? "stopped" : "stopping";
    if (culprit && culprit->explanation &&
        !(has(t.stopped_reason, "health checks") && !has(culprit->reason, "OutOfMemory"))) {
      v.cause = culprit->explanation;
      v.headline = fmt::format("The task {}: container {} {}.", state, culprit->name,
                               culprit->explanation->what);
    } else if (auto e = explain_stop(t.stop_code, t.stopped_reason)) {
      v.cause = e;
      v.headline = fmt::format("The task {}: {}.", state, e->what);
    } else {
      v.headline = fmt::format("The task {}: {}.", state,
                               t.stopped_reason.empty() ? "no reason given" : t.stopped_reason);
    }
  } else if (culprit) {
    v.headline = fmt::format("The task is {}, but container {} is UNHEALTHY.",
                             t.last_status == ecs::TaskStatus::unknown ? std::string_view("running")
                                                                       : ecs::name(t.last_status),
                             culprit->name);
    v.cause = explain_reason("Task failed container health checks");
    if (v.cause) v.cause->what = "its healthCheck command fails";
  } else {
    v.headline = fmt::format("The task is {}{}.", ecs::name(t.last_status),
                             t.health_status == ecs::HealthStatus::healthy ? " and healthy" : "");
  }
  return v;
}

ServiceVerdict judge_service(const ecs::ServiceView& s, std::size_t max_events) {
  ServiceVerdict v;
  v.name = s.name;
  v.status = s.status;
  v.desired = s.desired_count;
  v.running = s.running_count;
  v.pending = s.pending_count;
  v.deployments = s.deployments;
  for (std::size_t i = 0; i < s.events.size() && i < max_events; ++i)
    v.events.push_back(s.events[i]);
  const std::string_view marker = "rolling back to deploymentId ";
  for (const auto& d : s.deployments) {
    if (auto pos = d.rollout_state_reason.find(marker); pos != std::string::npos) {
      std::string to = d.rollout_state_reason.substr(pos + marker.size());
      while (!to.empty() && (to.back() == '.' || to.back() == ' ')) to.pop_back();
      v.rolled_back_to = to;
      v.notes.push_back(
          fmt::format("The circuit breaker rolled the service back to {} "
                      "(deployment {}, {}).",
                      to, d.id, ecs::name(d.rollout_state)));
    }
    if (d.rollout_state == ecs::RolloutState::failed) {
      v.notes.push_back(
          fmt::format("Deployment {} FAILED ({} failed tasks){}", d.id, d.failed,
                      d.rollout_state_reason.empty() ? "." : ": " + d.rollout_state_reason));
    }
  }
  int failed = 0;
  for (const auto& d : s.deployments) failed += d.failed;
  bool health = std::any_of(s.events.begin(), s.events.end(), [](const auto& e) {
    return has(e.message, "health checks") || has(e.message, "is unhealthy");
  });
  if (!v.rolled_back_to.empty()) {
    v.headline = fmt::format(
        "A deployment failed and the circuit breaker rolled back to {}; "
        "{} of {} tasks running.",
        v.rolled_back_to, v.running, v.desired);
  } else if (!s.deployments.empty() &&
             s.deployments.front().rollout_state == ecs::RolloutState::failed) {
    v.headline =
        fmt::format("The latest deployment failed; {} of {} tasks running.", v.running, v.desired);
  } else if (v.running < v.desired) {
    v.headline = fmt::format("{} of {} tasks running{}.", v.running, v.desired,
                             failed > 0 ? fmt::format(" ({} failed to stay up)", failed)
                             : health   ? " (tasks fail their health checks)"
                                        : "");
  } else if (health) {
    v.headline = fmt::format(
        "{} of {} tasks running; tasks were replaced after failing health "
        "checks.",
        v.running, v.desired);
  } else {
    v.headline = fmt::format("{} of {} tasks running.", v.running, v.desired);
  }
  return v;
}

std::vector<std::string> wrap(std::string_view text, std::size_t width, std::string_view first,
                              std::string_view rest) {
  std::vector<std::string> out;
  std::string line(first);
  std::size_t line_start = line.size();
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size()) break;
    std::size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(i, end - i);
    i = end;
    if (line.size() > line_start && line.size() + 1 + word.size() > width) {
      out.push_back(line);
      line = std::string(rest);
      line_start = line.size();
    }
    if (line.size() > line_start) line += ' ';
    // A word longer than the line is cut, so that nothing goes past `width`.
    while (line.size() + word.size() > width && width > line.size() + 1) {
      std::size_t take = width - line.size();
      line += word.substr(0, take);
      word.remove_prefix(take);
      out.push_back(line);
      line = std::string(rest);
      line_start = line.size();
    }
    line += word;
  }
  if (line.size() > line_start || out.empty()) out.push_back(line);
  return out;
}

std::string ago(double epoch_seconds, std::int64_t now_ms) {
  auto secs = static_cast<std::int64_t>(static_cast<double>(now_ms) / 1000.0 - epoch_seconds);
  if (secs < 0) secs = 0;
  if (secs < 60) return fmt::format("{}s ago", secs);
  if (secs < 3600) return fmt::format("{}m ago", secs / 60);
  if (secs < 86400) return fmt::format("{}h ago", secs / 3600);
  return fmt::format("{}d ago", secs / 86400);
}

std::vector<std::string> render_task(const TaskVerdict& v,
                                     const std::vector<std::string>& log_lines,
                                     std::string_view log_note, std::int64_t now_ms,
                                     std::size_t width) {
  std::vector<std::string> out;
  auto add = [&out](std::vector<std::string> lines) {
    for (auto& l : lines) out.push_back(std::move(l));
  };
  std::string title = fmt::format("Task {}", v.task_id);
  if (!v.service.empty()) title += fmt::format(" (service {})", v.service);
  title += " " + std::string(ecs::name(v.last_status));
  if (v.last_status == ecs::TaskStatus::stopped && v.stopped_at)
    title += " " + ago(*v.stopped_at, now_ms);
  add(wrap(title, width, "", "  "));
  if (!v.stop_code.empty()) out.push_back("  Stop code: " + v.stop_code);
  if (!v.stopped_reason.empty())
    add(wrap(v.stopped_reason, width, "  Reason:    ", "             "));
  out.emplace_back();
  add(wrap(v.headline, width, "", ""));
  if (v.cause && !v.cause->fix.empty()) add(wrap(v.cause->fix, width, "  Fix: ", "       "));
  out.emplace_back();
  out.emplace_back("Containers:");
  std::size_t name_width = 4;
  for (const auto& c : v.containers) name_width = std::max(name_width, c.name.size());
  name_width = std::min<std::size_t>(name_width, 24);
  for (const auto& c : v.containers) {
    std::string status(ecs::name(c.status));
    if (c.exit_code) status += fmt::format(" exit {}", *c.exit_code);
    if (c.health != ecs::HealthStatus::unknown) status += " " + std::string(ecs::name(c.health));
    if (!c.essential) status += " (not essential)";
    std::string head = fmt::format("  {:<{}}  ", c.name, name_width);
    std::string indent(head.size(), ' ');
    add(wrap(status, width, head, indent));
    if (!c.reason.empty()) add(wrap(c.reason, width, indent, indent));
    if (c.explanation && (c.exit_code || !c.reason.empty()))
      add(wrap(c.explanation->what, width, indent + "= ", indent + "  "));
  }
  if (!v.culprit.empty()) {
    out.emplace_back();
    if (log_lines.empty()) {
      add(wrap(fmt::format("No log lines of {}: {}", v.culprit,
                           log_note.empty() ? "the stream is empty" : log_note),
               width, "", "  "));
    } else {
      out.push_back(log_lines.size() == 1
                        ? fmt::format("Last log line of {}:", v.culprit)
                        : fmt::format("Last {} log lines of {}:", log_lines.size(), v.culprit));
      for (const auto& l : log_lines) out.push_back("  " + l);
    }
  }
  return out;
}

std::vector<std::string> render_service(const ServiceVerdict& v, std::int64_t now_ms,
                                        std::size_t width) {
  std::vector<std::string> out;
  auto add = [&out](std::vector<std::string> lines) {
    for (auto& l : lines) out.push_back(std::move(l));
  };
  add(wrap(fmt::format("Service {} {}: {} running, {} pending, {} desired", v.name, v.status,
                       v.running, v.pending, v.desired),
           width, "", "  "));
  add(wrap(v.headline, width, "", ""));
  for (const auto& n : v.notes) add(wrap(n, width, "  ", "    "));
  if (!v.deployments.empty()) {
    out.emplace_back();
    out.emplace_back("Deployments:");
    for (const auto& d : v.deployments) {
      std::string td = ecs::arn_name(d.task_definition);
      add(wrap(
          fmt::format("{} {} {} {} running/{} desired, {} failed ({})", d.id, ecs::name(d.status),
                      ecs::name(d.rollout_state), d.running, d.desired, d.failed, td),
          width, "  ", "    "));
      if (!d.rollout_state_reason.empty()) add(wrap(d.rollout_state_reason, width, "    ", "    "));
    }
  }
  if (!v.events.empty()) {
    out.emplace_back();
    out.emplace_back("Recent events (newest first):");
    for (const auto& e : v.events) {
      std::string when = e.created_at ? ago(*e.created_at, now_ms) : "";
      std::string head = fmt::format("  {:>7}  ", when);
      add(wrap(e.message, width, head, std::string(head.size(), ' ')));
    }
  }
  return out;
}

json::object task_verdict_json(const TaskVerdict& v) {
  json::object o;
  o["task"] = v.task_id;
  o["task_arn"] = v.task_arn;
  o["service"] = v.service;
  o["last_status"] = ecs::name(v.last_status);
  o["desired_status"] = ecs::name(v.desired_status);
  o["stop_code"] = v.stop_code;
  o["stopped_reason"] = v.stopped_reason;
  o["health"] = ecs::name(v.health);
  if (v.stopped_at) o["stopped_at"] = *v.stopped_at;
  o["verdict"] = v.headline;
  if (v.cause) {
    o["cause"] = v.cause->what;
    o["fix"] = v.cause->fix;
  }
  o["culprit"] = v.culprit;
  json::array cs;
  for (const auto& c : v.containers) {
    json::object co;
    co["name"] = c.name;
    co["status"] = ecs::name(c.status);
    if (c.exit_code) {
      co["exit_code"] = *c.exit_code;
    } else {
      co["exit_code"] = nullptr;
    }
    co["reason"] = c.reason;
    co["health"] = ecs::name(c.health);
    co["essential"] = c.essential;
    co["explanation"] = c.explanation ? c.explanation->what : "";
    co["fix"] = c.explanation ? c.explanation->fix : "";
    cs.push_back(std::move(co));
  }
  o["containers"] = std::move(cs);
  return o;
}

json::object service_verdict_json(const ServiceVerdict& v) {
  json::object o;
  o["service"] = v.name;
  o["status"] = v.status;
  o["desired"] = v.desired;
  o["running"] = v.running;
  o["pending"] = v.pending;
  o["verdict"] = v.headline;
  json::array notes;
  for (const auto& n : v.notes) notes.emplace_back(n);
  o["notes"] = std::move(notes);
  o["rolled_back_to"] = v.rolled_back_to;
  json::array ds;
  for (const auto& d : v.deployments) {
    ds.push_back(json::object{{"id", d.id},
                              {"status", ecs::name(d.status)},
                              {"rollout_state", ecs::name(d.rollout_state)},
                              {"rollout_state_reason", d.rollout_state_reason},
                              {"task_definition", d.task_definition},
                              {"desired", d.desired},
                              {"running", d.running},
                              {"failed", d.failed}});
  }
  o["deployments"] = std::move(ds);
  json::array es;
  for (const auto& e : v.events) {
    json::object eo{{"id", e.id}, {"message", e.message}};
    if (e.created_at) eo["created_at"] = *e.created_at;
    es.push_back(std::move(eo));
  }
  o["events"] = std::move(es);
  return o;
}

}  // namespace ecsh::logs

namespace ecsh::logs {

std::string exit_codes(const ecs::TaskView& task) {
  std::string out;
  for (const auto& c : task.containers) {
    if (!c.exit_code) continue;
    if (!out.empty()) out += ' ';
    out += fmt::format("{}:{}", c.name, *c.exit_code);
  }
  return out.empty() ? "-" : out;
}

namespace {
// Display width of UTF-8 text (code points; the tables hold no wide characters).
std::size_t text_width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

void fit_last_column(const std::vector<std::string>& head,
                     std::vector<std::vector<std::string>>& rows, std::size_t width,
                     std::size_t gap) {
  if (head.empty()) return;
  const std::size_t last = head.size() - 1;
  std::size_t used = 0;
  for (std::size_t col = 0; col < last; ++col) {
    std::size_t w = text_width(head[col]);
    for (const auto& r : rows) {
      if (col < r.size()) w = std::max(w, text_width(r[col]));
    }
    used += w + gap;
  }
  std::size_t room = width > used ? width - used : 0;
  room = std::max<std::size_t>(room, text_width(head[last]));
  for (auto& r : rows) {
    if (r.size() <= last || text_width(r[last]) <= room) continue;
    std::string cut;
    std::size_t n = 0;
    for (std::size_t i = 0; i < r[last].size(); ++i) {
      auto c = static_cast<unsigned char>(r[last][i]);
      if ((c & 0xC0) != 0x80) {
        if (n + 1 >= room) break;
        ++n;
      }
      cut += r[last][i];
    }
    r[last] = cut + "\u2026";
  }
}

}  // namespace ecsh::logs
