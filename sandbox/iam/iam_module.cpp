#include "sandbox/iam/iam_module.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/strings.hpp"
#include "sandbox/core/time_format.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace ecsh::sandbox::iam {
namespace json = boost::json;
using time_point = std::chrono::system_clock::time_point;

namespace {

constexpr const char* kIamNs = "https://iam.amazonaws.com/doc/2010-05-08/";
constexpr const char* kStsNs = "https://sts.amazonaws.com/doc/2011-06-15/";

struct StoredPolicy {
  std::string text;
  PolicyDocument doc;
};

struct Principal {
  std::string name, path = "/", id, arn;
  time_point created;
  std::map<std::string, StoredPolicy> inline_policies;
  std::vector<std::string> attached;  // managed policy ARNs
  std::string boundary_arn;
};

struct Role : Principal {
  StoredPolicy trust;
  std::string description;
  int max_session_duration = 3600;
};

struct ManagedPolicy {
  std::string name, arn, id, path = "/", description;
  StoredPolicy policy;
  time_point created;
};

struct AccessKey {
  std::string secret, user;
  time_point created;
};

struct Session {
  std::string secret, token, role, session_name;
  time_point expiration;
};

struct InstanceProfile {
  std::string name, arn, id, path = "/";
  std::vector<std::string> roles;
  time_point created;
};

std::string random_id(std::string_view prefix, std::size_t length = 17) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string bytes = crypto::random_bytes(length);
  std::string out(prefix);
  for (unsigned char b : bytes) out += kAlphabet[b % 32];
  return out;
}

std::string account_arn(std::string_view service, std::string_view rest) {
  return "arn:aws:" + std::string(service) + "::" + std::string(kAccountId) + ":" +
         std::string(rest);
}

ApiError no_such_entity(std::string message) {
  return ApiError::client("NoSuchEntity", std::move(message), 404);
}

ApiError invalid_input(std::string message) {
  return ApiError::client("ValidationError", std::move(message), 400);
}

ApiResult<std::string> required(const QueryParams& p, const std::string& key) {
  auto* v = p.find(key);
  if (!v || v->empty()) {
    return invalid_input("1 validation error detected: Value null at '" +
                         std::string(1, static_cast<char>(std::tolower(key[0]))) + key.substr(1) +
                         "' failed to satisfy constraint: Member must not be null");
  }
  return *v;
}

ApiResult<StoredPolicy> parse_stored(std::string text) {
  std::string error;
  auto doc = parse_policy(text, &error);
  if (!doc) return ApiError::client("MalformedPolicyDocument", error, 400);
  StoredPolicy p;
  p.text = std::move(text);
  p.doc = std::move(*doc);
  return p;
}

std::string policy_xml(std::string_view text) { return xml_escape(str::uri_encode(text)); }

std::string name_from_arn(std::string_view arn) {
  auto slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

}  // namespace

struct IamModule::State {
  std::map<std::string, Principal> users;
  std::map<std::string, Role> roles;
  std::map<std::string, ManagedPolicy> policies;  // by ARN
  std::map<std::string, AccessKey> keys;
  std::map<std::string, Session> sessions;  // by access key ID
  std::map<std::string, InstanceProfile> instance_profiles;

  const Role* role_by_arn(std::string_view arn) const {
    for (const auto& [n, r] : roles) {
      if (r.arn == arn) return &r;
    }
    return nullptr;
  }
  Role* role_by_arn(std::string_view arn) {
    return const_cast<Role*>(static_cast<const State*>(this)->role_by_arn(arn));
  }
};

