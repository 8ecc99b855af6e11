#include "ecsh/doctor/gather.hpp"

#include "ecsh/aws/proxy.hpp"
#include "ecsh/aws/query_replies.hpp"
#include "ecsh/common/json_fields.hpp"
#include "ecsh/common/log.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>

namespace ecsh::doctor {
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;

namespace {

std::string why(const Error& e) { return e.code.empty() ? e.message : e.code + ": " + e.message; }

// DescribeKey: whether the key is Enabled.
Result<bool> key_enabled(const json::object& response) {
  JsonFields r(response, "the DescribeKey response");
  ECSH_TRY(auto meta, r.optional_object("KeyMetadata"));
  if (!meta) return false;
  ECSH_TRY(auto state, meta->string_or("KeyState"));
  return state == "Enabled";
}

// DescribeLogGroups: whether `group` is among the groups listed.
Result<bool> log_group_listed(const json::object& response, const std::string& group) {
  JsonFields r(response, "the DescribeLogGroups response");
  ECSH_TRY(auto groups, r.objects("logGroups"));
  bool found = false;
  for (const auto& g : groups) {
    ECSH_TRY(auto name, g.string_or("logGroupName"));
    found |= name == group;
  }
  return found;
}

// DescribeTaskDefinition: what doctor judges of it.
struct TaskDefinitionFacts {
  std::string task_definition;  // family:revision
  std::string pid_mode, network_mode, task_role_arn;
  std::vector<ContainerDefinitionFacts> containers;
};

bool credential_name(const std::string& name) {
  return name == "AWS_ACCESS_KEY_ID" || name == "AWS_ACCESS_KEY" || name == "AWS_SECRET_ACCESS_KEY";
}

Result<ContainerDefinitionFacts> container_definition_facts(const JsonFields& cd) {
  ContainerDefinitionFacts c;
  ECSH_TRY(c.name, cd.string_or("name"));
  ECSH_TRY(c.read_only_root, cd.bool_or("readonlyRootFilesystem", false));
  ECSH_TRY(auto linux_parameters, cd.optional_object("linuxParameters"));
  if (linux_parameters) {
    ECSH_TRY(c.init_process_enabled, linux_parameters->bool_or("initProcessEnabled", false));
  }
  ECSH_TRY(auto environment, cd.objects("environment"));
  for (const auto& e : environment) {
    ECSH_TRY(auto name, e.string_or("name"));
    if (!credential_name(name)) continue;
    c.credential_env.push_back(name);  // the name only: no value is read into the facts
  }
  ECSH_TRY(auto secrets, cd.objects("secrets"));
  for (const auto& e : secrets) {
    ECSH_TRY(auto name, e.string_or("name"));
    if (credential_name(name)) c.credential_secrets.push_back(name);
  }
  return c;
}

// Nothing when the response has no taskDefinition.
Result<std::optional<TaskDefinitionFacts>> task_definition_facts(const json::object& response) {
  JsonFields r(response, "the DescribeTaskDefinition response");
  ECSH_TRY(auto td, r.optional_object("taskDefinition"));
  if (!td) return std::optional<TaskDefinitionFacts>();
  TaskDefinitionFacts t;
  ECSH_TRY(auto family, td->string_or("family"));
  ECSH_TRY(auto revision, td->optional_int("revision"));
  t.task_definition = family + ":" + (revision ? std::to_string(*revision) : std::string());
  ECSH_TRY(t.pid_mode, td->string_or("pidMode"));
  ECSH_TRY(t.network_mode, td->string_or("networkMode"));
  ECSH_TRY(t.task_role_arn, td->string_or("taskRoleArn"));
  ECSH_TRY(auto definitions, td->objects("containerDefinitions"));
  for (const auto& cd : definitions) {
    ECSH_TRY(auto c, container_definition_facts(cd));
    t.containers.push_back(std::move(c));
  }
  return std::optional<TaskDefinitionFacts>(std::move(t));
}

class Gatherer {
 public:
  Gatherer(aws::AwsClient& client, const Scope& scope, Facts& facts)
      : client_(client), scope_(scope), f_(facts) {}

