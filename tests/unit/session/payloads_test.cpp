#include "ecsh/session/payloads.hpp"

#include <gtest/gtest.h>

using namespace ecsh;
using namespace ecsh::session;

// The shape from docs/protocol.md §5.2, as an agent sends it.
TEST(Handshake, ParsesTheAgentsRequest) {
  auto r = parse_handshake_request(
      R"({"AgentVersion":"3.3.40.0","RequestedClientActions":[)"
      R"({"ActionType":"SessionType","ActionParameters":{"SessionType":"InteractiveCommands","Properties":null}},)"
      R"({"ActionType":"KMSEncryption","ActionParameters":{"KMSKeyId":"arn:aws:kms:eu-west-1:1:key/k","Challenge":"AAECAwQFBgcICQoLDA0ODw=="}},)"
      R"({"ActionType":"Telepathy","ActionParameters":{}}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r.value().agent_version, "3.3.40.0");
  ASSERT_TRUE(r.value().session_type);
  EXPECT_EQ(r.value().session_type->session_type, "InteractiveCommands");
  EXPECT_EQ(r.value().session_type->properties_json, "null");
  ASSERT_TRUE(r.value().kms_encryption);
  EXPECT_EQ(r.value().kms_encryption->kms_key_id, "arn:aws:kms:eu-west-1:1:key/k");
  ASSERT_EQ(r.value().other_actions.size(), 1u);
  // Round trip through our writer (the sandbox's agent uses it).
  auto again = parse_handshake_request(to_json(r.value()));
  ASSERT_TRUE(again);
  EXPECT_EQ(again.value().kms_encryption->challenge, "AAECAwQFBgcICQoLDA0ODw==");
  EXPECT_FALSE(parse_handshake_request("[]"));
  EXPECT_FALSE(parse_handshake_request(R"({"AgentVersion":"1"})"));
  EXPECT_FALSE(parse_handshake_request(R"({"RequestedClientActions":[1]})"));
}

TEST(Handshake, AnswersLikeThePluginWithAModernClientVersion) {
  HandshakeRequest req;
  SessionTypeAction st;
  st.session_type = "InteractiveCommands";
  req.session_type = st;
  KmsEncryptionAction kms;
  kms.kms_key_id = "k";
  req.kms_encryption = kms;
  req.other_actions.push_back("Telepathy");
  auto resp = answer_handshake(req, std::string("\x01\x02\x03", 3));
  EXPECT_EQ(resp.client_version, "1.2.677.0");
  auto json = to_json(resp);
  EXPECT_EQ(
      json,
      R"({"ClientVersion":"1.2.677.0","ProcessedClientActions":[)"
      R"({"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""},)"
      R"({"ActionType":"KMSEncryption","ActionStatus":1,"ActionResult":{"KMSCipherTextKey":"AQID","KMSCipherTextHash":null},"Error":""},)"
      R"({"ActionType":"Telepathy","ActionStatus":3,"ActionResult":null,"Error":"Unsupported action Telepathy"}],"Errors":null})");
  auto parsed = parse_handshake_response(json);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_TRUE(parsed.value().kms_ciphertext_key);
  EXPECT_EQ(*parsed.value().kms_ciphertext_key, std::string("\x01\x02\x03", 3));
  EXPECT_EQ(parsed.value().actions.at(2).status, ActionStatus::unsupported);

  // Malformed answers: an unknown status is not success; a KMS success needs its key.
  auto odd = parse_handshake_response(
      R"({"ClientVersion":"1","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":99999999999}]})");
  ASSERT_TRUE(odd);
  EXPECT_NE(odd.value().actions.at(0).status, ActionStatus::success);
  EXPECT_FALSE(parse_handshake_response(
      R"({"ProcessedClientActions":[{"ActionType":"KMSEncryption","ActionStatus":1,"ActionResult":{}}]})"));
  EXPECT_FALSE(parse_handshake_response("[]"));

  req.session_type->session_type = "Bogus";
  auto bad = answer_handshake(req, std::nullopt);
  EXPECT_EQ(bad.actions.at(0).status, ActionStatus::failed);
  EXPECT_EQ(bad.actions.at(0).error, "Unknown session type Bogus");
  EXPECT_EQ(bad.actions.at(1).status, ActionStatus::failed);
  EXPECT_EQ(bad.errors.size(), 2u);
}

TEST(Handshake, CompleteAndChallenge) {
  auto c = parse_handshake_complete(
      R"({"HandshakeTimeToComplete":1500000,"CustomerMessage":"This session is encrypted using AWS KMS."})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c.value().time_to_complete_ns, 1500000);
  EXPECT_EQ(c.value().customer_message, "This session is encrypted using AWS KMS.");
  EXPECT_FALSE(parse_handshake_complete("nope"));
  EXPECT_EQ(challenge_json("\x01\x02\x03"), R"({"Challenge":"AQID"})");
  EXPECT_EQ(parse_challenge(R"({"Challenge":"AQID"})").value(), "\x01\x02\x03");
  EXPECT_FALSE(parse_challenge(R"({"Challenge":"%%%"})"));
  EXPECT_FALSE(parse_challenge(R"({})"));
}

TEST(Payloads, SizeFlagStateAndChannelClosed) {
  TerminalSize s;
  s.cols = 120;
  s.rows = 40;
  EXPECT_EQ(size_json(s), R"({"cols":120,"rows":40})");
  auto back = parse_size(R"({"rows":40,"cols":120})");
  ASSERT_TRUE(back);
  EXPECT_EQ(back.value().cols, 120u);
  EXPECT_FALSE(parse_size(R"({"cols":-1,"rows":2})"));
  EXPECT_FALSE(parse_size(R"({"cols":"80","rows":2})"));

  EXPECT_EQ(flag_payload(Flag::terminate_session), std::string("\0\0\0\x02", 4));
  EXPECT_EQ(parse_flag(std::string("\0\0\0\x03", 4)).value(), 3u);
  EXPECT_FALSE(parse_flag("\x01"));

  EXPECT_EQ(parse_session_state(session_state_json("Terminating", "s-1")).value(), "Terminating");
  EXPECT_FALSE(parse_session_state("{}"));

  auto closed = parse_channel_closed(
      R"({"MessageId":"m","CreatedDate":"2024-10-10T10:00:00.000Z","DestinationId":"d","SessionId":"s","MessageType":"channel_closed","SchemaVersion":1,"Output":"Plugin with name X not found."})");
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed.value().output, "Plugin with name X not found.");
  EXPECT_EQ(closed.value().session_id, "s");
  ChannelClosed c;
  c.output = "bye";
  EXPECT_EQ(parse_channel_closed(to_json(c, "2024")).value().output, "bye");
  EXPECT_FALSE(parse_channel_closed("not json"));
}
