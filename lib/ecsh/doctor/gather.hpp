#pragma once

// Learns the facts doctor judges, with the API calls the runbook makes (and the ones the
// existing checker forgets), concurrently. A missing permission makes the affected fact
// "unknown, because …" instead of failing doctor.

#include "ecsh/doctor/facts.hpp"

namespace ecsh::doctor {

struct Scope {
  std::string cluster_arn;
  std::string cluster_name;
  std::string service;                // service name, when doctor runs on a service
  std::optional<ecs::TaskView> task;  // the task (for a service: one of its running tasks)
  // Known already (doctor --all describes a whole cluster at once): used instead of this
  // service's DescribeServices, and of its ListTasks and DescribeTasks.
  std::optional<ecs::ServiceView> service_view;
  std::optional<std::vector<ecs::TaskView>> service_tasks;
  // This machine's side (the stream endpoint, the clock, the credentials' lifetime): off for
  // doctor --all, whose targets share it.
  bool client_checks = true;
};

Awaitable<Result<Facts>> gather(aws::AwsClient& client, const Scope& scope);

}  // namespace ecsh::doctor
