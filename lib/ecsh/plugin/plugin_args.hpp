#pragma once

// `session-manager-plugin` compatibility: how the official plugin reads its command line, so that
// `aws ecs execute-command` and `aws ssm start-session` can run ecsh in its place
// (docs/protocol.md §2).

#include "ecsh/common/error.hpp"
#include "ecsh/common/version.hpp"

#include <map>
#include <string>
#include <vector>

namespace ecsh::plugin {

// The version ecsh reports in plugin mode. The AWS CLI passes the session response through the
// AWS_SSM_START_SESSION_RESPONSE environment variable (not argv) to plugins newer than 1.2.497.0.
inline constexpr std::string_view kPluginCompatibleVersion = kPluginProtocolVersion;

inline constexpr const char* kPluginInstalledBanner =
    "\nThe Session Manager plugin was installed successfully. Use the AWS CLI to start a "
    "session.\n\n";

struct PluginSession {
  std::string session_id;
  std::string stream_url;
  std::string token_value;
  std::string region;
  std::string profile;
  std::string target;         // from the StartSession parameters, e.g. "ecs:cluster_task_runtime"
  std::string document_name;  // from the StartSession parameters; empty for execute-command
  std::string endpoint_url;   // argv[6]: for ecs execute-command, the ECS endpoint
  bool token_from_environment = false;
};

struct PluginInvocation {
  enum class Kind { banner, version, session } kind = Kind::banner;
  PluginSession session;  // kind == session
};

// `args` excludes argv[0]. `env` gives AWS_SSM_START_SESSION_RESPONSE when argv[1] names it.
// Errors carry the official plugin's wording where it has one.
Result<PluginInvocation> parse_plugin_args(const std::vector<std::string>& args,
                                           const std::map<std::string, std::string>& env);

// The AWS CLI does not pass its --ca-bundle or --no-verify-ssl to the plugin (only AWS_CA_BUNDLE
// and the profile reach it), so ecsh reads them from its parent's command line when the parent
// is the AWS CLI (`aws …`, or `python3 …/aws …`). Empty and false otherwise.
struct ParentTlsFlags {
  std::string ca_bundle;
  bool no_verify_ssl = false;
};
ParentTlsFlags tls_flags_of_aws_cli(const std::vector<std::string>& parent_argv);

}  // namespace ecsh::plugin
