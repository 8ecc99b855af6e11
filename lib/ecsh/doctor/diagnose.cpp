#include "ecsh/doctor/diagnose.hpp"

#include "ecsh/common/log.hpp"

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

}  // namespace ecsh::doctor
