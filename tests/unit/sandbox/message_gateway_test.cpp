#include "sandbox/ssm/message_gateway.hpp"

#include "ecsh/session/payloads.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace ecsh::sandbox::ssm::gateway {
namespace {
namespace json = boost::json;

const std::string kId1 = "11111111-2222-4333-8444-555555555555";
const std::string kId2 = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

SessionRelay::Stamp stamp(std::string id = kId1) {
  SessionRelay::Stamp s;
  s.created_date = 1700000000000;
  s.message_id = std::move(id);
  s.created_iso8601 = "2023-11-14T22:13:20.000Z";
  return s;
}

std::string data_frame(std::string_view type, std::int64_t seq, std::string payload,
                       std::uint32_t payload_type = 1) {
  session::ClientMessage m;
  m.message_type = std::string(type);
  m.created_date = 1700000000000;
  m.sequence_number = seq;
  m.message_id = kId2;
  m.payload_type = payload_type;
  m.payload = std::move(payload);
  return session::encode(m);
}

std::string type_of(const std::string& frame) {
  auto m = session::try_decode(frame);
  return m ? m.value().message_type : std::string("<undecodable>");
}

TEST(MessageGateway, ParsesTheAgentsChannelPaths) {
  auto c = parse_channel_path("/v1/control-channel/ecs:demo_abc_0123456789ab");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, ChannelKind::control);
  EXPECT_EQ(c->id, "ecs:demo_abc_0123456789ab");
  // The WebSocket's query (stream=input&role=subscribe, role=publish_subscribe) is not the id.
  auto w = parse_channel_path("/v1/control-channel/ecs:x_y_z?role=subscribe&stream=input");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->id, "ecs:x_y_z");
  auto d = parse_channel_path("/v1/data-channel/ecs-execute-command-0123?role=publish_subscribe");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, ChannelKind::data);
  EXPECT_EQ(d->id, "ecs-execute-command-0123");
  EXPECT_FALSE(parse_channel_path("/v1/control-channel/"));
  EXPECT_FALSE(parse_channel_path("/v1/data-channel/a/b"));
  EXPECT_FALSE(parse_channel_path("/"));
}

TEST(MessageGateway, ReadsCreateChannelBodiesAsTheAgentWritesThem) {
  auto c = parse_create_channel_request(
      ChannelKind::control,
      R"({"MessageSchemaVersion":"1.0","RequestId":"0b7e2a4e-6f1d-4c39-9c57-0d7a4cf4b2f1"})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c.value().message_schema_version, "1.0");
  auto d = parse_create_channel_request(
      ChannelKind::data,
      R"({"MessageSchemaVersion":"1.0","RequestId":"0b7e2a4e-6f1d-4c39-9c57-0d7a4cf4b2f1","ClientId":"c1"})");
  ASSERT_TRUE(d);
  EXPECT_EQ(d.value().client_id, "c1");
  // The model's constraints: RequestId of 16 characters or more; ClientId present for data
  // channels, but empty is what agent 3.3.0.0 sends (it never sets it).
  EXPECT_FALSE(parse_create_channel_request(ChannelKind::control,
                                            R"({"MessageSchemaVersion":"1.0","RequestId":"x"})"));
  EXPECT_TRUE(parse_create_channel_request(
      ChannelKind::data,
      R"({"MessageSchemaVersion":"1.0","RequestId":"0b7e2a4e-6f1d-4c39-9c57-0d7a4cf4b2f1","ClientId":""})"));
  EXPECT_FALSE(parse_create_channel_request(
      ChannelKind::data,
      R"({"MessageSchemaVersion":"1.0","RequestId":"0b7e2a4e-6f1d-4c39-9c57-0d7a4cf4b2f1"})"));
  EXPECT_FALSE(parse_create_channel_request(ChannelKind::control, "not json"));
}

TEST(MessageGateway, AnswersWithTheXmlTheAgentUnmarshals) {
  EXPECT_EQ(create_channel_response_xml(ChannelKind::control, "t<&>"),
            "<CreateControlChannelResponse><MessageSchemaVersion>1.0</MessageSchemaVersion>"
            "<TokenValue>t&lt;&amp;&gt;</TokenValue></CreateControlChannelResponse>");
  EXPECT_NE(create_channel_response_xml(ChannelKind::data, "t").find("CreateDataChannelResponse"),
            std::string::npos);
}

TEST(MessageGateway, TellsAnAgentsOpenFrameFromAClients) {
  auto control = parse_open_channel(
      R"({"Cookie":null,"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"t","AgentVersion":"3.3.0.0","PlatformType":"linux"})");
  ASSERT_TRUE(control) << control.error().message;
  EXPECT_TRUE(control.value().from_agent());
  EXPECT_EQ(control.value().agent_version, "3.3.0.0");
  auto agent = parse_open_channel(
      R"({"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"t","ClientInstanceId":"ecs:a_b_c","ClientId":"id"})");
  ASSERT_TRUE(agent);
  EXPECT_TRUE(agent.value().from_agent());
  EXPECT_EQ(agent.value().client_instance_id, "ecs:a_b_c");
  auto client = parse_open_channel(
      R"({"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"t","ClientId":"id","ClientVersion":"1.2.677.0"})");
  ASSERT_TRUE(client);
  EXPECT_FALSE(client.value().from_agent());
  EXPECT_EQ(client.value().token, "t");
}

