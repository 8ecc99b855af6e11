#pragma once

// What the IAM module keeps (users, roles, managed policies, access keys, STS sessions, instance
// profiles), and the helpers its files share: iam_module.cpp (identity, evaluation, state file,
// scenarios), iam_routes.cpp (the IAM API) and sts_routes.cpp (STS). Only for sandbox/iam/.

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/strings.hpp"
#include "sandbox/iam/iam_module.hpp"

#include <cctype>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::sandbox::iam {

using time_point = std::chrono::system_clock::time_point;

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

inline std::string random_id(std::string_view prefix, std::size_t length = 17) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string bytes = crypto::random_bytes(length);
  std::string out(prefix);
  for (unsigned char b : bytes) out += kAlphabet[b % 32];
  return out;
}

inline std::string account_arn(std::string_view service, std::string_view rest) {
  return "arn:aws:" + std::string(service) + "::" + std::string(kAccountId) + ":" +
         std::string(rest);
}

inline ApiError no_such_entity(std::string message) {
  return ApiError::client("NoSuchEntity", std::move(message), 404);
}

inline ApiError invalid_input(std::string message) {
  return ApiError::client("ValidationError", std::move(message), 400);
}

inline ApiResult<std::string> required(const QueryParams& p, const std::string& key) {
  auto* v = p.find(key);
  if (!v || v->empty()) {
    return invalid_input("1 validation error detected: Value null at '" +
                         std::string(1, static_cast<char>(std::tolower(key[0]))) + key.substr(1) +
                         "' failed to satisfy constraint: Member must not be null");
  }
  return *v;
}

inline ApiResult<StoredPolicy> parse_stored(std::string text) {
  std::string error;
  auto doc = parse_policy(text, &error);
  if (!doc) return ApiError::client("MalformedPolicyDocument", error, 400);
  StoredPolicy p;
  p.text = std::move(text);
  p.doc = std::move(*doc);
  return p;
}

inline std::string policy_xml(std::string_view text) { return xml_escape(str::uri_encode(text)); }

inline std::string name_from_arn(std::string_view arn) {
  auto slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

struct IamModule::State {
  std::map<std::string, Principal> users;
  std::map<std::string, Role> roles;
  std::map<std::string, ManagedPolicy> policies;  // by ARN
  std::map<std::string, AccessKey> keys;
  std::map<std::string, Session> sessions;  // by access key ID
  std::map<std::string, InstanceProfile> instance_profiles;
  std::set<std::string> opted_in_regions;  // opt-in regions the account enabled

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

}  // namespace ecsh::sandbox::iam
