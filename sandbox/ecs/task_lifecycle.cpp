// A task's life in the sandbox: launched from a task definition (RunTask, StartTask, a service),
// PROVISIONING → PENDING → RUNNING as the tick advances it, its containers started by the task
// runtime, and DEACTIVATING → STOPPING → STOPPED once it is asked to stop or an essential
// container exits.

#include "sandbox/ecs/ecs_module_impl.hpp"

#include <signal.h>

#include <algorithm>

namespace ecsh::sandbox::ecs {

ApiResult<Task*> Ecs::launch(const std::string& cluster, const json::object& def,
                             const std::string& group, const std::string& started_by,
                             const std::string& launch_type, const std::string& platform_version,
                             bool exec, const std::string& subnet, const std::string& override_role,
                             const std::string& container_instance,
                             const std::string& deployment_id) {
  auto& cl = clusters_.at(cluster);
  Task t;
  t.id = hex_id(16);
  t.arn = arn(cl.region, "task/" + cluster + "/" + t.id);
  t.cluster = cluster;
  t.region = cl.region;
  t.task_definition_arn = get(def, "taskDefinitionArn");
  t.group = group;
  t.started_by = started_by;
  t.launch_type = launch_type.empty() ? "FARGATE" : launch_type;
  t.platform_version =
      t.launch_type == "FARGATE" ? (platform_version.empty() ? "1.4.0" : platform_version) : "";
  if (t.platform_version == "LATEST") t.platform_version = "1.4.0";
  t.enable_execute_command = exec;
  t.override_role = override_role;
  t.deployment_id = deployment_id;
  t.created = now();
  if (t.launch_type == "EC2") {
    const ContainerInstance* ci = nullptr;
    for (const auto& [id, i] : cl.instances) {
      if (container_instance.empty() || i.arn == container_instance || i.id == container_instance) {
        ci = &i;
        break;
      }
    }
    if (!ci) return invalid("No Container Instances were found in your cluster.");
    t.container_instance_arn = ci->arn;
    t.subnet_id = ci->subnet_id;
  } else {
    t.subnet_id = subnet.empty() ? "subnet-0ec5a0d0000000001" : subnet;
  }
  if (auto* defs = get_arr(def, "containerDefinitions")) {
    for (const auto& cv : *defs) {
      const auto& c = cv.as_object();
      Container k;
      k.name = get(c, "name");
      k.image = get(c, "image");
      k.essential = get_bool(c, "essential", true);
      k.memory_limit_mib = get_int(c, "memory", 0);
      if (auto* hc = get_obj(c, "healthCheck")) {
        HealthCheck h;
        if (auto* cmd = get_arr(*hc, "command"); cmd && !cmd->empty()) {
          std::vector<std::string> words;
          for (const auto& w : *cmd) {
            if (w.is_string()) words.emplace_back(w.as_string());
          }
          if (!words.empty() && words.front() == "CMD-SHELL") {
            std::string script;
            for (std::size_t i = 1; i < words.size(); ++i) script += (i > 1 ? " " : "") + words[i];
            h.argv = {"/bin/sh", "-c", script};
          } else if (!words.empty() && words.front() == "CMD") {
            h.argv.assign(words.begin() + 1, words.end());
          } else {
            h.argv = words;  // Docker's default form: a command (AWS accepts only CMD/CMD-SHELL)
          }
        }
        h.interval = std::chrono::seconds(get_int(*hc, "interval", 30));
        h.timeout = std::chrono::seconds(get_int(*hc, "timeout", 5));
        h.retries = static_cast<int>(get_int(*hc, "retries", 3));
        h.start_period = std::chrono::seconds(get_int(*hc, "startPeriod", 0));
        if (!h.argv.empty()) k.health = std::move(h);
      }
      t.containers.push_back(std::move(k));
    }
  }
  auto id = t.id;
  auto& stored = tasks_[id] = std::move(t);
  return &stored;
}

void Ecs::start_runtime(Task& t, TimePoint now_tp) {
  const json::object* def = task_definition(t.task_definition_arn);
  runtime::TaskSpec spec;
  spec.task_id = t.id;
  std::string missing_secret;
  if (def) {
    for (const auto& cv : *get_arr(*def, "containerDefinitions")) {
      const auto& c = cv.as_object();
      runtime::ContainerSpec cs;
      cs.name = get(c, "name");
      for (const char* key : {"entryPoint", "command"}) {
        if (auto* a = get_arr(c, key)) {
          for (const auto& w : *a) {
            if (w.is_string()) cs.argv.emplace_back(w.as_string());
          }
        }
      }
      if (cs.argv.empty()) cs.argv = {"sleep", "2147483647"};  // an image's default: keep running
      cs.env.emplace_back("PATH", options_.container_path);
      cs.env.emplace_back("ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/" + t.id);
      if (auto* env = get_arr(c, "environment")) {
        for (const auto& e : *env) {
          if (!e.is_object()) continue;
          // The task definition's variables replace the image's (PATH included: an image
          // with a short PATH is how a minimal image is modelled).
          std::string name = get(e.as_object(), "name");
          std::string value = get(e.as_object(), "value");
          auto same = std::find_if(cs.env.begin(), cs.env.end(),
                                   [&name](const auto& kv) { return kv.first == name; });
          if (same != cs.env.end()) {
            same->second = value;
          } else {
            cs.env.emplace_back(name, value);
          }
        }
      }
      if (auto* secrets = get_arr(c, "secrets")) {
        for (const auto& e : *secrets) {
          if (!e.is_object()) continue;
          auto value = secret_values_.find(get(e.as_object(), "valueFrom"));
          if (value == secret_values_.end()) {
            missing_secret = get(e.as_object(), "valueFrom");
          } else {
            cs.env.emplace_back(get(e.as_object(), "name"), value->second);
          }
        }
      }
      cs.working_dir = get(c, "workingDirectory");
      cs.image = get(c, "image");
      cs.docker_name = docker_name(t.task_definition_arn, cs.name);
      auto cluster = clusters_.find(t.cluster);
      cs.labels = {
          {"com.amazonaws.ecs.cluster",
           cluster == clusters_.end() ? t.cluster : cluster->second.arn},
          {"com.amazonaws.ecs.container-name", cs.name},
          {"com.amazonaws.ecs.task-arn", t.arn},
          {"com.amazonaws.ecs.task-definition-family", family_of(t.task_definition_arn)},
          {"com.amazonaws.ecs.task-definition-version", revision_of(t.task_definition_arn)}};
      cs.read_only_root = get_bool(c, "readonlyRootFilesystem");
      if (!options_.log_dir.empty())
        cs.log_path = options_.log_dir + "/" + t.id + "-" + cs.name + ".log";
      spec.containers.push_back(std::move(cs));
    }
  }
  if (missing_secret.empty() && def) {
    if (std::string why = prepare_log_streams(t, *def); !why.empty()) {
      t.last_status = TaskStatus::stopped;
      t.desired_status = TaskStatus::stopped;
      t.stopped = now_tp;
      t.stop_code = "TaskFailedToStart";
      t.stopped_reason = why;
      for (auto& c : t.containers) c.last_status = ContainerStatus::stopped;
      return;
    }
  }
  if (!missing_secret.empty()) {
    // As ECS does when the execution role cannot fetch a secret: the task never starts.
    t.last_status = TaskStatus::stopped;
    t.desired_status = TaskStatus::stopped;
    t.stopped = now_tp;
    t.stop_code = "TaskFailedToStart";
    t.stopped_reason =
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
        "retrieval failed: unable to retrieve secret from " +
        missing_secret + ": ResourceNotFoundException";
    for (auto& c : t.containers) c.last_status = ContainerStatus::stopped;
    return;
  }
  std::string id = t.id;
  auto started = runtime_.start_task(spec, [this, id](const runtime::ContainerExit& exit) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return;
    auto& task = it->second;
    for (auto& c : task.containers) {
      if (c.name != exit.container) continue;
      pump_container_log(c, true);
      c.last_status = ContainerStatus::stopped;
      c.exit_code = exit.exit_code;
      if (c.oom_killed) {
        c.exit_code = 137;
        c.reason = "OutOfMemoryError: Container killed due to memory usage";
      }
      c.pid = 0;
      if (c.health && c.health->process) c.health->process->kill(SIGKILL);
      if (c.agent) c.agent->status = AgentStatus::stopped;
      // The agent in the container is gone, and with it every session into the container.
      sessions_.terminate_for_container(id, c.name);
      if (c.essential && task.desired_status != TaskStatus::stopped) {
        request_stop(task, "Essential container in task exited", "EssentialContainerExited");
      }
    }
    bool all = std::all_of(task.containers.begin(), task.containers.end(), [](const Container& c) {
      return c.last_status == ContainerStatus::stopped;
    });
    if (all) {
      task.last_status = TaskStatus::stopped;
      task.desired_status = TaskStatus::stopped;
      task.stopped = now();
      if (task.stopped_reason.empty()) task.stopped_reason = "Essential container in task exited";
      task.runtime_started = false;
      if (options_.external_agents.stop) options_.external_agents.stop(id);
    }
    if (env_.state_changed) env_.state_changed();
  });
  if (!started) {
    t.last_status = TaskStatus::stopped;
    t.desired_status = TaskStatus::stopped;
    t.stopped = now_tp;
    t.stop_code = "TaskFailedToStart";
    // The docker runtime names the error itself (CannotPullContainerError for a missing image).
    t.stopped_reason = started.error().message.starts_with("Cannot")
                           ? started.error().message
                           : "CannotStartContainerError: " + started.error().message;
    for (auto& c : t.containers) c.last_status = ContainerStatus::stopped;
    return;
  }
  t.runtime_started = true;
  for (auto& c : t.containers) {
    for (const auto& sc : started.value().containers) {
      if (sc.name != c.name) continue;
      c.runtime_id = sc.runtime_id;
      c.pid = sc.pid;
    }
    c.last_status = ContainerStatus::running;
    // Without awslogs-stream-prefix the awslogs driver names the stream after the container ID.
    if (c.log && c.log->stream.empty()) {
      c.log->stream = c.runtime_id;
      if (options_.logs) options_.logs->create_stream(c.log->group, c.log->stream);
    }
    if (c.health) c.health->next = now_tp + c.health->interval;
  }
}