TEST(MessageGateway, AnnouncesASessionAsTheAgentParsesIt) {
  SessionAnnouncement s;
  s.session_id = "ecs-execute-command-0a1b";
  s.document_name = "AmazonECS-ExecuteInteractiveCommand";
  s.session_type = "InteractiveCommands";
  s.command = "/bin/sh -c 'echo hi'";
  s.kms_key_id = "arn:aws:kms:us-east-1:000000000000:key/k";
  s.session_owner = "arn:aws:iam::000000000000:root";
  auto m = interactive_shell_message(s, 1700000000000, kId1);
  EXPECT_EQ(m.message_type, "interactive_shell");
  EXPECT_EQ(m.sequence_number, 0);
  // Round trip through the codec: a control-channel AgentMessage is a ClientMessage.
  auto back = session::try_decode(session::encode(m));
  ASSERT_TRUE(back);
  // MGSPayload {Content: <AgentTaskPayload as a string>, TaskId, Topic, SchemaVersion}.
  auto envelope = json::parse(back.value().payload).as_object();
  EXPECT_EQ(envelope.at("TaskId").as_string(), s.session_id);
  auto task = json::parse(envelope.at("Content").as_string()).as_object();
  EXPECT_EQ(task.at("SessionId").as_string(), s.session_id);
  EXPECT_EQ(task.at("DocumentName").as_string(), s.document_name);
  EXPECT_EQ(task.at("SessionOwner").as_string(), s.session_owner);
  const auto& doc = task.at("DocumentContent").as_object();
  EXPECT_EQ(doc.at("sessionType").as_string(), "InteractiveCommands");
  EXPECT_EQ(doc.at("schemaVersion").as_string(), "1.0");
  EXPECT_EQ(doc.at("inputs").as_object().at("kmsKeyId").as_string(), s.kms_key_id);
  EXPECT_EQ(doc.at("properties").as_object().at("linux").as_object().at("commands").as_string(),
            s.command);

  SessionAnnouncement p;
  p.session_id = "s";
  p.session_type = "Port";
  p.port_number = "5432";
  p.port_type = "LocalPortForwarding";
  p.port_host = "db.internal";
  auto port = json::parse(agent_task_payload_json(p)).as_object();
  const auto& props = port.at("DocumentContent").as_object().at("properties").as_object();
  EXPECT_EQ(props.at("portNumber").as_string(), "5432");
  EXPECT_EQ(props.at("type").as_string(), "LocalPortForwarding");
  EXPECT_EQ(props.at("host").as_string(), "db.internal");
}

TEST(MessageGateway, AcknowledgesTheAgentsTaskComplete) {
  session::ClientMessage m;
  m.message_type = "agent_task_complete";
  m.created_date = 1700000000000;
  m.message_id = kId2;
  m.payload =
      R"({"SchemaVersion":1,"TaskId":"sess","Topic":"aws.ssm.sendCommand.test","FinalTaskStatus":"Failed","IsRoutingFailure":false,"AwsAccountId":"","InstanceId":"ecs:a_b_c","Output":"boom","S3Bucket":"","S3UrlSuffix":"","CwlGroup":"","CwlStream":"","RetryNumber":0})";
  auto t = parse_task_complete(m);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t.value().session_id, "sess");
  EXPECT_EQ(t.value().final_status, "Failed");
  EXPECT_EQ(t.value().output, "boom");
  auto ack = task_acknowledge_message(t.value(), 1700000000001, kId1);
  EXPECT_EQ(ack.message_type, "agent_task_acknowledge");
  auto o = json::parse(ack.payload).as_object();
  EXPECT_EQ(o.at("MessageId").as_string(), kId2);  // the agent matches the reply by this
  EXPECT_EQ(o.at("TaskId").as_string(), "sess");
  m.message_type = "agent_session_state";
  EXPECT_FALSE(parse_task_complete(m));
}

