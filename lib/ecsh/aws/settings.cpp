#include "ecsh/aws/settings.hpp"

#include "ecsh/aws/config_file.hpp"
#include "ecsh/aws/regions.hpp"
#include "ecsh/common/strings.hpp"

#include <cstdlib>
#include <regex>

extern char** environ;

namespace ecsh::aws {
namespace {

std::string expand_home(const std::string& path, const Environment& env) {
  if (path.starts_with("~/")) return env.home + path.substr(1);
  return path;
}

bool truthy(const std::string& v) { return str::iequals(str::trim(v), "true"); }

void merge_file_into_profiles(const ConfigFile& file, bool is_config,
                              std::map<std::string, Profile>& profiles) {
  for (const auto& [section, body] : file.sections) {
    std::string name;
    if (is_config) {
      if (section == "default") {
        name = "default";
      } else if (section.starts_with("profile ") || section.starts_with("profile\t")) {
        name = std::string(str::trim(std::string_view(section).substr(8)));
      } else {
        continue;  // sso-session, services and unknown sections are not profiles
      }
    } else {
      name = section;
    }
    auto& p = profiles[name];
    p.name = name;
    for (const auto& [k, v] : body.values) {
      p.values[k] = v;
      p.origin[k] = file.path;
    }
    for (const auto& [k, v] : body.nested) p.nested[k] = v;
  }
}

std::optional<std::string> env_or_profile(const Environment& env, const std::string& var,
                                          const Profile& profile, const std::string& key) {
  if (auto v = env.get(var)) return v;
  return profile.get(key);
}

}  // namespace

Environment Environment::from_process() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  if (auto h = env.get("HOME")) env.home = *h;
  return env;
}