  // Policy simulation for one principal, many actions on one resource each.
  Awaitable<void> simulate(std::string source, std::vector<Permission>& perms) {
    if (perms.empty()) co_return;
    aws::QueryParams params;
    params.emplace_back("PolicySourceArn", source);
    std::vector<std::string> actions, resources;
    for (const auto& p : perms) actions.push_back(p.action);
    aws::add_query_list(params, "ActionNames", actions, aws::Protocol::query);
    // One call per distinct resource keeps the results unambiguous.
    std::vector<std::string> distinct;
    for (const auto& p : perms) {
      if (std::find(distinct.begin(), distinct.end(), p.resource) == distinct.end()) {
        distinct.push_back(p.resource);
      }
    }
    for (const auto& resource : distinct) {
      aws::QueryParams call = params;
      std::vector<std::string> one{resource};
      aws::add_query_list(call, "ResourceArns", one, aws::Protocol::query);
      auto xml = co_await client_.query_call(aws::services::iam(), "SimulatePrincipalPolicy", call);
      if (!xml) {
        for (auto& p : perms) {
          if (p.resource == resource) p.unknown_reason = why(xml.error());
        }
        continue;
      }
      auto results = aws::parse_simulate_principal_policy(xml.value());
      if (!results) {
        for (auto& p : perms) {
          if (p.resource == resource) p.unknown_reason = why(results.error());
        }
        continue;
      }
      for (const auto& r : results.value()) {
        for (auto& p : perms) {
          if (p.resource == resource && p.action == r.action) p.decision = r.decision;
        }
      }
    }
  }

  Awaitable<void> caller() {
    auto identity = co_await aws::caller_identity(client_);
    if (!identity) {
      f_.caller_unknown_reason = why(identity.error());
      f_.caller_execute_command.unknown_reason = f_.caller_unknown_reason;
      co_return;
    }
    f_.caller_arn = identity.value().arn;
    f_.caller_policy_source = f_.caller_arn;
    // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION -> the role (with its path, via GetRole).
    const std::string marker = ":assumed-role/";
    if (auto pos = f_.caller_arn.find(marker); pos != std::string::npos) {
      std::string rest = f_.caller_arn.substr(pos + marker.size());
      std::string role = rest.substr(0, rest.find('/'));
      std::string account = f_.caller_arn.substr(0, pos);  // arn:aws:sts::ACCOUNT
      account = account.substr(account.rfind(':') + 1);
      std::string partition = f_.caller_arn.substr(4, f_.caller_arn.find(':', 4) - 4);
      f_.caller_policy_source = "arn:" + partition + ":iam::" + account + ":role/" + role;
      aws::QueryParams p{{"RoleName", role}};
      auto got = co_await client_.query_call(aws::services::iam(), "GetRole", p);
      // Without GetRole, the ARN without the role's path still works for most roles.
      if (got) {
        if (auto arn = aws::parse_get_role_arn(got.value()); arn && !arn.value().empty()) {
          f_.caller_policy_source = arn.value();
        }
      }
    }
    if (f_.caller_arn.ends_with(":root")) {
      f_.caller_execute_command.decision = "allowed";  // the account root may do anything
      if (f_.caller_generate_data_key) f_.caller_generate_data_key->decision = "allowed";
      co_return;
    }
    std::vector<Permission> perms{f_.caller_execute_command};
    if (f_.caller_generate_data_key) perms.push_back(*f_.caller_generate_data_key);
    co_await simulate(f_.caller_policy_source, perms);
    f_.caller_execute_command = perms[0];
    if (f_.caller_generate_data_key) f_.caller_generate_data_key = perms[1];
  }

  Awaitable<void> kms_and_logs() {
    if (!f_.kms_key_id.empty()) {
      json::object req{{"KeyId", f_.kms_key_id}};
      auto key = co_await client_.json_call(aws::services::kms(), "DescribeKey", req);
      if (!key) {
        if (key.error().code == "NotFoundException") {
          f_.kms_key_usable = false;
        } else {
          f_.kms_unknown_reason = why(key.error());
        }
      } else if (auto enabled = key_enabled(key.value())) {
        f_.kms_key_usable = enabled.value();
      } else {
        f_.kms_unknown_reason = why(enabled.error());
      }
    }
    if (!f_.log_group.empty()) {
      json::object req{{"logGroupNamePrefix", f_.log_group}};
      auto groups = co_await client_.json_call(aws::services::logs(), "DescribeLogGroups", req);
      // When the call fails, or its reply is malformed, whether the group exists is not known.
      if (groups) {
        if (auto listed = log_group_listed(groups.value(), f_.log_group)) {
          f_.log_group_exists = listed.value();
        } else {
          log::debug("{}", listed.error().message);
        }
      }
    }
  }

