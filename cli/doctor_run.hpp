#pragma once

// Doctor and enable as other commands (demo) use them.

#include "cli/command.hpp"
#include "ecsh/doctor/checks.hpp"
#include "ecsh/doctor/gather.hpp"
#include "ecsh/ecs/target.hpp"
#include "ecsh/enable/apply.hpp"
#include "ecsh/enable/plan.hpp"

#include <boost/json/object.hpp>

namespace ecsh::cli {

struct DoctorRun {
  doctor::Scope scope;
  doctor::Facts facts;
  std::vector<doctor::Check> checks;
};

// A session's error, explained: when ECS Exec refused it, doctor's blocking findings for the
// target follow AWS's words (doctor/diagnose.hpp), unless --no-diagnose; when it ended early
// for no reason it gave, the task's state says whether it stopped or the session was ended
// elsewhere.
Awaitable<Error> explain_session_error(aws::AwsClient& client, const GlobalOptions& global,
                                       const ecs::ResolvedTarget& target, Error error);

Awaitable<Result<DoctorRun>> run_doctor(aws::AwsClient& client, const ecs::TargetSpec& spec);
// `ecsh doctor --all`: every service and standalone task of spec.cluster (every cluster when
// empty), one row each; exit 1 when one is blocked (cli/doctor_all.cpp).
struct AwsContext;
Awaitable<Result<int>> run_doctor_all(AwsContext& ctx, const GlobalOptions& global,
                                      const ecs::TargetSpec& spec);
void print_doctor_text(const DoctorRun& run);
boost::json::object doctor_json(const DoctorRun& run);

// `ecsh enable`'s plan as it prints it, and what applying it tells, on stdout (a progress line
// rewritten in place on a terminal).
void print_plan(const enable::EnablePlan& plan, const doctor::Facts& facts);
enable::Progress stdout_progress();

}  // namespace ecsh::cli
