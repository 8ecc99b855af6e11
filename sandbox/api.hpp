#pragma once

// The seam between the sandbox's server core (HTTP, SigV4 verification, routing, persistence, IAM)
// and its service modules (ECS, SSM, EC2, KMS, Logs, ...). The server is single-threaded: every
// handler runs on the one io_context thread, so modules need no locks.

#include <boost/json/value.hpp>
#include <boost/outcome/result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

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

class IamEvaluator {
 public:
  virtual ~IamEvaluator() = default;
  // Would `principal_arn` (a user, role, or assumed-role session ARN) be allowed `action` on
  // `resource`? Identity policies, explicit deny and permission boundaries, as IAM evaluates them.
  virtual bool is_allowed(std::string_view principal_arn, std::string_view action,
                          std::string_view resource) const = 0;
  // Does the role exist?
  virtual bool role_exists(std::string_view role_arn) const = 0;
};

struct RequestContext {
  Caller caller;
  std::string region;      // from the SigV4 credential scope
  std::string request_id;  // echoed as x-amzn-RequestId
  std::string host;        // the Host the client used, e.g. "127.0.0.1:41234" (for stream URLs)
  std::chrono::system_clock::time_point now;
  const IamEvaluator* iam = nullptr;

  // AccessDeniedException (JSON) / AccessDenied (Query) with IAM's text when the caller may not.
  // `error_code` lets JSON services say AccessDeniedException and Query services AccessDenied.
  ApiResult<void> authorize(std::string_view action, std::string_view resource,
                            std::string_view error_code = "AccessDeniedException") const;
};

// JSON 1.1 operation: request object in, response value out.
using JsonHandler =
    std::function<ApiResult<boost::json::value>(RequestContext&, const boost::json::object&)>;

class Router {
 public:
  virtual ~Router() = default;
  // X-Amz-Target "<target_prefix>.<operation>", signed for `signing_name`.
  virtual void add_json(std::string signing_name, std::string target_prefix, std::string operation,
                        JsonHandler handler) = 0;
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
  virtual ApiResult<void> apply_scenario(const boost::json::object& /*scenario*/) { return {}; }
};

}  // namespace ecsh::sandbox
