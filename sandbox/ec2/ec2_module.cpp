#include "sandbox/ec2/ec2_module.hpp"

#include "ecsh/aws/regions.hpp"
#include "ecsh/common/strings.hpp"
#include "sandbox/core/identity.hpp"
#include "sandbox/core/json_members.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace ecsh::sandbox::ec2 {
namespace {

namespace json = boost::json;

constexpr const char* kNs = "http://ec2.amazonaws.com/doc/2016-11-15/";

std::string suffix(const std::string& id) { return id.substr(id.find('-') + 1); }

struct Vpc {
  std::string id, cidr = "10.0.0.0/16";
};
struct Subnet {
  std::string id, vpc_id, cidr = "10.0.1.0/24";
  bool route_to_internet = true;
  bool nat = false;
};
struct Endpoint {
  std::string id, vpc_id, service_name;
  bool private_dns = true;
};
struct Instance {
  std::string id, subnet_id, profile, private_ip = "10.0.1.10", public_ip;
};

// Filters: Filter.N.Name / Filter.N.Value.M.
std::map<std::string, std::set<std::string>> filters_of(const QueryParams& p) {
  std::map<std::string, std::set<std::string>> out;
  for (int i = 1;; ++i) {
    auto* name = p.find("Filter." + std::to_string(i) + ".Name");
    if (!name) break;
    auto values = p.list("Filter." + std::to_string(i) + ".Value");
    out[*name].insert(values.begin(), values.end());
  }
  return out;
}

bool passes(const std::map<std::string, std::set<std::string>>& filters, const std::string& name,
            const std::string& value) {
  auto it = filters.find(name);
  return it == filters.end() || it->second.count(value) > 0;
}

bool wanted(const std::vector<std::string>& ids, const std::string& id) {
  return ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end();
}

class Ec2Module final : public ServiceModule {
 public:
  Ec2Module() { reset_default(); }

  std::string name() const override { return "ec2"; }

  void attach(const ModuleEnvironment& env) override { identities_ = env.identities; }

