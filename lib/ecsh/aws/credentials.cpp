// The credential provider chain, in the AWS CLI v2's order: environment, web identity from the
// environment, the profile (role assumption with source_profile or credential_source, web
// identity, SSO, static keys, credential_process), ECS container credentials, IMDSv2.
// A provider that applies but fails stops the chain with an error naming the profile and file:
// credentials are never silently skipped or guessed. Temporary credentials are refreshed 15
// minutes before they expire (botocore's advisory refresh).

#include "ecsh/aws/credentials.hpp"

#include "ecsh/aws/client.hpp"
#include "ecsh/aws/config_file.hpp"
#include "ecsh/aws/query_replies.hpp"
#include "ecsh/aws/settings.hpp"
#include "ecsh/aws/sigv4.hpp"
#include "ecsh/common/crypto.hpp"
#include "ecsh/common/json_fields.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/shlex.hpp"
#include "ecsh/common/strings.hpp"
#include "ecsh/common/subprocess.hpp"

#include <openssl/sha.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

namespace ecsh::aws {
namespace {

using Found = std::optional<Credentials>;
using TimePoint = std::chrono::system_clock::time_point;

constexpr auto kAdvisoryRefresh = std::chrono::minutes(15);
// What is kept of a credential_process's output: its JSON is a few hundred bytes; the end of its
// stderr says why it failed.
constexpr std::size_t kProcessOutputKept = 1 << 20;
constexpr std::size_t kProcessStderrKept = 4096;

Credentials make(std::string akid, std::string secret, std::string token, std::string source,
                 std::optional<TimePoint> expiration = std::nullopt) {
  Credentials c;
  c.access_key_id = std::move(akid);
  c.secret_access_key = std::move(secret);
  c.session_token = std::move(token);
  c.source = std::move(source);
  c.expiration = expiration;
  log::add_secret(c.secret_access_key);
  log::add_secret(c.session_token);
  return c;
}

// "2026-11-25T05:00:00Z", "2026-11-25T05:00:00.123Z", "2026-11-25T05:00:00+00:00", "...UTC".
std::optional<TimePoint> parse_iso8601(std::string_view text) {
  std::tm tm{};
  std::string s(text.substr(0, 19));
  if (s.size() != 19 || !strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string where(const Profile& p, const std::string& key) {
  auto it = p.origin.find(key);
  return it == p.origin.end() ? std::string("the config files") : it->second;
}

Error provider_error(const std::string& what, const std::string& why,
                     const std::string& hint = {}) {
  return Error::config(what + ": " + why, hint);
}

// A field read from a credential source's JSON: a malformed one is a config error (credentials
// could not be had, exit 253) naming the source, with the field's path.
template <class T>
Result<T> from_source(Result<T> field, const std::string& source, const std::string& hint = {}) {
  if (!field) return provider_error(source, field.error().message, hint);
  return field;
}

Result<Credentials> credentials_from_json(std::string_view body, const std::string& source,
                                          const char* token_key) {
  auto parsed = parse_json_object(body, "the response");
  if (!parsed) return provider_error(source, "the response is not a JSON object");
  JsonFields o(parsed.value(), "the response");
  ECSH_TRY(auto akid, from_source(o.string_or("AccessKeyId"), source));
  ECSH_TRY(auto secret, from_source(o.string_or("SecretAccessKey"), source));
  if (akid.empty() || secret.empty()) {
    return provider_error(source, "the response has no AccessKeyId/SecretAccessKey");
  }
  ECSH_TRY(auto token, from_source(o.string_or(token_key), source));
  ECSH_TRY(auto expiration, from_source(o.string_or("Expiration"), source));
  std::optional<TimePoint> exp;
  if (!expiration.empty()) exp = parse_iso8601(expiration);
  return make(akid, secret, token, source, exp);
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

Result<std::string> read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::config("cannot read " + what + " " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

class Resolver {
 public:
  Resolver(const AwsSettings& s, const Environment& env, HttpClient& http, const Clock& clock)
      : s_(s), env_(env), http_(http), clock_(clock) {}

  Awaitable<Result<Credentials>> resolve() {
    // --profile takes the environment's keys out of the chain (botocore); AWS_PROFILE does not.
    if (!s_.profile_from_flag) {
      ECSH_CO_TRY(auto env_creds, from_environment(env_));
      if (env_creds) co_return *env_creds;
      auto role_arn = env_.get("AWS_ROLE_ARN");
      auto token_file = env_.get("AWS_WEB_IDENTITY_TOKEN_FILE");
      if (token_file && role_arn) {
        std::string session_name = env_.get("AWS_ROLE_SESSION_NAME").value_or("");
        std::string source = "web identity (environment)";
        co_return co_await web_identity(*role_arn, *token_file, session_name, source);
      }
    }
    std::set<std::string> visiting;
    ECSH_CO_TRY(auto from_profile, co_await profile(s_.profile_values, visiting));
    if (from_profile) co_return *from_profile;
    if (env_.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
        env_.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
      co_return co_await container();
    }
    if (!str::iequals(env_.get("AWS_EC2_METADATA_DISABLED").value_or(""), "true")) {
      auto imds = co_await instance_metadata(/*required=*/false);
      if (!imds) co_return imds.error();
      if (imds.value()) co_return *imds.value();
    }
    Error e = Error::config(
        "Unable to locate credentials. You can configure credentials by running \"aws "
        "configure\".",
        "Or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or choose a profile with --profile.");
    co_return e;
  }

 private:
  Awaitable<Result<Found>> profile(const Profile& p, std::set<std::string>& visiting) {
    if (!visiting.insert(p.name).second) {
      Error e = Error::config("profile " + p.name + " is part of a source_profile cycle",
                              "Check source_profile in " + where(p, "source_profile") + ".");
      co_return e;
    }
    auto akid = p.get("aws_access_key_id");
    auto secret = p.get("aws_secret_access_key");
    if (auto role = p.get("role_arn")) {
      ECSH_CO_TRY(auto creds, co_await assume_role_for(p, *role, visiting));
      co_return Found(std::move(creds));
    }
    if (auto token_file = p.get("web_identity_token_file")) {
      Error e = Error::config("profile " + p.name + " has web_identity_token_file but no role_arn");
      co_return e;
    }
    if (p.get("sso_session") || p.get("sso_start_url")) {
      ECSH_CO_TRY(auto creds, co_await sso(p));
      co_return Found(std::move(creds));
    }
    if (akid || secret) {
      if (!akid || !secret) {
        const char* have = akid ? "aws_access_key_id" : "aws_secret_access_key";
        const char* lack = akid ? "aws_secret_access_key" : "aws_access_key_id";
        Error e = Error::config(
            "profile " + p.name + " in " + where(p, have) + " has " + have + " but no " + lack,
            "Add the missing key or remove the other.");
        co_return e;
      }
      bool in_credentials_file =
          where(p, "aws_access_key_id").find("credentials") != std::string::npos;
      co_return Found(
          make(*akid, *secret, p.get("aws_session_token").value_or(""),
               "profile " + p.name +
                   (in_credentials_file ? " (shared credentials file)" : " (config file)")));
    }
    if (auto process = p.get("credential_process")) {
      ECSH_CO_TRY(auto creds, credential_process(p, *process));
      co_return Found(std::move(creds));
    }
    co_return Found();
  }

  Awaitable<Result<Credentials>> assume_role_for(const Profile& p, const std::string& role_arn,
                                                 std::set<std::string>& visiting) {
    std::string what = "profile " + p.name + " (" + where(p, "role_arn") + ")";
    if (auto token_file = p.get("web_identity_token_file")) {
      std::string session_name = p.get("role_session_name").value_or("");
      std::string source = "profile " + p.name + " via web identity";
      co_return co_await web_identity(role_arn, *token_file, session_name, source);
    }
    Credentials source;
    auto source_profile = p.get("source_profile");
    auto credential_source = p.get("credential_source");
    if (source_profile && credential_source) {
      Error e = Error::config(what + " sets both source_profile and credential_source; keep one");
      co_return e;
    }
    if (source_profile) {
      auto it = s_.profiles.find(*source_profile);
      if (it == s_.profiles.end()) {
        Error e = Error::config(what + ": source_profile " + *source_profile + " does not exist");
        co_return e;
      }
      // A source profile with static keys is used for its keys, not its own role_arn.
      const Profile& sp = it->second;
      if (sp.get("aws_access_key_id") && sp.get("aws_secret_access_key") && sp.name != p.name &&
          !sp.get("role_arn")) {
        source = make(*sp.get("aws_access_key_id"), *sp.get("aws_secret_access_key"),
                      sp.get("aws_session_token").value_or(""), "profile " + sp.name);
      } else {
        ECSH_CO_TRY(auto found, co_await profile(sp, visiting));
        if (!found) {
          Error e = Error::config(what + ": source_profile " + sp.name + " has no credentials");
          co_return e;
        }
        source = *found;
      }
    } else if (credential_source) {
      if (*credential_source == "Environment") {
        ECSH_CO_TRY(auto found, from_environment(env_));
        if (!found) {
          Error e = Error::config(
              what + ": credential_source Environment, but AWS_ACCESS_KEY_ID is not set");
          co_return e;
        }
        source = *found;
      } else if (*credential_source == "EcsContainer") {
        ECSH_CO_TRY(source, co_await container());
      } else if (*credential_source == "Ec2InstanceMetadata") {
        ECSH_CO_TRY(auto found, co_await instance_metadata(/*required=*/true));
        source = *found;
      } else {
        Error e = Error::config(what +
                                ": credential_source must be Environment, EcsContainer or "
                                "Ec2InstanceMetadata, not " +
                                *credential_source);
        co_return e;
      }
    } else {
      Error e =
          Error::config(what + " has role_arn but neither source_profile nor credential_source");
      co_return e;
    }

    QueryParams params{
        {"RoleArn", role_arn},
        {"RoleSessionName", p.get("role_session_name").value_or(default_session_name())}};
    if (auto d = p.get("duration_seconds")) params.emplace_back("DurationSeconds", *d);
    if (auto x = p.get("external_id")) params.emplace_back("ExternalId", *x);
    if (auto mfa = p.get("mfa_serial")) {
      ECSH_CO_TRY(auto code, prompt_mfa(*mfa));
      params.emplace_back("SerialNumber", *mfa);
      params.emplace_back("TokenCode", code);
    }
    std::string action = "AssumeRole";
    ECSH_CO_TRY(auto xml, co_await sts_call(action, std::move(params), &source, what));
    co_return parse_sts_credentials(action, xml, "profile " + p.name + " via assume-role");
  }

  Awaitable<Result<Credentials>> web_identity(const std::string& role_arn,
                                              const std::string& token_file,
                                              const std::string& session_name,
                                              const std::string& source) {
    ECSH_CO_TRY(auto token, read_file(token_file, "the web identity token file"));
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    log::add_secret(token);
    QueryParams params{
        {"RoleArn", role_arn},
        {"RoleSessionName", session_name.empty() ? default_session_name() : session_name},
        {"WebIdentityToken", token}};
    std::string action = "AssumeRoleWithWebIdentity";
    ECSH_CO_TRY(auto xml, co_await sts_call(action, std::move(params), nullptr, source));
    co_return parse_sts_credentials(action, xml, source);
  }

  std::string default_session_name() const {
    return "botocore-session-" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                    clock_.now().time_since_epoch())
                                                    .count());
  }

  // STS through the same endpoint rules as every other call; AssumeRoleWithWebIdentity unsigned.
  Awaitable<Result<std::string>> sts_call(const std::string& action, QueryParams params,
                                          const Credentials* creds, const std::string& what) {
    const auto& sts = services::sts();
    // As in botocore, the command's --endpoint-url does not apply to the credential provider's
    // own STS client; AWS_ENDPOINT_URL_STS and the config files do.
    AwsSettings sts_settings = s_;
    sts_settings.endpoint_url_flag.clear();
    ECSH_CO_TRY(auto endpoint, resolve_endpoint(sts_settings, sts.id));
    HttpRequest req;
    req.method = "POST";
    req.scheme = endpoint.endpoint.scheme;
    req.host = endpoint.endpoint.authority();
    req.path = endpoint.endpoint.base_path + "/";
    req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"});
    req.body = "Action=" + action + "&Version=" + sts.api_version;
    for (const auto& [k, v] : params)
      req.body += "&" + str::uri_encode(k) + "=" + str::uri_encode(v);
    if (creds) {
      SigningScope scope;
      scope.region = endpoint.signing_region;
      scope.service = "sts";
      scope.time = clock_.now();
      sign_request(req, *creds, scope);
    }
    auto response = co_await http_.send(std::move(req));
    if (!response) co_return response.error();
    if (response.value().status != 200) {
      Error e = parse_error_response(Protocol::query, action, response.value());
      e.message = what + ": " + e.message;
      co_return e;
    }
    co_return std::move(response.value().body);
  }

  Result<Credentials> parse_sts_credentials(const std::string& operation, const std::string& xml,
                                            const std::string& source) {
    auto c = parse_sts_role_credentials(operation, xml);
    if (!c) return provider_error(source, c.error().message);
    if (c.value().access_key_id.empty() || c.value().secret_access_key.empty())
      return provider_error(source, "STS returned no credentials");
    return make(c.value().access_key_id, c.value().secret_access_key, c.value().session_token,
                source, parse_iso8601(c.value().expiration));
  }

  Result<std::string> prompt_mfa(const std::string& serial) {
    FILE* tty = std::fopen("/dev/tty", "r+");
    if (!tty) {
      return Error::config("the profile needs an MFA code for " + serial +
                           ", and there is no terminal to ask on");
    }
    std::fprintf(tty, "Enter MFA code for %s: ", serial.c_str());
    std::fflush(tty);
    char buf[64] = {};
    bool got = std::fgets(buf, sizeof buf, tty) != nullptr;
    std::fclose(tty);
    std::string code = got ? std::string(str::trim(buf)) : "";
    if (code.empty()) return Error::config("no MFA code entered");
    return code;
  }

  Awaitable<Result<Credentials>> sso(const Profile& p) {
    std::string what = "profile " + p.name + " (SSO)";
    std::string start_url, sso_region, cache_key;
    if (auto session = p.get("sso_session")) {
      // [sso-session NAME] lives in the config file; the merged profiles do not hold it.
      auto cfg = load_config_file(s_.config_path);
      if (!cfg) co_return cfg.error();
      const ConfigSection* section = nullptr;
      if (cfg.value()) {
        auto it = cfg.value()->sections.find("sso-session " + *session);
        if (it != cfg.value()->sections.end()) section = &it->second;
      }
      if (!section) {
        Error e = Error::config(what + ": [sso-session " + *session + "] is missing from " +
                                s_.config_path);
        co_return e;
      }
      start_url = section->get("sso_start_url").value_or("");
      sso_region = section->get("sso_region").value_or("");
      cache_key = *session;
    } else {
      start_url = p.get("sso_start_url").value_or("");
      sso_region = p.get("sso_region").value_or("");
      cache_key = start_url;
    }
    auto account = p.get("sso_account_id");
    auto role = p.get("sso_role_name");
    if (start_url.empty() || sso_region.empty() || !account || !role) {
      Error e = Error::config(what +
                              " needs sso_start_url, sso_region, sso_account_id and sso_role_name");
      co_return e;
    }
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(cache_key.data()), cache_key.size(), digest);
    std::string cache_file = env_.home + "/.aws/sso/cache/" +
                             crypto::hex(std::span<const std::uint8_t>(digest, SHA_DIGEST_LENGTH)) +
                             ".json";
    std::string login_hint = "Run `aws sso login --profile " + p.name + "` and try again.";
    auto cached = read_file(cache_file, "the SSO token cache");
    if (!cached) {
      Error e = Error::config(what + ": no SSO token cached (" + cache_file + ")", login_hint);
      co_return e;
    }
    auto v = parse_json_object(cached.value(), "the SSO token cache");
    if (!v) {
      Error e = Error::config(what + ": the SSO token cache " + cache_file + " is not valid JSON",
                              login_hint);
      co_return e;
    }
    JsonFields cache(v.value(), "the SSO token cache " + cache_file);
    ECSH_CO_TRY(auto token, from_source(cache.string_or("accessToken"), what, login_hint));
    ECSH_CO_TRY(auto expires_at, from_source(cache.string_or("expiresAt"), what, login_hint));
    auto expires = parse_iso8601(expires_at);
    if (token.empty() || !expires || *expires <= clock_.now()) {
      Error e = Error::config(
          "The SSO session associated with this profile has expired or is otherwise invalid.",
          login_hint);
      co_return e;
    }
    log::add_secret(token);
    ServiceId portal;
    portal.id = "sso";
    portal.endpoint_prefix = "portal.sso";
    portal.signing_name = "awsssoportal";
    portal.env_suffix = "SSO";
    AwsSettings portal_settings = s_;
    portal_settings.region = sso_region;
    portal_settings.endpoint_url_flag.clear();  // --endpoint-url is for the command's service
    ECSH_CO_TRY(auto endpoint, resolve_endpoint(portal_settings, portal));
    HttpRequest req;
    req.method = "GET";
    req.scheme = endpoint.endpoint.scheme;
    req.host = endpoint.endpoint.authority();
    req.path = endpoint.endpoint.base_path + "/federation/credentials";
    req.query = "account_id=" + str::uri_encode(*account) + "&role_name=" + str::uri_encode(*role);
    req.headers.push_back({"x-amz-sso_bearer_token", token});
    auto response = co_await http_.send(std::move(req));
    if (!response) co_return response.error();
    if (response.value().status != 200) {
      Error e = parse_error_response(Protocol::json, "GetRoleCredentials", response.value());
      e.message = what + ": " + e.message;
      e.hint = login_hint;
      co_return e;
    }
    auto body = parse_json_object(response.value().body, "the GetRoleCredentials response");
    if (!body) {
      Error e = Error::config(what + ": GetRoleCredentials sent no roleCredentials");
      co_return e;
    }
    JsonFields r(body.value(), "the GetRoleCredentials response");
    ECSH_CO_TRY(auto rc, from_source(r.optional_object("roleCredentials"), what));
    if (!rc) {
      Error e = Error::config(what + ": GetRoleCredentials sent no roleCredentials");
      co_return e;
    }
    ECSH_CO_TRY(auto akid, from_source(rc->string_or("accessKeyId"), what));
    ECSH_CO_TRY(auto secret, from_source(rc->string_or("secretAccessKey"), what));
    ECSH_CO_TRY(auto session_token, from_source(rc->string_or("sessionToken"), what));
    ECSH_CO_TRY(auto expiration, from_source(rc->optional_int("expiration"), what));
    std::optional<TimePoint> exp;
    if (expiration) exp = TimePoint(std::chrono::milliseconds(*expiration));
    co_return make(akid, secret, session_token, "profile " + p.name + " via sso", exp);
  }

  Result<Credentials> credential_process(const Profile& p, const std::string& command) {
    std::string what =
        "credential_process of profile " + p.name + " (" + where(p, "credential_process") + ")";
    // As botocore does: the command line split as Python's shlex.split splits it, run without a
    // shell (in ecsh's environment, with its stdin), stdout read as JSON, stderr kept for the
    // error message.
    auto argv = shlex::split_posix(command);
    if (!argv)
      return provider_error(what, "cannot split its command line: " + argv.error().message);
    if (argv.value().empty()) return provider_error(what, "its command line is empty");
    subprocess::Spec spec;
    spec.argv = std::move(argv.value());
    spec.out = subprocess::Stream::capture;
    spec.err = subprocess::Stream::capture;
    spec.out_limit = kProcessOutputKept;
    spec.err_limit = kProcessStderrKept;
    auto done = subprocess::run(spec);
    if (done.error != 0) {
      return provider_error(what, "cannot run " + spec.argv[0] + ": " + std::strerror(done.error));
    }
    std::string stderr_text(str::trim(done.err));
    if (done.exit_code != 0) {
      std::string why = "it exited with status " + std::to_string(done.exit_code);
      if (!stderr_text.empty()) why += ": " + std::string(done.err_cut ? "…" : "") + stderr_text;
      return provider_error(what, why);
    }
    if (!stderr_text.empty()) log::debug("credential_process wrote to stderr: {}", stderr_text);
    const std::string& out = done.out;
    auto v = parse_json_object(out, "its output");
    if (!v) return provider_error(what, "its output is not a JSON object");
    auto version = JsonFields(v.value(), "its output").optional_int("Version");
    if (!version || version.value() != 1) {
      return provider_error(what, "its output must have \"Version\": 1");
    }
    auto creds =
        credentials_from_json(out, "credential_process (profile " + p.name + ")", "SessionToken");
    return creds;
  }

  Awaitable<Result<Credentials>> container() {
    std::string url;
    if (auto rel = env_.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      url = "http://169.254.170.2" + *rel;
    } else {
      url = *env_.get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    }
    auto scheme_end = url.find("://");
    auto rest = scheme_end == std::string::npos ? "" : url.substr(scheme_end + 3);
    auto slash = rest.find('/');
    HttpRequest req;
    req.method = "GET";
    req.scheme = url.substr(0, scheme_end == std::string::npos ? 0 : scheme_end);
    req.host = rest.substr(0, slash);
    req.path = slash == std::string::npos ? "/" : rest.substr(slash);
    if (auto q = req.path.find('?'); q != std::string::npos) {
      req.query = req.path.substr(q + 1);
      req.path.resize(q);
    }
    std::string host = req.host.substr(0, req.host.rfind(':'));
    static const std::set<std::string> allowed = {"localhost",      "127.0.0.1", "169.254.170.2",
                                                  "169.254.170.23", "[::1]",     "[fd00:ec2::23]"};
    if (req.scheme != "https" && !allowed.contains(host) && !allowed.contains(req.host)) {
      Error e = Error::config(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI must use https or a loopback/ECS host, not " + url);
      co_return e;
    }
    std::optional<std::string> auth = env_.get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (auto file = env_.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
      ECSH_CO_TRY(auto t, read_file(*file, "the container authorization token file"));
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
      auth = t;
    }
    if (auth) {
      log::add_secret(*auth);
      req.headers.push_back({"Authorization", *auth});
    }
    auto response = co_await http_.send(std::move(req));
    if (!response) co_return response.error();
    if (response.value().status != 200) {
      Error e = Error::config("container credentials: " + url + " answered HTTP " +
                              std::to_string(response.value().status));
      co_return e;
    }
    co_return credentials_from_json(response.value().body, "container", "Token");
  }

  // IMDSv2: a session token, then the role name, then its credentials. Short timeouts so that a
  // machine without IMDS fails fast.
  Awaitable<Result<Found>> instance_metadata(bool required) {
    std::string base =
        env_.get("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
    while (!base.empty() && base.back() == '/') base.pop_back();
    auto scheme_end = base.find("://");
    HttpOptions o;
    o.connect_timeout = std::chrono::seconds(1);
    o.read_timeout = std::chrono::seconds(1);
    auto imds_http = make_http_client(co_await asio::this_coro::executor, o);
    auto request = [&](std::string method, std::string path) {
      HttpRequest r;
      r.method = std::move(method);
      r.scheme = base.substr(0, scheme_end);
      r.host = base.substr(scheme_end + 3);
      r.path = std::move(path);
      return r;
    };
    auto token_req = request("PUT", "/latest/api/token");
    token_req.headers.push_back({"X-aws-ec2-metadata-token-ttl-seconds", "21600"});
    auto token = co_await imds_http->send(std::move(token_req));
    if (!token || token.value().status != 200) {
      if (!required) co_return Found();
      Error e = Error::config("instance metadata (IMDSv2) at " + base + " did not answer");
      co_return e;
    }
    std::string t = token.value().body;
    log::add_secret(t);
    auto role_req = request("GET", "/latest/meta-data/iam/security-credentials/");
    role_req.headers.push_back({"X-aws-ec2-metadata-token", t});
    auto role = co_await imds_http->send(std::move(role_req));
    if (!role || role.value().status != 200 || str::trim(role.value().body).empty()) {
      Error e =
          Error::config("instance metadata: this instance has no IAM role (instance profile)");
      co_return e;
    }
    std::string role_name(str::trim(role.value().body));
    auto creds_req = request("GET", "/latest/meta-data/iam/security-credentials/" + role_name);
    creds_req.headers.push_back({"X-aws-ec2-metadata-token", t});
    auto creds = co_await imds_http->send(std::move(creds_req));
    if (!creds || creds.value().status != 200) {
      Error e =
          Error::config("instance metadata: cannot read the credentials of role " + role_name);
      co_return e;
    }
    ECSH_CO_TRY(auto c, credentials_from_json(creds.value().body, "instance metadata", "Token"));
    co_return Found(std::move(c));
  }

  const AwsSettings& s_;
  const Environment& env_;
  HttpClient& http_;
  const Clock& clock_;
};

class Chain final : public CredentialsProvider {
 public:
  Chain(AwsSettings settings, Environment env, HttpClient& http, const Clock& clock)
      : settings_(std::move(settings)), env_(std::move(env)), http_(http), clock_(clock) {}

  Awaitable<Result<Credentials>> credentials() override {
    auto now = clock_.now();
    if (cached_ && (!cached_->expiration || *cached_->expiration - kAdvisoryRefresh > now)) {
      co_return *cached_;
    }
    Resolver resolver(settings_, env_, http_, clock_);
    auto fresh = co_await resolver.resolve();
    if (!fresh) {
      // A failed refresh keeps credentials that are still valid.
      if (cached_ && cached_->expiration && *cached_->expiration > now) co_return *cached_;
      co_return fresh.error();
    }
    cached_ = fresh.value();
    co_return *cached_;
  }

 private:
  AwsSettings settings_;
  Environment env_;
  HttpClient& http_;
  const Clock& clock_;
  std::optional<Credentials> cached_;
};

}  // namespace

std::shared_ptr<CredentialsProvider> make_default_credentials_chain(const AwsSettings& settings,
                                                                    const Environment& env,
                                                                    HttpClient& http,
                                                                    const Clock& clock) {
  return std::make_shared<Chain>(settings, env, http, clock);
}

}  // namespace ecsh::aws
