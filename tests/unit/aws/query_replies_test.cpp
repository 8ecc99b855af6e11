// The XML boundary (aws/xml_reply.hpp) and the typed IAM/STS/EC2 readers built on it
// (aws/query_replies.hpp): what AWS sends is read, and a reply that is garbled or lacks what AWS
// always sends is a protocol error naming the operation and the element, never an empty value
// that later code would take for "none".

#include "ecsh/aws/query_replies.hpp"
#include "ecsh/aws/xml_reply.hpp"

#include <gtest/gtest.h>

namespace ecsh::aws {
namespace {

std::string error_of(const Error& e) {
  EXPECT_EQ(e.kind, ErrorKind::protocol);
  return e.message;
}

TEST(XmlReply, NotXmlOrTheWrongDocumentIsAProtocolErrorNamingTheOperation) {
  auto garbled = XmlReply::parse("DescribeSubnets", "<DescribeSubnetsResponse><subnetSet>");
  ASSERT_FALSE(garbled);
  EXPECT_TRUE(
      error_of(garbled.error()).starts_with("the DescribeSubnets response is not valid XML"))
      << garbled.error().message;

  auto html = XmlReply::parse("DescribeSubnets", "<html><body>gateway timeout</body></html>");
  ASSERT_FALSE(html);
  EXPECT_EQ(error_of(html.error()),
            "the DescribeSubnets response is a <html>, not a <DescribeSubnetsResponse>");

  auto empty = XmlReply::parse("GetRole", "");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind, ErrorKind::protocol);
}

TEST(XmlReply, PathsAndListsNameWhereSomethingIsMissing) {
  auto reply = XmlReply::parse(
      "DescribeSubnets",
      "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
      "<subnetSet><item><subnetId>subnet-1</subnetId><vpcId>vpc-1</vpcId></item>"
      "<item><subnetId>subnet-2</subnetId></item></subnetSet></DescribeSubnetsResponse>");
  ASSERT_TRUE(reply);
  auto items = reply.value().list("subnetSet/item");
  ASSERT_TRUE(items);
  ASSERT_EQ(items.value().size(), 2u);
  EXPECT_EQ(items.value()[0].text("vpcId").value(), "vpc-1");
  auto missing = items.value()[1].text("vpcId");
  ASSERT_FALSE(missing);
  EXPECT_EQ(error_of(missing.error()),
            "the DescribeSubnets response: subnetSet/item[2]/vpcId is missing");
  EXPECT_EQ(items.value()[1].text_or("vpcId", "none"), "none");
  auto no_list = reply.value().list("routeSet/item");
  ASSERT_FALSE(no_list);
  EXPECT_EQ(error_of(no_list.error()), "the DescribeSubnets response: routeSet is missing");
  EXPECT_TRUE(reply.value().elements("routeSet/item").empty());
}

TEST(QueryReplies, CallerIdentity) {
  auto id = parse_caller_identity(
      "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
      "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn>"
      "<UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
      "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
      "</GetCallerIdentityResponse>");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id.value().account, "123456789012");
  EXPECT_EQ(id.value().arn, "arn:aws:iam::123456789012:user/alice");
  EXPECT_EQ(id.value().user_id, "AIDAEXAMPLE");

  auto no_arn = parse_caller_identity(
      "<GetCallerIdentityResponse><GetCallerIdentityResult><UserId>x</UserId>"
      "<Account>1</Account></GetCallerIdentityResult></GetCallerIdentityResponse>");
  ASSERT_FALSE(no_arn);
  EXPECT_EQ(error_of(no_arn.error()),
            "the GetCallerIdentity response: GetCallerIdentityResult/Arn is missing");
}

