#pragma once

// The JSON and binary payloads carried inside data-channel frames
// (docs/protocol.md §3.5, §5, §6, §7.1): handshake request/response/complete, the
// encryption challenge, terminal size, flags, channel_closed and agent_session_state. Pure: no I/O.
// Parsers turn malformed input into error values.

#include "ecsh/common/error.hpp"
#include "ecsh/common/version.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::session {

namespace session_type {
inline constexpr std::string_view standard_stream = "Standard_Stream";
inline constexpr std::string_view port = "Port";
inline constexpr std::string_view interactive_commands = "InteractiveCommands";
inline constexpr std::string_view non_interactive_commands = "NonInteractiveCommands";
}  // namespace session_type

// The ClientVersion ecsh sends (common/version.hpp).
inline constexpr std::string_view kDefaultClientVersion = kPluginProtocolVersion;

// ---- HandshakeRequest (PayloadType 5, agent -> client) ----
struct SessionTypeAction {
  std::string session_type;
  std::string properties_json = "null";  // the raw JSON of "Properties"
};
struct KmsEncryptionAction {
  std::string kms_key_id;
  std::string challenge;  // the base64 text as sent
};
struct HandshakeRequest {
  std::string agent_version;
  std::optional<SessionTypeAction> session_type;
  std::optional<KmsEncryptionAction> kms_encryption;
  std::vector<std::string> other_actions;  // ActionTypes we do not know
};
std::string to_json(const HandshakeRequest& request);
Result<HandshakeRequest> parse_handshake_request(std::string_view json);

// ---- HandshakeResponse (PayloadType 6, client -> agent) ----
enum class ActionStatus : int { success = 1, failed = 2, unsupported = 3 };
struct ProcessedAction {
  std::string action_type;
  ActionStatus status = ActionStatus::success;
  std::string result_json = "null";  // raw JSON of "ActionResult"
  std::string error;
};
struct HandshakeResponse {
  std::string client_version{kDefaultClientVersion};
  std::vector<ProcessedAction> actions;
  std::vector<std::string> errors;
  // Filled by the parser from a successful KMSEncryption action: the decoded CiphertextBlob.
  std::optional<std::string> kms_ciphertext_key;
};
std::string to_json(const HandshakeResponse& response);
Result<HandshakeResponse> parse_handshake_response(std::string_view json);

// The client's answer to a request, following the plugin's rules: known session types succeed
// (anything else fails with "Unknown session type X"); KMSEncryption succeeds with
// KMSCipherTextKey when a ciphertext blob (kms:GenerateDataKey's CiphertextBlob, raw bytes) is
// given and fails otherwise; unknown actions are answered Unsupported.
HandshakeResponse answer_handshake(const HandshakeRequest& request,
                                   const std::optional<std::string>& kms_ciphertext_blob,
                                   std::string_view client_version = kDefaultClientVersion);

// ---- HandshakeComplete (PayloadType 7, agent -> client) ----
struct HandshakeComplete {
  std::int64_t time_to_complete_ns = 0;
  std::string customer_message;
};
std::string to_json(const HandshakeComplete& complete);
Result<HandshakeComplete> parse_handshake_complete(std::string_view json);

// ---- EncChallengeRequest / EncChallengeResponse (PayloadTypes 8 and 9): {"Challenge": b64} ----
std::string challenge_json(std::string_view challenge_bytes);
Result<std::string> parse_challenge(std::string_view json);  // the decoded bytes

// ---- Size (PayloadType 3): {"cols":W,"rows":H} ----
struct TerminalSize {
  std::uint32_t cols = 0;
  std::uint32_t rows = 0;
};
std::string size_json(TerminalSize size);
Result<TerminalSize> parse_size(std::string_view json);

// ---- Flag (PayloadType 10): 4-byte big-endian u32 ----
enum class Flag : std::uint32_t {
  disconnect_to_port = 1,
  terminate_session = 2,
  connect_to_port_error = 3
};
std::string flag_payload(Flag flag);
Result<std::uint32_t> parse_flag(std::string_view payload);

// ---- channel_closed (PayloadType 0, from the service) ----
struct ChannelClosed {
  std::string message_id;
  std::string session_id;
  std::string destination_id;
  std::string output;
};
std::string to_json(const ChannelClosed& closed, std::string_view created_date);
Result<ChannelClosed> parse_channel_closed(std::string_view json);

// ---- agent_session_state (PayloadType 0) ----
std::string session_state_json(std::string_view state, std::string_view session_id);
Result<std::string> parse_session_state(std::string_view json);  // "Connected", "Terminating"…

}  // namespace ecsh::session
