#pragma once

// Session Manager payload encryption after the KMSEncryption handshake action
// (docs/protocol.md §5.4). Pure: no I/O, no KMS calls (those live with the AWS
// clients; this gets the 64-byte plaintext data key).
//
//   cipher   AES-256-GCM, no AAD
//   sealed   12-byte nonce || ciphertext || 16-byte tag   (28 bytes longer than the plaintext)
//   keys     data key bytes 0..31 encrypt agent -> client, bytes 32..63 encrypt client -> agent
//   which    client -> agent: PayloadType 1 only; agent -> client: PayloadTypes 1, 11 and 12

#include "ecsh/common/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ecsh::session {

inline constexpr std::size_t kDataKeyLength = 64;
inline constexpr std::size_t kGcmNonceLength = 12;
inline constexpr std::size_t kGcmTagLength = 16;
inline constexpr std::size_t kSealOverhead = kGcmNonceLength + kGcmTagLength;

enum class Direction { agent_to_client, client_to_agent };

// Whether a payload of this type travelling in this direction is encrypted once KMS is on.
bool is_encrypted_payload(Direction direction, std::uint32_t payload_type);

// AES-256-GCM with the framing above. seal() fails only on a wrong key/nonce length; open()
// fails on a short input or a tag that does not verify (tampered data, wrong key).
Result<std::string> gcm_seal(std::string_view key32, std::string_view nonce12,
                             std::string_view plaintext);
Result<std::string> gcm_open(std::string_view key32, std::string_view sealed);

// Both halves of a session's data key, seen from one side. The client uses random nonces; the
// agent a counter that starts at a random value (as the official agent does).
class SessionCipher {
 public:
  // `outgoing` is the direction this side sends in (client: client_to_agent).
  static Result<SessionCipher> create(std::string_view data_key64, Direction outgoing);

  Direction outgoing() const { return outgoing_; }
  Direction incoming() const {
    return outgoing_ == Direction::client_to_agent ? Direction::agent_to_client
                                                   : Direction::client_to_agent;
  }
  Result<std::string> seal(std::string_view plaintext);     // with the outgoing key
  Result<std::string> open(std::string_view sealed) const;  // with the incoming key

 private:
  SessionCipher() = default;
  std::string next_nonce();
  Direction outgoing_ = Direction::client_to_agent;
  std::string out_key_;
  std::string in_key_;
  std::uint64_t counter_ = 0;
  std::uint32_t counter_high_ = 0;
};

}  // namespace ecsh::session