TEST(MessageGateway, ClosesASessionOnTheControlChannel) {
  auto m = control_channel_closed_message("sess", "ecs:a_b_c", "2023-11-14T22:13:20.000Z",
                                          1700000000000, kId1);
  EXPECT_EQ(m.message_type, "channel_closed");
  auto o = json::parse(m.payload).as_object();
  EXPECT_EQ(o.at("SessionId").as_string(), "sess");
  EXPECT_EQ(o.at("MessageId").as_string(), kId1);
}

TEST(SessionRelay, PassesFramesThroughUnchangedBothWays) {
  SessionRelay r("sess");
  EXPECT_TRUE(r.client_connected(stamp()).to_agent.empty());
  auto a = r.agent_connected(stamp());
  EXPECT_TRUE(a.to_agent.empty());  // a client is there: no pause
  std::string out = data_frame("output_stream_data", 0, "hello");
  auto o = r.agent_frame(out);
  ASSERT_EQ(o.to_client.size(), 1u);
  EXPECT_EQ(o.to_client[0], out);  // byte for byte: sequence numbers are end to end
  std::string in = data_frame("acknowledge", 0, "{}", 0);
  auto i = r.client_frame(in);
  ASSERT_EQ(i.to_agent.size(), 1u);
  EXPECT_EQ(i.to_agent[0], in);
}

TEST(SessionRelay, HoldsTheClientsFramesUntilTheAgentConnects) {
  SessionRelay r("sess");
  r.client_connected(stamp());
  std::string size = data_frame("input_stream_data", 0, R"({"cols":80,"rows":24})", 3);
  EXPECT_TRUE(r.client_frame(size).to_agent.empty());
  EXPECT_EQ(r.held_bytes(), size.size());
  auto a = r.agent_connected(stamp());
  ASSERT_EQ(a.to_agent.size(), 1u);
  EXPECT_EQ(a.to_agent[0], size);
  EXPECT_EQ(r.held_bytes(), 0u);
}

TEST(SessionRelay, PausesTheAgentWhileNoClientIsConnected) {
  SessionRelay r("sess");
  auto a = r.agent_connected(stamp());
  ASSERT_EQ(a.to_agent.size(), 1u);
  EXPECT_EQ(type_of(a.to_agent[0]), "pause_publication");
  // Output with no client is dropped (the agent resends it after start_publication).
  EXPECT_TRUE(r.agent_frame(data_frame("output_stream_data", 0, "x")).to_client.empty());
  auto c = r.client_connected(stamp());
  ASSERT_EQ(c.to_agent.size(), 1u);
  EXPECT_EQ(type_of(c.to_agent[0]), "start_publication");
  auto d = r.client_disconnected(stamp());
  ASSERT_EQ(d.to_agent.size(), 1u);
  EXPECT_EQ(type_of(d.to_agent[0]), "pause_publication");
}

TEST(SessionRelay, KeepsAgentSessionStateAndEndsWithTheAgentsOutput) {
  SessionRelay r("sess");
  r.client_connected(stamp());
  r.agent_connected(stamp());
  auto s = r.agent_frame(
      data_frame("agent_session_state", 0, session::session_state_json("Terminating", "sess"), 0));
  EXPECT_TRUE(s.to_client.empty());
  EXPECT_TRUE(r.agent_terminating());
  r.agent_disconnected();
  auto end = r.task_completed("", stamp(kId2));
  ASSERT_EQ(end.to_client.size(), 1u);
  auto m = session::try_decode(end.to_client[0]);
  ASSERT_TRUE(m);
  EXPECT_EQ(m.value().message_type, "channel_closed");
  EXPECT_EQ(m.value().flags, 3u);
  auto closed = session::parse_channel_closed(m.value().payload);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed.value().session_id, "sess");
  EXPECT_EQ(closed.value().output, "");
  EXPECT_TRUE(end.close_client);
  EXPECT_TRUE(end.finished);
  EXPECT_TRUE(r.finished());
  // Later frames go nowhere; a client coming back is closed.
  EXPECT_TRUE(r.client_frame(data_frame("acknowledge", 0, "{}", 0)).to_agent.empty());
  EXPECT_TRUE(r.client_connected(stamp()).close_client);
}

TEST(SessionRelay, TerminateTellsBothSides) {
  SessionRelay r("sess");
  r.client_connected(stamp());
  r.agent_connected(stamp());
  auto t = r.terminate("", stamp());
  ASSERT_EQ(t.to_client.size(), 1u);
  ASSERT_EQ(t.to_agent.size(), 1u);
  EXPECT_EQ(type_of(t.to_agent[0]), "channel_closed");
  EXPECT_TRUE(t.close_agent);
  EXPECT_TRUE(r.terminate("", stamp()).to_client.empty());  // once
}

}  // namespace
}  // namespace ecsh::sandbox::ssm::gateway