  // What a session needs from this machine: the stream endpoint reachable (a GET through the
  // client's own proxy and CA settings; any HTTP answer will do, in at most 5 s), the clock
  // (the answer's Date), and the credentials' end.
  Awaitable<void> client_side() {
    if (!scope_.client_checks) co_return;
    f_.client_gathered = true;
    auto creds = co_await client_.credentials_provider().credentials();
    if (creds) {
      f_.credentials_source = creds.value().source;
      if (creds.value().expiration) {
        f_.credentials_expire = true;
        f_.credentials_left = std::chrono::duration_cast<std::chrono::seconds>(
            *creds.value().expiration - std::chrono::system_clock::now());
      }
    }
    aws::ServiceId stream{"ssmmessages", "ssmmessages", "ssmmessages", "SSMMESSAGES"};
    auto endpoint = aws::resolve_endpoint(client_.settings(), stream);
    if (!endpoint) {
      f_.stream_error = endpoint.error().message;
      co_return;
    }
    const auto& ep = endpoint.value().endpoint;
    f_.stream_host = ep.authority();
    auto http_options = aws::HttpOptions::from_environment();
    auto proxy = aws::proxy_for(http_options, ep.scheme == "https", ep.authority());
    if (proxy && proxy.value()) f_.stream_via = "through proxy " + proxy.value()->display();
    aws::HttpRequest req;
    req.method = "GET";
    req.scheme = ep.scheme;
    req.host = ep.authority();
    req.path = ep.base_path.empty() ? "/" : ep.base_path + "/";
    asio::steady_timer deadline(co_await asio::this_coro::executor);
    deadline.expires_after(std::chrono::seconds(5));
    // The awaitables as locals: no temporary inside the co_await (docs/CODING.md).
    auto sending = client_.http().send(std::move(req));
    auto waiting = deadline.async_wait(use_awaitable_nothrow);
    auto answer = co_await (std::move(sending) || std::move(waiting));
    if (answer.index() == 1) {
      f_.stream_error = "no answer in 5 s";
      co_return;
    }
    auto& got = std::get<0>(answer);
    if (!got) {
      f_.stream_error = got.error().message;
      co_return;
    }
    if (auto date = got.value().header("Date")) {
      if (auto server = aws::parse_http_date(*date)) {
        f_.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(
            *server - std::chrono::system_clock::now());
      }
    }
  }

  Awaitable<void> service_tasks() {
    if (scope_.service.empty()) co_return;
    if (scope_.service_view) {
      f_.service = *scope_.service_view;
    } else {
      std::vector<std::string> names{scope_.service};
      auto services = co_await ecs::describe_services(client_, scope_.cluster_arn, names);
      if (services && !services.value().empty()) f_.service = services.value().front();
    }
    if (scope_.service_tasks) {
      f_.service_tasks = *scope_.service_tasks;
      co_return;
    }
    auto arns = co_await ecs::list_task_arns(client_, scope_.cluster_arn, scope_.service,
                                             ecs::TaskStatus::running);
    if (arns && !arns.value().empty()) {
      auto tasks = co_await ecs::describe_tasks(client_, scope_.cluster_arn, arns.value());
      if (tasks) f_.service_tasks = tasks.value();
    }
  }

  Awaitable<void> instance_role(const std::string& instance_id) {
    aws::QueryParams p;
    std::vector<std::string> ids{instance_id};
    aws::add_query_list(p, "InstanceId", ids, aws::Protocol::ec2);
    auto xml = co_await client_.query_call(aws::services::ec2(), "DescribeInstances", p);
    if (!xml) {
      f_.role_unknown_reason = why(xml.error());
      co_return;
    }
    auto instances = aws::parse_describe_instances(xml.value());
    if (!instances) {
      f_.role_unknown_reason = why(instances.error());
      co_return;
    }
    std::string profile_arn;
    for (const auto& i : instances.value()) {
      if (i.id == instance_id) profile_arn = i.instance_profile_arn;
    }
    if (profile_arn.empty()) co_return;
    aws::QueryParams q{{"InstanceProfileName", ecs::arn_name(profile_arn)}};
    auto ip = co_await client_.query_call(aws::services::iam(), "GetInstanceProfile", q);
    if (!ip) {
      f_.role_unknown_reason = why(ip.error());
      co_return;
    }
    auto role = aws::parse_instance_profile_role_arn(ip.value());
    if (!role) {
      f_.role_unknown_reason = why(role.error());
      co_return;
    }
    f_.role_arn = role.value().value_or("");
    f_.role_source = "EC2 instance role";
  }

