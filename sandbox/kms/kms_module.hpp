#pragma once

// KMS of the sandbox: symmetric keys whose data keys really encrypt (AES-256-GCM under a per-key
// master secret, the encryption context bound as additional data), so a wrong key or context
// fails Decrypt as it would on AWS. Also used directly by the data-channel agent for sessions
// encrypted with the cluster's exec key.

#include "sandbox/api.hpp"

#include <memory>
#include <optional>
#include <string>

namespace ecsh::sandbox::kms {

class KmsModule : public ServiceModule {
 public:
  // The plaintext of a data key made by GenerateDataKey, for the agent side of a session
  // (which on AWS calls Decrypt with the task role): nullopt when the blob, key or context do
  // not match.
  virtual std::optional<std::string> decrypt_blob(
      std::string_view ciphertext_blob,
      const std::map<std::string, std::string>& context) const = 0;
  virtual bool key_usable(std::string_view key_id_or_arn, std::string_view region) const = 0;
};

std::unique_ptr<KmsModule> make_kms_module();

}  // namespace ecsh::sandbox::kms
