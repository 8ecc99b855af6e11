#include "ecsh/plugin/plugin_args.hpp"

#include <gtest/gtest.h>

using namespace ecsh::plugin;

namespace {
const std::string kEcsSession =
    R"({"sessionId": "ecs-execute-command-0228164ca8ff6e2c1", "streamUrl": "wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/ecs-execute-command-0228164ca8ff6e2c1?role=publish_subscribe&cell-number=AAEAAQ+/x==", "tokenValue": "AAEAAHl0b2tlbg=="})";
}

TEST(PluginArgs, NoArgumentsIsTheInstallCheck) {
  auto inv = parse_plugin_args({}, {});
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv.value().kind, PluginInvocation::Kind::banner);
}

TEST(PluginArgs, VersionFlag) {
  auto inv = parse_plugin_args({"--version"}, {});
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv.value().kind, PluginInvocation::Kind::version);
}

TEST(PluginArgs, EcsExecuteCommandFormWithCamelCaseKeys) {
  auto inv = parse_plugin_args(
      {kEcsSession, "eu-west-1", "StartSession", "dev", R"({"Target": "ecs:demo_0123_0123-456"})",
       "https://ecs.eu-west-1.amazonaws.com"},
      {});
  ASSERT_TRUE(inv) << inv.error().message;
  const auto& s = inv.value().session;
  EXPECT_EQ(s.session_id, "ecs-execute-command-0228164ca8ff6e2c1");
  // The stream URL is kept byte for byte: '+', '/' and '=' in cell-number are not re-encoded.
  EXPECT_NE(s.stream_url.find("cell-number=AAEAAQ+/x=="), std::string::npos);
  EXPECT_EQ(s.token_value, "AAEAAHl0b2tlbg==");
  EXPECT_EQ(s.region, "eu-west-1");
  EXPECT_EQ(s.profile, "dev");
  EXPECT_EQ(s.target, "ecs:demo_0123_0123-456");
  EXPECT_EQ(s.endpoint_url, "https://ecs.eu-west-1.amazonaws.com");
  EXPECT_FALSE(s.token_from_environment);
}

TEST(PluginArgs, SsmStartSessionReadsTheResponseFromTheEnvironment) {
  std::map<std::string, std::string> env{
      {"AWS_SSM_START_SESSION_RESPONSE",
       R"({"SessionId":"s-1","TokenValue":"tok","StreamUrl":"wss://h/v1/data-channel/s-1"})"}};
  auto inv = parse_plugin_args({"AWS_SSM_START_SESSION_RESPONSE", "us-east-1", "StartSession", "",
                                R"({"Target":"i-0123"})", "https://ssm.us-east-1.amazonaws.com"},
                               env);
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(inv.value().session.session_id, "s-1");
  EXPECT_TRUE(inv.value().session.token_from_environment);
  auto missing = parse_plugin_args(
      {"AWS_SSM_START_SESSION_RESPONSE", "us-east-1", "StartSession", "", "{}", "x"}, {});
  ASSERT_FALSE(missing);
}

TEST(PluginArgs, LegacyFormWithoutProfile) {
  auto inv = parse_plugin_args({kEcsSession, "eu-west-1", "StartSession"}, {});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(inv.value().session.profile, "");
  EXPECT_EQ(inv.value().session.target, "");
}

TEST(PluginArgs, RejectsWhatTheOfficialPluginRejects) {
  EXPECT_FALSE(parse_plugin_args({"x", "y"}, {}));
  EXPECT_FALSE(parse_plugin_args({kEcsSession, "r", "TerminateSession", "p"}, {}));
  EXPECT_FALSE(parse_plugin_args({"not json", "r", "StartSession", "p"}, {}));
  EXPECT_FALSE(parse_plugin_args({R"({"SessionId":"s"})", "r", "StartSession", "p"}, {}));
  EXPECT_FALSE(parse_plugin_args({kEcsSession, "r", "StartSession", "p", R"({"Target": 5})"}, {}));
}
