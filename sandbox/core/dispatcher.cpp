#include "sandbox/core/dispatcher.hpp"

#include "ecsh/aws/sigv4.hpp"
#include "ecsh/common/crypto.hpp"
#include "ecsh/common/strings.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace ecsh::sandbox {
namespace json = boost::json;

// ---- api.hpp helpers -------------------------------------------------------------------------

ApiError ApiError::client(std::string code, std::string message, int status) {
  ApiError e;
  e.http_status = status;
  e.code = std::move(code);
  e.message = std::move(message);
  e.sender_fault = true;
  return e;
}

ApiError ApiError::server(std::string code, std::string message, int status) {
  ApiError e = client(std::move(code), std::move(message), status);
  e.sender_fault = false;
  return e;
}

ApiResult<void> RequestContext::authorize(std::string_view action, std::string_view resource,
                                          std::string_view error_code,
                                          const ConditionContext& extra_context) const {
  if (caller.is_root || !iam) return outcome::success();
  ConditionContext context = extra_context;
  context["aws:RequestedRegion"] = region;
  context["aws:PrincipalArn"] = caller.arn;
  context["aws:PrincipalAccount"] = caller.account_id;
  context["aws:SecureTransport"] = "false";
  auto e = iam->evaluate(caller.arn, action, resource, context);
  if (e.allowed()) return outcome::success();
  return ApiError::client(std::string(error_code),
                          "User: " + caller.arn +
                              " is not authorized to perform: " + std::string(action) +
                              " on resource: " + std::string(resource) + " because " + e.reason,
                          error_code == "AccessDeniedException" ? 400 : 403);
}

const std::string* QueryParams::find(const std::string& key) const {
  auto it = fields_.find(key);
  return it == fields_.end() ? nullptr : &it->second;
}

std::string QueryParams::get(const std::string& key, std::string fallback) const {
  auto* v = find(key);
  return v ? *v : std::move(fallback);
}

std::vector<std::string> QueryParams::list(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const char* infix : {".member.", "."}) {
    for (int i = 1;; ++i) {
      auto* v = find(prefix + infix + std::to_string(i));
      if (!v) break;
      out.push_back(*v);
    }
    if (!out.empty()) break;
  }
  return out;
}

std::string xml_escape(std::string_view text) { return str::markup_escape(text); }

std::string xml_element(std::string_view name, std::string_view text) {
  std::string out;
  out += '<';
  out += name;
  out += '>';
  out += xml_escape(text);
  out += "</";
  out += name;
  out += '>';
  return out;
}

// ---- dispatcher ------------------------------------------------------------------------------

