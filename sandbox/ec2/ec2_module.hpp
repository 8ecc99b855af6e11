#pragma once

// EC2 of the sandbox (EC2 Query protocol): the network the tasks live in (VPCs, subnets, route
// tables, VPC endpoints) and the container instances as EC2 instances. Read-only APIs; the
// world comes from the scenario:
//   "network": {"vpcs":[{"id","cidr"}],
//               "subnets":[{"id","vpc_id","cidr","route_to_internet":bool,"nat":bool}],
//               "vpc_endpoints":[{"vpc_id","service_name","private_dns_enabled":bool}]}
//   "instances": [{"instance_id","subnet_id","instance_profile","private_ip","public_ip"}]
// and every clusters[].container_instances[] entry ({instance_id, subnet_id, instance_role_arn}).
// Without a "network", one default VPC with one subnet routed to an internet gateway.

#include "sandbox/api.hpp"

#include <memory>

namespace ecsh::sandbox::ec2 {

inline constexpr const char* kDefaultVpcId = "vpc-0ec5a0d0000000001";
inline constexpr const char* kDefaultSubnetId = "subnet-0ec5a0d0000000001";

std::unique_ptr<ServiceModule> make_ec2_module();

}  // namespace ecsh::sandbox::ec2