  Awaitable<void> network() {
    if (f_.subnet_id.empty()) {
      f_.network_unknown_reason = "the task's subnet is not known";
      co_return;
    }
    aws::QueryParams p;
    std::vector<std::string> subnets{f_.subnet_id};
    aws::add_query_list(p, "SubnetId", subnets, aws::Protocol::ec2);
    auto sn = co_await client_.query_call(aws::services::ec2(), "DescribeSubnets", p);
    if (!sn) {
      f_.network_unknown_reason = why(sn.error());
      co_return;
    }
    auto described = aws::parse_describe_subnets(sn.value());
    if (!described) {
      f_.network_unknown_reason = why(described.error());
      co_return;
    }
    for (const auto& s : described.value()) {
      if (s.id == f_.subnet_id && f_.vpc_id.empty()) f_.vpc_id = s.vpc_id;
    }
    if (f_.vpc_id.empty()) {
      f_.network_unknown_reason = "DescribeSubnets did not list subnet " + f_.subnet_id;
      co_return;
    }

    aws::QueryParams ep{{"Filter.1.Name", "vpc-id"}, {"Filter.1.Value.1", f_.vpc_id}};
    auto eps = co_await client_.query_call(aws::services::ec2(), "DescribeVpcEndpoints", ep);
    if (!eps) {
      f_.network_unknown_reason = why(eps.error());
    } else if (auto endpoints = aws::parse_describe_vpc_endpoints(eps.value()); !endpoints) {
      // A garbled reply says nothing about the endpoints: cannot tell, not "none".
      f_.network_unknown_reason = why(endpoints.error());
    } else {
      const std::string wanted = "com.amazonaws." + f_.region + ".ssmmessages";
      f_.ssmmessages_endpoint =
          std::any_of(endpoints.value().begin(), endpoints.value().end(),
                      [&](const auto& e) { return e.service_name == wanted && e.private_dns; });
    }

    // The subnet's route table, or the VPC's main one. Nothing: no table, or a garbled reply
    // (then route_error says why: cannot tell, not "no route").
    std::string route_error;
    auto routes_out = [&route_error](const std::string& body) -> std::optional<bool> {
      auto tables = aws::parse_describe_route_tables(body);
      if (!tables) {
        route_error = why(tables.error());
        return std::nullopt;
      }
      if (tables.value().empty()) return std::nullopt;
      return aws::routes_to_internet(tables.value());
    };
    aws::QueryParams rt{{"Filter.1.Name", "association.subnet-id"},
                        {"Filter.1.Value.1", f_.subnet_id}};
    std::optional<bool> out;
    auto rts = co_await client_.query_call(aws::services::ec2(), "DescribeRouteTables", rt);
    if (!rts) {
      route_error = why(rts.error());
    } else {
      out = routes_out(rts.value());
    }
    if (!out && route_error.empty()) {
      aws::QueryParams main{{"Filter.1.Name", "vpc-id"},
                            {"Filter.1.Value.1", f_.vpc_id},
                            {"Filter.2.Name", "association.main"},
                            {"Filter.2.Value.1", "true"}};
      auto mrt = co_await client_.query_call(aws::services::ec2(), "DescribeRouteTables", main);
      if (!mrt) {
        route_error = why(mrt.error());
      } else {
        out = routes_out(mrt.value());
      }
    }
    if (!route_error.empty()) {
      if (f_.network_unknown_reason.empty()) f_.network_unknown_reason = route_error;
      co_return;
    }
    f_.route_out = out.value_or(false);
  }