  void register_routes(Router& router) override {
    auto add = [&router](std::string action, QueryHandler h) {
      router.add_query("ec2", QueryDialect::ec2, kNs, std::move(action), std::move(h));
    };
    add("DescribeVpcs",
        [this](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
          BOOST_OUTCOME_TRY(ctx.authorize("ec2:DescribeVpcs", "*", "UnauthorizedOperation"));
          auto ids = p.list("VpcId");
          for (const auto& id : ids) {
            if (std::none_of(vpcs_.begin(), vpcs_.end(),
                             [&](const Vpc& v) { return v.id == id; })) {
              return ApiError::client("InvalidVpcID.NotFound",
                                      "The vpc ID '" + id + "' does not exist");
            }
          }
          auto filters = filters_of(p);
          std::string x = "<vpcSet>";
          for (const auto& v : vpcs_) {
            if (!wanted(ids, v.id) || !passes(filters, "vpc-id", v.id)) continue;
            x += "<item>" + xml_element("vpcId", v.id) + xml_element("ownerId", "000000000000") +
                 xml_element("state", "available") + xml_element("cidrBlock", v.cidr) +
                 xml_element("isDefault", v.id == kDefaultVpcId ? "true" : "false") + "</item>";
          }
          return x + "</vpcSet>";
        });
    add("DescribeSubnets",
        [this](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
          BOOST_OUTCOME_TRY(ctx.authorize("ec2:DescribeSubnets", "*", "UnauthorizedOperation"));
          auto ids = p.list("SubnetId");
          for (const auto& id : ids) {
            if (std::none_of(subnets_.begin(), subnets_.end(),
                             [&](const Subnet& s) { return s.id == id; })) {
              return ApiError::client("InvalidSubnetID.NotFound",
                                      "The subnet ID '" + id + "' does not exist");
            }
          }
          auto filters = filters_of(p);
          std::string x = "<subnetSet>";
          for (const auto& s : subnets_) {
            if (!wanted(ids, s.id) || !passes(filters, "vpc-id", s.vpc_id) ||
                !passes(filters, "subnet-id", s.id)) {
              continue;
            }
            x += "<item>" + xml_element("subnetId", s.id) +
                 xml_element("subnetArn",
                             "arn:aws:ec2:" + ctx.region + ":000000000000:subnet/" + s.id) +
                 xml_element("state", "available") + xml_element("vpcId", s.vpc_id) +
                 xml_element("ownerId", "000000000000") + xml_element("cidrBlock", s.cidr) +
                 xml_element("availableIpAddressCount", "250") +
                 xml_element("availabilityZone", ctx.region + "a") +
                 xml_element("defaultForAz", "false") +
                 xml_element("mapPublicIpOnLaunch", "false") + "</item>";
          }
          return x + "</subnetSet>";
        });
    add("DescribeVpcEndpoints",
        [this](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
          BOOST_OUTCOME_TRY(
              ctx.authorize("ec2:DescribeVpcEndpoints", "*", "UnauthorizedOperation"));
          auto ids = p.list("VpcEndpointId");
          for (const auto& id : ids) {
            if (std::none_of(endpoints_.begin(), endpoints_.end(),
                             [&](const Endpoint& e) { return e.id == id; })) {
              return ApiError::client("InvalidVpcEndpointId.NotFound",
                                      "The Vpc Endpoint Id '" + id + "' does not exist");
            }
          }
          auto filters = filters_of(p);
          std::string x = "<vpcEndpointSet>";
          for (const auto& e : endpoints_) {
            std::string service = e.service_name;
            if (auto pos = service.find("<region>"); pos != std::string::npos) {
              service.replace(pos, 8, ctx.region);
            }
            if (!wanted(ids, e.id) || !passes(filters, "vpc-id", e.vpc_id) ||
                !passes(filters, "service-name", service)) {
              continue;
            }
            x += "<item>" + xml_element("vpcEndpointId", e.id) +
                 xml_element("vpcEndpointType", "Interface") + xml_element("vpcId", e.vpc_id) +
                 xml_element("serviceName", service) + xml_element("state", "available") +
                 xml_element("privateDnsEnabled", e.private_dns ? "true" : "false") +
                 xml_element("requesterManaged", "false") + xml_element("ownerId", "000000000000") +
                 "</item>";
          }
          return x + "</vpcEndpointSet>";
        });
    add("DescribeRouteTables",
        [this](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
          BOOST_OUTCOME_TRY(ctx.authorize("ec2:DescribeRouteTables", "*", "UnauthorizedOperation"));
          auto filters = filters_of(p);
          std::string x = "<routeTableSet>";
          // One table per subnet, explicitly associated; no main-table routes out.
          for (const auto& s : subnets_) {
            std::string rtb = "rtb-" + suffix(s.id);
            if (!passes(filters, "vpc-id", s.vpc_id) ||
                !passes(filters, "association.subnet-id", s.id) ||
                !passes(filters, "route-table-id", rtb) ||
                !passes(filters, "association.main", "false")) {
              continue;
            }
            std::string cidr = "10.0.0.0/16";
            for (const auto& v : vpcs_) {
              if (v.id == s.vpc_id) cidr = v.cidr;
            }
            x += "<item>" + xml_element("routeTableId", rtb) + xml_element("vpcId", s.vpc_id) +
                 xml_element("ownerId", "000000000000") + "<routeSet><item>" +
                 xml_element("destinationCidrBlock", cidr) + xml_element("gatewayId", "local") +
                 xml_element("state", "active") + xml_element("origin", "CreateRouteTable") +
                 "</item>";
            if (s.route_to_internet) {
              x += "<item>" + xml_element("destinationCidrBlock", "0.0.0.0/0") +
                   xml_element("gatewayId", "igw-" + suffix(s.vpc_id)) +
                   xml_element("state", "active") + xml_element("origin", "CreateRoute") +
                   "</item>";
            } else if (s.nat) {
              x += "<item>" + xml_element("destinationCidrBlock", "0.0.0.0/0") +
                   xml_element("natGatewayId", "nat-" + suffix(s.id)) +
                   xml_element("state", "active") + xml_element("origin", "CreateRoute") +
                   "</item>";
            }
            x += "</routeSet><associationSet><item>" + xml_element("main", "false") +
                 xml_element("routeTableAssociationId", "rtbassoc-" + suffix(s.id)) +
                 xml_element("routeTableId", rtb) + xml_element("subnetId", s.id) +
                 "<associationState><state>associated</state></associationState></item>"
                 "</associationSet><propagatingVgwSet/><tagSet/></item>";
          }
          return x + "</routeTableSet>";
        });
    add("DescribeRegions",
        [this](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
          BOOST_OUTCOME_TRY(ctx.authorize("ec2:DescribeRegions", "*", "UnauthorizedOperation"));
          // The commercial partition's regions, from the one table ecsh checks names against.
          // Without AllRegions only those the account may use; with it, the disabled opt-in
          // regions too ("not-opted-in").
          const auto* all = p.find("AllRegions");
          const bool all_regions = all && str::to_lower(*all) == "true";
          auto names = p.list("RegionName");
          std::string unknown;
          for (const auto& n : names) {
            const auto* r = aws::find_region(n);
            if (!r || r->partition != "aws") unknown += (unknown.empty() ? "" : ", ") + n;
          }
          if (!unknown.empty()) {
            return ApiError::client("InvalidParameterValue", "Invalid region: [" + unknown + "]");
          }
          auto filters = filters_of(p);
          std::string x = "<regionInfo>";
          for (const auto& r : aws::known_regions()) {
            if (r.partition != "aws") continue;
            const std::string name(r.name);
            const bool enabled = identities_ ? identities_->region_enabled(name) : !r.opt_in;
            const std::string status = !r.opt_in ? "opt-in-not-required"
                                       : enabled ? "opted-in"
                                                 : "not-opted-in";
            const std::string endpoint = "ec2." + name + ".amazonaws.com";
            if (!enabled && !all_regions) continue;
            if (!wanted(names, name) || !passes(filters, "region-name", name) ||
                !passes(filters, "endpoint", endpoint) ||
                !passes(filters, "opt-in-status", status)) {
              continue;
            }
            x += "<item>" + xml_element("regionName", name) +
                 xml_element("regionEndpoint", endpoint) + xml_element("optInStatus", status) +
                 "</item>";
          }
          return x + "</regionInfo>";
        });
    add("DescribeInstances",
        [this](RequestContext& ctx, const QueryParams& p) -> ApiResult<std::string> {
          BOOST_OUTCOME_TRY(ctx.authorize("ec2:DescribeInstances", "*", "UnauthorizedOperation"));
          auto ids = p.list("InstanceId");
          for (const auto& id : ids) {
            if (!instances_.count(id)) {
              return ApiError::client("InvalidInstanceID.NotFound",
                                      "The instance ID '" + id + "' does not exist");
            }
          }
          auto filters = filters_of(p);
          std::string x = "<reservationSet>";
          for (const auto& [id, inst] : instances_) {
            if (!wanted(ids, id) || !passes(filters, "instance-id", id)) continue;
            std::string vpc = kDefaultVpcId;
            for (const auto& s : subnets_) {
              if (s.id == inst.subnet_id) vpc = s.vpc_id;
            }
            x +=
                "<item>" + xml_element("reservationId", "r-" + suffix(id)) +
                xml_element("ownerId", "000000000000") + "<groupSet/><instancesSet><item>" +
                xml_element("instanceId", id) + xml_element("imageId", "ami-0ecsh0000000000001") +
                "<instanceState><code>16</code><name>running</name></instanceState>" +
                xml_element("privateDnsName", "ip-" + inst.private_ip + ".ec2.internal") +
                xml_element("instanceType", "t3.medium") +
                xml_element("launchTime", "2026-01-01T00:00:00.000Z") + "<placement>" +
                xml_element("availabilityZone", ctx.region + "a") + "</placement>" +
                xml_element("subnetId", inst.subnet_id) + xml_element("vpcId", vpc) +
                xml_element("privateIpAddress", inst.private_ip) +
                (inst.public_ip.empty() ? std::string() : xml_element("ipAddress", inst.public_ip));
            if (!inst.profile.empty()) {
              x +=
                  "<iamInstanceProfile>" +
                  xml_element("arn", "arn:aws:iam::000000000000:instance-profile/" + inst.profile) +
                  xml_element("id", "AIPA" + suffix(id)) + "</iamInstanceProfile>";
            }
            x += "</item></instancesSet></item>";
          }
          return x + "</reservationSet>";
        });
  }

