#include "ecsh/enable/plan.hpp"

#include <boost/json/array.hpp>

#include <algorithm>

namespace ecsh::enable {
namespace {

namespace json = boost::json;

bool fixable_failure(const doctor::Check& c) {
  return c.status == doctor::Status::fail && c.fixable_by_enable;
}

bool failing(const std::vector<doctor::Check>& checks, std::string_view id) {
  return std::any_of(checks.begin(), checks.end(),
                     [&](const doctor::Check& c) { return c.id == id && fixable_failure(c); });
}

std::string role_name_of(const std::string& role_arn) {
  auto slash = role_arn.rfind('/');
  return slash == std::string::npos ? role_arn : role_arn.substr(slash + 1);
}

}  // namespace

json::object exec_policy_document(const doctor::Facts& f) {
  json::array statements;
  json::array channel_actions;
  for (const char* a : doctor::kExecChannelActions) channel_actions.emplace_back(a);
  statements.push_back(json::object{{"Sid", "EcsExecSsmMessages"},
                                    {"Effect", "Allow"},
                                    {"Action", channel_actions},
                                    {"Resource", "*"}});
  if (!f.kms_key_id.empty()) {
    statements.push_back(json::object{{"Sid", "EcsExecKmsDecrypt"},
                                      {"Effect", "Allow"},
                                      {"Action", "kms:Decrypt"},
                                      {"Resource", f.kms_key_id}});
  }
  if (!f.log_group.empty() && f.logging != "NONE") {
    statements.push_back(
        json::object{{"Sid", "EcsExecLogs"},
                     {"Effect", "Allow"},
                     {"Action", json::array{"logs:DescribeLogGroups", "logs:CreateLogStream",
                                            "logs:DescribeLogStreams", "logs:PutLogEvents"}},
                     {"Resource", "*"}});
  }
  return json::object{{"Version", "2012-10-17"}, {"Statement", std::move(statements)}};
}

EnablePlan plan_enable(const std::string& service, const doctor::Facts& f,
                       const std::vector<doctor::Check>& checks) {
  namespace id = doctor::check_id;
  EnablePlan plan;
  const bool role_lacks_something =
      failing(checks, id::task_role_ssmmessages) || failing(checks, id::task_role_kms_decrypt) ||
      std::any_of(checks.begin(), checks.end(), [](const doctor::Check& c) {
        return c.id.starts_with(id::task_role_logs_prefix) && fixable_failure(c);
      });
  if (role_lacks_something && !f.role_arn.empty()) {
    plan.role_name = role_name_of(f.role_arn);
    plan.policy = exec_policy_document(f);
  }
  plan.service = service;
  if (!plan.service.empty()) {
    plan.enable_on_service = failing(checks, id::service_exec_enabled);
    plan.redeploy = plan.enable_on_service || failing(checks, id::service_redeploy_needed) ||
                    failing(checks, id::task_exec_enabled) || !plan.role_name.empty() ||
                    std::any_of(checks.begin(), checks.end(), [](const doctor::Check& c) {
                      return c.id == id::container_exec_agent && c.status == doctor::Status::fail;
                    });
  }
  for (const auto& c : checks) {
    // A stopped exec agent is a symptom: the new tasks of a redeploy get a fresh one, and its
    // cause (if enable cannot fix it) is listed on its own.
    if (c.id == id::container_exec_agent && plan.redeploy) continue;
    if (c.status == doctor::Status::fail && !c.fixable_by_enable) plan.cannot_fix.push_back(c);
  }
  return plan;
}

}  // namespace ecsh::enable