  Awaitable<void> task() {
    if (!f_.task) co_return;
    const auto& t = *f_.task;
    // Task definition.
    json::object req{{"taskDefinition", t.task_definition_arn}};
    auto def = co_await client_.json_call(aws::services::ecs(), "DescribeTaskDefinition", req);
    std::string def_role;
    if (!def) {
      f_.role_unknown_reason = why(def.error());
    } else if (auto facts = task_definition_facts(def.value()); !facts) {
      f_.role_unknown_reason = why(facts.error());
    } else if (facts.value()) {
      auto& td = *facts.value();
      f_.task_definition = std::move(td.task_definition);
      f_.pid_mode = std::move(td.pid_mode);
      f_.network_mode = std::move(td.network_mode);
      def_role = std::move(td.task_role_arn);
      for (auto& c : td.containers) f_.container_definitions.push_back(std::move(c));
    }
    if (!t.override_task_role_arn.empty()) {
      f_.role_arn = t.override_task_role_arn;
      f_.role_source = "task role (overridden)";
    } else if (!def_role.empty()) {
      f_.role_arn = def_role;
      f_.role_source = "task role";
    }

    // EC2: the container instance (agent version, subnet, instance role fallback).
    if (!t.container_instance_arn.empty()) {
      auto got = co_await ecs::describe_container_instance(client_, scope_.cluster_arn,
                                                           t.container_instance_arn);
      if (!got) {
        f_.task_unknown_reason = why(got.error());
      } else if (got.value()) {
        const auto& inst = *got.value();
        f_.ec2_instance_id = inst.ec2_instance_id;
        f_.agent_version = inst.agent_version;
        f_.instance_exec_capability = false;
        for (const auto& [name, value] : inst.attributes) {
          if (name == "ecs.capability.execute-command") f_.instance_exec_capability = true;
          if (name == "ecs.subnet-id" && f_.subnet_id.empty()) f_.subnet_id = value;
          if (name == "ecs.vpc-id" && f_.vpc_id.empty()) f_.vpc_id = value;
        }
      }
      if (f_.role_arn.empty() && !f_.ec2_instance_id.empty()) {
        co_await instance_role(f_.ec2_instance_id);
      }
    }

    // What the role may do and the network path, at the same time.
    std::string kms_resource = f_.kms_key_id;
    co_await (role_permissions(kms_resource) && network());
  }

  Awaitable<void> role_permissions(std::string kms_resource) {
    if (f_.role_arn.empty()) co_return;
    std::vector<Permission> perms;
    for (const char* a : kExecChannelActions) {
      Permission p;
      p.action = a;
      p.resource = "*";
      perms.push_back(p);
    }
    if (!kms_resource.empty()) {
      Permission p;
      p.action = "kms:Decrypt";
      p.resource = kms_resource;
      perms.push_back(p);
    }
    if (!f_.log_group.empty() && f_.logging != "NONE") {
      for (const char* a :
           {"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}) {
        Permission p;
        p.action = a;
        p.resource = "*";
        perms.push_back(p);
      }
    }
    co_await simulate(f_.role_arn, perms);
    for (const auto& p : perms) {
      if (p.decision.empty() && f_.role_unknown_reason.empty()) {
        f_.role_unknown_reason = p.unknown_reason;
      }
    }
    f_.role_permissions = std::move(perms);
  }

 private:
  aws::AwsClient& client_;
  const Scope& scope_;
  Facts& f_;
};

}  // namespace

Awaitable<Result<Facts>> gather(aws::AwsClient& client, const Scope& scope) {
  Facts f;
  f.region = client.settings().region;
  f.cluster_arn = scope.cluster_arn;
  f.cluster_name = scope.cluster_name;
  f.task = scope.task;
  if (f.task) f.subnet_id = f.task->subnet_id;

  // The cluster first: its KMS key and logging decide which permissions to simulate.
  auto cluster = co_await ecs::describe_cluster(client, scope.cluster_arn);
  if (!cluster) {
    f.cluster_unknown_reason = why(cluster.error());
  } else if (cluster.value()) {
    const auto& c = *cluster.value();
    f.cluster_status = c.status;
    f.kms_key_id = c.exec_kms_key_id;
    f.logging = c.exec_logging;
    f.log_group = c.exec_log_group;
    f.s3_bucket = c.exec_s3_bucket;
  } else {
    Error e = Error::usage("cluster " + scope.cluster_name + " not found",
                           "List clusters with: ecsh ls clusters");
    co_return e;
  }
  if (f.task) {
    f.caller_execute_command.action = "ecs:ExecuteCommand";
    f.caller_execute_command.resource = f.task->arn;
  } else {
    f.caller_execute_command.action = "ecs:ExecuteCommand";
    f.caller_execute_command.resource = scope.cluster_arn;
  }
  if (!f.kms_key_id.empty()) {
    Permission p;
    p.action = "kms:GenerateDataKey";
    p.resource = f.kms_key_id;
    f.caller_generate_data_key = p;
  }

  Gatherer g(client, scope, f);
  co_await (g.caller() && g.client_side() && g.kms_and_logs() && g.service_tasks() && g.task());
  co_return f;
}

}  // namespace ecsh::doctor
