#include "ecsh/session/message.hpp"
#include "ecsh/common/crypto.hpp"

#include <gtest/gtest.h>

using namespace ecsh;
using namespace ecsh::session;

namespace {

std::string unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    if (h[i] == ' ') {
      --i;
      continue;
    }
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// output_stream_data, seq 3, no flags, created 1700000000000 ms, id
// 00112233-4455-6677-8899-aabbccddeeff, payload type 1, payload "hello" — written out by hand
// from the layout in docs/protocol.md §3.3, not by our encoder.
std::string hand_built_frame() {
  std::string type = "output_stream_data";
  type.resize(32, ' ');
  return unhex("00000074") + type + unhex("00000001") +  // header length 116, type, schema 1
         unhex("0000018bcfe56800") +                     // CreatedDate 1700000000000
         unhex("0000000000000003") +                     // SequenceNumber 3
         unhex("0000000000000000") +                     // Flags
         unhex("8899aabbccddeeff0011223344556677") +     // MessageId, halves swapped
         unhex("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824") +  // sha256
         unhex("00000001") + unhex("00000005") + "hello";  // PayloadType, PayloadLength, payload
}

ClientMessage hello() {
  ClientMessage m;
  m.message_type = "output_stream_data";
  m.created_date = 1700000000000;
  m.sequence_number = 3;
  m.message_id = "00112233-4455-6677-8899-aabbccddeeff";
  m.payload_type = 1;
  m.payload = "hello";
  return m;
}

}  // namespace

TEST(Frame, EncodesByteForByteAsTheDocumentedLayout) {
  EXPECT_EQ(ecsh::crypto::hex(encode(hello())), ecsh::crypto::hex(hand_built_frame()));
}

TEST(Frame, DecodesTheHandBuiltFrame) {
  auto m = try_decode(hand_built_frame());
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m.value().message_type, "output_stream_data");
  EXPECT_EQ(m.value().schema_version, 1u);
  EXPECT_EQ(m.value().created_date, 1700000000000u);
  EXPECT_EQ(m.value().sequence_number, 3);
  EXPECT_EQ(m.value().flags, 0u);
  EXPECT_EQ(m.value().message_id, "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_EQ(m.value().payload_type, 1u);
  EXPECT_EQ(m.value().payload, "hello");
}

TEST(Frame, RejectsMalformedFramesWithoutCrashing) {
  auto good = hand_built_frame();
  EXPECT_FALSE(try_decode(""));
  EXPECT_FALSE(try_decode(good.substr(0, 119)));
  auto bad_header = good;
  bad_header[3] = 0x10;  // header length 16
  EXPECT_FALSE(try_decode(bad_header));
  auto huge_header = good;
  huge_header[0] = 0x7f;
  EXPECT_FALSE(try_decode(huge_header));
  auto no_type = good;
  no_type.replace(4, 32, std::string(32, ' '));
  EXPECT_FALSE(try_decode(no_type));
  auto no_date = good;
  no_date.replace(40, 8, std::string(8, '\0'));
  EXPECT_FALSE(try_decode(no_date));
  auto tampered = good;
  tampered.back() = 'O';
  auto t = try_decode(tampered);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("digest"), std::string::npos);
}

TEST(Frame, DigestRulesFollowThePlugin) {
  // PayloadLength 0: the digest is not checked, and the payload is the rest of the frame anyway.
  auto frame = hand_built_frame();
  frame.replace(116, 4, std::string(4, '\0'));
  frame.replace(80, 32, std::string(32, 'x'));
  auto m = try_decode(frame);
  ASSERT_TRUE(m);
  EXPECT_EQ(m.value().payload, "hello");
  // pause_publication is never checked.
  auto pause = hello();
  pause.message_type = "pause_publication";
  auto p = encode(pause);
  p.replace(80, 32, std::string(32, 'x'));
  EXPECT_TRUE(try_decode(p));
}

TEST(Frame, MessageTypeIsSpacePaddedAndNulTolerant) {
  auto frame = encode(hello());
  EXPECT_EQ(frame.substr(4 + 18, 14), std::string(14, ' '));
  frame.replace(4 + 18, 14, std::string(14, '\0'));
  auto m = try_decode(frame);
  ASSERT_TRUE(m);
  EXPECT_EQ(m.value().message_type, "output_stream_data");
}

