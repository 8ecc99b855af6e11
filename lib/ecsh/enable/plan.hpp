#pragma once

// `ecsh enable`: which changes make ECS Exec work, decided from what doctor found (pure). Only
// failures doctor marks as fixable by enable lead to a change; every other failure is listed as
// something enable cannot fix. apply.hpp makes the changes.

#include "ecsh/doctor/checks.hpp"
#include "ecsh/doctor/facts.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ecsh::enable {

// The inline policy enable puts on the role the exec agent uses.
inline constexpr std::string_view kExecPolicyName = "ecsh-exec";

// That policy: the four ssmmessages actions; kms:Decrypt on the cluster's exec key when sessions
// are encrypted; the CloudWatch Logs actions when session logging writes to a log group.
boost::json::object exec_policy_document(const doctor::Facts& facts);

struct EnablePlan {
  std::string role_name;  // put the exec policy on this role (empty: nothing to put)
  boost::json::object policy;
  std::string service;
  bool enable_on_service = false;
  bool redeploy = false;
  std::vector<doctor::Check> cannot_fix;  // failures enable leaves as they are
  bool empty() const { return role_name.empty() && !enable_on_service && !redeploy; }
};

// `service` is the service doctor ran on; empty for a task of its own, which enable cannot
// redeploy (only the role's policy can change then).
EnablePlan plan_enable(const std::string& service, const doctor::Facts& facts,
                       const std::vector<doctor::Check>& checks);

}  // namespace ecsh::enable
