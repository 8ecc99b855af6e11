#pragma once

// SigV4 verification as AWS front ends do it, with AWS's error codes and texts. Pure: the time is
// a parameter.

#include "ecsh/aws/http_types.hpp"
#include "sandbox/api.hpp"
#include "sandbox/core/identity.hpp"

#include <chrono>

namespace ecsh::sandbox {

enum class Protocol { json, query, ec2 };

struct VerifiedRequest {
  Caller caller;
  std::string region;
  std::string service;  // the credential scope's service (signing name)
};

// Checks the Authorization header (or the presigned X-Amz-* query parameters) of `request`
// against `identities`. Errors carry the codes the protocol's clients expect:
//   JSON: MissingAuthenticationTokenException, UnrecognizedClientException,
//         InvalidSignatureException (also "Signature expired"), ExpiredTokenException;
//   Query/EC2: MissingAuthenticationToken, InvalidClientTokenId, SignatureDoesNotMatch,
//         ExpiredToken (EC2: AuthFailure).
// The credential scope's region must be one of AWS's (aws::known_regions(); otherwise the
// signature error, "Credential should be scoped to a valid region."), and one the account may
// use (IdentityStore::region_enabled; otherwise the unknown-key error, as AWS answers in a
// region that is not enabled).
ApiResult<VerifiedRequest> verify_sigv4(const aws::HttpRequest& request,
                                        const IdentityStore& identities, Protocol protocol,
                                        std::chrono::system_clock::time_point now);

}  // namespace ecsh::sandbox
