#include "ecsh/doctor/diagnose.hpp"

#include "ecsh/common/log.hpp"
#include "ecsh/ecs/ecs_view.hpp"
#include "ecsh/ecs/status.hpp"

#include <fmt/format.h>

namespace ecsh::doctor {
namespace {

std::string doctor_command(const ecs::ResolvedTarget& t) {
  return "ecsh doctor -c " + t.cluster_name + " -t " + t.task.id + " -n " + t.container.name;
}

}  // namespace

bool refused_by_ecs_exec(const Error& e) {
  // ECS's ExecuteCommand says TargetNotConnectedException; SSM's StartSession (forward) says
  // TargetNotConnected.
  return e.kind == ErrorKind::service &&
         (e.code == "InvalidParameterException" || e.code == "TargetNotConnectedException" ||
          e.code == "TargetNotConnected" || e.code == "AccessDeniedException");
}

Scope scope_of(const ecs::ResolvedTarget& target) {
  Scope s;
  s.cluster_arn = target.cluster_arn;
  s.cluster_name = target.cluster_name;
  s.service = target.task.service_name();
  s.task = target.task;
  return s;
}

std::string explain_blocking(const std::vector<Check>& checks, const ecs::ResolvedTarget& target,
                             std::size_t max) {
  std::string out;
  std::size_t shown = 0, more = 0;
  for (const auto& c : checks) {
    if (c.status != Status::fail) continue;
    if (shown == max) {
      ++more;
      continue;
    }
    ++shown;
    if (!out.empty()) out += '\n';
    out += "doctor: ✗ " + c.title + (c.detail.empty() ? "" : ": " + c.detail);
    if (!c.fix.empty()) out += "\n  fix: " + c.fix;
  }
  if (more > 0) out += fmt::format("\n  (and {} more: {})", more, doctor_command(target));
  return out;
}

Awaitable<Error> explain_refusal(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                 Error refusal) {
  const std::string ask = "Run `" + doctor_command(target) + "` to see why.";
  const Scope scope = scope_of(target);  // a named local: no temporary in co_await (CODING.md)
  auto facts = co_await gather(client, scope);
  if (!facts) {
    log::debug("doctor for the failed session: {}", facts.error().message);
    if (refusal.hint.empty()) refusal.hint = ask;
    co_return refusal;
  }
  std::string why = explain_blocking(evaluate(facts.value()), target);
  if (why.empty()) {
    // Every check green and still refused: a cause no API shows (the agent cannot connect).
    why = "doctor finds nothing that blocks exec: a cause no API shows (" + ask + ")";
  }
  refusal.hint = refusal.hint.empty() ? why : why + "\n" + refusal.hint;
  co_return refusal;
}

Error explain_ending(const std::optional<ecs::TaskView>& task_now,
                     const ecs::ResolvedTarget& target, Error ended) {
  if (!task_now) return ended;
  const auto& t = *task_now;
  const std::string what = " (" + ended.message + ")";
  if (ecs::is_ending(t.last_status) || ecs::is_ending(t.desired_status)) {
    std::string why = t.stopped_reason.empty() ? "" : ": " + t.stopped_reason;
    return Error::session_ended(SessionEnding::task_stopped,
                                "task " + t.id + " stopped" + why + what,
                                "Pick a running task: ecsh ls tasks");
  }
  for (const auto& c : t.containers) {
    if (c.name != target.container.name || !ecs::is_ending(c.last_status)) continue;
    std::string code = c.exit_code ? " with exit code " + std::to_string(*c.exit_code) : "";
    std::string why = c.reason.empty() ? "" : ": " + c.reason;
    return Error::session_ended(
        SessionEnding::task_stopped,
        "container " + c.name + " of task " + t.id + " stopped" + code + why + what,
        "Pick a running container: ecsh ls tasks");
  }
  return Error::session_ended(
      SessionEnding::terminated_elsewhere,
      "the session was ended from outside ecsh while task " + t.id +
          " kept running (TerminateSession, the console, or its SSM agent restarting)" + what,
      "Run the command again; CloudTrail's TerminateSession events say who ended it.");
}

Awaitable<Error> explain_ending(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                Error ended) {
  std::vector<std::string> arns{target.task.arn};
  auto tasks = co_await ecs::describe_tasks(client, target.cluster_arn, arns);
  std::optional<ecs::TaskView> now;
  if (tasks && !tasks.value().empty()) now = tasks.value().front();
  if (!tasks) log::debug("DescribeTasks after the session ended: {}", tasks.error().message);
  co_return explain_ending(now, target, std::move(ended));
}

}  // namespace ecsh::doctor
