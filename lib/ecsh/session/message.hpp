#pragma once

// The Session Manager data-channel frame ("ClientMessage"), exactly as the official plugin and
// agent write and read it (docs/protocol.md §3.3). Pure: no I/O.
//
//   off size field
//     0    4 HeaderLength      u32, always written as 116; the payload starts at HeaderLength+4
//     4   32 MessageType       ASCII, right-padded with spaces
//    36    4 SchemaVersion     u32 = 1
//    40    8 CreatedDate       u64, epoch milliseconds (0 is invalid)
//    48    8 SequenceNumber    i64
//    56    8 Flags             u64 (bit 0 SYN, bit 1 FIN)
//    64   16 MessageId         UUID bytes 8..15, then bytes 0..7
//    80   32 PayloadDigest     SHA-256 of the payload
//   112    4 PayloadType       u32
//   116    4 PayloadLength     u32 (readers ignore it and take the rest of the frame)
//   120    n Payload
// All integers big-endian.

#include "ecsh/common/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ecsh::session {

namespace message_type {
inline constexpr std::string_view input_stream_data = "input_stream_data";
inline constexpr std::string_view output_stream_data = "output_stream_data";
inline constexpr std::string_view acknowledge = "acknowledge";
inline constexpr std::string_view channel_closed = "channel_closed";
inline constexpr std::string_view start_publication = "start_publication";
inline constexpr std::string_view pause_publication = "pause_publication";
inline constexpr std::string_view agent_session_state = "agent_session_state";
}  // namespace message_type

enum class PayloadType : std::uint32_t {
  none = 0,
  output = 1,
  error = 2,
  size = 3,
  parameter = 4,
  handshake_request = 5,
  handshake_response = 6,
  handshake_complete = 7,
  enc_challenge_request = 8,
  enc_challenge_response = 9,
  flag = 10,
  stderr_data = 11,
  exit_code = 12,
};

inline constexpr std::uint64_t kFlagSyn = 1;
inline constexpr std::uint64_t kFlagFin = 2;
inline constexpr std::uint32_t kHeaderLength = 116;
inline constexpr std::size_t kPayloadOffset = kHeaderLength + 4;

struct ClientMessage {
  std::string message_type;
  std::uint32_t schema_version = 1;
  std::uint64_t created_date = 0;  // epoch milliseconds
  std::int64_t sequence_number = 0;
  std::uint64_t flags = 0;
  std::string message_id;      // canonical lowercase UUID
  std::string payload_digest;  // 32 raw bytes; encode() computes it
  std::uint32_t payload_type = 0;
  std::string payload;
};

// Writes the frame; the digest is computed from the payload.
std::string encode(const ClientMessage& message);

// Reads a frame. Every malformed input is an error value: too short, a header length that
// does not fit, an empty message type, CreatedDate 0, a digest that does not match (checked,
// like the plugin, only when PayloadLength is not 0 and the type is not start/pause_publication),
// a message ID that is not 16 bytes. `check_digest` false skips the digest, as the SSM agent does
// (it never checks it; protocol.md §3.3).
Result<ClientMessage> try_decode(std::string_view frame, bool check_digest = true);

// UUID text <-> the 16 bytes in the frame's swapped order. nullopt when the text is not a UUID.
std::optional<std::string> uuid_to_wire(std::string_view uuid);
std::string uuid_from_wire(std::string_view wire16);

// Acknowledgements: {"AcknowledgedMessageType", "AcknowledgedMessageId",
// "AcknowledgedMessageSequenceNumber", "IsSequentialMessage": true}; flags 3, sequence 0,
// payload type 0.
struct Acknowledgement {
  std::string message_type;
  std::string message_id;
  std::int64_t sequence_number = 0;
};
ClientMessage make_acknowledgement(const ClientMessage& acked, std::string message_id,
                                   std::uint64_t created_date);
// An acknowledgement's payload, as boost::json would serialize the object above.
std::string acknowledgement_json(std::string_view acked_type, std::string_view acked_id,
                                 std::int64_t acked_sequence);
Result<Acknowledgement> try_parse_acknowledgement(std::string_view payload);

}  // namespace ecsh::session
