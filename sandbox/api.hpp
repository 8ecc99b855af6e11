#pragma once

// The seam between the sandbox's server core (HTTP, SigV4 verification, routing, persistence, IAM)
// and its service modules (ECS, SSM, EC2, KMS, Logs, ...). The server is single-threaded: every
// handler runs on the one io_context thread, so modules need no locks.

#include "ecsh/common/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/outcome/result.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::sandbox {

// An AWS error as the wire shows it: JSON 1.1 {"__type": code, "message": …} or Query/EC2 XML.
struct ApiError {
  int http_status = 400;
  std::string code;     // "InvalidParameterException", "AccessDenied", ...
  std::string message;  // AWS's text, word for word where known
  bool sender_fault = true;

  static ApiError client(std::string code, std::string message, int status = 400);
  static ApiError server(std::string code, std::string message, int status = 500);
};

template <class T>
using ApiResult = boost::outcome_v2::result<T, ApiError, boost::outcome_v2::policy::terminate>;

// Who signed the request, after SigV4 verification.
struct Caller {
  std::string account_id;  // "000000000000"
  std::string arn;         // arn:aws:iam::000000000000:user/x or arn:aws:sts::…:assumed-role/R/s
  std::string user_id;     // AIDA… / AROA…:session
  std::string access_key_id;  // the key that signed
  bool is_root = false;       // the built-in administrator is the account root
};

// Request context keys for policy conditions ("aws:RequestedRegion", "ecs:cluster", ...).
using ConditionContext = std::map<std::string, std::string>;

enum class Decision { allowed, implicit_deny, explicit_deny };

// The outcome of evaluating one request, with what IAM would say about it.
struct Evaluation {
  Decision decision = Decision::implicit_deny;
  // Why it was denied, as AWS words the tail of AccessDenied messages: "no identity-based policy
  // allows the ecs:ExecuteCommand action", "with an explicit deny in an identity-based policy",
  // "no permissions boundary allows the ecs:ExecuteCommand action".
  std::string reason;
  std::vector<std::string> matched_statements;  // "policy-name:Sid-or-index"
  bool allowed() const { return decision == Decision::allowed; }
};

class IamEvaluator {
 public:
  virtual ~IamEvaluator() = default;
  // What IAM decides for `principal_arn` (a user, role, or assumed-role session ARN) doing
  // `action` on `resource`: identity policies (inline and managed), explicit deny and permission
  // boundaries. An unknown principal is denied.
  virtual Evaluation evaluate(std::string_view principal_arn, std::string_view action,
                              std::string_view resource, const ConditionContext& context) const = 0;
  bool is_allowed(std::string_view principal_arn, std::string_view action,
                  std::string_view resource) const {
    return evaluate(principal_arn, action, resource, {}).allowed();
  }
  // Does the role exist?
  virtual bool role_exists(std::string_view role_arn) const = 0;
};

struct RequestContext {
  Caller caller;
  std::string region;      // from the SigV4 credential scope
  std::string request_id;  // echoed as x-amzn-RequestId
  std::string host;        // the Host the client used, e.g. "127.0.0.1:41234" (for stream URLs)
  bool tls = false;        // the request came over TLS: stream URLs are wss:// then
  std::chrono::system_clock::time_point now;
  const IamEvaluator* iam = nullptr;
  // Handlers of operations that change state set this; the core then persists the state.
  bool mutated = false;

  // The data channel's URL for a session, on the host and scheme the client used.
  std::string stream_url(const std::string& session_id) const {
    return (tls ? "wss://" : "ws://") + host + "/v1/data-channel/" + session_id +
           "?role=publish_subscribe";
  }

  // AccessDeniedException (JSON) / AccessDenied (Query) with IAM's text when the caller may not.
  // `error_code` lets JSON services say AccessDeniedException and Query services AccessDenied.
  ApiResult<void> authorize(std::string_view action, std::string_view resource,
                            std::string_view error_code = "AccessDeniedException",
                            const ConditionContext& extra_context = {}) const;
};

// Query-protocol parameters (form fields), with the list conventions of the Query and EC2
// protocols ("Names.member.1", "InstanceId.1", "Filter.1.Name").
class QueryParams {
 public:
  explicit QueryParams(std::map<std::string, std::string> fields) : fields_(std::move(fields)) {}
  const std::string* find(const std::string& key) const;
  std::string get(const std::string& key, std::string fallback = {}) const;
  // "<prefix>.member.N" (Query) or "<prefix>.N" (EC2), N = 1, 2, … until the first gap.
  std::vector<std::string> list(const std::string& prefix) const;
  const std::map<std::string, std::string>& fields() const { return fields_; }

 private:
  std::map<std::string, std::string> fields_;
};

// Query operation: returns the XML inside <OperationResult> (Query) or inside
// <OperationResponse> after <requestId> (EC2), already escaped.
using QueryHandler = std::function<ApiResult<std::string>(RequestContext&, const QueryParams&)>;

enum class QueryDialect { query, ec2 };

// JSON 1.1 operation: request object in, response value out.
using JsonHandler =
    std::function<ApiResult<boost::json::value>(RequestContext&, const boost::json::object&)>;

class Router {
 public:
  virtual ~Router() = default;
  // X-Amz-Target "<target_prefix>.<operation>", signed for `signing_name`.
  virtual void add_json(std::string signing_name, std::string target_prefix, std::string operation,
                        JsonHandler handler) = 0;
  // Form-encoded "Action=<action>" signed for `signing_name`; `xml_namespace` is the response
  // namespace, e.g. "https://iam.amazonaws.com/doc/2010-05-08/".
  virtual void add_query(std::string signing_name, QueryDialect dialect, std::string xml_namespace,
                         std::string action, QueryHandler handler) = 0;
};

// Escapes text for XML element content and attribute values.
std::string xml_escape(std::string_view text);
// <name>escaped text</name>
std::string xml_element(std::string_view name, std::string_view text);

class IdentityStore;  // sandbox/core/identity.hpp

// What the core hands every module before it serves requests.
struct ModuleEnvironment {
  const IamEvaluator* iam = nullptr;
  const IdentityStore* identities = nullptr;  // also which regions the account may use
  std::function<std::chrono::system_clock::time_point()> clock;
  // Call after changing state outside a request (e.g. in tick()), so the core persists it.
  std::function<void()> state_changed;
};

// A service's state and operations. The core persists every module's save() after each call
// that changed something, and restores it with load() at start.
class ServiceModule {
 public:
  virtual ~ServiceModule() = default;
  virtual std::string name() const = 0;  // key in the state file, e.g. "ecs"
  virtual void register_routes(Router& router) = 0;
  virtual boost::json::value save() const = 0;
  virtual void load(const boost::json::value& state) = 0;
  // The module's part of a scenario file (the whole scenario object is passed).
  virtual ApiResult<void> apply_scenario(const boost::json::object& /*scenario*/) {
    return outcome::success();
  }
  // Called once, before register_routes() and load().
  virtual void attach(const ModuleEnvironment& /*env*/) {}
  // Called by the core every 50 ms to advance time-driven state (task lifecycles, rollouts).
  virtual void tick(std::chrono::system_clock::time_point /*now*/) {}
  // Called when the sandbox stops (SIGTERM): stop what the module started.
  virtual void shutdown() {}
};

}  // namespace ecsh::sandbox