TEST(QueryReplies, SimulationDecisionsPerAction) {
  auto r = parse_simulate_principal_policy(
      "<SimulatePrincipalPolicyResponse><SimulatePrincipalPolicyResult><EvaluationResults>"
      "<member><EvalActionName>ecs:ExecuteCommand</EvalActionName>"
      "<EvalDecision>allowed</EvalDecision></member>"
      "<member><EvalActionName>kms:GenerateDataKey</EvalActionName>"
      "<EvalDecision>explicitDeny</EvalDecision></member>"
      "</EvaluationResults><IsTruncated>false</IsTruncated></SimulatePrincipalPolicyResult>"
      "</SimulatePrincipalPolicyResponse>");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r.value().size(), 2u);
  EXPECT_EQ(r.value()[1].action, "kms:GenerateDataKey");
  EXPECT_EQ(r.value()[1].decision, "explicitDeny");

  // A reply without EvaluationResults is not "no decision": it cannot be read.
  auto cut = parse_simulate_principal_policy(
      "<SimulatePrincipalPolicyResponse><SimulatePrincipalPolicyResult/>"
      "</SimulatePrincipalPolicyResponse>");
  ASSERT_FALSE(cut);
  EXPECT_EQ(error_of(cut.error()),
            "the SimulatePrincipalPolicy response: SimulatePrincipalPolicyResult/"
            "EvaluationResults is missing");
}

TEST(QueryReplies, VpcEndpointsAnEmptyListIsNoneAGarbledOneIsAnError) {
  auto none = parse_describe_vpc_endpoints(
      "<DescribeVpcEndpointsResponse><requestId>r</requestId><vpcEndpointSet/>"
      "</DescribeVpcEndpointsResponse>");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none.value().empty());

  auto one = parse_describe_vpc_endpoints(
      "<DescribeVpcEndpointsResponse><vpcEndpointSet><item>"
      "<serviceName>com.amazonaws.eu-west-1.ssmmessages</serviceName>"
      "<privateDnsEnabled>true</privateDnsEnabled></item></vpcEndpointSet>"
      "</DescribeVpcEndpointsResponse>");
  ASSERT_TRUE(one);
  ASSERT_EQ(one.value().size(), 1u);
  EXPECT_EQ(one.value()[0].service_name, "com.amazonaws.eu-west-1.ssmmessages");
  EXPECT_TRUE(one.value()[0].private_dns);

  // The reply cut off by a proxy: doctor must say "cannot tell", which needs an error here.
  auto garbled = parse_describe_vpc_endpoints("<DescribeVpcEndpointsResponse><vpcEndpointSet><it");
  ASSERT_FALSE(garbled);
  auto no_set = parse_describe_vpc_endpoints(
      "<DescribeVpcEndpointsResponse><requestId>r</requestId></DescribeVpcEndpointsResponse>");
  ASSERT_FALSE(no_set);
  EXPECT_EQ(error_of(no_set.error()),
            "the DescribeVpcEndpoints response: vpcEndpointSet is missing");
}

TEST(QueryReplies, RouteTablesAndTheWayOut) {
  auto tables = parse_describe_route_tables(
      "<DescribeRouteTablesResponse><routeTableSet><item><routeSet>"
      "<item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId>"
      "<state>active</state></item>"
      "<item><destinationIpv6CidrBlock>::/0</destinationIpv6CidrBlock>"
      "<gatewayId>igw-1</gatewayId><state>active</state></item>"
      "</routeSet></item></routeTableSet></DescribeRouteTablesResponse>");
  ASSERT_TRUE(tables) << tables.error().message;
  ASSERT_EQ(tables.value().size(), 1u);
  EXPECT_EQ(tables.value()[0].routes.size(), 2u);
  EXPECT_FALSE(routes_to_internet(tables.value()));  // IPv6 only

  Ec2RouteTable nat;
  nat.routes.push_back({"0.0.0.0/0", "", "nat-1", "active"});
  EXPECT_TRUE(routes_to_internet({nat}));
  nat.routes[0].state = "blackhole";
  EXPECT_FALSE(routes_to_internet({nat}));
  Ec2RouteTable igw;
  igw.routes.push_back({"0.0.0.0/0", "igw-9", "", "active"});
  EXPECT_TRUE(routes_to_internet({igw}));
}

