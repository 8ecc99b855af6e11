#include "ecsh/session/message.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/json_fields.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstring>
#include <optional>

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

// Acknowledgements go both ways for every stream message (one per KiB of data), so they are
// written and read without a JSON document when they have the one shape every peer gives them
// (the agent's Go encoder, the plugin and ecsh: these four keys in this order, compact, strings
// of identifier characters); anything else goes through the JSON parser and serializer.
constexpr std::string_view kAckType = "{\"AcknowledgedMessageType\":\"";
constexpr std::string_view kAckId = "\",\"AcknowledgedMessageId\":\"";
constexpr std::string_view kAckSequence = "\",\"AcknowledgedMessageSequenceNumber\":";
constexpr std::string_view kAckEnd = ",\"IsSequentialMessage\":true}";

bool plain_json_string(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  });
}

// The part of `s` from `at` up to the next `"`, when it holds identifier characters only.
std::optional<std::string_view> plain_string_at(std::string_view s, std::size_t& at) {
  const auto end = s.find('"', at);
  if (end == std::string_view::npos) return std::nullopt;
  auto value = s.substr(at, end - at);
  if (!plain_json_string(value)) return std::nullopt;
  at = end;
  return value;
}

// The common shape; nullopt for anything else (then the JSON parser decides).
std::optional<Acknowledgement> parse_plain_acknowledgement(std::string_view s) {
  if (!s.starts_with(kAckType) || !s.ends_with(kAckEnd)) return std::nullopt;
  std::size_t at = kAckType.size();
  auto type = plain_string_at(s, at);
  if (!type || s.substr(at, kAckId.size()) != kAckId) return std::nullopt;
  at += kAckId.size();
  auto id = plain_string_at(s, at);
  if (!id || s.substr(at, kAckSequence.size()) != kAckSequence) return std::nullopt;
  at += kAckSequence.size();
  const auto digits = s.substr(at, s.size() - kAckEnd.size() - at);
  std::int64_t seq = 0;
  // Plain decimal digits only (JSON has no '+', and '-', leading zeros or exponents go the slow
  // way, which says what is wrong with them).
  if (digits.empty() || digits.size() > 18 || (digits.size() > 1 && digits[0] == '0') ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  for (char c : digits) seq = seq * 10 + (c - '0');
  Acknowledgement a;
  a.message_type = std::string(*type);
  a.message_id = std::string(*id);
  a.sequence_number = seq;
  return a;
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

std::string acknowledgement_json(std::string_view acked_type, std::string_view acked_id,
                                 std::int64_t acked_sequence) {
  if (plain_json_string(acked_type) && plain_json_string(acked_id)) {
    const auto seq = std::to_string(acked_sequence);
    std::string out;
    out.reserve(kAckType.size() + acked_type.size() + kAckId.size() + acked_id.size() +
                kAckSequence.size() + seq.size() + kAckEnd.size());
    out.append(kAckType).append(acked_type).append(kAckId).append(acked_id);
    out.append(kAckSequence).append(seq).append(kAckEnd);
    return out;
  }
  boost::json::object ack;
  ack["AcknowledgedMessageType"] = acked_type;
  ack["AcknowledgedMessageId"] = acked_id;
  ack["AcknowledgedMessageSequenceNumber"] = acked_sequence;
  ack["IsSequentialMessage"] = true;
  return boost::json::serialize(ack);
}

ClientMessage make_acknowledgement(const ClientMessage& acked, std::string message_id,
                                   std::uint64_t created_date) {
  ClientMessage m;
  m.message_type = std::string(message_type::acknowledge);
  m.created_date = created_date;
  m.sequence_number = 0;
  m.flags = kFlagSyn | kFlagFin;
  m.message_id = std::move(message_id);
  m.payload_type = static_cast<std::uint32_t>(PayloadType::none);
  m.payload = acknowledgement_json(acked.message_type, acked.message_id, acked.sequence_number);
  return m;
}

Result<Acknowledgement> try_parse_acknowledgement(std::string_view payload) {
  if (auto plain = parse_plain_acknowledgement(payload)) return std::move(*plain);
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
