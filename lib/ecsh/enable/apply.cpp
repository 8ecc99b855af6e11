#include "ecsh/enable/apply.hpp"

#include "ecsh/enable/rollout.hpp"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

namespace ecsh::enable {
namespace {

namespace json = boost::json;

void tell(const std::function<void(const std::string&)>& f, const std::string& line) {
  if (f) f(line);
}

void end_rollout(const Progress& progress) {
  if (progress.rollout_end) progress.rollout_end();
}

}  // namespace

Awaitable<Result<ecs::TaskView>> follow_rollout(aws::AwsClient& client, const doctor::Facts& f,
                                                const std::string& service,
                                                std::chrono::seconds timeout,
                                                const Progress& progress) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<std::string> names{service};
    ECSH_CO_TRY(auto services, co_await ecs::describe_services(client, f.cluster_arn, names));
    if (services.empty()) {
      Error e = Error::usage("service " + service + " disappeared during the rollout");
      co_return e;
    }
    std::vector<ecs::TaskView> tasks;
    ECSH_CO_TRY(auto arns, co_await ecs::list_task_arns(client, f.cluster_arn, service,
                                                        ecs::TaskStatus::running));
    if (!arns.empty()) {
      ECSH_CO_TRY(tasks, co_await ecs::describe_tasks(client, f.cluster_arn, arns));
    }
    auto status = assess_rollout(services.front(), tasks);
    std::string line = progress_line(status.progress);
    if (line != last) {
      tell(progress.rollout, line);
      last = line;
    }
    using Outcome = RolloutStatus::Outcome;
    if (status.outcome == Outcome::ready) {
      end_rollout(progress);
      co_return *status.ready_task;
    }
    if (status.outcome == Outcome::agent_stopped) {
      end_rollout(progress);
      Error e = *status.agent_error;
      co_return e;
    }
    if (status.outcome == Outcome::failed) {
      end_rollout(progress);
      // The stopped tasks' reasons say why; without them, the deployment's reason alone.
      std::vector<ecs::TaskView> stopped;
      auto stopped_arns =
          co_await ecs::list_task_arns(client, f.cluster_arn, service, ecs::TaskStatus::stopped);
      if (stopped_arns && !stopped_arns.value().empty()) {
        auto views = co_await ecs::describe_tasks(client, f.cluster_arn, stopped_arns.value());
        if (views) stopped = std::move(views.value());
      }
      Error e = rollout_failed(service, status.failure, stopped);
      co_return e;
    }
    timer.expires_after(std::chrono::milliseconds(300));
    co_await timer.async_wait(use_awaitable_nothrow);
  }
  end_rollout(progress);
  Error e = rollout_timed_out(f.cluster_name, service, timeout);
  co_return e;
}

Awaitable<Result<void>> apply_enable(aws::AwsClient& client, const doctor::Facts& f,
                                     const EnablePlan& plan, std::chrono::seconds timeout,
                                     const Progress& progress) {
  if (!plan.role_name.empty()) {
    aws::QueryParams p{{"RoleName", plan.role_name},
                       {"PolicyName", std::string(kExecPolicyName)},
                       {"PolicyDocument", json::serialize(plan.policy)}};
    ECSH_CO_TRY(co_await client.query_call(aws::services::iam(), "PutRolePolicy", p));
    tell(progress.done,
         fmt::format("✓ put inline policy {} on role {}", kExecPolicyName, plan.role_name));
  }
  if (plan.enable_on_service || plan.redeploy) {
    json::object req{{"cluster", f.cluster_arn}, {"service", plan.service}};
    if (plan.enable_on_service) req["enableExecuteCommand"] = true;
    if (plan.redeploy) req["forceNewDeployment"] = true;
    ECSH_CO_TRY(co_await client.json_call(aws::services::ecs(), "UpdateService", req));
    tell(progress.done, fmt::format("✓ updated service {}{}{}", plan.service,
                                    plan.enable_on_service ? ": enableExecuteCommand=true" : "",
                                    plan.redeploy ? ", new deployment started" : ""));
  }
  if (plan.redeploy) {
    ECSH_CO_TRY(auto task, co_await follow_rollout(client, f, plan.service, timeout, progress));
    tell(progress.done,
         fmt::format("✓ task {} runs with exec enabled and its exec agent is RUNNING", task.id));
  }
  co_return ok();
}

}  // namespace ecsh::enable
