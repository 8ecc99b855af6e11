#include "ecsh/common/log.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace ecsh;

TEST(Redaction, RegisteredSecretsNeverReachTheSink) {
  std::string captured;
  log::set_sink([&](std::string_view line) { captured += std::string(line) + "\n"; });
  log::set_debug(true);
  log::add_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  log::debug("signing with {} twice {}", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  log::set_debug(false);
  log::debug("not printed {}", 1);
  log::set_sink(nullptr);
  EXPECT_EQ(captured.find("wJalrXUtnFEMI"), std::string::npos) << captured;
  EXPECT_NE(captured.find("signing with <redacted> twice <redacted>"), std::string::npos);
  EXPECT_EQ(captured.find("not printed"), std::string::npos);
}

TEST(Redaction, SecretShapedFieldsAreRedactedWithoutRegistration) {
  auto out = log::redact(
      "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ecs/aws4_request, "
      "SignedHeaders=host;x-amz-date, "
      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7\n"
      "X-Amz-Security-Token: FwoGZXIvYXdzEXAMPLETOKEN\n"
      R"({"session":{"sessionId":"s-1","tokenValue":"AAEAAabcdef","streamUrl":"wss://x"}})"
      "\n<SecretAccessKey>abc/def</SecretAccessKey><SessionToken>tok</SessionToken>");
  EXPECT_EQ(out.find("5d672d79"), std::string::npos) << out;
  EXPECT_EQ(out.find("FwoGZXIvYXdzEXAMPLETOKEN"), std::string::npos) << out;
  EXPECT_EQ(out.find("AAEAAabcdef"), std::string::npos) << out;
  EXPECT_EQ(out.find("abc/def"), std::string::npos) << out;
  EXPECT_NE(out.find("Credential=AKIDEXAMPLE"), std::string::npos) << out;
  EXPECT_NE(out.find("\"sessionId\":\"s-1\""), std::string::npos) << out;
}

TEST(Redaction, AwsKeysInATaskDefinitionEnvironmentAreRedacted) {
  // doctor --debug logs DescribeTaskDefinition bodies before it parses them.
  auto out =
      log::redact(R"({"environment":[{"name":"AWS_ACCESS_KEY_ID","value":"AKIAEXAMPLEKEY000001"},)"
                  R"({"name": "AWS_SECRET_ACCESS_KEY", "value": "s3cr3t/first"},)"
                  R"({"value":"s3cr3t/second","name":"AWS_SECRET_ACCESS_KEY"},)"
                  R"({"name":"MODE","value":"visible"}]})");
  EXPECT_EQ(out.find("s3cr3t"), std::string::npos) << out;
  EXPECT_NE(out.find("AKIAEXAMPLEKEY000001"), std::string::npos) << out;
  EXPECT_NE(out.find("visible"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("name":"AWS_SECRET_ACCESS_KEY")"), std::string::npos) << out;
}

TEST(DebugLog, EveryLineCarriesMillisecondsSinceStartInOrder) {
  std::vector<std::string> lines;
  log::set_sink([&](std::string_view line) { lines.emplace_back(line); });
  log::set_debug(true);
  log::debug("first");
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(3);
  while (std::chrono::steady_clock::now() < until) {
  }
  log::debug("second");
  log::set_debug(false);
  log::set_sink(nullptr);
  ASSERT_EQ(lines.size(), 2u);
  std::vector<double> stamps;
  for (const auto& l : lines) {
    ASSERT_EQ(l.rfind("[+", 0), 0u) << l;
    auto close = l.find(" ms] ");
    ASSERT_NE(close, std::string::npos) << l;
    stamps.push_back(std::stod(l.substr(2, close - 2)));
  }
  EXPECT_EQ(lines[0].substr(lines[0].find(" ms] ") + 5), "first");
  EXPECT_GE(stamps[1] - stamps[0], 3.0) << lines[0] << " / " << lines[1];
  double now_ms = std::chrono::duration<double, std::milli>(log::since_start()).count();
  EXPECT_LT(stamps[1], now_ms + 1);
}
