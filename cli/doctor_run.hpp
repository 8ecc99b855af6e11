#pragma once

// Doctor and enable as other commands (demo, exec --via auto) use them.

#include "ecsh/doctor/checks.hpp"
#include "ecsh/doctor/gather.hpp"
#include "ecsh/ecs/target.hpp"

#include <boost/json/object.hpp>

namespace ecsh::cli {

struct DoctorRun {
  doctor::Scope scope;
  doctor::Facts facts;
  std::vector<doctor::Check> checks;
};

Task<Result<DoctorRun>> run_doctor(aws::AwsClient& client, const ecs::TargetSpec& spec);
void print_doctor_text(const DoctorRun& run);
boost::json::object doctor_json(const DoctorRun& run);

inline constexpr std::string_view kExecPolicyName = "ecsh-exec";

struct EnablePlan {
  std::string role_name;  // put the exec policy on this role (empty: nothing to put)
  boost::json::object policy;
  std::string service;
  bool enable_on_service = false;
  bool redeploy = false;
  std::vector<doctor::Check> cannot_fix;
  bool empty() const { return role_name.empty() && !enable_on_service && !redeploy; }
};

EnablePlan plan_enable(const DoctorRun& run);
void print_plan(const EnablePlan& plan, const doctor::Facts& facts);
Task<Result<int>> apply_enable(aws::AwsClient& client, const DoctorRun& run, const EnablePlan& plan,
                               std::chrono::seconds timeout, bool quiet);

}  // namespace ecsh::cli