TEST(Frame, UuidSwapRoundTrips) {
  auto wire = uuid_to_wire("00112233-4455-6677-8899-aabbccddeeff");
  ASSERT_TRUE(wire);
  EXPECT_EQ(uuid_from_wire(*wire), "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_FALSE(uuid_to_wire("not-a-uuid"));
  EXPECT_FALSE(uuid_to_wire("00112233-4455-6677-8899-aabbccddeefg"));
}

TEST(Acknowledgement, CarriesTypeIdAndSequence) {
  auto ack = make_acknowledgement(hello(), "ffffffff-0000-4000-8000-000000000001", 1700000000001);
  EXPECT_EQ(ack.message_type, "acknowledge");
  EXPECT_EQ(ack.flags, 3u);
  EXPECT_EQ(ack.sequence_number, 0);
  EXPECT_EQ(ack.payload_type, 0u);
  auto decoded = try_decode(encode(ack));
  ASSERT_TRUE(decoded);
  auto a = try_parse_acknowledgement(decoded.value().payload);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a.value().message_type, "output_stream_data");
  EXPECT_EQ(a.value().message_id, "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_EQ(a.value().sequence_number, 3);
  EXPECT_EQ(
      decoded.value().payload,
      R"({"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"00112233-4455-6677-8899-aabbccddeeff","AcknowledgedMessageSequenceNumber":3,"IsSequentialMessage":true})");
  EXPECT_FALSE(try_parse_acknowledgement("{}"));
  EXPECT_FALSE(try_parse_acknowledgement("not json"));
}

TEST(Acknowledgement, ReadsEveryShapeJsonAllowsAndWritesWhatTheJsonWriterWould) {
  // The compact shape every peer writes is read without a JSON document; any other shape of the
  // same object (spaces, other key order, escapes) reads the same through the parser.
  const std::string compact =
      R"({"AcknowledgedMessageType":"input_stream_data","AcknowledgedMessageId":"0a1b2c3d-4455-6677-8899-aabbccddeeff","AcknowledgedMessageSequenceNumber":4096,"IsSequentialMessage":true})";
  for (
      const std::string& payload : {
          compact,
          std::string(
              R"({ "AcknowledgedMessageType": "input_stream_data", "AcknowledgedMessageId": "0a1b2c3d-4455-6677-8899-aabbccddeeff", "AcknowledgedMessageSequenceNumber": 4096, "IsSequentialMessage": true })"),
          std::string(
              R"({"AcknowledgedMessageSequenceNumber":4096,"IsSequentialMessage":true,"AcknowledgedMessageId":"0a1b2c3d-4455-6677-8899-aabbccddeeff","AcknowledgedMessageType":"input_stream_data"})"),
          std::string(
              R"({"AcknowledgedMessageType":"input\u005fstream_data","AcknowledgedMessageId":"0a1b2c3d-4455-6677-8899-aabbccddeeff","AcknowledgedMessageSequenceNumber":4096,"IsSequentialMessage":true})"),
      }) {
    auto a = try_parse_acknowledgement(payload);
    ASSERT_TRUE(a) << payload;
    EXPECT_EQ(a.value().message_type, "input_stream_data") << payload;
    EXPECT_EQ(a.value().message_id, "0a1b2c3d-4455-6677-8899-aabbccddeeff") << payload;
    EXPECT_EQ(a.value().sequence_number, 4096) << payload;
  }
  // What is not a valid sequence number is refused either way.
  for (const char* bad : {"-", "", "1.5", "0x10", "\"7\"", "99999999999999999999"}) {
    std::string payload = compact;
    payload.replace(payload.find("4096"), 4, bad);
    EXPECT_FALSE(try_parse_acknowledgement(payload)) << payload;
  }
  // Sequence 0, a negative one and leading zeros are read as JSON reads them (or refused).
  auto zero = try_parse_acknowledgement(
      R"({"AcknowledgedMessageType":"t","AcknowledgedMessageId":"i","AcknowledgedMessageSequenceNumber":0,"IsSequentialMessage":true})");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero.value().sequence_number, 0);
  auto negative = try_parse_acknowledgement(
      R"({"AcknowledgedMessageType":"t","AcknowledgedMessageId":"i","AcknowledgedMessageSequenceNumber":-3,"IsSequentialMessage":true})");
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative.value().sequence_number, -3);
  EXPECT_FALSE(try_parse_acknowledgement(
      R"({"AcknowledgedMessageType":"t","AcknowledgedMessageId":"i","AcknowledgedMessageSequenceNumber":007,"IsSequentialMessage":true})"));
  // Written: byte for byte what serializing the JSON object gives, also for strings that need
  // escaping (a frame's message type is whatever 32 bytes the peer sent).
  EXPECT_EQ(acknowledgement_json("input_stream_data", "0a1b2c3d-4455-6677-8899-aabbccddeeff", 4096),
            compact);
  EXPECT_EQ(
      acknowledgement_json("odd\"type\\", "id\n", -1),
      R"({"AcknowledgedMessageType":"odd\"type\\","AcknowledgedMessageId":"id\n","AcknowledgedMessageSequenceNumber":-1,"IsSequentialMessage":true})");
  auto back = try_parse_acknowledgement(acknowledgement_json("odd\"type\\", "id\n", 12));
  ASSERT_TRUE(back);
  EXPECT_EQ(back.value().message_type, "odd\"type\\");
  EXPECT_EQ(back.value().message_id, "id\n");
  EXPECT_EQ(back.value().sequence_number, 12);
}
