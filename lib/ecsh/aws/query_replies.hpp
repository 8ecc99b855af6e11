#pragma once

// The IAM, STS and EC2 replies ecsh reads, typed, each read in one place through XmlReply
// (xml_reply.hpp): an element AWS always sends is required (its absence is a protocol error
// naming the operation and the element), one AWS may leave out has its meaning spelled out here.
// Pure; the one call that belongs here, GetCallerIdentity, is caller_identity().

#include "ecsh/aws/client.hpp"
#include "ecsh/common/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::aws {

// STS GetCallerIdentity.
struct CallerIdentity {
  std::string account, arn, user_id;
};
Result<CallerIdentity> parse_caller_identity(std::string_view body);
Awaitable<Result<CallerIdentity>> caller_identity(AwsClient& client);

// IAM SimulatePrincipalPolicy: one decision per action ("allowed", "implicitDeny",
// "explicitDeny").
struct EvaluationResult {
  std::string action, decision;
};
Result<std::vector<EvaluationResult>> parse_simulate_principal_policy(std::string_view body);

// IAM GetRole: the role's ARN (with its path).
Result<std::string> parse_get_role_arn(std::string_view body);

// IAM GetInstanceProfile: the ARN of its role; nothing for a profile without one.
Result<std::optional<std::string>> parse_instance_profile_role_arn(std::string_view body);

// EC2 DescribeInstances: the instances of every reservation.
struct Ec2Instance {
  std::string id, private_ip, public_ip;  // public_ip "" when it has none
  std::string instance_profile_arn;       // "" when it has no instance profile
};
Result<std::vector<Ec2Instance>> parse_describe_instances(std::string_view body);

// EC2 DescribeSubnets.
struct Ec2Subnet {
  std::string id, vpc_id;
};
Result<std::vector<Ec2Subnet>> parse_describe_subnets(std::string_view body);

// EC2 DescribeRegions: the regions' names (without AllRegions: those enabled for the account).
Result<std::vector<std::string>> parse_describe_regions(std::string_view body);

// EC2 DescribeVpcEndpoints.
struct Ec2VpcEndpoint {
  std::string service_name;  // "com.amazonaws.us-east-1.ssmmessages"
  bool private_dns = false;
};
Result<std::vector<Ec2VpcEndpoint>> parse_describe_vpc_endpoints(std::string_view body);

// EC2 DescribeRouteTables: each table's routes.
struct Ec2Route {
  std::string destination;  // destinationCidrBlock ("" for an IPv6 or prefix-list route)
  std::string gateway_id, nat_gateway_id, state;
};
struct Ec2RouteTable {
  std::vector<Ec2Route> routes;
};
Result<std::vector<Ec2RouteTable>> parse_describe_route_tables(std::string_view body);
// A usable IPv4 default route to an internet or NAT gateway in any of the tables.
bool routes_to_internet(const std::vector<Ec2RouteTable>& tables);

// STS AssumeRole and AssumeRoleWithWebIdentity (`operation`): the role's temporary keys.
struct StsCredentials {
  std::string access_key_id, secret_access_key, session_token;
  std::string expiration;  // ISO 8601
};
Result<StsCredentials> parse_sts_role_credentials(std::string_view operation,
                                                  std::string_view body);

// A paginated Query/EC2 reply's next token (the element named `token_element` under the
// operation's result), "" on the last page: IAM also says IsTruncated=false there.
Result<std::string> parse_next_token(std::string_view operation, std::string_view body,
                                     std::string_view token_element);

}  // namespace ecsh::aws
