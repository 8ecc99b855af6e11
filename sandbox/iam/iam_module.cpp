#include "sandbox/iam/iam_module.hpp"

#include "sandbox/core/time_format.hpp"
#include "sandbox/iam/iam_state.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace ecsh::sandbox::iam {
namespace json = boost::json;

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

void IamModule::register_routes(Router& router) {
  register_iam_routes(router);
  register_sts_routes(router);
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
  json::array regions;
  for (const auto& r : s_->opted_in_regions) regions.emplace_back(r);
  o["opted_in_regions"] = std::move(regions);
  return o;
}

void IamModule::load(const json::value& state) {
  if (!state.is_object()) return;
  const auto& o = state.as_object();
  if (auto* regions = o.if_contains("opted_in_regions"); regions && regions->is_array()) {
    for (const auto& r : regions->as_array()) {
      if (r.is_string()) s_->opted_in_regions.emplace(r.as_string());
    }
  }
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

bool IamModule::region_enabled(std::string_view region) const {
  if (IdentityStore::region_enabled(region)) return true;
  const auto* r = aws::find_region(region);
  return r && r->partition == "aws" && s_->opted_in_regions.count(std::string(region)) > 0;
}

ApiResult<void> IamModule::apply_scenario(const json::object& scenario) {
  // "opted_in_regions": the opt-in regions the account has enabled (a fresh account has none).
  if (auto* regions = scenario.if_contains("opted_in_regions"); regions && regions->is_array()) {
    for (const auto& v : regions->as_array()) {
      const auto* r = v.is_string() ? aws::find_region(v.as_string()) : nullptr;
      if (!r || r->partition != "aws" || !r->opt_in) {
        return ApiError::client("InvalidScenario",
                                "opted_in_regions: " + json::serialize(v) +
                                    " is not an opt-in region of the commercial partition");
      }
      s_->opted_in_regions.insert(std::string(r->name));
    }
  }
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
