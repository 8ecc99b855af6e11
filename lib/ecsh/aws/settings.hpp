#pragma once

// How to reach AWS, resolved once per command from the command line, the environment and the
// shared config/credentials files, as the AWS CLI v2 resolves it. The credentials themselves come
// from credentials.hpp; the HTTP/protocol layer consumes both.

#include "ecsh/aws/http_types.hpp"
#include "ecsh/common/error.hpp"

#include <map>
#include <optional>
#include <string>

namespace ecsh::aws {

// The process environment, injected so tests control it.
struct Environment {
  std::map<std::string, std::string> vars;
  std::string home;  // for ~/.aws; from HOME

  static Environment from_process();
  std::optional<std::string> get(const std::string& name) const;  // empty values count as unset
};

struct CommandLineSettings {
  std::string profile;       // --profile
  std::string region;        // --region
  std::string endpoint_url;  // --endpoint-url
  bool no_verify_ssl = false;
  std::string ca_bundle;  // --ca-bundle
};

// One AWS service as the endpoint and signing machinery sees it.
struct ServiceId {
  std::string id;               // config key in [services] sections: "ecs", "cloudwatch_logs"
  std::string endpoint_prefix;  // host prefix, e.g. "ecs", "ssmmessages"
  std::string signing_name;     // SigV4 service, e.g. "ecs"
  std::string env_suffix;       // AWS_ENDPOINT_URL_<env_suffix>, e.g. "ECS", "CLOUDWATCH_LOGS"
  bool global = false;          // IAM: one endpoint per partition, signed in us-east-1 (aws)
};

// One profile as the files define it: the credentials file's values over the config file's.
struct Profile {
  std::string name;
  std::map<std::string, std::string> values;
  std::map<std::string, std::string> origin;  // key -> the file that set it, for messages
  std::map<std::string, std::map<std::string, std::string>> nested;

  std::optional<std::string> get(const std::string& key) const;
};

struct AwsSettings {
  std::string profile = "default";          // the profile in effect
  bool profile_explicit = false;            // chosen by --profile or the environment
  bool profile_from_flag = false;           // chosen by --profile
  Profile profile_values;                   // its settings (empty when it exists in neither file)
  std::map<std::string, Profile> profiles;  // every profile, for source_profile chains
  std::string config_path;
  std::string credentials_path;

  std::string region;  // may be empty: resolve_endpoint() then fails with a config error
  bool verify_tls = true;
  std::string ca_bundle;
  std::string retry_mode = "standard";  // standard | adaptive | legacy
  int max_attempts = 3;
  bool use_fips_endpoint = false;
  bool use_dualstack_endpoint = false;

  // Endpoint overrides, from strongest to weakest (the AWS SDKs' order):
  std::string endpoint_url_flag;  // --endpoint-url
  bool ignore_configured_endpoint_urls = false;
  std::map<std::string, std::string> env_service_endpoint_urls;     // AWS_ENDPOINT_URL_<SUFFIX>
  std::string env_endpoint_url;                                     // AWS_ENDPOINT_URL
  std::map<std::string, std::string> config_service_endpoint_urls;  // [services x] <id> = ...
  std::string profile_endpoint_url;                                 // endpoint_url in the profile
};

Result<AwsSettings> load_settings(const CommandLineSettings& cli, const Environment& env);

// The URL to send a service's requests to, and the region to sign them for.
struct ResolvedEndpoint {
  Endpoint endpoint;
  std::string signing_region;
};
Result<ResolvedEndpoint> resolve_endpoint(const AwsSettings& settings, const ServiceId& service);

}  // namespace ecsh::aws
