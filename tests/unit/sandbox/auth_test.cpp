#include "sandbox/core/auth.hpp"

#include "ecsh/aws/sigv4.hpp"

#include <gtest/gtest.h>

#include <map>

namespace ecsh::sandbox {
namespace {

using namespace std::chrono_literals;
const auto kNow = std::chrono::sys_days(std::chrono::year(2026) / 11 / 25) + 6h;

struct FakeIdentities : IdentityStore {
  std::map<std::string, SigningKey> keys;
  std::optional<SigningKey> find_key(std::string_view id) const override {
    auto it = keys.find(std::string(id));
    if (it == keys.end()) return std::nullopt;
    return it->second;
  }
};

aws::HttpRequest signed_request(const std::string& key, const std::string& secret,
                                std::chrono::system_clock::time_point when,
                                const std::string& token = {}) {
  aws::HttpRequest r;
  r.method = "POST";
  r.scheme = "http";
  r.host = "127.0.0.1:4566";
  r.path = "/";
  r.headers.push_back({"Content-Type", "application/x-amz-json-1.1"});
  r.headers.push_back({"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"});
  r.body = "{}";
  aws::Credentials c;
  c.access_key_id = key;
  c.secret_access_key = secret;
  c.session_token = token;
  aws::SigningScope scope;
  scope.region = "eu-west-1";
  scope.service = "ecs";
  scope.time = when;
  aws::sign_request(r, c, scope);
  return r;
}

class Auth : public ::testing::Test {
 protected:
  void SetUp() override {
    SigningKey admin;
    admin.secret_access_key = "s3cret";
    admin.caller.arn = "arn:aws:iam::000000000000:root";
    admin.caller.is_root = true;
    ids.keys["AKIAADMIN"] = admin;
    SigningKey temp;
    temp.secret_access_key = "tempsecret";
    temp.session_token = "TOKEN";
    temp.expiration = kNow + 1h;
    temp.caller.arn = "arn:aws:sts::000000000000:assumed-role/r/s";
    ids.keys["ASIATEMP"] = temp;
  }
  FakeIdentities ids;
};

TEST_F(Auth, AcceptsACorrectSignatureAndReportsTheCallerAndScope) {
  auto v = verify_sigv4(signed_request("AKIAADMIN", "s3cret", kNow), ids, Protocol::json, kNow);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v.value().caller.arn, "arn:aws:iam::000000000000:root");
  EXPECT_EQ(v.value().region, "eu-west-1");
  EXPECT_EQ(v.value().service, "ecs");
}

TEST_F(Auth, RejectsAWrongSecretWithTheProtocolsCode) {
  auto r = signed_request("AKIAADMIN", "wrong", kNow);
  auto json = verify_sigv4(r, ids, Protocol::json, kNow);
  ASSERT_FALSE(json);
  EXPECT_EQ(json.error().code, "InvalidSignatureException");
  EXPECT_NE(json.error().message.find("does not match the signature you provided"),
            std::string::npos);
  auto query = verify_sigv4(r, ids, Protocol::query, kNow);
  ASSERT_FALSE(query);
  EXPECT_EQ(query.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(query.error().http_status, 403);
}

TEST_F(Auth, RejectsATamperedBody) {
  auto r = signed_request("AKIAADMIN", "s3cret", kNow);
  r.body = R"({"clusters":["x"]})";
  EXPECT_FALSE(verify_sigv4(r, ids, Protocol::json, kNow));
}

TEST_F(Auth, UnknownKeyAndMissingHeader) {
  auto unknown = verify_sigv4(signed_request("AKIANOBODY", "x", kNow), ids, Protocol::json, kNow);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "UnrecognizedClientException");
  EXPECT_EQ(unknown.error().message, "The security token included in the request is invalid.");
  auto r = signed_request("AKIAADMIN", "s3cret", kNow);
  r.remove_header("authorization");
  auto missing = verify_sigv4(r, ids, Protocol::query, kNow);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "MissingAuthenticationToken");
}

TEST_F(Auth, ClockSkewBeyondFifteenMinutesIsSignatureExpired) {
  auto r = signed_request("AKIAADMIN", "s3cret", kNow - 16min);
  auto v = verify_sigv4(r, ids, Protocol::json, kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, "InvalidSignatureException");
  EXPECT_EQ(v.error().message,
            "Signature expired: 20261125T054400Z is now earlier than 20261125T054500Z "
            "(20261125T060000Z - 15 min.)");
  EXPECT_TRUE(
      verify_sigv4(signed_request("AKIAADMIN", "s3cret", kNow - 14min), ids, Protocol::json, kNow));
  EXPECT_FALSE(
      verify_sigv4(signed_request("AKIAADMIN", "s3cret", kNow + 16min), ids, Protocol::json, kNow));
}

TEST_F(Auth, SessionTokensAreEnforcedAndExpire) {
  EXPECT_TRUE(verify_sigv4(signed_request("ASIATEMP", "tempsecret", kNow, "TOKEN"), ids,
                           Protocol::json, kNow));
  auto no_token =
      verify_sigv4(signed_request("ASIATEMP", "tempsecret", kNow), ids, Protocol::json, kNow);
  ASSERT_FALSE(no_token);
  EXPECT_EQ(no_token.error().code, "UnrecognizedClientException");
  auto wrong = verify_sigv4(signed_request("ASIATEMP", "tempsecret", kNow, "OTHER"), ids,
                            Protocol::query, kNow);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, "InvalidClientTokenId");
  auto later = kNow + 2h;
  auto expired = verify_sigv4(signed_request("ASIATEMP", "tempsecret", later, "TOKEN"), ids,
                              Protocol::json, later);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, "ExpiredTokenException");
}

}  // namespace
}  // namespace ecsh::sandbox
