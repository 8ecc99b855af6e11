#include "ecsh/aws/config_file.hpp"

#include <gtest/gtest.h>

using namespace ecsh;
using namespace ecsh::aws;

TEST(ConfigFile, ParsesSectionsNestedMapsAndComments) {
  auto f = parse_config_file(
      "# comment\n"
      "[default]\r\n"
      "region = eu-west-1\n"
      "Output: json\n"
      "; another comment\n"
      "[profile dev]\n"
      "endpoint_url = http://127.0.0.1:4566/x # not a comment\n"
      "s3 =\n"
      "  max_concurrent_requests = 10\n"
      "\tsignature_version = s3v4\n"
      "[services local]\n"
      "ecs =\n"
      "  endpoint_url = http://localhost:1234\n",
      "cfg");
  ASSERT_TRUE(f) << f.error().message;
  const auto& s = f.value().sections;
  EXPECT_EQ(s.at("default").get("region"), "eu-west-1");
  EXPECT_EQ(s.at("default").get("output"), "json");  // keys are case-insensitive
  EXPECT_EQ(s.at("profile dev").get("endpoint_url"), "http://127.0.0.1:4566/x # not a comment");
  EXPECT_EQ(s.at("profile dev").nested.at("s3").at("signature_version"), "s3v4");
  EXPECT_EQ(s.at("services local").nested.at("ecs").at("endpoint_url"), "http://localhost:1234");
}

TEST(ConfigFile, MalformedLinesNameFileAndLine) {
  auto f = parse_config_file("[default]\nregion = x\njust words\n", "/home/u/.aws/config");
  ASSERT_FALSE(f);
  EXPECT_EQ(exit_code_for(f.error()), 253);
  EXPECT_NE(f.error().message.find("/home/u/.aws/config, line 3"), std::string::npos);
  EXPECT_FALSE(parse_config_file("region = x\n", "c"));
  EXPECT_FALSE(parse_config_file("[default\n", "c"));
}

TEST(ConfigFile, MissingFileIsNotAnError) {
  auto f = load_config_file("/nonexistent/ecsh/config");
  ASSERT_TRUE(f);
  EXPECT_FALSE(f.value().has_value());
}