IamModule::IamModule(Clock clock) : s_(std::make_unique<State>()), clock_(std::move(clock)) {
  // AWS managed policies the demo and the tests refer to.
  auto add_managed = [this](std::string arn, std::string name, std::string text) {
    ManagedPolicy m;
    m.arn = std::move(arn);
    m.name = std::move(name);
    m.id = random_id("ANPA");
    m.policy = parse_stored(std::move(text)).value();
    m.created = time_point{};
    s_->policies[m.arn] = std::move(m);
  };
  add_managed(
      "arn:aws:iam::aws:policy/AdministratorAccess", "AdministratorAccess",
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})");
  add_managed(
      "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "AmazonSSMManagedInstanceCore",
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel","ec2messages:*"],"Resource":"*"}]})");
  add_managed(
      "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
      "AmazonECSTaskExecutionRolePolicy",
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]})");
}

IamModule::~IamModule() = default;

// ---- identity and evaluation -----------------------------------------------------------------

std::optional<SigningKey> IamModule::find_key(std::string_view access_key_id) const {
  if (access_key_id == kAdminAccessKeyId) {
    SigningKey k;
    k.secret_access_key = std::string(kAdminSecretAccessKey);
    k.caller.account_id = std::string(kAccountId);
    k.caller.arn = account_arn("iam", "root");
    k.caller.user_id = std::string(kAccountId);
    k.caller.is_root = true;
    return k;
  }
  if (auto it = s_->keys.find(std::string(access_key_id)); it != s_->keys.end()) {
    auto user = s_->users.find(it->second.user);
    if (user == s_->users.end()) return std::nullopt;
    SigningKey k;
    k.secret_access_key = it->second.secret;
    k.caller.account_id = std::string(kAccountId);
    k.caller.arn = user->second.arn;
    k.caller.user_id = user->second.id;
    return k;
  }
  if (auto it = s_->sessions.find(std::string(access_key_id)); it != s_->sessions.end()) {
    auto role = s_->roles.find(it->second.role);
    if (role == s_->roles.end()) return std::nullopt;
    SigningKey k;
    k.secret_access_key = it->second.secret;
    k.session_token = it->second.token;
    k.expiration = it->second.expiration;
    k.caller.account_id = std::string(kAccountId);
    k.caller.arn =
        account_arn("sts", "assumed-role/" + role->second.name + "/" + it->second.session_name);
    k.caller.user_id = role->second.id + ":" + it->second.session_name;
    return k;
  }
  return std::nullopt;
}

std::string IamModule::principal_of_key(std::string_view access_key_id,
                                        std::string_view secret_access_key) const {
  auto key = find_key(access_key_id);
  // Temporary credentials would need their session token, which the environment check does not
  // model: only long-term keys (and the administrator's) count.
  if (!key || !key->session_token.empty() || key->secret_access_key != secret_access_key) return {};
  return key->caller.arn;
}

Evaluation IamModule::evaluate(std::string_view principal_arn, std::string_view action,
                               std::string_view resource, const ConditionContext& context) const {
  const Principal* principal = nullptr;
  const std::string prefix_user = account_arn("iam", "user/");
  const std::string prefix_role = account_arn("iam", "role/");
  const std::string prefix_session = account_arn("sts", "assumed-role/");
  Evaluation denied;
  denied.decision = Decision::implicit_deny;
  denied.reason = "no identity-based policy allows the " + std::string(action) + " action";
  if (principal_arn == account_arn("iam", "root")) {
    Evaluation e;
    e.decision = Decision::allowed;
    return e;
  }
  if (principal_arn.starts_with(prefix_user)) {
    auto it = s_->users.find(name_from_arn(principal_arn));
    if (it != s_->users.end() && it->second.arn == principal_arn) principal = &it->second;
  } else if (principal_arn.starts_with(prefix_role)) {
    principal = s_->role_by_arn(principal_arn);
  } else if (principal_arn.starts_with(prefix_session)) {
    auto rest = principal_arn.substr(prefix_session.size());
    auto it = s_->roles.find(std::string(rest.substr(0, rest.find('/'))));
    if (it != s_->roles.end()) principal = &it->second;
  }
  if (!principal) return denied;

  std::vector<NamedPolicy> policies;
  for (const auto& [n, p] : principal->inline_policies) {
    NamedPolicy np;
    np.name = n;
    np.document = &p.doc;
    policies.push_back(np);
  }
  for (const auto& arn : principal->attached) {
    auto it = s_->policies.find(arn);
    if (it == s_->policies.end()) continue;
    NamedPolicy np;
    np.name = it->second.name;
    np.document = &it->second.policy.doc;
    policies.push_back(np);
  }
  const PolicyDocument* boundary = nullptr;
  if (!principal->boundary_arn.empty()) {
    auto it = s_->policies.find(principal->boundary_arn);
    if (it != s_->policies.end()) boundary = &it->second.policy.doc;
  }
  Request r;
  r.action = std::string(action);
  r.resource = std::string(resource);
  r.context = context;
  return iam::evaluate(policies, boundary, r);
}