  json::value save() const override {
    json::object o;
    json::array v, s, e, i;
    for (const auto& x : vpcs_) v.push_back(json::object{{"id", x.id}, {"cidr", x.cidr}});
    for (const auto& x : subnets_) {
      s.push_back(json::object{{"id", x.id},
                               {"vpc_id", x.vpc_id},
                               {"cidr", x.cidr},
                               {"route_to_internet", x.route_to_internet},
                               {"nat", x.nat}});
    }
    for (const auto& x : endpoints_) {
      e.push_back(json::object{{"id", x.id},
                               {"vpc_id", x.vpc_id},
                               {"service_name", x.service_name},
                               {"private_dns_enabled", x.private_dns}});
    }
    for (const auto& [id, x] : instances_) {
      i.push_back(json::object{{"instance_id", id},
                               {"subnet_id", x.subnet_id},
                               {"instance_profile", x.profile},
                               {"private_ip", x.private_ip},
                               {"public_ip", x.public_ip}});
    }
    o["network"] = json::object{{"vpcs", v}, {"subnets", s}, {"vpc_endpoints", e}};
    o["instances"] = std::move(i);
    return o;
  }

  void load(const json::value& state) override {
    if (!state.is_object()) return;
    vpcs_.clear();
    subnets_.clear();
    endpoints_.clear();
    instances_.clear();
    read(state.as_object());
    if (vpcs_.empty()) reset_default();
  }

