#include "ecsh/aws/client.hpp"

#include "ecsh/aws/query_replies.hpp"
#include "ecsh/aws/sigv4.hpp"
#include "ecsh/common/json_fields.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/strings.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pugixml.hpp>

#include <array>
#include <ctime>

namespace ecsh::aws {
namespace {

ServiceSpec spec(std::string id, std::string prefix, std::string signing, std::string env_suffix,
                 Protocol protocol, std::string version, std::string target, bool global = false) {
  ServiceSpec s;
  s.id.id = std::move(id);
  s.id.endpoint_prefix = std::move(prefix);
  s.id.signing_name = std::move(signing);
  s.id.env_suffix = std::move(env_suffix);
  s.id.global = global;
  s.protocol = protocol;
  s.api_version = std::move(version);
  s.target_prefix = std::move(target);
  return s;
}

std::string json_string_member(const boost::json::object& o,
                               std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = o.find(k);
    if (it != o.end() && it->value().is_string()) return std::string(it->value().get_string());
  }
  return {};
}

double seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

bool is_clock_skew_error(const std::string& code) {
  static constexpr std::array<std::string_view, 6> codes = {
      "RequestTimeTooSkewed",  "RequestExpired", "InvalidSignatureException",
      "SignatureDoesNotMatch", "AuthFailure",    "RequestInTheFuture"};
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  if (!strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

namespace services {
const ServiceSpec& ecs() {
  static const ServiceSpec s = spec("ecs", "ecs", "ecs", "ECS", Protocol::json, "2014-11-13",
                                    "AmazonEC2ContainerServiceV20141113");
  return s;
}
const ServiceSpec& ssm() {
  static const ServiceSpec s =
      spec("ssm", "ssm", "ssm", "SSM", Protocol::json, "2014-11-06", "AmazonSSM");
  return s;
}
const ServiceSpec& sts() {
  static const ServiceSpec s = spec("sts", "sts", "sts", "STS", Protocol::query, "2011-06-15", "");
  return s;
}
const ServiceSpec& iam() {
  static const ServiceSpec s =
      spec("iam", "iam", "iam", "IAM", Protocol::query, "2010-05-08", "", /*global=*/true);
  return s;
}
const ServiceSpec& ec2() {
  static const ServiceSpec s = spec("ec2", "ec2", "ec2", "EC2", Protocol::ec2, "2016-11-15", "");
  return s;
}
const ServiceSpec& kms() {
  static const ServiceSpec s =
      spec("kms", "kms", "kms", "KMS", Protocol::json, "2014-11-01", "TrentService");
  return s;
}
const ServiceSpec& logs() {
  static const ServiceSpec s = spec("cloudwatch_logs", "logs", "logs", "CLOUDWATCH_LOGS",
                                    Protocol::json, "2014-03-28", "Logs_20140328");
  return s;
}
}  // namespace services

namespace retry {
bool is_throttling(const std::string& code) {
  // botocore/retries/standard.py
  static constexpr std::array<std::string_view, 14> codes = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "LimitExceededException",
      "RequestThrottled",
      "SlowDown",
      "PriorRequestNotComplete",
      "EC2ThrottledException"};
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

bool is_transient(const Error& e) {
  if (e.kind == ErrorKind::connection) return e.retryable;
  if (e.kind != ErrorKind::service) return false;
  if (e.code == "RequestTimeout" || e.code == "RequestTimeoutException" ||
      e.code == "PriorRequestNotComplete") {
    return true;
  }
  return e.http_status == 500 || e.http_status == 502 || e.http_status == 503 ||
         e.http_status == 504;
}

std::chrono::milliseconds backoff(int attempt, double random01) {
  double seconds = random01 * static_cast<double>(1ull << std::min(attempt, 30));
  seconds = std::min(seconds, 20.0);
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}
}  // namespace retry

void add_query_list(QueryParams& params, const std::string& prefix,
                    const std::vector<std::string>& values, Protocol protocol) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    params.emplace_back(
        prefix + (protocol == Protocol::ec2 ? "." : ".member.") + std::to_string(i + 1), values[i]);
  }
}

Error parse_error_response(Protocol protocol, const std::string& operation,
                           const HttpResponse& response) {
  Error e;
  e.kind = ErrorKind::service;
  e.http_status = response.status;
  if (auto id = response.header("x-amzn-RequestId"))
    e.request_id = std::string(*id);
  else if (auto id2 = response.header("x-amz-request-id"))
    e.request_id = std::string(*id2);
  std::string message;
  if (protocol == Protocol::json) {
    boost::system::error_code ec;
    auto v = boost::json::parse(response.body, ec);
    if (!ec && v.is_object()) {
      const auto& o = v.as_object();
      e.code = json_string_member(o, {"__type", "code", "Code"});
      message = json_string_member(o, {"message", "Message", "errorMessage"});
    }
    if (auto t = response.header("x-amzn-ErrorType"); t && e.code.empty()) e.code = std::string(*t);
    if (auto colon = e.code.find(':'); colon != std::string::npos) e.code.resize(colon);
    if (auto hash = e.code.rfind('#'); hash != std::string::npos) e.code = e.code.substr(hash + 1);
  } else {
    pugi::xml_document doc;
    if (doc.load_buffer(response.body.data(), response.body.size())) {
      auto error = doc.select_node("//Error").node();
      e.code = error.child_value("Code");
      message = error.child_value("Message");
      if (e.request_id.empty()) {
        auto rid = doc.select_node("//RequestId").node();
        if (!rid) rid = doc.select_node("//RequestID").node();
        e.request_id = rid.child_value();
      }
    }
  }
  if (e.code.empty()) e.code = std::to_string(response.status);
  e.retryable = retry::is_throttling(e.code) || retry::is_transient(e);
  e.message = "An error occurred (" + e.code + ") when calling the " + operation +
              " operation: " + (message.empty() ? "Unknown" : message);
  return e;
}

AwsClient::AwsClient(AwsSettings settings, std::shared_ptr<CredentialsProvider> credentials,
                     HttpClient& http, const Clock& clock)
    : settings_(std::move(settings)),
      credentials_(std::move(credentials)),
      http_(http),
      clock_(clock) {
  if (settings_.retry_mode == "adaptive") rate_limiter_.emplace(seconds_since_epoch(clock_.now()));
  sleeper_ = [](std::chrono::milliseconds d) -> Awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(use_awaitable_nothrow);
  };
}

