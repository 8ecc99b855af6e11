// STS in the sandbox: GetCallerIdentity, AssumeRole (a role's trust policy, and in the same
// account the caller's own permission), and the temporary credentials it hands out, which the
// task role credentials endpoint hands the agent too. They sign requests as
// arn:aws:sts::…:assumed-role/ROLE/SESSION (IamModule::find_key).

#include "sandbox/core/time_format.hpp"
#include "sandbox/iam/iam_state.hpp"

#include <cstdlib>

namespace ecsh::sandbox::iam {

namespace {

constexpr const char* kStsNs = "https://sts.amazonaws.com/doc/2011-06-15/";

}  // namespace

ApiResult<IamModule::TemporaryCredentials> IamModule::issue_role_session(
    std::string_view role_arn, std::string_view session_name, std::chrono::seconds duration) {
  const Role* role = s_->role_by_arn(role_arn);
  if (!role) {
    return ApiError::client("AccessDenied", "Role " + std::string(role_arn) + " does not exist",
                            403);
  }
  TemporaryCredentials c;
  c.access_key_id = random_id("ASIA", 16);
  c.secret_access_key = crypto::base64_encode(crypto::random_bytes(30));
  c.session_token =
      "IQoJb3JpZ2luX2VjEAAaCXNhbmRib3gi" + crypto::base64_encode(crypto::random_bytes(96));
  c.expiration = clock_() + duration;
  Session s;
  s.secret = c.secret_access_key;
  s.token = c.session_token;
  s.role = role->name;
  s.session_name = std::string(session_name);
  s.expiration = c.expiration;
  s_->sessions[c.access_key_id] = std::move(s);
  return c;
}

void IamModule::register_sts_routes(Router& router) {
  auto sts = [&router](std::string action, QueryHandler h) {
    router.add_query("sts", QueryDialect::query, kStsNs, std::move(action), std::move(h));
  };
  sts("GetCallerIdentity", [](RequestContext& ctx, const QueryParams&) -> ApiResult<std::string> {
    return xml_element("Arn", ctx.caller.arn) + xml_element("UserId", ctx.caller.user_id) +
           xml_element("Account", ctx.caller.account_id);
  });
  sts("AssumeRole", [this](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
    BOOST_OUTCOME_TRY(auto role_arn, required(p, "RoleArn"));
    BOOST_OUTCOME_TRY(auto session_name, required(p, "RoleSessionName"));
    const Role* role = s_->role_by_arn(role_arn);
    std::string denied = "User: " + ctx.caller.arn +
                         " is not authorized to perform: sts:AssumeRole on resource: " + role_arn;
    if (!role) return ApiError::client("AccessDenied", denied, 403);
    int duration = 3600;
    if (auto* d = p.find("DurationSeconds")) duration = std::atoi(d->c_str());
    if (duration < 900 || duration > role->max_session_duration) {
      return invalid_input(
          "The requested DurationSeconds exceeds the MaxSessionDuration set for "
          "this role.");
    }
    // Same account: a trust policy naming the caller suffices; one naming the account needs the
    // caller's own policies to allow sts:AssumeRole as well.
    auto direct =
        evaluate_trust(role->trust.doc, "AWS", ctx.caller.arn, kAccountId, "sts:AssumeRole");
    bool allowed = false;
    if (direct == Decision::allowed) {
      bool names_caller = false;
      for (const auto& st : role->trust.doc.statements) {
        for (const auto& pr : st.principals) {
          if (pr == "AWS:" + ctx.caller.arn) names_caller = true;
        }
      }
      allowed = names_caller || ctx.caller.is_root ||
                evaluate(ctx.caller.arn, "sts:AssumeRole", role_arn, {}).allowed();
    }
    if (!allowed) return ApiError::client("AccessDenied", denied, 403);
    BOOST_OUTCOME_TRY(auto creds,
                      issue_role_session(role_arn, session_name, std::chrono::seconds(duration)));
    ctx.mutated = true;
    return "<Credentials>" + xml_element("AccessKeyId", creds.access_key_id) +
           xml_element("SecretAccessKey", creds.secret_access_key) +
           xml_element("SessionToken", creds.session_token) +
           xml_element("Expiration", iso8601(creds.expiration)) + "</Credentials>" +
           "<AssumedRoleUser>" + xml_element("AssumedRoleId", role->id + ":" + session_name) +
           xml_element("Arn",
                       account_arn("sts", "assumed-role/" + role->name + "/" + session_name)) +
           "</AssumedRoleUser>";
  });
}

}  // namespace ecsh::sandbox::iam
