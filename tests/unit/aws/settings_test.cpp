#include "ecsh/aws/settings.hpp"

#include "ecsh/common/crypto.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace ecsh;
using namespace ecsh::aws;

namespace {

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ecsh-settings-" + crypto::uuid4());
    std::filesystem::create_directories(dir_);
    env_.home = dir_.string();
    env_.vars["AWS_CONFIG_FILE"] = (dir_ / "config").string();
    env_.vars["AWS_SHARED_CREDENTIALS_FILE"] = (dir_ / "credentials").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }

  std::filesystem::path dir_;
  Environment env_;
};

ServiceId ecs_id() {
  ServiceId s;
  s.id = "ecs";
  s.endpoint_prefix = "ecs";
  s.signing_name = "ecs";
  s.env_suffix = "ECS";
  return s;
}

}  // namespace

TEST_F(SettingsTest, RegionPrecedence) {
  write("config", "[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-south-1\n");
  CommandLineSettings cli;
  EXPECT_EQ(load_settings(cli, env_).value().region, "eu-west-1");
  env_.vars["AWS_PROFILE"] = "dev";
  EXPECT_EQ(load_settings(cli, env_).value().region, "ap-south-1");
  env_.vars["AWS_DEFAULT_REGION"] = "us-west-2";
  EXPECT_EQ(load_settings(cli, env_).value().region, "us-west-2");
  env_.vars["AWS_REGION"] = "us-east-2";
  EXPECT_EQ(load_settings(cli, env_).value().region, "us-east-2");
  cli.region = "sa-east-1";
  EXPECT_EQ(load_settings(cli, env_).value().region, "sa-east-1");
  cli.region = "not a region!";
  EXPECT_FALSE(load_settings(cli, env_));
}

TEST_F(SettingsTest, ARegionAwsDoesNotHaveIsAConfigErrorWhereverItComesFrom) {
  CommandLineSettings cli;
  cli.region = "mars-1";
  auto flag = load_settings(cli, env_);
  ASSERT_FALSE(flag);
  EXPECT_EQ(flag.error().kind, ErrorKind::config);
  EXPECT_EQ(flag.error().message.substr(0, 28), "mars-1 is not an AWS region;");

  // With a custom endpoint too: the request is still signed for the region.
  cli.region = "us-eats-1";
  cli.endpoint_url = "http://127.0.0.1:1";
  auto typo = load_settings(cli, env_);
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().message, "us-eats-1 is not an AWS region; did you mean us-east-1?");

  cli = CommandLineSettings{};
  env_.vars["AWS_REGION"] = "eu-wset-1";
  auto from_env = load_settings(cli, env_);
  ASSERT_FALSE(from_env);
  EXPECT_EQ(from_env.error().message, "eu-wset-1 is not an AWS region; did you mean eu-west-1?");
  EXPECT_NE(from_env.error().hint.find("AWS_REGION"), std::string::npos);
  env_.vars.erase("AWS_REGION");

  write("config", "[profile dev]\nregion = eu-centrl-1\n");
  cli.profile = "dev";
  auto from_file = load_settings(cli, env_);
  ASSERT_FALSE(from_file);
  EXPECT_EQ(from_file.error().message,
            "eu-centrl-1 is not an AWS region; did you mean eu-central-1?");
  EXPECT_NE(from_file.error().hint.find("the profile dev in " + (dir_ / "config").string()),
            std::string::npos);

  // The escape hatch lets a region newer than the table through.
  env_.vars["ECSH_ALLOW_UNKNOWN_REGION"] = "1";
  EXPECT_EQ(load_settings(cli, env_).value().region, "eu-centrl-1");
}

TEST_F(SettingsTest, NoRegionAnywhereIsNotAnErrorUntilAnEndpointIsNeeded) {
  auto s = load_settings(CommandLineSettings{}, env_);
  ASSERT_TRUE(s);
  EXPECT_EQ(s.value().region, "");
  auto e = resolve_endpoint(s.value(), ecs_id());
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("You must specify a region"), std::string::npos);
}