  ApiResult<void> apply_scenario(const json::object& scenario) override {
    if (scenario.contains("network")) {
      vpcs_.clear();
      subnets_.clear();
      endpoints_.clear();
    }
    read(scenario);
    if (vpcs_.empty()) reset_default();
    return outcome::success();
  }

 private:
  void reset_default() {
    Vpc v;
    v.id = kDefaultVpcId;
    vpcs_ = {v};
    Subnet s;
    s.id = kDefaultSubnetId;
    s.vpc_id = kDefaultVpcId;
    subnets_ = {s};
  }

  void read_instance(const json::object& o) {
    Instance inst;
    inst.id = get(o, "instance_id");
    if (inst.id.empty()) return;
    inst.subnet_id = get(o, "subnet_id", kDefaultSubnetId);
    inst.profile = get(o, "instance_profile");
    if (inst.profile.empty()) {
      std::string role = get(o, "instance_role_arn");
      if (!role.empty()) inst.profile = role.substr(role.rfind('/') + 1);
    }
    inst.private_ip = get(o, "private_ip", "10.0.1." + std::to_string(10 + instances_.size()));
    inst.public_ip = get(o, "public_ip");
    instances_[inst.id] = std::move(inst);
  }

  void read(const json::object& o) {
    if (auto* n = o.if_contains("network"); n && n->is_object()) {
      const auto& net = n->as_object();
      if (auto* a = net.if_contains("vpcs"); a && a->is_array()) {
        for (const auto& x : a->as_array()) {
          if (!x.is_object()) continue;
          Vpc v;
          v.id = get(x.as_object(), "id");
          v.cidr = get(x.as_object(), "cidr", "10.0.0.0/16");
          vpcs_.push_back(v);
        }
      }
      if (auto* a = net.if_contains("subnets"); a && a->is_array()) {
        for (const auto& x : a->as_array()) {
          if (!x.is_object()) continue;
          Subnet s;
          s.id = get(x.as_object(), "id");
          s.vpc_id = get(x.as_object(), "vpc_id", kDefaultVpcId);
          s.cidr = get(x.as_object(), "cidr", "10.0.1.0/24");
          s.route_to_internet = get_bool(x.as_object(), "route_to_internet", true);
          s.nat = get_bool(x.as_object(), "nat", false);
          subnets_.push_back(s);
          if (std::none_of(vpcs_.begin(), vpcs_.end(),
                           [&](const Vpc& v) { return v.id == s.vpc_id; })) {
            Vpc v;
            v.id = s.vpc_id;
            vpcs_.push_back(v);
          }
        }
      }
      if (auto* a = net.if_contains("vpc_endpoints"); a && a->is_array()) {
        for (const auto& x : a->as_array()) {
          if (!x.is_object()) continue;
          Endpoint e;
          e.id =
              get(x.as_object(), "id", "vpce-0ecsh" + std::to_string(1000000 + endpoints_.size()));
          e.vpc_id = get(x.as_object(), "vpc_id", kDefaultVpcId);
          e.service_name = get(x.as_object(), "service_name");
          e.private_dns = get_bool(x.as_object(), "private_dns_enabled", true);
          endpoints_.push_back(e);
        }
      }
    }
    if (auto* a = o.if_contains("instances"); a && a->is_array()) {
      for (const auto& x : a->as_array()) {
        if (x.is_object()) read_instance(x.as_object());
      }
    }
    if (auto* a = o.if_contains("clusters"); a && a->is_array()) {
      for (const auto& c : a->as_array()) {
        if (!c.is_object()) continue;
        auto* cis = c.as_object().if_contains("container_instances");
        if (!cis || !cis->is_array()) continue;
        for (const auto& x : cis->as_array()) {
          if (x.is_object()) read_instance(x.as_object());
        }
      }
    }
  }

  const IdentityStore* identities_ = nullptr;
  std::vector<Vpc> vpcs_;
  std::vector<Subnet> subnets_;
  std::vector<Endpoint> endpoints_;
  std::map<std::string, Instance> instances_;
};

}  // namespace

std::unique_ptr<ServiceModule> make_ec2_module() { return std::make_unique<Ec2Module>(); }

}  // namespace ecsh::sandbox::ec2
