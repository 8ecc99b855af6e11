#include "ecsh/common/log.hpp"

#include <gtest/gtest.h>

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
