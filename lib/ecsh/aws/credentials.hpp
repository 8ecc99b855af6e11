#pragma once

// Where the keys that sign requests come from (credentials.cpp): the AWS CLI v2's provider chain,
// and temporary credentials refreshed before they expire. The keys themselves are
// aws::Credentials (sigv4.hpp), what signing takes.

#include "ecsh/aws/http_client.hpp"
#include "ecsh/aws/settings.hpp"
#include "ecsh/aws/sigv4.hpp"
#include "ecsh/common/asio.hpp"
#include "ecsh/common/clock.hpp"
#include "ecsh/common/error.hpp"

#include <memory>

namespace ecsh::aws {

// Credentials that refresh themselves before they expire.
class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  virtual Awaitable<Result<Credentials>> credentials() = 0;
};

// The AWS CLI v2 chain: environment, web identity, shared files (static keys, credential_process,
// role assumption, SSO), ECS container credentials, IMDSv2. A broken profile is an error naming
// the file and profile; it is never skipped.
std::shared_ptr<CredentialsProvider> make_default_credentials_chain(const AwsSettings& settings,
                                                                    const Environment& env,
                                                                    HttpClient& http,
                                                                    const Clock& clock);

}  // namespace ecsh::aws
