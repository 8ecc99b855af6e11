#include "ecsh/aws/query_replies.hpp"

#include "ecsh/aws/xml_reply.hpp"

namespace ecsh::aws {

Result<CallerIdentity> parse_caller_identity(std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse("GetCallerIdentity", body));
  ECSH_TRY(auto result, reply.element("GetCallerIdentityResult"));
  CallerIdentity id;
  ECSH_TRY(id.arn, result.text("Arn"));
  ECSH_TRY(id.account, result.text("Account"));
  ECSH_TRY(id.user_id, result.text("UserId"));
  if (id.arn.empty()) return Error::protocol(result.where() + "/Arn is empty");
  return id;
}

Awaitable<Result<CallerIdentity>> caller_identity(AwsClient& client) {
  QueryParams none;
  ECSH_CO_TRY(auto body, co_await client.query_call(services::sts(), "GetCallerIdentity", none));
  co_return parse_caller_identity(body);
}

Result<std::vector<EvaluationResult>> parse_simulate_principal_policy(std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse("SimulatePrincipalPolicy", body));
  ECSH_TRY(auto members, reply.list("SimulatePrincipalPolicyResult/EvaluationResults/member"));
  std::vector<EvaluationResult> out;
  for (const auto& m : members) {
    EvaluationResult r;
    ECSH_TRY(r.action, m.text("EvalActionName"));
    ECSH_TRY(r.decision, m.text("EvalDecision"));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::string> parse_get_role_arn(std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse("GetRole", body));
  return reply.text("GetRoleResult/Role/Arn");
}

Result<std::optional<std::string>> parse_instance_profile_role_arn(std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse("GetInstanceProfile", body));
  ECSH_TRY(auto roles, reply.list("GetInstanceProfileResult/InstanceProfile/Roles/member"));
  if (roles.empty()) return std::optional<std::string>();
  ECSH_TRY(auto arn, roles.front().text("Arn"));
  return std::optional<std::string>(std::move(arn));
}

Result<std::vector<Ec2Instance>> parse_describe_instances(std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse("DescribeInstances", body));
  ECSH_TRY(auto reservations, reply.list("reservationSet/item"));
  std::vector<Ec2Instance> out;
  for (const auto& r : reservations) {
    ECSH_TRY(auto instances, r.list("instancesSet/item"));
    for (const auto& i : instances) {
      Ec2Instance inst;
      ECSH_TRY(inst.id, i.text("instanceId"));
      inst.private_ip = i.text_or("privateIpAddress");
      inst.public_ip = i.text_or("ipAddress");
      inst.instance_profile_arn = i.text_or("iamInstanceProfile/arn");
      out.push_back(std::move(inst));
    }
  }
  return out;
}

Result<std::vector<Ec2Subnet>> parse_describe_subnets(std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse("DescribeSubnets", body));
  ECSH_TRY(auto items, reply.list("subnetSet/item"));
  std::vector<Ec2Subnet> out;
  for (const auto& item : items) {
    Ec2Subnet s;
    ECSH_TRY(s.id, item.text("subnetId"));
    ECSH_TRY(s.vpc_id, item.text("vpcId"));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> parse_describe_regions(std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse("DescribeRegions", body));
  ECSH_TRY(auto items, reply.list("regionInfo/item"));
  std::vector<std::string> out;
  for (const auto& item : items) {
    ECSH_TRY(auto name, item.text("regionName"));
    out.push_back(std::move(name));
  }
  return out;
}

Result<std::vector<Ec2VpcEndpoint>> parse_describe_vpc_endpoints(std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse("DescribeVpcEndpoints", body));
  ECSH_TRY(auto items, reply.list("vpcEndpointSet/item"));
  std::vector<Ec2VpcEndpoint> out;
  for (const auto& item : items) {
    Ec2VpcEndpoint e;
    ECSH_TRY(e.service_name, item.text("serviceName"));
    e.private_dns = item.text_or("privateDnsEnabled") == "true";
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<Ec2RouteTable>> parse_describe_route_tables(std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse("DescribeRouteTables", body));
  ECSH_TRY(auto items, reply.list("routeTableSet/item"));
  std::vector<Ec2RouteTable> out;
  for (const auto& item : items) {
    Ec2RouteTable table;
    for (const auto& r : item.elements("routeSet/item")) {
      Ec2Route route;
      route.destination = r.text_or("destinationCidrBlock");
      route.gateway_id = r.text_or("gatewayId");
      route.nat_gateway_id = r.text_or("natGatewayId");
      route.state = r.text_or("state");
      table.routes.push_back(std::move(route));
    }
    out.push_back(std::move(table));
  }
  return out;
}

bool routes_to_internet(const std::vector<Ec2RouteTable>& tables) {
  for (const auto& t : tables) {
    for (const auto& r : t.routes) {
      if (r.destination == "0.0.0.0/0" && r.state != "blackhole" &&
          (r.gateway_id.starts_with("igw-") || !r.nat_gateway_id.empty())) {
        return true;
      }
    }
  }
  return false;
}

Result<StsCredentials> parse_sts_role_credentials(std::string_view operation,
                                                  std::string_view body) {
  ECSH_TRY(auto reply, XmlReply::parse(operation, body));
  ECSH_TRY(auto c, reply.element(std::string(operation) + "Result/Credentials"));
  StsCredentials out;
  ECSH_TRY(out.access_key_id, c.text("AccessKeyId"));
  ECSH_TRY(out.secret_access_key, c.text("SecretAccessKey"));
  ECSH_TRY(out.session_token, c.text("SessionToken"));
  ECSH_TRY(out.expiration, c.text("Expiration"));
  return out;
}

Result<std::string> parse_next_token(std::string_view operation, std::string_view body,
                                     std::string_view token_element) {
  ECSH_TRY(auto reply, XmlReply::parse(operation, body));
  // IAM and STS put it in <OperationResult>; EC2 directly under the response.
  auto result = reply.optional_element(std::string(operation) + "Result");
  const auto& where = result ? *result : reply;
  if (where.text_or("IsTruncated") == "false") return std::string();
  return where.text_or(token_element);
}

}  // namespace ecsh::aws
