// The credential provider chain (AWS CLI v2 order). Built so far: environment variables and the
// static keys of a profile. A profile or environment that asks for a provider this build does not
// have yet (role assumption, SSO, credential_process, web identity, container, IMDS) is an error
// that says so: credentials are never silently skipped or guessed.

#include "ecsh/aws/settings.hpp"
#include "ecsh/common/log.hpp"

namespace ecsh::aws {
namespace {

using Found = std::optional<Credentials>;

Credentials make(std::string akid, std::string secret, std::string token, std::string source) {
  Credentials c;
  c.access_key_id = std::move(akid);
  c.secret_access_key = std::move(secret);
  c.session_token = std::move(token);
  c.source = std::move(source);
  log::add_secret(c.secret_access_key);
  log::add_secret(c.session_token);
  return c;
}

Result<Found> from_environment(const Environment& env) {
  auto akid = env.get("AWS_ACCESS_KEY_ID");
  auto secret = env.get("AWS_SECRET_ACCESS_KEY");
  if (!akid && !secret) return Found();
  if (!akid || !secret) {
    return Error::config(std::string("AWS_") + (akid ? "SECRET_ACCESS_KEY" : "ACCESS_KEY_ID") +
                             " is not set, but AWS_" +
                             (akid ? "ACCESS_KEY_ID" : "SECRET_ACCESS_KEY") + " is",
                         "Set both, or neither to use a profile.");
  }
  auto token = env.get("AWS_SESSION_TOKEN");
  if (!token) token = env.get("AWS_SECURITY_TOKEN");
  return Found(make(*akid, *secret, token.value_or(""), "environment"));
}

std::string where(const Profile& p, const std::string& key) {
  auto it = p.origin.find(key);
  return it == p.origin.end() ? std::string("the config files") : it->second;
}

Error not_built(const Profile& p, const std::string& key, const std::string& what) {
  return Error::config("profile " + p.name + " gets its credentials through " + what + " (" + key +
                           " in " + where(p, key) + "), which this build of ecsh cannot use yet",
                       "Export temporary credentials (e.g. `aws configure export-credentials "
                       "--format env`) or use a profile with static keys.");
}

Result<Found> from_profile(const Profile& p) {
  auto akid = p.get("aws_access_key_id");
  auto secret = p.get("aws_secret_access_key");
  // Role assumption comes before static keys in botocore's chain.
  if (p.get("role_arn")) return not_built(p, "role_arn", "role assumption");
  if (akid || secret) {
    if (!akid || !secret) {
      return Error::config("profile " + p.name + " in " +
                               where(p, akid ? "aws_access_key_id" : "aws_secret_access_key") +
                               " has " + (akid ? "aws_access_key_id" : "aws_secret_access_key") +
                               " but no " + (akid ? "aws_secret_access_key" : "aws_access_key_id"),
                           "Add the missing key or remove the other.");
    }
    auto origin = where(p, "aws_access_key_id");
    bool in_credentials_file = origin.find("credentials") != std::string::npos;
    return Found(make(*akid, *secret, p.get("aws_session_token").value_or(""),
                      "profile " + p.name +
                          (in_credentials_file ? " (shared credentials file)" : " (config file)")));
  }
  if (p.get("sso_session") || p.get("sso_start_url")) {
    return not_built(p, p.get("sso_session") ? "sso_session" : "sso_start_url",
                     "IAM Identity Center (SSO)");
  }
  if (p.get("credential_process")) return not_built(p, "credential_process", "credential_process");
  if (p.get("web_identity_token_file")) {
    return not_built(p, "web_identity_token_file", "web identity federation");
  }
  return Found();
}

class Chain final : public CredentialsProvider {
 public:
  Chain(AwsSettings settings, Environment env)
      : settings_(std::move(settings)), env_(std::move(env)) {}

  Task<Result<Credentials>> credentials() override {
    if (cached_) co_return *cached_;
    auto found = resolve();
    if (!found) co_return found.error();
    cached_ = *found.value();
    co_return *cached_;
  }

 private:
  Result<Found> resolve() {
    // --profile takes the environment's keys out of the chain (botocore); AWS_PROFILE does not.
    if (!settings_.profile_from_flag) {
      ECSH_TRY(auto env_creds, from_environment(env_));
      if (env_creds) return env_creds;
    }
    if (env_.get("AWS_WEB_IDENTITY_TOKEN_FILE") && env_.get("AWS_ROLE_ARN")) {
      return Error::config(
          "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN ask for web identity federation, which "
          "this build of ecsh cannot use yet");
    }
    ECSH_TRY(auto profile_creds, from_profile(settings_.profile_values));
    if (profile_creds) return profile_creds;
    if (env_.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
        env_.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
      return Error::config(
          "the environment points at ECS container credentials, which this build of ecsh "
          "cannot fetch yet");
    }
    return Error::config(
        "Unable to locate credentials. You can configure credentials by running \"aws "
        "configure\".",
        "Or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or choose a profile with --profile.");
  }

  AwsSettings settings_;
  Environment env_;
  std::optional<Credentials> cached_;
};

}  // namespace

std::shared_ptr<CredentialsProvider> make_default_credentials_chain(const AwsSettings& settings,
                                                                    const Environment& env,
                                                                    HttpClient& /*http*/,
                                                                    const Clock& /*clock*/) {
  return std::make_shared<Chain>(settings, env);
}

}  // namespace ecsh::aws
