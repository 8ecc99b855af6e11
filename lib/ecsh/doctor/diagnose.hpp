#pragma once

// Every failed session explains itself: when ECS Exec refuses a session (ExecuteCommand's or
// StartSession's InvalidParameterException, TargetNotConnectedException / TargetNotConnected,
// AccessDeniedException),
// doctor's checks run for that one target and what blocks it is told under AWS's words, with the
// fixes. AWS's paragraph alone names no cause (amazon-ecs-exec-checker #43, #47).

#include "ecsh/doctor/checks.hpp"
#include "ecsh/doctor/gather.hpp"
#include "ecsh/ecs/ecs_view.hpp"
#include "ecsh/ecs/target.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace ecsh::doctor {

// ECS Exec refused the target (rather than a failure of the call or the link): worth asking
// doctor why.
bool refused_by_ecs_exec(const Error& e);

// The scope doctor judges for one resolved target: its task (and its service, if any).
Scope scope_of(const ecs::ResolvedTarget& target);

// What blocks exec, in at most `max` findings: "doctor: ✗ TITLE: DETAIL" and "  fix: FIX" lines,
// then "  (and N more: ecsh doctor …)" when there are more. Empty when nothing failed. Pure.
std::string explain_blocking(const std::vector<Check>& checks, const ecs::ResolvedTarget& target,
                             std::size_t max = 3);

// `refusal` with doctor's findings for `target` added to its hint. When doctor cannot gather
// (its own calls fail) or finds nothing that blocks, the error is returned as it was, with a
// pointer to `ecsh doctor`. Only for errors refused_by_ecs_exec() accepts.
Awaitable<Error> explain_refusal(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                 Error refusal);

// A session that ended before its command without saying why (Error::ending == unexplained):
// the task as DescribeTasks shows it now tells which. Stopping or stopped (or the target's
// container stopped): task_stopped, with ECS's reason. Still running: the session was ended
// from elsewhere (TerminateSession, the console, the agent restarting). Unknown (no task: the
// call failed): the error as it was. Pure.
Error explain_ending(const std::optional<ecs::TaskView>& task_now,
                     const ecs::ResolvedTarget& target, Error ended);
// The same, with the DescribeTasks call.
Awaitable<Error> explain_ending(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                Error ended);

}  // namespace ecsh::doctor