bool IamModule::role_exists(std::string_view role_arn) const {
  return s_->role_by_arn(role_arn) != nullptr;
}

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

// ---- XML renderers ---------------------------------------------------------------------------

namespace {

std::string role_xml(const Role& r) {
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

void IamModule::register_routes(Router& router) {
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
    return role_xml(*role);
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
        bool known = source.starts_with(account_arn("iam", "user/"))
                         ? s_->users.count(name_from_arn(source)) > 0
                         : s_->role_by_arn(source) != nullptr;
        if (!known)
          return invalid_input("Invalid Entity Arn: " + source +
                               " does not clearly define entity type and name.");
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

  // STS.
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

// ---- persistence and scenarios ---------------------------------------------------------------

namespace {

json::object principal_json(const Principal& p) {
  json::object o;
  o["name"] = p.name;
  o["path"] = p.path;
  o["id"] = p.id;
  o["arn"] = p.arn;
  o["created"] = iso8601(p.created);
  json::object inl;
  for (const auto& [n, pol] : p.inline_policies) inl[n] = pol.text;
  o["inline_policies"] = std::move(inl);
  json::array att;
  for (const auto& a : p.attached) att.emplace_back(a);
  o["attached"] = std::move(att);
  o["boundary_arn"] = p.boundary_arn;
  return o;
}

std::string get_string(const json::object& o, std::string_view key, std::string fallback = {}) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::move(fallback);
}

void principal_from_json(const json::object& o, Principal& p) {
  p.name = get_string(o, "name");
  p.path = get_string(o, "path", "/");
  p.id = get_string(o, "id");
  p.arn = get_string(o, "arn");
  p.created = parse_iso8601(get_string(o, "created")).value_or(time_point{});
  if (auto* inl = o.if_contains("inline_policies"); inl && inl->is_object()) {
    for (const auto& [n, text] : inl->as_object()) {
      if (!text.is_string()) continue;
      auto stored = parse_stored(std::string(text.as_string()));
      if (stored) p.inline_policies[n] = std::move(stored).value();
    }
  }
  if (auto* att = o.if_contains("attached"); att && att->is_array()) {
    for (const auto& a : att->as_array()) {
      if (a.is_string()) p.attached.emplace_back(a.as_string());
    }
  }
  p.boundary_arn = get_string(o, "boundary_arn");
}

}  // namespace

json::value IamModule::save() const {
  json::object o;
  json::array users, roles, policies, keys, sessions, profiles;
  for (const auto& [n, u] : s_->users) users.push_back(principal_json(u));
  for (const auto& [n, r] : s_->roles) {
    auto j = principal_json(r);
    j["trust"] = r.trust.text;
    j["description"] = r.description;
    j["max_session_duration"] = r.max_session_duration;
    roles.push_back(std::move(j));
  }
  for (const auto& [arn, p] : s_->policies) {
    if (arn.starts_with("arn:aws:iam::aws:")) continue;
    json::object j;
    j["name"] = p.name;
    j["arn"] = p.arn;
    j["id"] = p.id;
    j["path"] = p.path;
    j["description"] = p.description;
    j["document"] = p.policy.text;
    j["created"] = iso8601(p.created);
    policies.push_back(std::move(j));
  }
  for (const auto& [id, k] : s_->keys) {
    keys.push_back(json::object{
        {"id", id}, {"secret", k.secret}, {"user", k.user}, {"created", iso8601(k.created)}});
  }
  for (const auto& [id, ses] : s_->sessions) {
    sessions.push_back(json::object{{"id", id},
                                    {"secret", ses.secret},
                                    {"token", ses.token},
                                    {"role", ses.role},
                                    {"session_name", ses.session_name},
                                    {"expiration", iso8601(ses.expiration)}});
  }
  for (const auto& [n, ip] : s_->instance_profiles) {
    json::array r;
    for (const auto& x : ip.roles) r.emplace_back(x);
    profiles.push_back(json::object{{"name", ip.name},
                                    {"arn", ip.arn},
                                    {"id", ip.id},
                                    {"path", ip.path},
                                    {"roles", std::move(r)},
                                    {"created", iso8601(ip.created)}});
  }
  o["users"] = std::move(users);
  o["roles"] = std::move(roles);
  o["policies"] = std::move(policies);
  o["access_keys"] = std::move(keys);
  o["sessions"] = std::move(sessions);
  o["instance_profiles"] = std::move(profiles);
  return o;
}

void IamModule::load(const json::value& state) {
  if (!state.is_object()) return;
  const auto& o = state.as_object();
  auto each = [&o](std::string_view key, auto fn) {
    if (auto* a = o.if_contains(key); a && a->is_array()) {
      for (const auto& v : a->as_array()) {
        if (v.is_object()) fn(v.as_object());
      }
    }
  };
  each("users", [this](const json::object& j) {
    Principal u;
    principal_from_json(j, u);
    s_->users[u.name] = std::move(u);
  });
  each("roles", [this](const json::object& j) {
    Role r;
    principal_from_json(j, r);
    auto trust = parse_stored(get_string(j, "trust"));
    if (trust) r.trust = std::move(trust).value();
    r.description = get_string(j, "description");
    if (auto* m = j.if_contains("max_session_duration"); m && m->is_int64()) {
      r.max_session_duration = static_cast<int>(m->as_int64());
    }
    s_->roles[r.name] = std::move(r);
  });
  each("policies", [this](const json::object& j) {
    ManagedPolicy m;
    m.name = get_string(j, "name");
    m.arn = get_string(j, "arn");
    m.id = get_string(j, "id");
    m.path = get_string(j, "path", "/");
    m.description = get_string(j, "description");
    auto stored = parse_stored(get_string(j, "document"));
    if (!stored) return;
    m.policy = std::move(stored).value();
    m.created = parse_iso8601(get_string(j, "created")).value_or(time_point{});
    s_->policies[m.arn] = std::move(m);
  });
  each("access_keys", [this](const json::object& j) {
    AccessKey k;
    k.secret = get_string(j, "secret");
    k.user = get_string(j, "user");
    k.created = parse_iso8601(get_string(j, "created")).value_or(time_point{});
    s_->keys[get_string(j, "id")] = std::move(k);
  });
  each("sessions", [this](const json::object& j) {
    Session ses;
    ses.secret = get_string(j, "secret");
    ses.token = get_string(j, "token");
    ses.role = get_string(j, "role");
    ses.session_name = get_string(j, "session_name");
    ses.expiration = parse_iso8601(get_string(j, "expiration")).value_or(time_point{});
    s_->sessions[get_string(j, "id")] = std::move(ses);
  });
  each("instance_profiles", [this](const json::object& j) {
    InstanceProfile ip;
    ip.name = get_string(j, "name");
    ip.arn = get_string(j, "arn");
    ip.id = get_string(j, "id");
    ip.path = get_string(j, "path", "/");
    ip.created = parse_iso8601(get_string(j, "created")).value_or(time_point{});
    if (auto* r = j.if_contains("roles"); r && r->is_array()) {
      for (const auto& x : r->as_array()) {
        if (x.is_string()) ip.roles.emplace_back(x.as_string());
      }
    }
    s_->instance_profiles[ip.name] = std::move(ip);
  });
}

ApiResult<void> IamModule::apply_scenario(const json::object& scenario) {
  auto document_text = [](const json::value& v) {
    return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
  };
  auto load_principal_policies = [&](const json::object& j, Principal& p) -> ApiResult<void> {
    if (auto* pols = j.if_contains("policies"); pols && pols->is_array()) {
      int i = 0;
      for (const auto& doc : pols->as_array()) {
        std::string name = "policy-" + std::to_string(++i);
        const json::value* body = &doc;
        if (doc.is_object() && doc.as_object().contains("name") &&
            doc.as_object().contains("document")) {
          name = get_string(doc.as_object(), "name");
          body = &doc.as_object().at("document");
        }
        BOOST_OUTCOME_TRY(auto stored, parse_stored(document_text(*body)));
        p.inline_policies[name] = std::move(stored);
      }
    }
    if (auto* arns = j.if_contains("managed_policy_arns"); arns && arns->is_array()) {
      for (const auto& a : arns->as_array()) {
        if (a.is_string()) p.attached.emplace_back(a.as_string());
      }
    }
    p.boundary_arn = get_string(j, "permissions_boundary");
    return outcome::success();
  };
  if (auto* pols = scenario.if_contains("policies"); pols && pols->is_array()) {
    for (const auto& v : pols->as_array()) {
      if (!v.is_object()) continue;
      const auto& j = v.as_object();
      ManagedPolicy m;
      m.name = get_string(j, "name");
      m.arn = account_arn("iam", "policy/" + m.name);
      m.id = random_id("ANPA");
      auto* doc = j.if_contains("document");
      if (!doc) return ApiError::client("ValidationError", "policy " + m.name + " has no document");
      BOOST_OUTCOME_TRY(auto stored, parse_stored(document_text(*doc)));
      m.policy = std::move(stored);
      m.created = clock_();
      s_->policies[m.arn] = std::move(m);
    }
  }
  if (auto* users = scenario.if_contains("users"); users && users->is_array()) {
    for (const auto& v : users->as_array()) {
      if (!v.is_object()) continue;
      const auto& j = v.as_object();
      Principal u;
      u.name = get_string(j, "name");
      u.arn = account_arn("iam", "user/" + u.name);
      u.id = random_id("AIDA");
      u.created = clock_();
      BOOST_OUTCOME_TRY(load_principal_policies(j, u));
      std::string key_id = get_string(j, "access_key_id");
      if (!key_id.empty()) {
        AccessKey k;
        k.secret = get_string(j, "secret_access_key");
        k.user = u.name;
        k.created = clock_();
        s_->keys[key_id] = std::move(k);
      }
      s_->users[u.name] = std::move(u);
    }
  }
  if (auto* roles = scenario.if_contains("roles"); roles && roles->is_array()) {
    for (const auto& v : roles->as_array()) {
      if (!v.is_object()) continue;
      const auto& j = v.as_object();
      Role r;
      r.name = get_string(j, "name");
      r.arn = account_arn("iam", "role/" + r.name);
      r.id = random_id("AROA");
      r.created = clock_();
      std::string trust =
          j.contains("assume_role_policy")
              ? document_text(j.at("assume_role_policy"))
              : R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]})";
      BOOST_OUTCOME_TRY(auto stored, parse_stored(trust));
      r.trust = std::move(stored);
      BOOST_OUTCOME_TRY(load_principal_policies(j, r));
      s_->roles[r.name] = std::move(r);
    }
  }
  return outcome::success();
}

}  // namespace ecsh::sandbox::iam
