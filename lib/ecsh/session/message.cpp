#include "ecsh/session/message.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/json_fields.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstring>

namespace ecsh::session {
namespace {

constexpr std::size_t kTypeOffset = 4;
constexpr std::size_t kTypeLength = 32;
constexpr std::size_t kSchemaOffset = 36;
constexpr std::size_t kCreatedOffset = 40;
constexpr std::size_t kSequenceOffset = 48;
constexpr std::size_t kFlagsOffset = 56;
constexpr std::size_t kMessageIdOffset = 64;
constexpr std::size_t kDigestOffset = 80;
constexpr std::size_t kPayloadTypeOffset = 112;
constexpr std::size_t kPayloadLengthOffset = 116;

template <class T>
void put(std::string& out, std::size_t at, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out[at + i] = static_cast<char>(static_cast<std::uint64_t>(value) >> (8 * (sizeof(T) - 1 - i)));
  }
}

template <class T>
T get(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = (v << 8) | static_cast<std::uint8_t>(in[at + i]);
  return static_cast<T>(v);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The 16 wire bytes of a UUID's text into `wire`; false (and `wire` untouched) when it is not one.
bool uuid_to_wire_into(std::string_view uuid, char* wire) {
  if (uuid.size() != 36 || uuid[8] != '-' || uuid[13] != '-' || uuid[18] != '-' ||
      uuid[23] != '-') {
    return false;
  }
  // Bytes 8..15 of the UUID first, then bytes 0..7 (docs/protocol.md §3.3).
  char bytes[16];
  std::size_t n = 0;
  for (std::size_t i = 0; i < uuid.size();) {
    if (uuid[i] == '-') {
      ++i;
      continue;
    }
    int hi = hex_digit(uuid[i]), lo = hex_digit(uuid[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[(n + 8) % 16] = static_cast<char>(hi * 16 + lo);
    ++n;
    i += 2;
  }
  std::memcpy(wire, bytes, sizeof bytes);
  return true;
}

}  // namespace

std::optional<std::string> uuid_to_wire(std::string_view uuid) {
  std::string wire(16, '\0');
  if (!uuid_to_wire_into(uuid, wire.data())) return std::nullopt;
  return wire;
}

std::string uuid_from_wire(std::string_view wire) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t pos = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++pos;  // the dashes
    const std::size_t j = (i + 8) % 16;
    auto b = static_cast<unsigned char>(j < wire.size() ? wire[j] : 0);
    out[pos++] = digits[b >> 4];
    out[pos++] = digits[b & 0x0f];
  }
  return out;
}

std::string encode(const ClientMessage& m) {
  // Written in place: this runs for every message and acknowledgement, both ways.
  std::string out(kPayloadOffset + m.payload.size(), '\0');
  char* p = out.data();
  put<std::uint32_t>(out, 0, kHeaderLength);
  const std::size_t type_length = std::min<std::size_t>(m.message_type.size(), kTypeLength);
  std::memcpy(p + kTypeOffset, m.message_type.data(), type_length);
  std::memset(p + kTypeOffset + type_length, ' ', kTypeLength - type_length);
  put<std::uint32_t>(out, kSchemaOffset, m.schema_version);
  put<std::uint64_t>(out, kCreatedOffset, m.created_date);
  put<std::int64_t>(out, kSequenceOffset, m.sequence_number);
  put<std::uint64_t>(out, kFlagsOffset, m.flags);
  uuid_to_wire_into(m.message_id, p + kMessageIdOffset);  // not a UUID: 16 zero bytes
  const auto digest = crypto::sha256(m.payload);
  std::memcpy(p + kDigestOffset, digest.data(), digest.size());
  put<std::uint32_t>(out, kPayloadTypeOffset, m.payload_type);
  put<std::uint32_t>(out, kPayloadLengthOffset, static_cast<std::uint32_t>(m.payload.size()));
  if (!m.payload.empty()) std::memcpy(p + kPayloadOffset, m.payload.data(), m.payload.size());
  return out;
}

Result<ClientMessage> try_decode(std::string_view frame, bool check_digest) {
  if (frame.size() < kPayloadOffset) {
    return Error::protocol("data-channel frame of " + std::to_string(frame.size()) +
                           " bytes is shorter than its " + std::to_string(kPayloadOffset) +
                           "-byte header");
  }
  auto header_length = get<std::uint32_t>(frame, 0);
  if (header_length < kHeaderLength || header_length > frame.size() - 4) {
    return Error::protocol("data-channel frame has an invalid header length " +
                           std::to_string(header_length));
  }
  ClientMessage m;
  std::string_view type = frame.substr(kTypeOffset, kTypeLength);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\0')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\0')) type.remove_prefix(1);
  if (type.empty()) return Error::protocol("data-channel frame without a message type");
  m.message_type = std::string(type);
  m.schema_version = get<std::uint32_t>(frame, kSchemaOffset);
  m.created_date = get<std::uint64_t>(frame, kCreatedOffset);
  if (m.created_date == 0) return Error::protocol("data-channel frame with CreatedDate 0");
  m.sequence_number = get<std::int64_t>(frame, kSequenceOffset);
  m.flags = get<std::uint64_t>(frame, kFlagsOffset);
  m.message_id = uuid_from_wire(frame.substr(kMessageIdOffset, 16));
  m.payload_digest = std::string(frame.substr(kDigestOffset, 32));
  m.payload_type = get<std::uint32_t>(frame, kPayloadTypeOffset);
  auto payload_length = get<std::uint32_t>(frame, kPayloadLengthOffset);
  m.payload = std::string(frame.substr(header_length + 4));
  bool unchecked = !check_digest || m.message_type == message_type::start_publication ||
                   m.message_type == message_type::pause_publication;
  if (payload_length != 0 && !unchecked && crypto::sha256_raw(m.payload) != m.payload_digest) {
    return Error::protocol("data-channel frame " + m.message_type + " #" +
                           std::to_string(m.sequence_number) + " fails its payload digest");
  }
  return m;
}

