#include "sandbox/iam/policy.hpp"

#include "ecsh/common/strings.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace ecsh::sandbox::iam {
namespace json = boost::json;

bool wildcard_match(std::string_view pattern, std::string_view text, bool case_insensitive) {
  auto eq = [case_insensitive](char a, char b) {
    if (!case_insensitive) return a == b;
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  // Iterative glob with single backtrack point: linear in practice, no recursion.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

bool read_strings(const json::value& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    out.emplace_back(v.as_string());
    return true;
  }
  if (!v.is_array()) return false;
  for (const auto& item : v.as_array()) {
    if (item.is_string()) {
      out.emplace_back(item.as_string());
    } else if (item.is_bool()) {
      out.emplace_back(item.as_bool() ? "true" : "false");
    } else if (item.is_number()) {
      out.emplace_back(json::serialize(item));
    } else {
      return false;
    }
  }
  return true;
}

bool read_condition_values(const json::value& v, std::vector<std::string>& out) {
  if (v.is_bool()) {
    out.emplace_back(v.as_bool() ? "true" : "false");
    return true;
  }
  if (v.is_number()) {
    out.emplace_back(json::serialize(v));
    return true;
  }
  return read_strings(v, out);
}

std::optional<Statement> parse_statement(const json::value& v, std::string* error) {
  auto fail = [error](std::string msg) -> std::optional<Statement> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  if (!v.is_object()) return fail("Syntax errors in policy.");
  const auto& o = v.as_object();
  Statement s;
  if (auto* sid = o.if_contains("Sid")) {
    if (!sid->is_string()) return fail("Syntax errors in policy.");
    s.sid = std::string(sid->as_string());
  }
  auto* effect = o.if_contains("Effect");
  if (!effect || !effect->is_string()) return fail("Syntax errors in policy.");
  if (effect->as_string() == "Allow") {
    s.allow = true;
  } else if (effect->as_string() == "Deny") {
    s.allow = false;
  } else {
    return fail("Syntax errors in policy.");
  }
  const json::value* actions = o.if_contains("Action");
  if (!actions) {
    actions = o.if_contains("NotAction");
    s.not_action = actions != nullptr;
  }
  if (!actions) return fail("Policy statement must contain actions.");
  if (!read_strings(*actions, s.actions)) return fail("Syntax errors in policy.");
  for (const auto& a : s.actions) {
    if (a != "*" && a.find(':') == std::string::npos) {
      return fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
    }
  }
  const json::value* resources = o.if_contains("Resource");
  if (!resources) {
    resources = o.if_contains("NotResource");
    s.not_resource = resources != nullptr;
  }
  if (resources && !read_strings(*resources, s.resources)) {
    return fail("Syntax errors in policy.");
  }
  const json::value* principal = o.if_contains("Principal");
  if (!principal) {
    principal = o.if_contains("NotPrincipal");
    s.not_principal = principal != nullptr;
  }
  if (principal) {
    s.has_principal = true;
    if (principal->is_string() && principal->as_string() == "*") {
      s.principals.push_back("*");
    } else if (principal->is_object()) {
      for (const auto& [type, value] : principal->as_object()) {
        std::vector<std::string> names;
        if (!read_strings(value, names)) return fail("Syntax errors in policy.");
        for (auto& n : names) s.principals.push_back(std::string(type) + ":" + n);
      }
    } else {
      return fail("Syntax errors in policy.");
    }
  }
  if (auto* cond = o.if_contains("Condition")) {
    if (!cond->is_object()) return fail("Syntax errors in policy.");
    for (const auto& [op, block] : cond->as_object()) {
      if (!block.is_object()) return fail("Syntax errors in policy.");
      for (const auto& [key, values] : block.as_object()) {
        Statement::Condition c;
        c.op = std::string(op);
        c.key = str::to_lower(key);
        if (!read_condition_values(values, c.values)) return fail("Syntax errors in policy.");
        s.conditions.push_back(std::move(c));
      }
    }
  }
  return s;
}

bool condition_holds(const Statement::Condition& c, const ConditionContext& context) {
  std::string op = c.op;
  bool if_exists = false;
  if (op.size() > 8 && op.ends_with("IfExists")) {
    if_exists = true;
    op.resize(op.size() - 8);
  }
  if (op.starts_with("ForAnyValue:") || op.starts_with("ForAllValues:")) return false;
  const std::string* value = nullptr;
  for (const auto& [k, v] : context) {
    if (str::iequals(k, c.key)) {
      value = &v;
      break;
    }
  }
  if (op == "Null") {
    bool want_null = !c.values.empty() && c.values.front() == "true";
    return want_null == (value == nullptr);
  }
  if (!value) return if_exists;
  auto any = [&](auto pred) { return std::any_of(c.values.begin(), c.values.end(), pred); };
  const std::string& v = *value;
  if (op == "StringEquals" || op == "ArnEquals") {
    return any([&](const std::string& x) { return x == v; });
  }
  if (op == "StringNotEquals" || op == "ArnNotEquals") {
    return !any([&](const std::string& x) { return x == v; });
  }
  if (op == "StringEqualsIgnoreCase")
    return any([&](const std::string& x) { return str::iequals(x, v); });
  if (op == "StringNotEqualsIgnoreCase") {
    return !any([&](const std::string& x) { return str::iequals(x, v); });
  }
  if (op == "StringLike" || op == "ArnLike") {
    return any([&](const std::string& x) { return wildcard_match(x, v, false); });
  }
  if (op == "StringNotLike" || op == "ArnNotLike") {
    return !any([&](const std::string& x) { return wildcard_match(x, v, false); });
  }
  if (op == "Bool") return any([&](const std::string& x) { return str::iequals(x, v); });
  return false;  // an operator the sandbox does not evaluate never holds
}

bool statement_applies(const Statement& s, const Request& r) {
  bool action_listed = std::any_of(s.actions.begin(), s.actions.end(), [&](const std::string& a) {
    return wildcard_match(a, r.action, true);
  });
  if (action_listed == s.not_action) return false;
  bool resource_listed =
      std::any_of(s.resources.begin(), s.resources.end(),
                  [&](const std::string& p) { return wildcard_match(p, r.resource, false); });
  if (resource_listed == s.not_resource) return false;
  return std::all_of(s.conditions.begin(), s.conditions.end(),
                     [&](const Statement::Condition& c) { return condition_holds(c, r.context); });
}

std::string statement_label(const NamedPolicy& p, const Statement& s, std::size_t index) {
  return p.name + ":" + (s.sid.empty() ? std::to_string(index) : s.sid);
}

}  // namespace

