// What the session starters read of ECS, SSM and KMS replies: a malformed reply is a protocol
// error naming the field (exit 255), never an exception.

#include "ecsh/connect/exec_session.hpp"
#include "ecsh/connect/instance_exec.hpp"
#include "unit/fake_aws.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

using namespace ecsh;
namespace json = boost::json;

namespace {

std::string protocol_error(const Error& e) {
  EXPECT_EQ(e.kind, ErrorKind::protocol);
  EXPECT_EQ(exit_code_for(e), 255);
  return e.message;
}

ecs::ResolvedTarget target() {
  ecs::ResolvedTarget t;
  t.cluster_arn = "arn:aws:ecs:us-east-1:000000000000:cluster/prod";
  t.cluster_name = "prod";
  t.task.arn = "arn:aws:ecs:us-east-1:000000000000:task/prod/0123456789abcdef0123456789abcdef";
  t.task.id = "0123456789abcdef0123456789abcdef";
  t.task.launch_type = "EC2";
  t.task.container_instance_arn = "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/ci";
  t.container.name = "app";
  t.container.runtime_id = "rt-1";
  return t;
}

}  // namespace

TEST(ConnectReplies, ExecuteCommandsSessionIsRead) {
  fake::FakeAwsClient f;
  f.aws.answer("ExecuteCommand", R"({"session": {"sessionId": "s-1", "streamUrl": "wss://x",
                                     "tokenValue": "tok"}})");
  const auto t = target();
  const std::string command = "sh";
  auto s = fake::run(connect::start_ecs_session(*f.client, t, command));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s.value().session_id, "s-1");
  EXPECT_EQ(s.value().stream_url, "wss://x");
}

TEST(ConnectReplies, AMalformedSessionIsAProtocolError) {
  fake::FakeAwsClient f;
  const auto t = target();
  const std::string command = "sh";
  f.aws.answer("ExecuteCommand", R"({"session": {"sessionId": "s-1", "streamUrl": 443}})");
  auto wrong = fake::run(connect::start_ecs_session(*f.client, t, command));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(protocol_error(wrong.error()),
            "the ExecuteCommand response: session.streamUrl is an integer, not a string");
  f.aws.answer("ExecuteCommand", R"({"session": ["s-1"]})");
  auto array = fake::run(connect::start_ecs_session(*f.client, t, command));
  ASSERT_FALSE(array);
  EXPECT_EQ(protocol_error(array.error()),
            "the ExecuteCommand response: session is an array, not an object");
  f.aws.answer("ExecuteCommand", R"({"session": {}})");
  auto none = fake::run(connect::start_ecs_session(*f.client, t, command));
  ASSERT_FALSE(none);
  EXPECT_EQ(protocol_error(none.error()), "ExecuteCommand returned no session");
  f.aws.answer("StartSession", R"({"SessionId": "s", "StreamUrl": "wss://x", "TokenValue": {}})");
  const std::string instance = "i-1", document = "AWS-StartInteractiveCommand";
  const std::map<std::string, std::vector<std::string>> parameters;
  auto start =
      fake::run(connect::start_document_session(*f.client, instance, document, parameters));
  ASSERT_FALSE(start);
  EXPECT_EQ(protocol_error(start.error()),
            "the StartSession response: TokenValue is an object, not a string");
}

TEST(ConnectReplies, MalformedResumeAndDataKeyRepliesAreProtocolErrors) {
  fake::FakeAwsClient f;
  connect::SessionTarget session;
  session.session_id = "s-1";
  connect::ExecSettings settings;
  auto options = connect::transport_options(*f.client, session, "ecs:prod_t_rt", settings);
  f.aws.answer("ResumeSession", R"({"TokenValue": ["t"]})");
  auto resumed = fake::run(options.resume());
  ASSERT_FALSE(resumed);
  EXPECT_EQ(protocol_error(resumed.error()),
            "the ResumeSession response: TokenValue is an array, not a string");
  f.aws.answer("GenerateDataKey", R"({"CiphertextBlob": "AAAA", "Plaintext": 64})");
  auto key = fake::run(options.generate_data_key("arn:key"));
  ASSERT_FALSE(key);
  EXPECT_EQ(protocol_error(key.error()),
            "the GenerateDataKey response: Plaintext is an integer, not a string");
}

TEST(ConnectReplies, TheInstanceOfAContainerInstanceAndItsSsmStatus) {
  fake::FakeAwsClient f;
  const auto t = target();
  f.aws.answer("DescribeContainerInstances",
               R"({"containerInstances": [{"ec2InstanceId": "i-1"}]})");
  f.aws.answer("DescribeInstanceInformation",
               R"({"InstanceInformationList": [{"InstanceId": "i-0", "PingStatus": "Online"},
                                               {"InstanceId": "i-1", "PingStatus": "ConnectionLost"}]})");
  auto info = fake::run(connect::find_instance(*f.client, t, true));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info.value().instance_id, "i-1");
  EXPECT_EQ(info.value().ssm_ping_status, "ConnectionLost");
  EXPECT_FALSE(info.value().ssm_managed);
}

TEST(ConnectReplies, AMalformedContainerInstanceOrInstanceListIsAProtocolError) {
  fake::FakeAwsClient f;
  const auto t = target();
  f.aws.answer("DescribeContainerInstances", R"({"containerInstances": [{"ec2InstanceId": 1}]})");
  auto bad_ci = fake::run(connect::find_instance(*f.client, t, true));
  ASSERT_FALSE(bad_ci);
  EXPECT_EQ(protocol_error(bad_ci.error()),
            "the DescribeContainerInstances response: containerInstances[0].ec2InstanceId is an "
            "integer, not a string");

  f.aws.answer("DescribeContainerInstances",
               R"({"containerInstances": [{"ec2InstanceId": "i-1"}]})");
  f.aws.answer("DescribeInstanceInformation", R"({"InstanceInformationList": {"i-1": "Online"}})");
  auto bad_list = fake::run(connect::find_instance(*f.client, t, true));
  ASSERT_FALSE(bad_list);
  EXPECT_EQ(protocol_error(bad_list.error()),
            "the DescribeInstanceInformation response: InstanceInformationList is an object, not "
            "an array");

  auto no_id = connect::ssm_ping_status(
      json::parse(R"({"InstanceInformationList": [{"PingStatus": "Online"}]})").as_object(), "i-1");
  ASSERT_FALSE(no_id);
  EXPECT_EQ(protocol_error(no_id.error()),
            "the DescribeInstanceInformation response: InstanceInformationList[0].InstanceId is "
            "missing");
}