std::optional<std::string> Environment::get(const std::string& name) const {
  auto it = vars.find(name);
  if (it == vars.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Profile::get(const std::string& key) const {
  auto it = values.find(key);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

Result<AwsSettings> load_settings(const CommandLineSettings& cli, const Environment& env) {
  AwsSettings s;
  s.config_path = expand_home(env.get("AWS_CONFIG_FILE").value_or("~/.aws/config"), env);
  s.credentials_path =
      expand_home(env.get("AWS_SHARED_CREDENTIALS_FILE").value_or("~/.aws/credentials"), env);
  ECSH_TRY(auto config, load_config_file(s.config_path));
  ECSH_TRY(auto credentials, load_config_file(s.credentials_path));
  if (config) merge_file_into_profiles(*config, true, s.profiles);
  // Credentials-file values win over config-file values, as in botocore.
  if (credentials) merge_file_into_profiles(*credentials, false, s.profiles);

  // botocore reads AWS_DEFAULT_PROFILE before AWS_PROFILE.
  if (!cli.profile.empty()) {
    s.profile = cli.profile;
    s.profile_explicit = true;
    s.profile_from_flag = true;
  } else if (auto p = env.get("AWS_DEFAULT_PROFILE")) {
    s.profile = *p;
    s.profile_explicit = true;
  } else if (auto p2 = env.get("AWS_PROFILE")) {
    s.profile = *p2;
    s.profile_explicit = true;
  }
  auto found = s.profiles.find(s.profile);
  if (found != s.profiles.end()) {
    s.profile_values = found->second;
  } else if (s.profile_explicit && s.profile != "default") {
    return Error::config("The config profile (" + s.profile + ") could not be found",
                         "Profiles are read from " + s.config_path + " ([profile " + s.profile +
                             "]) and " + s.credentials_path + " ([" + s.profile + "]).");
  }
  s.profile_values.name = s.profile;
  const Profile& p = s.profile_values;

  std::string region_source;
  if (!cli.region.empty()) {
    s.region = cli.region;
    region_source = "--region";
  } else if (auto r = env.get("AWS_REGION")) {
    s.region = *r;
    region_source = "AWS_REGION";
  } else if (auto r2 = env.get("AWS_DEFAULT_REGION")) {
    s.region = *r2;
    region_source = "AWS_DEFAULT_REGION";
  } else if (auto r3 = p.get("region")) {
    s.region = *r3;
    auto origin = p.origin.find("region");
    region_source = "the profile " + s.profile + " in " +
                    (origin != p.origin.end() ? origin->second : s.config_path);
  }
  static const std::regex kRegion("^[a-zA-Z0-9](?:[a-zA-Z0-9\\-]{0,61}[a-zA-Z0-9])?$");
  if (!s.region.empty() && !std::regex_match(s.region, kRegion)) {
    return Error::config("Provided region_name '" + s.region +
                         "' doesn't match a supported format.");
  }
  // A region AWS does not have is refused before any call, whatever the endpoint: a custom
  // endpoint (the sandbox, a proxy) still signs for the region, and AWS answers only its own.
  if (!s.region.empty() && !allows_unknown_region(env.get(std::string(kAllowUnknownRegionVar)))) {
    ECSH_TRY(check_region_name(s.region, region_source));
  }

  s.verify_tls = !cli.no_verify_ssl;
  if (!cli.ca_bundle.empty()) {
    s.ca_bundle = expand_home(cli.ca_bundle, env);  // --ca-bundle wins, as in the AWS CLI
  } else if (auto ca = env_or_profile(env, "AWS_CA_BUNDLE", p, "ca_bundle")) {
    s.ca_bundle = expand_home(*ca, env);
  }
  if (auto m = env_or_profile(env, "AWS_RETRY_MODE", p, "retry_mode")) {
    if (*m != "standard" && *m != "adaptive" && *m != "legacy") {
      return Error::config("retry_mode must be standard, adaptive or legacy, not '" + *m + "'");
    }
    s.retry_mode = *m;
  }
  if (auto a = env_or_profile(env, "AWS_MAX_ATTEMPTS", p, "max_attempts")) {
    int n = 0;
    try {
      n = std::stoi(*a);
    } catch (...) {
      n = 0;
    }
    if (n < 1)
      return Error::config("max_attempts must be a whole number of at least 1, not '" + *a + "'");
    s.max_attempts = n;
  }
  if (auto f = env_or_profile(env, "AWS_USE_FIPS_ENDPOINT", p, "use_fips_endpoint")) {
    s.use_fips_endpoint = truthy(*f);
  }
  if (auto d = env_or_profile(env, "AWS_USE_DUALSTACK_ENDPOINT", p, "use_dualstack_endpoint")) {
    s.use_dualstack_endpoint = truthy(*d);
  }

  s.endpoint_url_flag = cli.endpoint_url;
  if (auto i = env_or_profile(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", p,
                              "ignore_configured_endpoint_urls")) {
    s.ignore_configured_endpoint_urls = truthy(*i);
  }
  constexpr std::string_view kPrefix = "AWS_ENDPOINT_URL_";
  for (const auto& [k, v] : env.vars) {
    if (k.starts_with(kPrefix) && !v.empty())
      s.env_service_endpoint_urls[k.substr(kPrefix.size())] = v;
  }
  s.env_endpoint_url = env.get("AWS_ENDPOINT_URL").value_or("");
  s.profile_endpoint_url = p.get("endpoint_url").value_or("");
  if (auto services = p.get("services"); services && config) {
    auto it = config->sections.find("services " + *services);
    if (it == config->sections.end()) {
      return Error::config("The profile " + s.profile + " names services '" + *services +
                               "', but " + s.config_path + " has no [services " + *services +
                               "] section",
                           "");
    }
    for (const auto& [service, settings] : it->second.nested) {
      auto url = settings.find("endpoint_url");
      if (url != settings.end()) s.config_service_endpoint_urls[service] = url->second;
    }
  }
  return s;
}

Result<ResolvedEndpoint> resolve_endpoint(const AwsSettings& s, const ServiceId& service) {
  std::string url = s.endpoint_url_flag;
  if (url.empty() && !s.ignore_configured_endpoint_urls) {
    if (auto it = s.env_service_endpoint_urls.find(service.env_suffix);
        it != s.env_service_endpoint_urls.end()) {
      url = it->second;
    } else if (!s.env_endpoint_url.empty()) {
      url = s.env_endpoint_url;
    } else if (auto c = s.config_service_endpoint_urls.find(service.id);
               c != s.config_service_endpoint_urls.end()) {
      url = c->second;
    } else {
      url = s.profile_endpoint_url;
    }
  }

  ResolvedEndpoint out;
  std::string region = s.region;
  if (region.empty()) {
    if (!service.global || !url.empty()) {
      return Error::config(
          "You must specify a region. You can also configure your region by running \"aws "
          "configure\".",
          "Pass --region, or set AWS_REGION.");
    }
    region = "us-east-1";
  }

  if (!url.empty()) {
    auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) {
      return Error::config("Invalid endpoint: " + url,
                           "An endpoint URL needs a scheme (https://).");
    }
    Endpoint e;
    e.scheme = str::to_lower(url.substr(0, scheme_end));
    if (e.scheme != "http" && e.scheme != "https") return Error::config("Invalid endpoint: " + url);
    auto rest = url.substr(scheme_end + 3);
    auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    if (slash != std::string::npos) e.base_path = rest.substr(slash);
    while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
    e.port = e.scheme == "https" ? 443 : 80;
    auto colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
      try {
        e.port = static_cast<std::uint16_t>(std::stoul(authority.substr(colon + 1)));
      } catch (...) {
        return Error::config("Invalid endpoint: " + url);
      }
      authority = authority.substr(0, colon);
    }
    if (authority.empty()) return Error::config("Invalid endpoint: " + url);
    e.host = authority;
    out.endpoint = e;
    out.signing_region = service.global && s.region.empty() ? "us-east-1" : region;
    return out;
  }

  // Partitions: aws, aws-cn (cn-*), aws-us-gov (us-gov-*).
  bool china = region.starts_with("cn-");
  bool gov = region.starts_with("us-gov-");
  std::string dns = china ? "amazonaws.com.cn" : "amazonaws.com";
  std::string dualstack_dns = china ? "api.amazonwebservices.com.cn" : "api.aws";
  Endpoint e;
  if (service.global) {
    // IAM: one endpoint per partition.
    if (china) {
      e.host = service.endpoint_prefix + ".cn-north-1." + dns;
      out.signing_region = "cn-north-1";
    } else if (gov) {
      e.host = service.endpoint_prefix + ".us-gov." + dns;
      out.signing_region = "us-gov-west-1";
    } else {
      e.host = service.endpoint_prefix + (s.use_fips_endpoint ? "-fips." : ".") + dns;
      out.signing_region = "us-east-1";
    }
  } else {
    std::string prefix = service.endpoint_prefix + (s.use_fips_endpoint ? "-fips" : "");
    e.host = prefix + "." + region + "." + (s.use_dualstack_endpoint ? dualstack_dns : dns);
    out.signing_region = region;
  }
  out.endpoint = e;
  return out;
}

}  // namespace ecsh::aws
