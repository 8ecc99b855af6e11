#pragma once

// Who may sign requests to the sandbox: the built-in administrator (the account root), IAM
// users' access keys, and temporary credentials from STS. Implemented by the IAM module.

#include "ecsh/aws/regions.hpp"
#include "sandbox/api.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ecsh::sandbox {

inline constexpr std::string_view kAccountId = "000000000000";
inline constexpr std::string_view kAdminAccessKeyId = "AKIAECSHSANDBOXADMIN";
inline constexpr std::string_view kAdminSecretAccessKey = "ecsh-sandbox-secret";

struct SigningKey {
  std::string secret_access_key;
  std::string session_token;  // required when not empty
  std::optional<std::chrono::system_clock::time_point> expiration;
  Caller caller;
};

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;
  virtual std::optional<SigningKey> find_key(std::string_view access_key_id) const = 0;
  // Whether the account may use `region` (one of aws::known_regions()): the commercial
  // partition's regions that need no opt-in, and the opt-in ones it opted in to. The account's
  // keys are not valid in the other partitions (China, GovCloud, ISO), as on AWS.
  virtual bool region_enabled(std::string_view region) const {
    const auto* r = aws::find_region(region);
    return r && r->partition == "aws" && !r->opt_in;
  }
};

}  // namespace ecsh::sandbox