std::map<std::string, std::string> parse_form(std::string_view body) {
  std::map<std::string, std::string> out;
  for (auto pair : str::split(body, '&')) {
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key(pair.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    std::replace(key.begin(), key.end(), '+', ' ');
    std::replace(value.begin(), value.end(), '+', ' ');
    out[str::uri_decode(key)] = str::uri_decode(value);
  }
  return out;
}

aws::HttpResponse json_response(int status, const json::value& body,
                                const std::string& request_id) {
  aws::HttpResponse r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/x-amz-json-1.1"});
  r.headers.push_back({"x-amzn-RequestId", request_id});
  r.body = json::serialize(body);
  return r;
}

namespace {

aws::HttpResponse json_error(const ApiError& e, const std::string& request_id) {
  json::object body;
  body["__type"] = e.code;
  body["message"] = e.message;
  auto r = json_response(e.http_status, body, request_id);
  r.headers.push_back({"x-amzn-ErrorType", e.code});
  return r;
}

aws::HttpResponse xml_response(int status, std::string body, const std::string& request_id) {
  aws::HttpResponse r;
  r.status = status;
  r.headers.push_back({"Content-Type", "text/xml"});
  r.headers.push_back({"x-amzn-RequestId", request_id});
  r.body = std::move(body);
  return r;
}

aws::HttpResponse query_error(const ApiError& e, QueryDialect dialect, std::string_view ns,
                              const std::string& request_id) {
  std::string body = R"(<?xml version="1.0" encoding="UTF-8"?>)";
  if (dialect == QueryDialect::ec2) {
    body += "<Response><Errors><Error>" + xml_element("Code", e.code) +
            xml_element("Message", e.message) + "</Error></Errors>" +
            xml_element("RequestID", request_id) + "</Response>";
  } else {
    body += "<ErrorResponse xmlns=\"" + xml_escape(ns) + "\"><Error>" +
            xml_element("Type", e.sender_fault ? "Sender" : "Receiver") +
            xml_element("Code", e.code) + xml_element("Message", e.message) + "</Error>" +
            xml_element("RequestId", request_id) + "</ErrorResponse>";
  }
  return xml_response(e.http_status, std::move(body), request_id);
}

std::string default_namespace(std::string_view service) {
  if (service == "sts") return "https://sts.amazonaws.com/doc/2011-06-15/";
  if (service == "ec2") return "http://ec2.amazonaws.com/doc/2016-11-15/";
  return "https://iam.amazonaws.com/doc/2010-05-08/";
}

// The signing name from the Authorization header's scope, before verification (for routing).
std::string scope_service(const aws::HttpRequest& request) {
  auto h = request.header("authorization");
  if (!h) return {};
  auto parsed = aws::parse_authorization(*h);
  return parsed ? parsed.value().service : std::string();
}

}  // namespace

Dispatcher::Dispatcher(const IdentityStore& identities, const IamEvaluator& iam, Clock clock)
    : identities_(identities), iam_(iam), clock_(std::move(clock)) {}

void Dispatcher::add_json(std::string /*signing_name*/, std::string target_prefix,
                          std::string operation, JsonHandler handler) {
  json_routes_[target_prefix + "." + operation] = std::move(handler);
}

void Dispatcher::add_query(std::string signing_name, QueryDialect dialect,
                           std::string xml_namespace, std::string action, QueryHandler handler) {
  QueryRoute route;
  route.dialect = dialect;
  route.xml_namespace = std::move(xml_namespace);
  route.handler = std::move(handler);
  query_routes_[{std::move(signing_name), std::move(action)}] = std::move(route);
}

void Dispatcher::set_faults(const ApiFaults& faults) {
  faults_ = faults;
  fault_rng_.seed(faults.seed);
}

std::optional<ApiError> Dispatcher::injected_fault(std::string_view operation, Protocol protocol) {
  if (faults_.throttle_rate <= 0 && faults_.error_rate <= 0) return std::nullopt;
  if (!faults_.operations.empty() && std::find(faults_.operations.begin(), faults_.operations.end(),
                                               operation) == faults_.operations.end()) {
    return std::nullopt;
  }
  double roll = std::uniform_real_distribution<double>(0, 1)(fault_rng_);
  if (roll < faults_.throttle_rate) {
    if (protocol == Protocol::json) return ApiError::client("ThrottlingException", "Rate exceeded");
    if (protocol == Protocol::ec2) {
      return ApiError::server("RequestLimitExceeded", "Request limit exceeded.", 503);
    }
    return ApiError::client("Throttling", "Rate exceeded");
  }
  if (roll < faults_.throttle_rate + faults_.error_rate) {
    if (protocol == Protocol::json) {
      return ApiError::server("InternalFailure",
                              "The request processing has failed because of an unknown error, "
                              "exception or failure.");
    }
    return ApiError::server("ServiceUnavailable", "Service is unavailable. Try again later.", 503);
  }
  return std::nullopt;
}

RequestContext Dispatcher::make_context(const aws::HttpRequest& request, const VerifiedRequest& v) {
  RequestContext ctx;
  ctx.caller = v.caller;
  ctx.region = v.region;
  ctx.request_id = crypto::uuid4();
  ctx.host = request.host;
  ctx.tls = request.scheme == "https";
  ctx.now = clock_();
  ctx.iam = &iam_;
  return ctx;
}

aws::HttpResponse Dispatcher::handle(const aws::HttpRequest& request) {
  ++calls_;
  if (request.path.starts_with("/_sandbox/")) {
    if (admin_) return admin_(request);
    return json_response(404, json::object{{"message", "no admin endpoint"}}, crypto::uuid4());
  }
  if (channel_handler_ && (request.path.starts_with("/v1/control-channel/") ||
                           request.path.starts_with("/v1/data-channel/"))) {
    const std::string request_id = crypto::uuid4();
    auto verified = verify_sigv4(request, identities_, Protocol::json, clock_());
    if (!verified) return json_error(verified.error(), request_id);
    RequestContext ctx = make_context(request, verified.value());
    ctx.request_id = request_id;
    return channel_handler_(request, ctx);
  }
  if (auto target = request.header("x-amz-target")) {
    return handle_json(request, *target);
  }
  return handle_query(request);
}

aws::HttpResponse Dispatcher::handle_json(const aws::HttpRequest& request,
                                          std::string_view target) {
  const std::string request_id = crypto::uuid4();
  auto verified = verify_sigv4(request, identities_, Protocol::json, clock_());
  if (!verified) return json_error(verified.error(), request_id);
  auto route = json_routes_.find(std::string(target));
  std::string_view operation = target.substr(target.find('.') + 1);
  if (route == json_routes_.end()) {
    return json_error(ApiError::client("UnknownOperationException", ""), request_id);
  }
  if (auto fault = injected_fault(operation, Protocol::json)) return json_error(*fault, request_id);

  boost::system::error_code ec;
  json::value input =
      request.body.empty() ? json::value(json::object()) : json::parse(request.body, ec);
  if (ec || !input.is_object()) {
    return json_error(ApiError::client("SerializationException",
                                       "Start of structure or map found where not expected."),
                      request_id);
  }
  RequestContext ctx = make_context(request, verified.value());
  ctx.request_id = request_id;
  auto result = route->second(ctx, input.as_object());
  if (!result) return json_error(result.error(), request_id);
  if (ctx.mutated && after_mutation_) after_mutation_();
  return json_response(200, result.value(), request_id);
}

aws::HttpResponse Dispatcher::handle_query(const aws::HttpRequest& request) {
  const std::string request_id = crypto::uuid4();
  std::string service = scope_service(request);
  auto fields = parse_form(request.method == "GET" ? std::string_view(request.query)
                                                   : std::string_view(request.body));
  auto action_it = fields.find("Action");
  std::string action = action_it == fields.end() ? std::string() : action_it->second;
  auto route = query_routes_.find({service, action});
  QueryDialect dialect = service == "ec2" ? QueryDialect::ec2 : QueryDialect::query;
  std::string ns =
      route == query_routes_.end() ? default_namespace(service) : route->second.xml_namespace;
  Protocol protocol = dialect == QueryDialect::ec2 ? Protocol::ec2 : Protocol::query;

  auto verified = verify_sigv4(request, identities_, protocol, clock_());
  if (!verified) return query_error(verified.error(), dialect, ns, request_id);
  if (route == query_routes_.end()) {
    std::string code = dialect == QueryDialect::ec2 ? "InvalidAction" : "InvalidAction";
    return query_error(
        ApiError::client(code, "The action " + action + " is not valid for this web service."),
        dialect, ns, request_id);
  }
  if (auto fault = injected_fault(action, protocol)) {
    return query_error(*fault, dialect, ns, request_id);
  }
  RequestContext ctx = make_context(request, verified.value());
  ctx.request_id = request_id;
  QueryParams params(std::move(fields));
  auto result = route->second.handler(ctx, params);
  if (!result) return query_error(result.error(), dialect, ns, request_id);
  if (ctx.mutated && after_mutation_) after_mutation_();

  std::string body = R"(<?xml version="1.0" encoding="UTF-8"?>)";
  body += "<" + action + "Response xmlns=\"" + xml_escape(ns) + "\">";
  if (dialect == QueryDialect::ec2) {
    body += xml_element("requestId", request_id) + result.value();
  } else {
    // An action without output (DeleteRole, PutRolePolicy, ...) has no <ActionResult> on AWS,
    // only the ResponseMetadata.
    if (!result.value().empty()) {
      body += "<" + action + "Result>" + result.value() + "</" + action + "Result>";
    }
    body += "<ResponseMetadata>" + xml_element("RequestId", request_id) + "</ResponseMetadata>";
  }
  body += "</" + action + "Response>";
  return xml_response(200, std::move(body), request_id);
}

}  // namespace ecsh::sandbox
