#pragma once

// The AWS protocol layer: JSON 1.1 (ECS, SSM, KMS, Logs) and Query (IAM, STS; EC2's dialect),
// SigV4, structured errors, and botocore's "standard" retries. One AwsClient per command.

#include "ecsh/aws/adaptive.hpp"
#include "ecsh/aws/credentials.hpp"
#include "ecsh/aws/http_client.hpp"
#include "ecsh/aws/settings.hpp"
#include "ecsh/common/asio.hpp"
#include "ecsh/common/clock.hpp"
#include "ecsh/common/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ecsh::aws {

enum class Protocol { json, query, ec2 };

struct ServiceSpec {
  ServiceId id;
  Protocol protocol = Protocol::json;
  std::string api_version;    // Query/EC2 Version parameter, e.g. "2011-06-15"
  std::string target_prefix;  // JSON X-Amz-Target prefix, e.g. "AmazonEC2ContainerServiceV20141113"
};

namespace services {
const ServiceSpec& ecs();
const ServiceSpec& ssm();
const ServiceSpec& sts();
const ServiceSpec& iam();
const ServiceSpec& ec2();
const ServiceSpec& kms();
const ServiceSpec& logs();
}  // namespace services

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// A list parameter as each Query dialect serialises it: AWS Query (IAM, STS) as
// Prefix.member.1, Prefix.member.2…; EC2 as Prefix.1, Prefix.2…
void add_query_list(QueryParams& params, const std::string& prefix,
                    const std::vector<std::string>& values, Protocol protocol);

// Waits between retries; injected so that tests take no wall time.
using Sleeper = std::function<Awaitable<void>(std::chrono::milliseconds)>;

// botocore's standard-mode retry decisions, exposed for tests.
namespace retry {
bool is_throttling(const std::string& code);
bool is_transient(const Error& error);
// Full jitter: random(0,1) * min(2^attempt, 20 s), attempt counted from 0.
std::chrono::milliseconds backoff(int attempt, double random01);
}  // namespace retry

// Turns an AWS error response into a structured Error (kind service). `operation` names the
// call in the message, as the AWS CLI prints it.
Error parse_error_response(Protocol protocol, const std::string& operation,
                           const HttpResponse& response);

// An HTTP Date header (RFC 7231: "Wed, 25 Nov 2026 04:38:49 GMT") as a time point.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

class AwsClient {
 public:
  AwsClient(AwsSettings settings, std::shared_ptr<CredentialsProvider> credentials,
            HttpClient& http, const Clock& clock);

  void set_sleeper(Sleeper sleeper) { sleeper_ = std::move(sleeper); }
  const AwsSettings& settings() const { return settings_; }
  // What the client signs with and sends through (doctor's checks of this machine).
  CredentialsProvider& credentials_provider() { return *credentials_; }
  HttpClient& http() { return http_; }

  // Names (operation, keys) are std::string_view so that literals at call sites are trivial
  // temporaries: g++ 12 miscompiles class-type temporaries in a co_await (docs/CODING.md).
  // Each coroutine copies them before it first suspends.
  // The response object; a response that is not JSON, or not an object, is a protocol error
  // ("the DescribeTasks response is …"). An empty body is an empty object.
  Awaitable<Result<boost::json::object>> json_call(const ServiceSpec& service,
                                                   std::string_view operation,
                                                   boost::json::object request);
  // Returns the XML response body.
  Awaitable<Result<std::string>> query_call(const ServiceSpec& service, std::string_view operation,
                                            QueryParams params);

  // Every page of a JSON operation: follows `token` (nextToken / NextToken) and concatenates the
  // `result_key` arrays. Stops after max_pages as a guard against a service that loops. A
  // `result_key` that is not an array, or a token that is not a string, is a protocol error.
  Awaitable<Result<boost::json::array>> json_paginate(
      const ServiceSpec& service, std::string_view operation, boost::json::object request,
      std::string_view result_key, std::string_view token = "nextToken", int max_pages = 1000);
  // Every page of a Query/EC2 operation, as XML bodies: sends `token_param` with the value of
  // the response element `token_element` (Marker, NextToken, nextToken) until there is none.
  Awaitable<Result<std::vector<std::string>>> query_paginate(
      const ServiceSpec& service, std::string_view operation, QueryParams params,
      std::string_view token_param, std::string_view token_element, int max_pages = 1000);

 private:
  Awaitable<Result<HttpResponse>> send_with_retries(const ServiceSpec& service,
                                                    const std::string& operation,
                                                    HttpRequest request);

  AwsSettings settings_;
  std::shared_ptr<CredentialsProvider> credentials_;
  HttpClient& http_;
  const Clock& clock_;
  Sleeper sleeper_;
  std::mt19937_64 rng_{std::random_device{}()};
  int retry_quota_ = 500;                          // botocore's standard-mode quota
  std::optional<ClientRateLimiter> rate_limiter_;  // retry_mode = adaptive
  std::chrono::milliseconds clock_skew_{0};
};

}  // namespace ecsh::aws