ClientMessage make_acknowledgement(const ClientMessage& acked, std::string message_id,
                                   std::uint64_t created_date) {
  boost::json::object ack;
  ack["AcknowledgedMessageType"] = acked.message_type;
  ack["AcknowledgedMessageId"] = acked.message_id;
  ack["AcknowledgedMessageSequenceNumber"] = acked.sequence_number;
  ack["IsSequentialMessage"] = true;
  ClientMessage m;
  m.message_type = std::string(message_type::acknowledge);
  m.created_date = created_date;
  m.sequence_number = 0;
  m.flags = kFlagSyn | kFlagFin;
  m.message_id = std::move(message_id);
  m.payload_type = static_cast<std::uint32_t>(PayloadType::none);
  m.payload = boost::json::serialize(ack);
  return m;
}

Result<Acknowledgement> try_parse_acknowledgement(std::string_view payload) {
  ECSH_TRY(const auto o, parse_json_object(payload, "the acknowledgement payload"));
  auto type = o.find("AcknowledgedMessageType");
  auto id = o.find("AcknowledgedMessageId");
  auto seq = o.find("AcknowledgedMessageSequenceNumber");
  if (type == o.end() || !type->value().is_string() || seq == o.end() ||
      !seq->value().is_number()) {
    return Error::protocol("acknowledgement payload lacks its message type or sequence number");
  }
  Acknowledgement a;
  a.message_type = std::string(type->value().get_string());
  if (id != o.end() && id->value().is_string())
    a.message_id = std::string(id->value().get_string());
  boost::system::error_code nec;
  a.sequence_number = seq->value().to_number<std::int64_t>(nec);
  if (nec) return Error::protocol("acknowledgement sequence number is not an integer");
  return a;
}

}  // namespace ecsh::session
