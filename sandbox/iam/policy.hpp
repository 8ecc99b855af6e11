#pragma once

// IAM policy documents and their evaluation, as IAM does it for identity-based policies within
// one account: explicit deny wins, otherwise some identity policy must allow, and when a
// permissions boundary is set it must allow too. Pure: no I/O.
//
// Conditions follow IAM's rule that a condition on a key absent from the request context is not
// satisfied (so an Allow with such a condition does not apply, nor does a Deny), except the
// "...IfExists" operators, which are satisfied by an absent key. Supported operators: String*,
// Arn*, Bool, Null, with ForAnyValue/ForAllValues not supported (such a statement never matches,
// which is documented in sandbox/README.md).

#include "sandbox/api.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::sandbox::iam {

struct Statement {
  std::string sid;
  bool allow = true;
  bool not_action = false;
  std::vector<std::string> actions;
  bool not_resource = false;
  std::vector<std::string> resources;
  bool has_principal = false;
  bool not_principal = false;
  // "AWS:arn", "Service:ecs-tasks.amazonaws.com", "Federated:…", or "*".
  std::vector<std::string> principals;
  struct Condition {
    std::string op;   // "StringEquals", "StringLikeIfExists", ...
    std::string key;  // lowercase
    std::vector<std::string> values;
  };
  std::vector<Condition> conditions;
};

struct PolicyDocument {
  std::string version;
  std::vector<Statement> statements;
};

// Parses a policy JSON document. The error string is IAM's MalformedPolicyDocument message.
std::optional<PolicyDocument> parse_policy(std::string_view json, std::string* error);

// A policy together with the name its statements are reported under.
struct NamedPolicy {
  std::string name;
  const PolicyDocument* document = nullptr;
};

struct Request {
  std::string action;    // "ecs:ExecuteCommand"
  std::string resource;  // an ARN or "*"
  ConditionContext context;
};

// Identity policies, then the optional boundary.
Evaluation evaluate(const std::vector<NamedPolicy>& identity_policies,
                    const PolicyDocument* permissions_boundary, const Request& request);

// Does any Allow statement of a trust policy name this principal ("AWS" principals: the ARN,
// the account ID or account root ARN, or "*"; "Service" principals: the service name)?
// Returns allowed / explicit_deny / implicit_deny.
Decision evaluate_trust(const PolicyDocument& trust, std::string_view principal_type,
                        std::string_view principal, std::string_view account_id,
                        std::string_view action);

// IAM wildcard matching: '*' any run, '?' one character.
bool wildcard_match(std::string_view pattern, std::string_view text, bool case_insensitive);

}  // namespace ecsh::sandbox::iam
