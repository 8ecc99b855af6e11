#include "ecsh/plugin/plugin_args.hpp"

#include "ecsh/common/json_fields.hpp"
#include "ecsh/common/strings.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace ecsh::plugin {
namespace {

constexpr const char* kEnvName = "AWS_SSM_START_SESSION_RESPONSE";

// Go's encoding/json matches keys case-insensitively: ECS sends sessionId, SSM SessionId.
std::string member(const boost::json::object& o, std::string_view key) {
  for (const auto& kv : o) {
    if (str::iequals(kv.key(), key) && kv.value().is_string()) {
      return std::string(kv.value().get_string());
    }
  }
  return {};
}

// The plugin's words for an argument that is not a JSON object (a usage error, as the plugin
// treats it).
Result<boost::json::object> parse_object(std::string_view text, std::string_view what) {
  auto object = parse_json_object(text, what);
  if (!object) {
    return Error::usage(std::string("Cannot perform start session: invalid ") + std::string(what) +
                        " (expected a JSON object)");
  }
  return object;
}

}  // namespace

Result<PluginInvocation> parse_plugin_args(const std::vector<std::string>& args,
                                           const std::map<std::string, std::string>& env) {
  PluginInvocation inv;
  if (args.empty()) return inv;  // the install banner: the AWS CLI's presence check
  if (args.size() == 1 && args[0] == "--version") {
    inv.kind = PluginInvocation::Kind::version;
    return inv;
  }
  // argv[1..3] at least: the legacy CLI passes no profile and no parameters.
  if (args.size() < 3) {
    return Error::usage("Unknown operation " + args[0] +
                        ". \nUse session-manager-plugin --version to check the version.");
  }
  if (args[2] != "StartSession") return Error::usage("Invalid Operation");

  inv.kind = PluginInvocation::Kind::session;
  PluginSession& s = inv.session;
  std::string response_json = args[0];
  if (str::istarts_with(args[0], kEnvName)) {
    auto it = env.find(kEnvName);
    if (it == env.end() || it->second.empty()) {
      return Error::usage(std::string("Cannot perform start session: ") + kEnvName +
                          " is not set in the environment");
    }
    response_json = it->second;
    s.token_from_environment = true;
  }
  ECSH_TRY(auto response, parse_object(response_json, "session response"));
  s.session_id = member(response, "SessionId");
  s.stream_url = member(response, "StreamUrl");
  s.token_value = member(response, "TokenValue");
  if (s.session_id.empty() || s.stream_url.empty() || s.token_value.empty()) {
    return Error::usage(
        "Cannot perform start session: the session response lacks SessionId, StreamUrl or "
        "TokenValue");
  }
  s.region = args[1];
  if (args.size() > 3) s.profile = args[3];
  if (args.size() > 4) {
    ECSH_TRY(auto params, parse_object(args[4], "StartSession parameters"));
    auto it = params.find("Target");
    if (it != params.end()) {
      if (!it->value().is_string()) {
        return Error::usage("Cannot perform start session: Target must be a string");
      }
      s.target = std::string(it->value().get_string());
    }
    if (auto doc = params.find("DocumentName"); doc != params.end() && doc->value().is_string()) {
      s.document_name = std::string(doc->value().get_string());
    }
  }
  if (args.size() > 5) s.endpoint_url = args[5];
  return inv;
}

ParentTlsFlags tls_flags_of_aws_cli(const std::vector<std::string>& parent_argv) {
  ParentTlsFlags flags;
  auto basename = [](const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
  };
  std::size_t first = 0;
  if (!parent_argv.empty() && basename(parent_argv[0]) == "aws") {
    first = 1;
  } else if (parent_argv.size() > 1 && basename(parent_argv[1]) == "aws") {
    first = 2;  // a Python interpreter running the aws script
  } else {
    return flags;
  }
  for (std::size_t i = first; i < parent_argv.size(); ++i) {
    const std::string& a = parent_argv[i];
    if (a == "--no-verify-ssl") {
      flags.no_verify_ssl = true;
    } else if (a == "--ca-bundle" && i + 1 < parent_argv.size()) {
      flags.ca_bundle = parent_argv[++i];
    } else if (a.starts_with("--ca-bundle=")) {
      flags.ca_bundle = a.substr(std::string_view("--ca-bundle=").size());
    }
  }
  return flags;
}

}  // namespace ecsh::plugin