TEST(QueryReplies, InstancesSubnetsAndProfiles) {
  auto instances = parse_describe_instances(
      "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
      "<instanceId>i-1</instanceId><privateIpAddress>10.0.1.5</privateIpAddress>"
      "<iamInstanceProfile><arn>arn:aws:iam::1:instance-profile/ecs</arn></iamInstanceProfile>"
      "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>");
  ASSERT_TRUE(instances) << instances.error().message;
  ASSERT_EQ(instances.value().size(), 1u);
  EXPECT_EQ(instances.value()[0].private_ip, "10.0.1.5");
  EXPECT_EQ(instances.value()[0].public_ip, "");
  EXPECT_EQ(instances.value()[0].instance_profile_arn, "arn:aws:iam::1:instance-profile/ecs");
  auto no_instances_set = parse_describe_instances(
      "<DescribeInstancesResponse><reservationSet><item/></reservationSet>"
      "</DescribeInstancesResponse>");
  ASSERT_FALSE(no_instances_set);
  EXPECT_EQ(error_of(no_instances_set.error()),
            "the DescribeInstances response: reservationSet/item[1]/instancesSet is missing");

  auto subnets = parse_describe_subnets(
      "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-1</subnetId>"
      "<vpcId>vpc-1</vpcId></item></subnetSet></DescribeSubnetsResponse>");
  ASSERT_TRUE(subnets);
  EXPECT_EQ(subnets.value().at(0).vpc_id, "vpc-1");

  auto no_role = parse_instance_profile_role_arn(
      "<GetInstanceProfileResponse><GetInstanceProfileResult><InstanceProfile><Roles/>"
      "</InstanceProfile></GetInstanceProfileResult></GetInstanceProfileResponse>");
  ASSERT_TRUE(no_role);
  EXPECT_FALSE(no_role.value());
  auto role = parse_instance_profile_role_arn(
      "<GetInstanceProfileResponse><GetInstanceProfileResult><InstanceProfile><Roles><member>"
      "<Arn>arn:aws:iam::1:role/ecs-instance</Arn></member></Roles></InstanceProfile>"
      "</GetInstanceProfileResult></GetInstanceProfileResponse>");
  ASSERT_TRUE(role);
  EXPECT_EQ(role.value(), "arn:aws:iam::1:role/ecs-instance");
}

TEST(QueryReplies, RoleCredentialsAndNextTokens) {
  auto creds = parse_sts_role_credentials(
      "AssumeRole",
      "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>"
      "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
      "<Expiration>2026-12-07T18:00:00Z</Expiration></Credentials></AssumeRoleResult>"
      "</AssumeRoleResponse>");
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds.value().access_key_id, "ASIA1");
  EXPECT_EQ(creds.value().expiration, "2026-12-07T18:00:00Z");
  auto wrong = parse_sts_role_credentials(
      "AssumeRoleWithWebIdentity", "<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>");
  ASSERT_FALSE(wrong);

  EXPECT_EQ(parse_next_token("ListRoles",
                             "<ListRolesResponse><ListRolesResult><IsTruncated>true</IsTruncated>"
                             "<Marker>m2</Marker></ListRolesResult></ListRolesResponse>",
                             "Marker")
                .value(),
            "m2");
  EXPECT_EQ(parse_next_token("ListRoles",
                             "<ListRolesResponse><ListRolesResult><IsTruncated>false</IsTruncated>"
                             "<Marker>m2</Marker></ListRolesResult></ListRolesResponse>",
                             "Marker")
                .value(),
            "");
  EXPECT_EQ(parse_next_token("DescribeRegions",
                             "<DescribeRegionsResponse><nextToken>n</nextToken>"
                             "</DescribeRegionsResponse>",
                             "nextToken")
                .value(),
            "n");
}

}  // namespace
}  // namespace ecsh::aws
