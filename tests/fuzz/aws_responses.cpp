// AWS response bodies from the network. Input: byte 0 picks the protocol (% 3: json, query,
// ec2), byte 1 the HTTP status (('x' - '0') & 15 indexes kStatuses), byte 2 which response
// headers are present (('x' - '0') & 7: x-amzn-RequestId, x-amz-request-id, x-amzn-ErrorType);
// the rest is the body. Invariants: parse_error_response never crashes and always gives a
// service Error with the status, a non-empty code (for JSON without a ":suffix" or "ns#"
// prefix), and a non-empty message in the AWS CLI's form; a 5xx is retryable. The body, parsed
// as JSON (error code, no exceptions), goes through the typed ECS views when it is an object
// (and each element of "tasks" / "services", as DescribeTasks / DescribeServices return them):
// parse_task and parse_service never throw, a task's id is the last segment of its ARN.
#include "ecsh/aws/client.hpp"
#include "ecsh/ecs/ecs_view.hpp"

#include <boost/json/parse.hpp>

#include <array>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using ecsh::aws::Protocol;

constexpr std::array<Protocol, 3> kProtocols = {Protocol::json, Protocol::query, Protocol::ec2};
constexpr std::array<int, 16> kStatuses = {400, 403, 404, 409, 429, 500, 502, 503,
                                           504, 200, 301, 413, 0,   599, 999, 401};

void check_error(Protocol protocol, int status, const ecsh::aws::HttpResponse& response) {
  const std::string operation = "DescribeTasks";
  const ecsh::Error e = ecsh::aws::parse_error_response(protocol, operation, response);
  if (e.kind != ecsh::ErrorKind::service || e.http_status != status) std::abort();
  if (e.message.empty() || e.code.empty()) std::abort();
  const std::string prefix =
      "An error occurred (" + e.code + ") when calling the " + operation + " operation: ";
  if (e.message.size() <= prefix.size() || e.message.compare(0, prefix.size(), prefix) != 0) {
    std::abort();
  }
  if (protocol == Protocol::json && e.code.find_first_of(":#") != std::string::npos) std::abort();
  if ((status == 500 || status == 502 || status == 503 || status == 504) && !e.retryable) {
    std::abort();
  }
}

void check_task(const boost::json::object& o) {
  ecsh::ecs::TaskView t;
  try {
    t = ecsh::ecs::parse_task(o);
  } catch (...) {
    std::abort();
  }
  if (t.id != ecsh::ecs::arn_name(t.arn) || t.id.find('/') != std::string::npos) std::abort();
  if (!t.service_name().empty() && t.group != "service:" + t.service_name()) std::abort();
  const auto* cs = o.if_contains("containers");
  const std::size_t max = cs && cs->is_array() ? cs->as_array().size() : 0;
  if (t.containers.size() > max) std::abort();
}

void check_service(const boost::json::object& o) {
  ecsh::ecs::ServiceView s;
  try {
    s = ecsh::ecs::parse_service(o);
  } catch (...) {
    std::abort();
  }
  const auto* ds = o.if_contains("deployments");
  const std::size_t max = ds && ds->is_array() ? ds->as_array().size() : 0;
  if (s.deployments.size() > max) std::abort();
}

void check_views(const boost::json::object& o) {
  check_task(o);
  check_service(o);
  for (const char* key : {"tasks", "services"}) {
    const auto* list = o.if_contains(key);
    if (!list || !list->is_array()) continue;
    for (const auto& item : list->as_array()) {
      if (!item.is_object()) continue;
      check_task(item.as_object());
      check_service(item.as_object());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const Protocol protocol = kProtocols[data[0] % kProtocols.size()];
  const int status = kStatuses[static_cast<unsigned>(data[1] - '0') & 15u];
  const unsigned flags = static_cast<unsigned>(data[2] - '0') & 7u;

  ecsh::aws::HttpResponse response;
  response.status = status;
  if (flags & 1u) response.headers.push_back({"x-amzn-RequestId", "7f3c1a52-0d2e-4f1b-9c51-000"});
  if (flags & 2u) response.headers.push_back({"x-amz-request-id", "4442587FB7D0A2F9"});
  if (flags & 4u) {
    response.headers.push_back(
        {"x-amzn-ErrorType",
         "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/"});
  }
  response.body.assign(reinterpret_cast<const char*>(data) + 3, size - 3);

  check_error(protocol, status, response);

  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(response.body, ec);
  if (!ec && v.is_object()) check_views(v.as_object());
  return 0;
}
