#include "sandbox/core/auth.hpp"

#include "ecsh/aws/regions.hpp"
#include "ecsh/aws/sigv4.hpp"
#include "ecsh/common/crypto.hpp"

namespace ecsh::sandbox {

namespace {

constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view kInvalidToken = "The security token included in the request is invalid.";
constexpr std::string_view kExpiredToken = "The security token included in the request is expired";
// AWS's words when the credential scope names a region AWS does not have (or, on a regional
// endpoint, another region): ECS, SSM and the other JSON services answer
// InvalidSignatureException, STS and IAM SignatureDoesNotMatch, with this text (the trailing
// space is AWS's).
constexpr std::string_view kInvalidRegion = "Credential should be scoped to a valid region. ";

struct Codes {
  const char* missing;
  const char* unknown_key;
  const char* bad_signature;
  const char* expired_token;
  int status;
};

Codes codes_for(Protocol p) {
  switch (p) {
    case Protocol::json:
      return {"MissingAuthenticationTokenException", "UnrecognizedClientException",
              "InvalidSignatureException", "ExpiredTokenException", 400};
    case Protocol::query:
      return {"MissingAuthenticationToken", "InvalidClientTokenId", "SignatureDoesNotMatch",
              "ExpiredToken", 403};
    case Protocol::ec2:
      return {"MissingAuthenticationToken", "AuthFailure", "AuthFailure", "RequestExpired", 401};
  }
  return {"", "", "", "", 400};
}

}  // namespace

ApiResult<VerifiedRequest> verify_sigv4(const aws::HttpRequest& request,
                                        const IdentityStore& identities, Protocol protocol,
                                        std::chrono::system_clock::time_point now) {
  const Codes codes = codes_for(protocol);
  auto header = request.header("authorization");
  if (!header) {
    std::string text = protocol == Protocol::json ? "Missing Authentication Token"
                                                  : "Request is missing Authentication Token";
    return ApiError::client(codes.missing, text, 403);
  }
  auto parsed = aws::parse_authorization(*header);
  if (!parsed) {
    return ApiError::client("IncompleteSignature",
                            "Authorization header requires 'Credential', 'Signature' and "
                            "'SignedHeaders' parameters. Authorization=" +
                                std::string(*header),
                            400);
  }
  const auto& auth = parsed.value();
  // The scope's region must be one of AWS's: the sandbox's one endpoint plays every regional
  // endpoint, and there is none for a region AWS does not have.
  if (!aws::find_region(auth.region)) {
    std::string text = protocol == Protocol::ec2
                           ? "AWS was not able to validate the provided access credentials"
                           : std::string(kInvalidRegion);
    return ApiError::client(codes.bad_signature, text, codes.status == 400 ? 400 : 403);
  }
  auto key = identities.find_key(auth.access_key_id);
  // A region the account has not enabled (an opt-in region, or another partition's, where this
  // account's keys do not exist) does not know the key, as AWS answers there.
  if (key && !identities.region_enabled(auth.region)) key.reset();
  if (!key) {
    std::string text = protocol == Protocol::ec2
                           ? "AWS was not able to validate the provided access credentials"
                           : std::string(kInvalidToken);
    return ApiError::client(codes.unknown_key, text, codes.status == 400 ? 400 : 403);
  }

  auto date_header = request.header("x-amz-date");
  std::optional<std::chrono::system_clock::time_point> signed_at;
  if (date_header) signed_at = aws::parse_amz_date(*date_header);
  if (!signed_at) {
    return ApiError::client(codes.bad_signature,
                            "Authorization header requires existence of either a 'X-Amz-Date' or "
                            "a 'Date' header.",
                            codes.status == 400 ? 400 : 403);
  }
  using std::chrono::minutes;
  if (*signed_at < now - minutes(15)) {
    return ApiError::client(codes.bad_signature,
                            "Signature expired: " + aws::amz_date(*signed_at) +
                                " is now earlier than " + aws::amz_date(now - minutes(15)) + " (" +
                                aws::amz_date(now) + " - 15 min.)",
                            codes.status == 400 ? 400 : 403);
  }
  if (*signed_at > now + minutes(15)) {
    return ApiError::client(codes.bad_signature,
                            "Signature not yet current: " + aws::amz_date(*signed_at) +
                                " is still later than " + aws::amz_date(now + minutes(15)) + " (" +
                                aws::amz_date(now) + " + 15 min.)",
                            codes.status == 400 ? 400 : 403);
  }

  aws::SigningScope scope;
  scope.region = auth.region;
  scope.service = auth.service;
  scope.time = *signed_at;
  std::string expected_date = aws::amz_date(*signed_at).substr(0, 8);
  std::string canonical =
      aws::canonical_request(request, auth.signed_headers, aws::payload_hash(request));
  std::string expected =
      aws::signature(key->secret_access_key, aws::string_to_sign(canonical, scope), scope);
  if (auth.date != expected_date || !crypto::equal_constant_time(expected, auth.signature)) {
    std::string text = protocol == Protocol::ec2
                           ? "AWS was not able to validate the provided access credentials"
                           : std::string(kSignatureMismatch);
    return ApiError::client(codes.bad_signature, text, codes.status == 400 ? 400 : 403);
  }

  if (!key->session_token.empty()) {
    auto token = request.header("x-amz-security-token");
    if (!token || !crypto::equal_constant_time(*token, key->session_token)) {
      return ApiError::client(codes.unknown_key, std::string(kInvalidToken),
                              codes.status == 400 ? 400 : 403);
    }
    if (key->expiration && now >= *key->expiration) {
      return ApiError::client(codes.expired_token, std::string(kExpiredToken),
                              codes.status == 400 ? 400 : 403);
    }
  }

  VerifiedRequest v;
  v.caller = key->caller;
  v.caller.access_key_id = auth.access_key_id;
  v.region = auth.region;
  v.service = auth.service;
  return v;
}

}  // namespace ecsh::sandbox