TEST_F(SettingsTest, CredentialsFileValuesWinOverConfig) {
  write("config", "[profile dev]\nregion = eu-west-1\naws_access_key_id = FROMCONFIG\n");
  write("credentials", "[dev]\naws_access_key_id = FROMCREDENTIALS\n");
  CommandLineSettings cli;
  cli.profile = "dev";
  auto s = load_settings(cli, env_).value();
  EXPECT_EQ(s.profile_values.get("aws_access_key_id"), "FROMCREDENTIALS");
  EXPECT_EQ(s.profile_values.get("region"), "eu-west-1");
  EXPECT_TRUE(s.profile_from_flag);
}

TEST_F(SettingsTest, UnknownProfileIsAnErrorNamingBothFiles) {
  CommandLineSettings cli;
  cli.profile = "ghost";
  auto s = load_settings(cli, env_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "The config profile (ghost) could not be found");
  EXPECT_NE(s.error().hint.find("credentials"), std::string::npos);
  // The default profile may be absent.
  EXPECT_TRUE(load_settings(CommandLineSettings{}, env_));
}

TEST_F(SettingsTest, EndpointUrlPrecedence) {
  write("config",
        "[default]\nregion = us-east-1\nendpoint_url = http://profile\nservices = local\n"
        "[services local]\necs =\n  endpoint_url = http://services-section\n");
  CommandLineSettings cli;
  auto host = [&]() {
    return resolve_endpoint(load_settings(cli, env_).value(), ecs_id()).value().endpoint.host;
  };
  EXPECT_EQ(host(), "services-section");
  env_.vars["AWS_ENDPOINT_URL"] = "http://env-global";
  EXPECT_EQ(host(), "env-global");
  env_.vars["AWS_ENDPOINT_URL_ECS"] = "http://env-ecs:8080/base/";
  auto e = resolve_endpoint(load_settings(cli, env_).value(), ecs_id()).value().endpoint;
  EXPECT_EQ(e.host, "env-ecs");
  EXPECT_EQ(e.port, 8080);
  EXPECT_EQ(e.base_path, "/base");
  cli.endpoint_url = "https://flag:4443";
  EXPECT_EQ(host(), "flag");
  cli.endpoint_url.clear();
  env_.vars["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
  EXPECT_EQ(host(), "ecs.us-east-1.amazonaws.com");
}

TEST(Endpoints, PartitionsFipsDualStackAndGlobalIam) {
  AwsSettings s;
  ServiceId ecs = ecs_id();
  s.region = "cn-north-1";
  EXPECT_EQ(resolve_endpoint(s, ecs).value().endpoint.host, "ecs.cn-north-1.amazonaws.com.cn");
  s.region = "us-gov-west-1";
  s.use_fips_endpoint = true;
  EXPECT_EQ(resolve_endpoint(s, ecs).value().endpoint.host, "ecs-fips.us-gov-west-1.amazonaws.com");
  s.use_fips_endpoint = false;
  s.use_dualstack_endpoint = true;
  s.region = "eu-west-1";
  EXPECT_EQ(resolve_endpoint(s, ecs).value().endpoint.host, "ecs.eu-west-1.api.aws");
  ServiceId iam;
  iam.id = iam.endpoint_prefix = iam.signing_name = "iam";
  iam.env_suffix = "IAM";
  iam.global = true;
  s.use_dualstack_endpoint = false;
  auto r = resolve_endpoint(s, iam).value();
  EXPECT_EQ(r.endpoint.host, "iam.amazonaws.com");
  EXPECT_EQ(r.signing_region, "us-east-1");
  s.region.clear();
  auto missing = resolve_endpoint(s, ecs);
  ASSERT_FALSE(missing);
  EXPECT_EQ(exit_code_for(missing.error()), 253);
  EXPECT_NE(missing.error().message.find("You must specify a region"), std::string::npos);
}