bool Ecs::advance(Task& t, TimePoint now_tp) {
  if (t.last_status == TaskStatus::stopped) return false;
  if (t.desired_status == TaskStatus::stopped) {
    if (!t.stopping) {
      t.stopping = true;
      t.stopping_at = now_tp;
      t.last_status = TaskStatus::deactivating;
      if (t.runtime_started) {
        std::string id = t.id;
        runtime_.stop_task(id, std::chrono::milliseconds(1000), [this, id] {
          auto it = tasks_.find(id);
          if (it == tasks_.end()) return;
          auto& task = it->second;
          task.last_status = TaskStatus::stopped;
          task.stopped = now();
          task.runtime_started = false;
          for (auto& c : task.containers) {
            c.last_status = ContainerStatus::stopped;
            if (!c.exit_code) c.exit_code = 143;
            if (c.agent) c.agent->status = AgentStatus::stopped;
            sessions_.terminate_for_container(id, c.name);
          }
          if (options_.external_agents.stop) options_.external_agents.stop(id);
          if (env_.state_changed) env_.state_changed();
        });
      } else {
        t.last_status = TaskStatus::stopped;
        t.stopped = now_tp;
      }
      return true;
    }
    if (t.last_status == TaskStatus::deactivating) {
      t.last_status = TaskStatus::stopping;
      return true;
    }
    return false;
  }
  if (t.last_status == TaskStatus::provisioning) {
    t.last_status = TaskStatus::pending;
    return true;
  }
  if (t.last_status == TaskStatus::pending) {
    start_runtime(t, now_tp);
    if (t.last_status == TaskStatus::stopped) return true;
    t.last_status = TaskStatus::running;
    t.started = now_tp;
    decide_agents(t, now_tp);
    start_external_agents(t);
    return true;
  }
  return false;
}

void Ecs::request_stop(Task& t, const std::string& reason, const std::string& code) {
  if (t.desired_status == TaskStatus::stopped) return;
  t.desired_status = TaskStatus::stopped;
  t.stopped_reason = reason;
  t.stop_code = code;
}

}  // namespace ecsh::sandbox::ecs