Awaitable<Result<boost::json::object>> AwsClient::json_call(const ServiceSpec& service,
                                                            std::string_view operation_name,
                                                            boost::json::object request) {
  std::string operation(operation_name);
  HttpRequest req;
  req.method = "POST";
  req.headers.push_back({"Content-Type", "application/x-amz-json-1.1"});
  req.headers.push_back({"X-Amz-Target", service.target_prefix + "." + operation});
  req.body = request.empty() ? "{}" : boost::json::serialize(request);
  auto response = co_await send_with_retries(service, operation, std::move(req));
  if (!response) co_return response.error();
  const auto& body = response.value().body;
  if (body.empty()) co_return boost::json::object();
  co_return parse_json_object(body, "the " + operation + " response");
}

Awaitable<Result<std::string>> AwsClient::query_call(const ServiceSpec& service,
                                                     std::string_view operation_name,
                                                     QueryParams params) {
  std::string operation(operation_name);
  HttpRequest req;
  req.method = "POST";
  req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"});
  std::string body =
      "Action=" + str::uri_encode(operation) + "&Version=" + str::uri_encode(service.api_version);
  for (const auto& [k, v] : params) body += "&" + str::uri_encode(k) + "=" + str::uri_encode(v);
  req.body = std::move(body);
  auto response = co_await send_with_retries(service, operation, std::move(req));
  if (!response) co_return response.error();
  co_return std::move(response.value().body);
}

Awaitable<Result<boost::json::array>> AwsClient::json_paginate(
    const ServiceSpec& service, std::string_view operation_name, boost::json::object request,
    std::string_view result_key_name, std::string_view token_name, int max_pages) {
  std::string operation(operation_name);
  std::string result_key(result_key_name);
  std::string token(token_name);
  boost::json::array all;
  for (int page = 0; page < max_pages; ++page) {
    boost::json::object page_request = request;
    auto response = co_await json_call(service, operation, page_request);
    if (!response) co_return response.error();
    JsonFields o(response.value(), "the " + operation + " response");
    ECSH_CO_TRY(auto items, o.optional_array(result_key));
    if (items) {
      for (const auto& item : *items) all.push_back(item);
    }
    ECSH_CO_TRY(auto next, o.string_or(token));
    if (next.empty()) co_return all;
    request[token] = next;
  }
  Error e = Error::protocol(operation + " kept returning a next token after " +
                            std::to_string(max_pages) + " pages");
  co_return e;
}

