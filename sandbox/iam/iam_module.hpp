#pragma once

// IAM and STS of the sandbox: users, access keys, roles, inline and managed policies, permission
// boundaries, instance profiles, temporary credentials from AssumeRole. It is the sandbox's
// IdentityStore (who signed) and IamEvaluator (what they may do): one evaluator for
// enforcement and for SimulatePrincipalPolicy.
// Files: iam_module.cpp (identity, evaluation, state file, scenarios), iam_routes.cpp (the IAM
// API), sts_routes.cpp (STS and temporary credentials), iam_state.hpp (what they share).

#include "sandbox/api.hpp"
#include "sandbox/core/identity.hpp"
#include "sandbox/iam/policy.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ecsh::sandbox::iam {

class IamModule final : public ServiceModule, public IdentityStore, public IamEvaluator {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  explicit IamModule(Clock clock);
  ~IamModule() override;

  std::string name() const override { return "iam"; }
  void register_routes(Router& router) override;
  boost::json::value save() const override;
  void load(const boost::json::value& state) override;
  ApiResult<void> apply_scenario(const boost::json::object& scenario) override;

  std::optional<SigningKey> find_key(std::string_view access_key_id) const override;
  Evaluation evaluate(std::string_view principal_arn, std::string_view action,
                      std::string_view resource, const ConditionContext& context) const override;
  bool role_exists(std::string_view role_arn) const override;
  bool region_enabled(std::string_view region) const override;

  // Temporary credentials for a role (what a task's role credentials endpoint hands the agent).
  struct TemporaryCredentials {
    std::string access_key_id, secret_access_key, session_token;
    std::chrono::system_clock::time_point expiration;
  };
  ApiResult<TemporaryCredentials> issue_role_session(std::string_view role_arn,
                                                     std::string_view session_name,
                                                     std::chrono::seconds duration);

 private:
  void register_iam_routes(Router& router);  // iam_routes.cpp
  void register_sts_routes(Router& router);  // sts_routes.cpp

  struct State;
  std::unique_ptr<State> s_;
  Clock clock_;
};

}  // namespace ecsh::sandbox::iam
