#pragma once

// AWS Signature Version 4, byte-compatible with botocore.auth.SigV4Auth (tested against it in
// tests/conformance/sigv4_botocore). Pure: no I/O, the signing time is a parameter.

#include "ecsh/aws/http_types.hpp"
#include "ecsh/common/error.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  std::optional<std::chrono::system_clock::time_point> expiration;
  // Where these came from, for `ecsh whoami`: "environment", "profile dev (sso)", ...
  std::string source;

  bool empty() const { return access_key_id.empty() || secret_access_key.empty(); }
};

struct SigningScope {
  std::string region;
  std::string service;  // signing name, e.g. "ecs", "ssm", "sts", "ssmmessages"
  std::chrono::system_clock::time_point time;
};

// Signs in place: sets Host (if absent), X-Amz-Date, X-Amz-Security-Token (when there is a
// session token) and Authorization. Signs the headers botocore signs (all but
// user-agent, expect, x-amzn-trace-id and authorization).
void sign_request(HttpRequest& request, const Credentials& creds, const SigningScope& scope);

// Query-string authentication (presigned URL): returns the query string, including the
// X-Amz-* parameters, to send instead of request.query. Signs only the host header.
std::string presign_query(const HttpRequest& request, const Credentials& creds,
                          const SigningScope& scope, std::chrono::seconds expires);

// The pieces, exposed for signature verification (sandbox) and tests.
std::string amz_date(std::chrono::system_clock::time_point t);  // 20150830T123600Z
std::string canonical_request(const HttpRequest& request,
                              const std::vector<std::string>& signed_headers,
                              std::string_view payload_hash);
std::string string_to_sign(std::string_view canonical_request, const SigningScope& scope);
std::string signature(std::string_view secret_access_key, std::string_view string_to_sign,
                      const SigningScope& scope);

// The parsed value of an "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…" header.
struct AuthorizationHeader {
  std::string access_key_id;
  std::string date;  // yyyymmdd from the scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  // lowercase, in the order given
  std::string signature;                    // lowercase hex
};
Result<AuthorizationHeader> parse_authorization(std::string_view header_value);

}  // namespace ecsh::aws