Awaitable<Result<std::vector<std::string>>> AwsClient::query_paginate(
    const ServiceSpec& service, std::string_view operation_name, QueryParams params,
    std::string_view token_param_name, std::string_view token_element_name, int max_pages) {
  std::string operation(operation_name);
  std::string token_param(token_param_name);
  std::string token_element(token_element_name);
  std::vector<std::string> pages;
  std::string next;
  for (int page = 0; page < max_pages; ++page) {
    QueryParams page_params = params;
    if (!next.empty()) page_params.emplace_back(token_param, next);
    auto body = co_await query_call(service, operation, page_params);
    if (!body) co_return body.error();
    // IAM marks the last page with IsTruncated=false; EC2 simply omits the token.
    ECSH_CO_TRY(next, parse_next_token(operation, body.value(), token_element));
    pages.push_back(std::move(body).value());
    if (next.empty()) co_return pages;
  }
  Error e = Error::protocol(operation + " kept returning a next token after " +
                            std::to_string(max_pages) + " pages");
  co_return e;
}

Awaitable<Result<HttpResponse>> AwsClient::send_with_retries(const ServiceSpec& service,
                                                             const std::string& operation,
                                                             HttpRequest request) {
  ECSH_CO_TRY(auto endpoint, resolve_endpoint(settings_, service.id));
  request.scheme = endpoint.endpoint.scheme;
  request.host = endpoint.endpoint.authority();
  request.path = endpoint.endpoint.base_path + "/";
  ECSH_CO_TRY(auto creds, co_await credentials_->credentials());

  int max_attempts = std::max(1, settings_.max_attempts);
  for (int attempt = 0;; ++attempt) {
    HttpRequest signed_request = request;
    SigningScope scope;
    scope.region = endpoint.signing_region;
    scope.service = service.id.signing_name;
    scope.time = clock_.now() + clock_skew_;
    if (rate_limiter_) {
      double wait = rate_limiter_->before_send(seconds_since_epoch(clock_.now()));
      if (wait > 0) {
        co_await sleeper_(std::chrono::milliseconds(static_cast<long long>(wait * 1000)));
        scope.time = clock_.now() + clock_skew_;
      }
    }
    sign_request(signed_request, creds, scope);
    auto response = co_await http_.send(std::move(signed_request));
    if (rate_limiter_) {
      bool throttled = false;
      if (response && response.value().status >= 300) {
        throttled = retry::is_throttling(
            parse_error_response(service.protocol, operation, response.value()).code);
      }
      rate_limiter_->after_response(throttled, seconds_since_epoch(clock_.now()));
    }

    Error error;
    if (!response) {
      error = response.error();
    } else if (response.value().status >= 200 && response.value().status < 300) {
      retry_quota_ = std::min(500, retry_quota_ + 1);
      co_return std::move(response).value();
    } else {
      error = parse_error_response(service.protocol, operation, response.value());
      if (is_clock_skew_error(error.code)) {
        if (auto date = response.value().header("Date")) {
          if (auto server = parse_http_date(*date)) {
            auto skew =
                std::chrono::duration_cast<std::chrono::milliseconds>(*server - clock_.now());
            if (std::chrono::abs(skew - clock_skew_) > std::chrono::minutes(4) &&
                attempt + 1 < max_attempts) {
              log::debug("clock skew of {} ms against {}; signing again", skew.count(),
                         request.host);
              clock_skew_ = skew;
              continue;
            }
          }
        }
      }
    }
    bool retryable = error.kind == ErrorKind::service
                         ? (retry::is_throttling(error.code) || retry::is_transient(error))
                         : retry::is_transient(error);
    int cost = error.kind == ErrorKind::connection ? 10 : 5;
    if (!retryable || attempt + 1 >= max_attempts || retry_quota_ < cost) co_return error;
    retry_quota_ -= cost;
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    auto delay = retry::backoff(attempt, dist(rng_));
    log::debug("{} failed ({}); retry {} of {} in {} ms", operation,
               error.code.empty() ? error.message : error.code, attempt + 1, max_attempts - 1,
               delay.count());
    co_await sleeper_(delay);
  }
}

}  // namespace ecsh::aws
