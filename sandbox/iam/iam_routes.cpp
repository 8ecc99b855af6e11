// IAM's Query API in the sandbox: roles, users, access keys, inline and managed policies,
// permission boundaries, instance profiles, and SimulatePrincipalPolicy (the evaluator that
// enforces every call, asked directly).

#include "sandbox/core/time_format.hpp"
#include "sandbox/iam/iam_state.hpp"

#include <algorithm>
#include <cstdlib>

namespace ecsh::sandbox::iam {
namespace json = boost::json;

namespace {

constexpr const char* kIamNs = "https://iam.amazonaws.com/doc/2010-05-08/";

}  // namespace

// ---- XML renderers ---------------------------------------------------------------------------

namespace {

// GetRole alone returns RoleLastUsed (empty for a role never used, as the sandbox does not
// track use); CreateRole, ListRoles and instance profiles leave it out.
std::string role_xml(const Role& r, bool with_last_used = false) {
  std::string x = "<Role>" + xml_element("Path", r.path) + xml_element("RoleName", r.name) +
                  xml_element("RoleId", r.id) + xml_element("Arn", r.arn) +
                  xml_element("CreateDate", iso8601(r.created)) + "<AssumeRolePolicyDocument>" +
                  policy_xml(r.trust.text) + "</AssumeRolePolicyDocument>";
  if (!r.description.empty()) x += xml_element("Description", r.description);
  x += xml_element("MaxSessionDuration", std::to_string(r.max_session_duration));
  if (!r.boundary_arn.empty()) {
    x += "<PermissionsBoundary>" +
         xml_element("PermissionsBoundaryType", "PermissionsBoundaryPolicy") +
         xml_element("PermissionsBoundaryArn", r.boundary_arn) + "</PermissionsBoundary>";
  }
  if (with_last_used) x += "<RoleLastUsed/>";
  return x + "</Role>";
}

std::string user_xml(const Principal& u) {
  std::string x = "<User>" + xml_element("Path", u.path) + xml_element("UserName", u.name) +
                  xml_element("UserId", u.id) + xml_element("Arn", u.arn) +
                  xml_element("CreateDate", iso8601(u.created));
  if (!u.boundary_arn.empty()) {
    x += "<PermissionsBoundary>" +
         xml_element("PermissionsBoundaryType", "PermissionsBoundaryPolicy") +
         xml_element("PermissionsBoundaryArn", u.boundary_arn) + "</PermissionsBoundary>";
  }
  return x + "</User>";
}

std::string policy_xml_entity(const ManagedPolicy& p, std::size_t attachments) {
  return "<Policy>" + xml_element("PolicyName", p.name) + xml_element("PolicyId", p.id) +
         xml_element("Arn", p.arn) + xml_element("Path", p.path) +
         xml_element("DefaultVersionId", "v1") +
         xml_element("AttachmentCount", std::to_string(attachments)) +
         xml_element("PermissionsBoundaryUsageCount", "0") + xml_element("IsAttachable", "true") +
         (p.description.empty() ? std::string() : xml_element("Description", p.description)) +
         xml_element("CreateDate", iso8601(p.created)) +
         xml_element("UpdateDate", iso8601(p.created)) + "</Policy>";
}

std::string instance_profile_xml(const InstanceProfile& ip,
                                 const std::map<std::string, Role>& roles) {
  std::string x = "<InstanceProfile>" + xml_element("Path", ip.path) +
                  xml_element("InstanceProfileName", ip.name) +
                  xml_element("InstanceProfileId", ip.id) + xml_element("Arn", ip.arn) +
                  xml_element("CreateDate", iso8601(ip.created)) + "<Roles>";
  for (const auto& name : ip.roles) {
    auto it = roles.find(name);
    if (it == roles.end()) continue;
    std::string r = role_xml(it->second);
    x += "<member>" + r.substr(6, r.size() - 13) + "</member>";  // strip <Role></Role>
  }
  return x + "</Roles></InstanceProfile>";
}

}  // namespace

// ---- routes ----------------------------------------------------------------------------------

void IamModule::register_iam_routes(Router& router) {
  auto iam = [&router](std::string action, QueryHandler h) {
    router.add_query("iam", QueryDialect::query, kIamNs, std::move(action), std::move(h));
  };
  State& s = *s_;
  auto now = clock_;

  auto find_role = [&s](const std::string& name) -> ApiResult<Role*> {
    auto it = s.roles.find(name);
    if (it == s.roles.end()) {
      return no_such_entity("The role with name " + name + " cannot be found.");
    }
    return &it->second;
  };
  auto find_user = [&s](const std::string& name) -> ApiResult<Principal*> {
    auto it = s.users.find(name);
    if (it == s.users.end()) {
      return no_such_entity("The user with name " + name + " cannot be found.");
    }
    return &it->second;
  };
  auto find_policy = [&s](const std::string& arn) -> ApiResult<ManagedPolicy*> {
    auto it = s.policies.find(arn);
    if (it == s.policies.end()) {
      return no_such_entity("Policy " + arn + " does not exist or is not attachable.");
    }
    return &it->second;
  };

  iam("CreateRole", [&s, now](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
    BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
    BOOST_OUTCOME_TRY(auto doc, required(p, "AssumeRolePolicyDocument"));
    std::string path = p.get("Path", "/");
    std::string arn = account_arn("iam", "role" + path + name);
    BOOST_OUTCOME_TRY(ctx.authorize("iam:CreateRole", arn, "AccessDenied"));
    if (s.roles.count(name)) {
      return ApiError::client("EntityAlreadyExists", "Role with name " + name + " already exists.",
                              409);
    }
    BOOST_OUTCOME_TRY(auto trust, parse_stored(doc));
    Role r;
    r.name = name;
    r.path = path;
    r.arn = arn;
    r.id = random_id("AROA");
    r.created = now();
    r.trust = std::move(trust);
    r.description = p.get("Description");
    if (auto* m = p.find("MaxSessionDuration")) r.max_session_duration = std::atoi(m->c_str());
    r.boundary_arn = p.get("PermissionsBoundary");
    std::string out = role_xml(r);
    s.roles[name] = std::move(r);
    ctx.mutated = true;
    return out;
  });
  iam("GetRole", [find_role](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
    BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
    BOOST_OUTCOME_TRY(auto* role, find_role(name));
    BOOST_OUTCOME_TRY(ctx.authorize("iam:GetRole", role->arn, "AccessDenied"));
    return role_xml(*role, true);
  });
  iam("ListRoles", [&s](RequestContext& ctx, const QueryParams&) -> ApiResult<std::string> {
    BOOST_OUTCOME_TRY(ctx.authorize("iam:ListRoles", "*", "AccessDenied"));
    std::string x = "<Roles>";
    for (const auto& [n, r] : s.roles) {
      std::string one = role_xml(r);
      x += "<member>" + one.substr(6, one.size() - 13) + "</member>";
    }
    return x + "</Roles><IsTruncated>false</IsTruncated>";
  });
  iam("DeleteRole",
      [&s, find_role](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
        BOOST_OUTCOME_TRY(auto* role, find_role(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:DeleteRole", role->arn, "AccessDenied"));
        if (!role->inline_policies.empty() || !role->attached.empty()) {
          return ApiError::client("DeleteConflict",
                                  "Cannot delete entity, must delete policies first.", 409);
        }
        for (const auto& [n, ip] : s.instance_profiles) {
          if (std::find(ip.roles.begin(), ip.roles.end(), name) != ip.roles.end()) {
            return ApiError::client(
                "DeleteConflict",
                "Cannot delete entity, must remove roles from instance profile first.", 409);
          }
        }
        s.roles.erase(name);
        ctx.mutated = true;
        return std::string();
      });

  // Inline and managed policies, for roles and users alike.
  auto put_inline = [](Principal& who, const QueryParams& p) -> ApiResult<void> {
    BOOST_OUTCOME_TRY(auto policy_name, required(p, "PolicyName"));
    BOOST_OUTCOME_TRY(auto doc, required(p, "PolicyDocument"));
    BOOST_OUTCOME_TRY(auto stored, parse_stored(doc));
    who.inline_policies[policy_name] = std::move(stored);
    return outcome::success();
  };
  iam("PutRolePolicy",
      [find_role, put_inline](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
        BOOST_OUTCOME_TRY(auto* role, find_role(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:PutRolePolicy", role->arn, "AccessDenied"));
        BOOST_OUTCOME_TRY(put_inline(*role, p));
        ctx.mutated = true;
        return std::string();
      });
  iam("PutUserPolicy",
      [find_user, put_inline](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "UserName"));
        BOOST_OUTCOME_TRY(auto* user, find_user(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:PutUserPolicy", user->arn, "AccessDenied"));
        BOOST_OUTCOME_TRY(put_inline(*user, p));
        ctx.mutated = true;
        return std::string();
      });
  iam("GetRolePolicy",
      [find_role](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
        BOOST_OUTCOME_TRY(auto policy_name, required(p, "PolicyName"));
        BOOST_OUTCOME_TRY(auto* role, find_role(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:GetRolePolicy", role->arn, "AccessDenied"));
        auto it = role->inline_policies.find(policy_name);
        if (it == role->inline_policies.end()) {
          return no_such_entity("The role policy with name " + policy_name + " cannot be found.");
        }
        return xml_element("RoleName", name) + xml_element("PolicyName", policy_name) +
               "<PolicyDocument>" + policy_xml(it->second.text) + "</PolicyDocument>";
      });
  iam("ListRolePolicies",
      [find_role](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
        BOOST_OUTCOME_TRY(auto* role, find_role(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:ListRolePolicies", role->arn, "AccessDenied"));
        std::string x = "<PolicyNames>";
        for (const auto& [n, pol] : role->inline_policies) x += xml_element("member", n);
        return x + "</PolicyNames><IsTruncated>false</IsTruncated>";
      });
  iam("DeleteRolePolicy",
      [find_role](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
        BOOST_OUTCOME_TRY(auto policy_name, required(p, "PolicyName"));
        BOOST_OUTCOME_TRY(auto* role, find_role(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:DeleteRolePolicy", role->arn, "AccessDenied"));
        if (!role->inline_policies.erase(policy_name)) {
          return no_such_entity("The role policy with name " + policy_name + " cannot be found.");
        }
        ctx.mutated = true;
        return std::string();
      });
  auto attach = [find_policy](Principal& who, const QueryParams& p) -> ApiResult<void> {
    BOOST_OUTCOME_TRY(auto arn, required(p, "PolicyArn"));
    BOOST_OUTCOME_TRY(find_policy(arn));
    if (std::find(who.attached.begin(), who.attached.end(), arn) == who.attached.end()) {
      who.attached.push_back(arn);
    }
    return outcome::success();
  };
  iam("AttachRolePolicy",
      [find_role, attach](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
        BOOST_OUTCOME_TRY(auto* role, find_role(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:AttachRolePolicy", role->arn, "AccessDenied"));
        BOOST_OUTCOME_TRY(attach(*role, p));
        ctx.mutated = true;
        return std::string();
      });
  iam("AttachUserPolicy",
      [find_user, attach](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "UserName"));
        BOOST_OUTCOME_TRY(auto* user, find_user(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:AttachUserPolicy", user->arn, "AccessDenied"));
        BOOST_OUTCOME_TRY(attach(*user, p));
        ctx.mutated = true;
        return std::string();
      });
  iam("DetachRolePolicy",
      [find_role](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
        BOOST_OUTCOME_TRY(auto arn, required(p, "PolicyArn"));
        BOOST_OUTCOME_TRY(auto* role, find_role(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:DetachRolePolicy", role->arn, "AccessDenied"));
        auto it = std::find(role->attached.begin(), role->attached.end(), arn);
        if (it == role->attached.end()) {
          return no_such_entity("Policy " + arn + " was not found.");
        }
        role->attached.erase(it);
        ctx.mutated = true;
        return std::string();
      });
  iam("ListAttachedRolePolicies",
      [&s, find_role](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
        BOOST_OUTCOME_TRY(auto* role, find_role(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:ListAttachedRolePolicies", role->arn, "AccessDenied"));
        std::string x = "<AttachedPolicies>";
        for (const auto& arn : role->attached) {
          auto it = s.policies.find(arn);
          if (it == s.policies.end()) continue;
          x += "<member>" + xml_element("PolicyName", it->second.name) +
               xml_element("PolicyArn", arn) + "</member>";
        }
        return x + "</AttachedPolicies><IsTruncated>false</IsTruncated>";
      });
  iam("CreatePolicy",
      [&s, now](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "PolicyName"));
        BOOST_OUTCOME_TRY(auto doc, required(p, "PolicyDocument"));
        std::string path = p.get("Path", "/");
        std::string arn = account_arn("iam", "policy" + path + name);
        BOOST_OUTCOME_TRY(ctx.authorize("iam:CreatePolicy", arn, "AccessDenied"));
        if (s.policies.count(arn)) {
          return ApiError::client("EntityAlreadyExists",
                                  "A policy called " + name +
                                      " already exists. Duplicate names are "
                                      "not allowed.",
                                  409);
        }
        BOOST_OUTCOME_TRY(auto stored, parse_stored(doc));
        ManagedPolicy m;
        m.name = name;
        m.arn = arn;
        m.path = path;
        m.id = random_id("ANPA");
        m.description = p.get("Description");
        m.policy = std::move(stored);
        m.created = now();
        std::string out = policy_xml_entity(m, 0);
        s.policies[arn] = std::move(m);
        ctx.mutated = true;
        return out;
      });
  auto attachments = [&s](const std::string& arn) {
    std::size_t n = 0;
    for (const auto& [k, r] : s.roles) n += std::count(r.attached.begin(), r.attached.end(), arn);
    for (const auto& [k, u] : s.users) n += std::count(u.attached.begin(), u.attached.end(), arn);
    return n;
  };
  iam("GetPolicy",
      [find_policy, attachments](RequestContext& ctx,
                                 const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto arn, required(p, "PolicyArn"));
        BOOST_OUTCOME_TRY(auto* policy, find_policy(arn));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:GetPolicy", arn, "AccessDenied"));
        return policy_xml_entity(*policy, attachments(arn));
      });
  iam("GetPolicyVersion",
      [find_policy](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto arn, required(p, "PolicyArn"));
        BOOST_OUTCOME_TRY(auto version, required(p, "VersionId"));
        BOOST_OUTCOME_TRY(auto* policy, find_policy(arn));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:GetPolicyVersion", arn, "AccessDenied"));
        if (version != "v1") {
          return no_such_entity("Policy " + arn + " version " + version +
                                " does not exist or is not attachable.");
        }
        return "<PolicyVersion><Document>" + policy_xml(policy->policy.text) + "</Document>" +
               xml_element("VersionId", "v1") + xml_element("IsDefaultVersion", "true") +
               xml_element("CreateDate", iso8601(policy->created)) + "</PolicyVersion>";
      });
  iam("CreateUser", [&s, now](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
    BOOST_OUTCOME_TRY(auto name, required(p, "UserName"));
    std::string path = p.get("Path", "/");
    std::string arn = account_arn("iam", "user" + path + name);
    BOOST_OUTCOME_TRY(ctx.authorize("iam:CreateUser", arn, "AccessDenied"));
    if (s.users.count(name)) {
      return ApiError::client("EntityAlreadyExists", "User with name " + name + " already exists.",
                              409);
    }
    Principal u;
    u.name = name;
    u.path = path;
    u.arn = arn;
    u.id = random_id("AIDA");
    u.created = now();
    u.boundary_arn = p.get("PermissionsBoundary");
    std::string out = user_xml(u);
    s.users[name] = std::move(u);
    ctx.mutated = true;
    return out;
  });
  iam("GetUser",
      [&s, find_user](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        std::string name = p.get("UserName");
        if (name.empty()) {
          if (ctx.caller.is_root) {
            return "<User>" + xml_element("UserId", std::string(kAccountId)) +
                   xml_element("Arn", ctx.caller.arn) +
                   xml_element("CreateDate", iso8601(time_point{})) + "</User>";
          }
          name = name_from_arn(ctx.caller.arn);
          if (!s.users.count(name)) {
            return invalid_input("Must specify userName when calling with non-User credentials");
          }
        }
        BOOST_OUTCOME_TRY(auto* user, find_user(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:GetUser", user->arn, "AccessDenied"));
        return user_xml(*user);
      });
  iam("CreateAccessKey",
      [&s, now, find_user](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        std::string name = p.get("UserName");
        if (name.empty()) name = name_from_arn(ctx.caller.arn);
        BOOST_OUTCOME_TRY(auto* user, find_user(name));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:CreateAccessKey", user->arn, "AccessDenied"));
        AccessKey k;
        k.secret = crypto::base64_encode(crypto::random_bytes(30));
        k.user = name;
        k.created = now();
        std::string id = random_id("AKIA", 16);
        std::string out = "<AccessKey>" + xml_element("UserName", name) +
                          xml_element("AccessKeyId", id) + xml_element("Status", "Active") +
                          xml_element("SecretAccessKey", k.secret) +
                          xml_element("CreateDate", iso8601(k.created)) + "</AccessKey>";
        s.keys[id] = std::move(k);
        ctx.mutated = true;
        return out;
      });
  // Whose key this is (what doctor asks about AWS keys found in a container's environment).
  // Last use is not tracked: ServiceName and Region say N/A, as for a key never used.
  iam("GetAccessKeyLastUsed",
      [&s](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto id, required(p, "AccessKeyId"));
        std::string user_name, resource = account_arn("iam", "user/*");
        if (id == kAdminAccessKeyId) {
          resource = account_arn("iam", "root");
        } else if (auto it = s.keys.find(id);
                   it != s.keys.end() && s.users.count(it->second.user)) {
          user_name = it->second.user;
          resource = s.users.at(user_name).arn;
        } else {
          BOOST_OUTCOME_TRY(ctx.authorize("iam:GetAccessKeyLastUsed", resource, "AccessDenied"));
          return no_such_entity("The Access Key with id " + id + " cannot be found");
        }
        BOOST_OUTCOME_TRY(ctx.authorize("iam:GetAccessKeyLastUsed", resource, "AccessDenied"));
        return (user_name.empty() ? std::string() : xml_element("UserName", user_name)) +
               "<AccessKeyLastUsed>" + xml_element("ServiceName", "N/A") +
               xml_element("Region", "N/A") + "</AccessKeyLastUsed>";
      });
  auto set_boundary = [find_policy](Principal& who, const QueryParams& p) -> ApiResult<void> {
    BOOST_OUTCOME_TRY(auto arn, required(p, "PermissionsBoundary"));
    BOOST_OUTCOME_TRY(find_policy(arn));
    who.boundary_arn = arn;
    return outcome::success();
  };
  iam("PutRolePermissionsBoundary",
      [find_role, set_boundary](RequestContext& ctx,
                                const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "RoleName"));
        BOOST_OUTCOME_TRY(auto* role, find_role(name));
        BOOST_OUTCOME_TRY(
            ctx.authorize("iam:PutRolePermissionsBoundary", role->arn, "AccessDenied"));
        BOOST_OUTCOME_TRY(set_boundary(*role, p));
        ctx.mutated = true;
        return std::string();
      });
  iam("PutUserPermissionsBoundary",
      [find_user, set_boundary](RequestContext& ctx,
                                const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "UserName"));
        BOOST_OUTCOME_TRY(auto* user, find_user(name));
        BOOST_OUTCOME_TRY(
            ctx.authorize("iam:PutUserPermissionsBoundary", user->arn, "AccessDenied"));
        BOOST_OUTCOME_TRY(set_boundary(*user, p));
        ctx.mutated = true;
        return std::string();
      });
  iam("CreateInstanceProfile",
      [&s, now](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "InstanceProfileName"));
        std::string path = p.get("Path", "/");
        std::string arn = account_arn("iam", "instance-profile" + path + name);
        BOOST_OUTCOME_TRY(ctx.authorize("iam:CreateInstanceProfile", arn, "AccessDenied"));
        if (s.instance_profiles.count(name)) {
          return ApiError::client("EntityAlreadyExists",
                                  "Instance Profile " + name + " already exists.", 409);
        }
        InstanceProfile ip;
        ip.name = name;
        ip.path = path;
        ip.arn = arn;
        ip.id = random_id("AIPA");
        ip.created = now();
        std::string out = instance_profile_xml(ip, s.roles);
        s.instance_profiles[name] = std::move(ip);
        ctx.mutated = true;
        return out;
      });
  iam("AddRoleToInstanceProfile",
      [&s, find_role](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "InstanceProfileName"));
        BOOST_OUTCOME_TRY(auto role_name, required(p, "RoleName"));
        auto it = s.instance_profiles.find(name);
        if (it == s.instance_profiles.end()) {
          return no_such_entity("Instance Profile " + name + " cannot be found.");
        }
        BOOST_OUTCOME_TRY(find_role(role_name));
        BOOST_OUTCOME_TRY(
            ctx.authorize("iam:AddRoleToInstanceProfile", it->second.arn, "AccessDenied"));
        if (!it->second.roles.empty()) {
          return ApiError::client("LimitExceeded",
                                  "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
                                  409);
        }
        it->second.roles.push_back(role_name);
        ctx.mutated = true;
        return std::string();
      });
  iam("GetInstanceProfile",
      [&s](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto name, required(p, "InstanceProfileName"));
        auto it = s.instance_profiles.find(name);
        if (it == s.instance_profiles.end()) {
          return no_such_entity("Instance Profile " + name + " cannot be found.");
        }
        BOOST_OUTCOME_TRY(ctx.authorize("iam:GetInstanceProfile", it->second.arn, "AccessDenied"));
        return instance_profile_xml(it->second, s.roles);
      });
  iam("SimulatePrincipalPolicy",
      [this](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
        BOOST_OUTCOME_TRY(auto source, required(p, "PolicySourceArn"));
        BOOST_OUTCOME_TRY(ctx.authorize("iam:SimulatePrincipalPolicy", source, "AccessDenied"));
        // A user's or role's ARN in the account that names no one: NoSuchEntity; anything else
        // (an assumed-role session, another account, a policy): InvalidInput, as on AWS.
        bool is_user = source.starts_with(account_arn("iam", "user/"));
        bool is_role = source.starts_with(account_arn("iam", "role/"));
        if (!is_user && !is_role) {
          return ApiError::client(
              "InvalidInput",
              "Invalid Entity Arn: " + source + " does not clearly define entity type and name.",
              400);
        }
        if (is_user && !s_->users.count(name_from_arn(source))) {
          return no_such_entity("The user with name " + name_from_arn(source) +
                                " cannot be found.");
        }
        if (is_role && !s_->role_by_arn(source)) {
          return no_such_entity("The role with name " + name_from_arn(source) +
                                " cannot be found.");
        }
        auto actions = p.list("ActionNames");
        if (actions.empty()) {
          return invalid_input(
              "1 validation error detected: Value null at 'actionNames' failed to satisfy "
              "constraint: Member must not be null");
        }
        auto resources = p.list("ResourceArns");
        if (resources.empty()) resources.push_back("*");
        ConditionContext context;
        for (int i = 1;; ++i) {
          std::string prefix = "ContextEntries.member." + std::to_string(i) + ".";
          auto* key = p.find(prefix + "ContextKeyName");
          if (!key) break;
          auto values = p.list(prefix + "ContextKeyValues");
          if (!values.empty()) context[*key] = values.front();
        }
        std::string x = "<EvaluationResults>";
        for (const auto& action : actions) {
          for (const auto& resource : resources) {
            auto e = evaluate(source, action, resource, context);
            const char* decision = e.decision == Decision::allowed         ? "allowed"
                                   : e.decision == Decision::explicit_deny ? "explicitDeny"
                                                                           : "implicitDeny";
            x += "<member>" + xml_element("EvalActionName", action) +
                 xml_element("EvalResourceName", resource) + xml_element("EvalDecision", decision) +
                 "<MatchedStatements>";
            for (const auto& m : e.matched_statements) {
              x += "<member>" + xml_element("SourcePolicyId", m.substr(0, m.rfind(':'))) +
                   xml_element("SourcePolicyType", "IAM Policy") + "</member>";
            }
            x += "</MatchedStatements><MissingContextValues/></member>";
          }
        }
        return x + "</EvaluationResults><IsTruncated>false</IsTruncated>";
      });
}

}  // namespace ecsh::sandbox::iam
