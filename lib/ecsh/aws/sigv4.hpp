#pragma once

// AWS Signature Version 4, byte-compatible with botocore.auth.SigV4Auth (tested against it in
// tests/conformance/sigv4). Pure: no I/O, the signing time is a parameter.

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
// As botocore does: a Date header present before signing is replaced by the signing time in
// RFC 2822 form and used instead of X-Amz-Date; an X-Amz-Content-SHA256 header, when present, is
// the payload hash (otherwise SHA-256 of the body); duplicate headers are signed as
// "name:v1,v2"; the path is normalised (dot segments and empty segments removed) and
// percent-encoded once more (so "%20" is signed as "%2520"); the query is signed as sent,
// its "key=value" pairs sorted.
void sign_request(HttpRequest& request, const Credentials& creds, const SigningScope& scope);

// Query-string authentication (presigned URL), as botocore.auth.SigV4QueryAuth: returns the query
// string, including the X-Amz-* parameters and X-Amz-Signature, to send instead of
// request.query. request.query is decoded and re-encoded (the first value of a repeated key
// wins, as botocore's parse_qs use does). Signs host and every other header present in
// `request` (botocore signs what the request carries; a bare request signs only host). The body
// is not part of a presigned URL: the payload hash is that of an empty body.
std::string presign_query(const HttpRequest& request, const Credentials& creds,
                          const SigningScope& scope, std::chrono::seconds expires);

// The pieces, exposed for signature verification (sandbox) and tests.
std::string amz_date(std::chrono::system_clock::time_point t);  // 20150830T123600Z
// The inverse, for verifiers reading X-Amz-Date: exactly yyyymmddThhmmssZ with a valid date and
// time, else nullopt.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text);
// Signs the headers named in signed_headers in that order (sign_request passes them sorted);
// several headers of one name give "name:v1,v2"; a "host" absent from request.headers is
// host_from_url(request). request.path + "?" + request.query is taken apart as botocore's
// urlsplit does (TAB/CR/LF deleted, cut at '#', split at the first '?').
std::string canonical_request(const HttpRequest& request,
                              const std::vector<std::string>& signed_headers,
                              std::string_view payload_hash);
std::string string_to_sign(std::string_view canonical_request, const SigningScope& scope);
std::string signature(std::string_view secret_access_key, std::string_view string_to_sign,
                      const SigningScope& scope);

// What sign_request signs, exposed for verifiers: lowercase, sorted, unique header names
// (always including "host").
std::vector<std::string> headers_to_sign(const HttpRequest& request);
// The X-Amz-Content-SHA256 header when present, else hex SHA-256 of the body.
std::string payload_hash(const HttpRequest& request);
// The Host value botocore derives from the URL when there is no Host header: lowercase, without
// the scheme's default port.
std::string host_from_url(const HttpRequest& request);
// The canonical URI of an on-the-wire path ("" counts as "/") and the canonical query string of
// an on-the-wire query, as botocore computes them for non-S3 services.
std::string canonical_uri(std::string_view path);
std::string canonical_query_string(std::string_view query);

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