std::optional<PolicyDocument> parse_policy(std::string_view text, std::string* error) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    if (error) *error = "Syntax errors in policy.";
    return std::nullopt;
  }
  const auto& o = v.as_object();
  PolicyDocument doc;
  if (auto* version = o.if_contains("Version")) {
    if (!version->is_string()) {
      if (error) *error = "Syntax errors in policy.";
      return std::nullopt;
    }
    doc.version = std::string(version->as_string());
  }
  auto* statements = o.if_contains("Statement");
  if (!statements) {
    if (error) *error = "Syntax errors in policy.";
    return std::nullopt;
  }
  if (statements->is_array()) {
    for (const auto& s : statements->as_array()) {
      auto parsed = parse_statement(s, error);
      if (!parsed) return std::nullopt;
      doc.statements.push_back(std::move(*parsed));
    }
  } else {
    auto parsed = parse_statement(*statements, error);
    if (!parsed) return std::nullopt;
    doc.statements.push_back(std::move(*parsed));
  }
  return doc;
}

Evaluation evaluate(const std::vector<NamedPolicy>& identity_policies,
                    const PolicyDocument* permissions_boundary, const Request& request) {
  Evaluation e;
  bool allowed = false;
  std::vector<std::string> allow_matches;
  for (const auto& p : identity_policies) {
    if (!p.document) continue;
    for (std::size_t i = 0; i < p.document->statements.size(); ++i) {
      const auto& s = p.document->statements[i];
      if (!statement_applies(s, request)) continue;
      if (!s.allow) {
        e.decision = Decision::explicit_deny;
        e.reason = "with an explicit deny in an identity-based policy";
        e.matched_statements = {statement_label(p, s, i)};
        return e;
      }
      allowed = true;
      allow_matches.push_back(statement_label(p, s, i));
    }
  }
  if (permissions_boundary) {
    bool boundary_allows = false;
    NamedPolicy boundary;
    boundary.name = "PermissionsBoundary";
    boundary.document = permissions_boundary;
    for (std::size_t i = 0; i < permissions_boundary->statements.size(); ++i) {
      const auto& s = permissions_boundary->statements[i];
      if (!statement_applies(s, request)) continue;
      if (!s.allow) {
        e.decision = Decision::explicit_deny;
        e.reason = "with an explicit deny in a permissions boundary";
        e.matched_statements = {statement_label(boundary, s, i)};
        return e;
      }
      boundary_allows = true;
    }
    if (allowed && !boundary_allows) {
      e.decision = Decision::implicit_deny;
      e.reason = "no permissions boundary allows the " + request.action + " action";
      return e;
    }
  }
  if (!allowed) {
    e.decision = Decision::implicit_deny;
    e.reason = "no identity-based policy allows the " + request.action + " action";
    return e;
  }
  e.decision = Decision::allowed;
  e.matched_statements = std::move(allow_matches);
  return e;
}

Decision evaluate_trust(const PolicyDocument& trust, std::string_view principal_type,
                        std::string_view principal, std::string_view account_id,
                        std::string_view action) {
  std::string account_root = "arn:aws:iam::" + std::string(account_id) + ":root";
  auto names_principal = [&](const Statement& s) {
    for (const auto& p : s.principals) {
      if (p == "*") return true;
      auto colon = p.find(':');
      std::string_view type = std::string_view(p).substr(0, colon);
      std::string_view name = std::string_view(p).substr(colon + 1);
      if (type != principal_type) continue;
      if (name == "*" || name == principal) return true;
      if (type == "AWS" && (name == account_id || name == account_root)) return true;
    }
    return false;
  };
  bool allowed = false;
  for (const auto& s : trust.statements) {
    bool action_listed = std::any_of(s.actions.begin(), s.actions.end(), [&](const std::string& a) {
      return wildcard_match(a, action, true);
    });
    if (action_listed == s.not_action) continue;
    if (names_principal(s) == s.not_principal) continue;
    if (!s.allow) return Decision::explicit_deny;
    allowed = true;
  }
  return allowed ? Decision::allowed : Decision::implicit_deny;
}

}  // namespace ecsh::sandbox::iam
