// AWS response bodies from the network. Input: byte 0 picks the protocol (% 3: json, query,
// ec2), byte 1 the HTTP status (('x' - '0') & 15 indexes kStatuses), byte 2 which response
// headers are present (('x' - '0') & 7: x-amzn-RequestId, x-amz-request-id, x-amzn-ErrorType);
// the rest is the body. Invariants: parse_error_response never crashes and always gives a
// service Error with the status, a non-empty code (for JSON without a ":suffix" or "ns#"
// prefix), and a non-empty message in the AWS CLI's form; a 5xx is retryable. The body, parsed
// as JSON (error code, no exceptions), goes through every typed parser of JSON replies when it is
// an object: the ECS views (the object itself as a task, a service and a cluster, and whole
// DescribeTasks / DescribeServices / DescribeClusters / DescribeContainerInstances responses),
// the logs' task definition and log event pages. None throws; each gives a value or a protocol
// error whose message names the response; a task's id is the last segment of its ARN. For the
// Query and EC2 protocols the body also goes through every typed XML reader (query_replies.hpp),
// with the same rule: a value, or a protocol error naming "the <Operation> response".
#include "ecsh/aws/client.hpp"
#include "ecsh/aws/query_replies.hpp"
#include "ecsh/ecs/ecs_view.hpp"
#include "ecsh/logs/fetch.hpp"

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

// A parser's failure must be a protocol error naming where it is, never an exception.
template <class T>
bool parsed(const ecsh::Result<T>& r, std::string_view where) {
  if (r) return true;
  const ecsh::Error& e = r.error();
  if (e.kind != ecsh::ErrorKind::protocol || e.message.compare(0, where.size(), where) != 0) {
    std::abort();
  }
  return false;
}

template <class F>
auto no_throw(F f) {
  try {
    return f();
  } catch (...) {
    std::abort();
  }
}

void check_task(const boost::json::object& o) {
  const ecsh::JsonFields fields(o, "the task");
  auto t = no_throw([&] { return ecsh::ecs::parse_task(fields); });
  if (!parsed(t, "the task")) return;
  const auto& task = t.value();
  if (task.arn.empty() && !o.contains("taskArn")) std::abort();  // taskArn is required
  if (task.id != ecsh::ecs::arn_name(task.arn) || task.id.find('/') != std::string::npos) {
    std::abort();
  }
  if (!task.service_name().empty() && task.group != "service:" + task.service_name()) {
    std::abort();
  }
  const auto* cs = o.if_contains("containers");
  const std::size_t count = cs && cs->is_array() ? cs->as_array().size() : 0;
  if (task.containers.size() != count) std::abort();  // every container, or an error
}

void check_service(const boost::json::object& o) {
  const ecsh::JsonFields fields(o, "the service");
  auto s = no_throw([&] { return ecsh::ecs::parse_service(fields); });
  if (!parsed(s, "the service")) return;
  const auto* ds = o.if_contains("deployments");
  const std::size_t count = ds && ds->is_array() ? ds->as_array().size() : 0;
  if (s.value().deployments.size() != count) std::abort();
}

void check_views(const boost::json::object& o) {
  check_task(o);
  check_service(o);
  const ecsh::JsonFields fields(o, "the cluster");
  parsed(no_throw([&] { return ecsh::ecs::parse_cluster(fields); }), "the cluster");
  for (const char* key : {"tasks", "services"}) {
    const auto* list = o.if_contains(key);
    if (!list || !list->is_array()) continue;
    for (const auto& item : list->as_array()) {
      if (!item.is_object()) continue;
      check_task(item.as_object());
      check_service(item.as_object());
    }
  }
  auto tasks = no_throw([&] { return ecsh::ecs::parse_describe_tasks(o); });
  if (parsed(tasks, "the DescribeTasks response")) {
    const auto* list = o.if_contains("tasks");
    if (tasks.value().size() != (list && list->is_array() ? list->as_array().size() : 0)) {
      std::abort();
    }
  }
  parsed(no_throw([&] { return ecsh::ecs::parse_describe_services(o); }),
         "the DescribeServices response");
  parsed(no_throw([&] { return ecsh::ecs::parse_describe_clusters(o); }),
         "the DescribeClusters response");
  parsed(no_throw([&] { return ecsh::ecs::parse_describe_container_instances(o); }),
         "the DescribeContainerInstances response");
  auto page = no_throw([&] { return ecsh::logs::parse_log_events(o, "FilterLogEvents"); });
  if (parsed(page, "the FilterLogEvents response")) {
    const auto* events = o.if_contains("events");
    const std::size_t count = events && events->is_array() ? events->as_array().size() : 0;
    if (page.value().events.size() != count) std::abort();
  }
  const ecsh::JsonFields definition(o, "the task definition");
  auto def = no_throw([&] { return ecsh::logs::parse_task_definition(definition); });
  if (parsed(def, "the task definition")) {
    const auto essential = ecsh::logs::essential_containers(def.value());
    if (essential.size() > def.value().containers.size()) std::abort();
  }
}

void check_xml_readers(std::string_view body) {
  using namespace ecsh::aws;
  parsed(no_throw([&] { return parse_caller_identity(body); }), "the GetCallerIdentity response");
  auto sim = no_throw([&] { return parse_simulate_principal_policy(body); });
  if (parsed(sim, "the SimulatePrincipalPolicy response")) {
    for (const auto& r : sim.value()) (void)r.decision.size();
  }
  parsed(no_throw([&] { return parse_get_role_arn(body); }), "the GetRole response");
  parsed(no_throw([&] { return parse_instance_profile_role_arn(body); }),
         "the GetInstanceProfile response");
  parsed(no_throw([&] { return parse_describe_instances(body); }),
         "the DescribeInstances response");
  parsed(no_throw([&] { return parse_describe_subnets(body); }), "the DescribeSubnets response");
  parsed(no_throw([&] { return parse_describe_vpc_endpoints(body); }),
         "the DescribeVpcEndpoints response");
  auto tables = no_throw([&] { return parse_describe_route_tables(body); });
  if (parsed(tables, "the DescribeRouteTables response")) {
    (void)routes_to_internet(tables.value());
  }
  parsed(no_throw([&] { return parse_sts_role_credentials("AssumeRole", body); }),
         "the AssumeRole response");
  parsed(no_throw([&] { return parse_next_token("ListRoles", body, "Marker"); }),
         "the ListRoles response");
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
  if (protocol != Protocol::json) check_xml_readers(response.body);
  return 0;
}
