// SigV4 unit tests. Expected values come from the AWS documentation examples and from botocore
// 1.29 (SigV4Auth / SigV4QueryAuth with the clock pinned), which the AWS CLI signs with.

#include "ecsh/aws/sigv4.hpp"
#include "ecsh/common/log.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

using namespace ecsh::aws;
using namespace std::chrono;

namespace {

constexpr const char* kAkid = "AKIDEXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// 2015-08-30T12:36:00Z, the time of the AWS documentation examples.
system_clock::time_point example_time() {
  return sys_days{year{2015} / August / 30} + hours{12} + minutes{36};
}

Credentials creds(std::string token = {}) {
  Credentials c;
  c.access_key_id = kAkid;
  c.secret_access_key = kSecret;
  c.session_token = std::move(token);
  return c;
}

SigningScope scope(std::string region, std::string service) {
  SigningScope s;
  s.region = std::move(region);
  s.service = std::move(service);
  s.time = example_time();
  return s;
}

HttpRequest request(std::string method, std::string host, std::string path,
                    std::string query = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.host = std::move(host);
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

HttpRequest list_users() {
  auto r = request("GET", "iam.amazonaws.com", "/", "Action=ListUsers&Version=2010-05-08");
  r.headers.push_back({"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"});
  return r;
}

std::string authorization(const HttpRequest& r) {
  return std::string(r.header("Authorization").value_or("<none>"));
}

TEST(Sigv4AmzDate, FormatsUtcAndDropsSubSeconds) {
  EXPECT_EQ(amz_date(example_time()), "20150830T123600Z");
  EXPECT_EQ(amz_date(example_time() + milliseconds{999}), "20150830T123600Z");
  EXPECT_EQ(amz_date(sys_days{year{2038} / January / 1} - seconds{1}), "20371231T235959Z");
}

TEST(Sigv4AmzDate, ParsesOnlyWellFormedTimestamps) {
  EXPECT_EQ(parse_amz_date("20150830T123600Z"), example_time());
  EXPECT_EQ(parse_amz_date("20240229T235959Z"),
            sys_days{year{2024} / February / 29} + hours{23} + minutes{59} + seconds{59});
  for (const char* bad :
       {"", "20150830T123600", "20150830t123600Z", "2015-08-30T12:36:00Z", "20150230T123600Z",
        "20151301T000000Z", "20150830T243600Z", "20150830T126000Z", "20150830T123660Z",
        "2015083OT123600Z", "20150830T123600Z ", "+2015083T123600Z"}) {
    EXPECT_FALSE(parse_amz_date(bad)) << bad;
  }
}

TEST(Sigv4Sign, ClassicIamListUsersExample) {
  auto r = list_users();
  sign_request(r, creds(), scope("us-east-1", "iam"));
  EXPECT_EQ(authorization(r),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  EXPECT_EQ(r.header("X-Amz-Date").value_or(""), "20150830T123600Z");
  EXPECT_EQ(r.header("Host").value_or(""), "iam.amazonaws.com");
  EXPECT_FALSE(r.header("X-Amz-Security-Token"));
}

TEST(Sigv4Sign, ClassicExamplePieces) {
  auto r = list_users();
  r.headers.push_back({"X-Amz-Date", "20150830T123600Z"});
  auto cr = canonical_request(r, {"content-type", "host", "x-amz-date"}, payload_hash(r));
  EXPECT_EQ(cr,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto sts = string_to_sign(cr, scope("us-east-1", "iam"));
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(signature(kSecret, sts, scope("us-east-1", "iam")),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(Sigv4Sign, TestSuiteGetVanilla) {
  auto r = request("GET", "example.amazonaws.com", "/");
  sign_request(r, creds(), scope("us-east-1", "service"));
  EXPECT_EQ(authorization(r),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(Sigv4Sign, DateHeaderTokenDuplicatesAndPathAsBotocore) {
  auto r = request("POST", "ecs.eu-west-1.amazonaws.com", "/a/./b/../c%20d//e/");
  r.body = R"({"cluster":"x"})";
  r.headers.push_back({"Date", "whatever"});
  r.headers.push_back({"X-Foo", " a  b "});
  r.headers.push_back({"x-foo", "\tc\r\n d"});
  r.headers.push_back({"User-Agent", "ua"});
  r.headers.push_back({"X-Amz-Date", "stale"});
  r.headers.push_back({"X-Amz-Security-Token", "stale"});
  sign_request(r, creds("TOKEN/+="), scope("eu-west-1", "ecs"));
  EXPECT_EQ(authorization(r),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/ecs/aws4_request, "
            "SignedHeaders=date;host;x-amz-security-token;x-foo, "
            "Signature=93e02990fb198bc33d6ac9a8676aacdc4c056a23f9072ee1ae97113aa4e25ef1");
  EXPECT_EQ(r.header("Date").value_or(""), "Sun, 30 Aug 2015 12:36:00 -0000");
  EXPECT_FALSE(r.header("X-Amz-Date"));
  EXPECT_EQ(r.header("X-Amz-Security-Token").value_or(""), "TOKEN/+=");
  EXPECT_EQ(r.header("X-Foo").value_or(""), " a  b ");  // sent as given, only signed trimmed
}

TEST(Sigv4Sign, ResigningARetryGivesTheSameHeaders) {
  auto once = list_users();
  sign_request(once, creds("tok"), scope("us-east-1", "iam"));
  auto twice = once;
  sign_request(twice, creds("tok"), scope("us-east-1", "iam"));
  EXPECT_EQ(authorization(once), authorization(twice));
  std::size_t auth_headers = 0;
  for (const auto& h : twice.headers) auth_headers += h.name == "Authorization";
  EXPECT_EQ(auth_headers, 1u);
  EXPECT_EQ(twice.headers.size(), once.headers.size());
}

TEST(Sigv4Sign, SkipsUserAgentExpectAndTraceId) {
  auto r = request("PUT", "logs.us-east-1.amazonaws.com", "/");
  r.headers.push_back({"User-Agent", "ecsh/0.1"});
  r.headers.push_back({"Expect", "100-continue"});
  r.headers.push_back({"X-Amzn-Trace-Id", "Root=1"});
  r.headers.push_back({"X-Amz-Target", "Logs_20140328.GetLogEvents"});
  EXPECT_EQ(headers_to_sign(r), (std::vector<std::string>{"host", "x-amz-target"}));
}

TEST(Sigv4Sign, ContentSha256HeaderIsThePayloadHash) {
  auto r = request("PUT", "h", "/");
  r.body = "ignored";
  r.headers.push_back({"X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"});
  EXPECT_EQ(payload_hash(r), "UNSIGNED-PAYLOAD");
  r.headers.clear();
  EXPECT_EQ(payload_hash(r), "3514cf816e5407a39cb7a1c1e1243f176dda121e06398a8934edb1dc426b0b34");
}

TEST(Sigv4Sign, ChangingAnySignedPartChangesTheSignature) {
  auto base = list_users();
  sign_request(base, creds(), scope("us-east-1", "iam"));
  auto variant = [&](auto mutate) {
    auto r = list_users();
    mutate(r);
    sign_request(r, creds(), scope("us-east-1", "iam"));
    return authorization(r);
  };
  EXPECT_NE(variant([](HttpRequest& r) { r.body = "x"; }), authorization(base));
  EXPECT_NE(variant([](HttpRequest& r) { r.query += "&x=1"; }), authorization(base));
  EXPECT_NE(variant([](HttpRequest& r) { r.path = "/x"; }), authorization(base));
  EXPECT_NE(variant([](HttpRequest& r) { r.method = "POST"; }), authorization(base));
  EXPECT_EQ(variant([](HttpRequest& r) { r.method = "get"; }), authorization(base));
}

TEST(Sigv4Host, DerivedFromUrlLikeBotocore) {
  HttpRequest r;
  r.host = "ECS.us-east-1.AmazonAWS.com:443";
  EXPECT_EQ(host_from_url(r), "ecs.us-east-1.amazonaws.com");
  r.host = "localhost:8443";
  EXPECT_EQ(host_from_url(r), "localhost:8443");
  r.scheme = "http";
  r.host = "127.0.0.1:80";
  EXPECT_EQ(host_from_url(r), "127.0.0.1");
  r.host = "127.0.0.1:443";
  EXPECT_EQ(host_from_url(r), "127.0.0.1:443");
  r.scheme = "https";
  r.host = "[FE80::1]:443";
  EXPECT_EQ(host_from_url(r), "[fe80::1]");
  r.host = "[::1]:8443";
  EXPECT_EQ(host_from_url(r), "[::1]:8443");
}

TEST(Sigv4CanonicalUri, NormalisesLikeBotocoreAndEncodesAgain) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/"), "/");
  EXPECT_EQ(canonical_uri("//a//b"), "/a/b");
  EXPECT_EQ(canonical_uri("/a/./b/"), "/a/b/");
  // botocore, unlike RFC 3986, drops the slash after a trailing dot segment.
  EXPECT_EQ(canonical_uri("/a/b/.."), "/a");
  EXPECT_EQ(canonical_uri("/a/b/."), "/a/b");
  EXPECT_EQ(canonical_uri("/../.."), "/");
  EXPECT_EQ(canonical_uri("/%2E%2E/a"), "/%252E%252E/a");  // encoded dots are not dot segments
  EXPECT_EQ(canonical_uri("/foo%20bar/a%2Fb"), "/foo%2520bar/a%252Fb");
  EXPECT_EQ(canonical_uri("/foo bar/\xC3\xA9/~u/a+b"), "/foo%20bar/%C3%A9/~u/a%2Bb");
}

TEST(Sigv4CanonicalQuery, SortsRawPairsAsTuples) {
  EXPECT_EQ(canonical_query_string(""), "");
  EXPECT_EQ(canonical_query_string("b=2&a=1"), "a=1&b=2");
  EXPECT_EQ(canonical_query_string("a=2&a=1"), "a=1&a=2");
  // Sorted by key first: "a" < "a-b" although "a-b=" < "a=" as strings.
  EXPECT_EQ(canonical_query_string("a-b=1&a=2"), "a=2&a-b=1");
  EXPECT_EQ(canonical_query_string("flag&x="), "flag=&x=");
  EXPECT_EQ(canonical_query_string("a=1&&b"), "=&a=1&b=");
  // Signed as sent: no re-encoding.
  EXPECT_EQ(canonical_query_string("k=a%20b&k=a+b&j=/"), "j=/&k=a%20b&k=a+b");
}

TEST(Sigv4CanonicalRequest, FoldsUnicodeWhitespaceLikePythonSplit) {
  auto r = request("GET", "h", "/");
  // NBSP, EM SPACE and U+001F are whitespace for Python's str.split(); ZERO WIDTH SPACE is not.
  r.headers.push_back({"X-V",
                       "\xC2\xA0"
                       "a\xE2\x80\x83"
                       "b\x1F"
                       "c\xE2\x80\x8B"
                       "d "});
  auto cr = canonical_request(r, {"host", "x-v"}, "UNSIGNED-PAYLOAD");
  EXPECT_NE(cr.find("\nx-v:a b c\xE2\x80\x8B"
                    "d\n"),
            std::string::npos)
      << cr;
}

TEST(Sigv4CanonicalRequest, VerifierRebuildsWhatTheSignerSigned) {
  auto r = request("POST", "ssm.eu-west-1.amazonaws.com", "/", "z=1&a");
  r.headers.push_back({"X-Amz-Target", "AmazonSSM.StartSession"});
  r.headers.push_back({"Content-Type", "application/x-amz-json-1.1"});
  r.body = "{}";
  sign_request(r, creds("session"), scope("eu-west-1", "ssm"));

  auto auth = parse_authorization(*r.header("Authorization"));
  ASSERT_TRUE(auth) << auth.error().describe();
  EXPECT_EQ(auth.value().signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-amz-date", "x-amz-security-token",
                                      "x-amz-target"}));
  auto incoming = r;
  incoming.remove_header("Authorization");
  auto sts = string_to_sign(
      canonical_request(incoming, auth.value().signed_headers, payload_hash(incoming)),
      scope("eu-west-1", "ssm"));
  EXPECT_EQ(signature(kSecret, sts, scope("eu-west-1", "ssm")), auth.value().signature);
  incoming.body = "{ }";  // tampered
  sts = string_to_sign(
      canonical_request(incoming, auth.value().signed_headers, payload_hash(incoming)),
      scope("eu-west-1", "ssm"));
  EXPECT_NE(signature(kSecret, sts, scope("eu-west-1", "ssm")), auth.value().signature);
}

TEST(Sigv4Presign, ClassicExampleMatchesBotocore) {
  auto r = request("GET", "iam.amazonaws.com", "/", "Action=ListUsers&Version=2010-05-08");
  EXPECT_EQ(presign_query(r, creds(), scope("us-east-1", "iam"), seconds{3600}),
            "Action=ListUsers&Version=2010-05-08&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fiam%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&"
            "X-Amz-Signature=19b5e69052086a0eff1fc6a91ce96e911b281f611960339edf73a448fcef862d");
}

TEST(Sigv4Presign, ReencodesQueryKeepsFirstValueAndAddsToken) {
  auto r = request("GET", "ssmmessages.us-east-1.amazonaws.com", "/v1/data-channel/sess-1",
                   "role=publish_subscribe&b=2&b=3&a+b=%7E");
  EXPECT_EQ(presign_query(r, creds("TOK EN"), scope("us-east-1", "ssmmessages"), seconds{60}),
            "role=publish_subscribe&b=2&a%20b=~&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fssmmessages%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&"
            "X-Amz-Security-Token=TOK%20EN&"
            "X-Amz-Signature=21f309d1d963dc67332dc2992ce123ac8739abc6feb87f21e1ef31049a64e75b");
}

TEST(Sigv4Presign, DoesNotModifyTheRequest) {
  auto r = list_users();
  auto before = r;
  (void)presign_query(r, creds("t0ken"), scope("us-east-1", "iam"), seconds{60});
  EXPECT_EQ(r.query, before.query);
  EXPECT_EQ(r.headers.size(), before.headers.size());
}

TEST(Sigv4Debug, LogsCanonicalRequestWithoutSecrets) {
  std::string logged;
  ecsh::log::set_sink([&](std::string_view line) { logged.append(line).append("\n"); });
  ecsh::log::set_debug(true);
  const std::string token = "FwoGZXIvYXdzE/token+with/slashes==";
  auto r = list_users();
  sign_request(r, creds(token), scope("us-east-1", "iam"));
  auto q = presign_query(list_users(), creds(token), scope("us-east-1", "iam"), seconds{60});
  ecsh::log::set_debug(false);
  ecsh::log::set_sink(nullptr);

  EXPECT_NE(logged.find("sigv4 canonical request:\nGET\n/\nAction=ListUsers"), std::string::npos)
      << logged;
  for (std::string_view secret :
       {std::string_view(kSecret), std::string_view(token),
        std::string_view("FwoGZXIvYXdzE%2Ftoken%2Bwith%2Fslashes%3D%3D")}) {
    EXPECT_EQ(logged.find(secret), std::string::npos) << secret << " in\n" << logged;
  }
  EXPECT_NE(q.find("X-Amz-Security-Token=FwoGZXIvYXdzE%2Ftoken%2Bwith%2Fslashes%3D%3D&"),
            std::string::npos);
}

TEST(Sigv4Hostile, ArbitraryBytesGiveWellFormedCanonicalPieces) {
  // What a verifier may be fed: any bytes in path, query, headers and Authorization. Nothing may
  // crash (the sanitizer build checks memory), and the canonical URI stays a valid encoded path.
  std::mt19937 rng(12345);
  const std::string alphabet =
      std::string("/.%?#&=+; \t\r\n,:aZ09\x80\xC3\xA9\xFF\xE2\x80") + std::string(1, '\0');
  auto random_text = [&](std::size_t max_len) {
    std::string s(rng() % (max_len + 1), ' ');
    for (auto& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
  };
  auto allowed = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~' || c == '/' || c == '%';
  };
  for (int i = 0; i < 3000; ++i) {
    HttpRequest r;
    r.method = random_text(6);
    r.host = random_text(12);
    r.path = random_text(24);
    r.query = random_text(24);
    r.headers.push_back({random_text(6), random_text(16)});
    r.headers.push_back({"Host", random_text(8)});
    auto uri = canonical_uri(r.path);
    if (r.path.empty() || r.path.front() == '/') {  // a wire path; other input is not a path
      ASSERT_FALSE(uri.empty());
      EXPECT_EQ(uri.front(), '/');
    }
    for (char c : uri) ASSERT_TRUE(allowed(c)) << uri;
    auto cr = canonical_request(r, headers_to_sign(r), payload_hash(r));
    EXPECT_FALSE(cr.empty());
    auto q = presign_query(r, creds("tok"), scope("us-east-1", "ssm"), seconds{60});
    EXPECT_NE(q.find("&X-Amz-Signature="), std::string::npos);
    (void)parse_authorization(random_text(40));
    (void)parse_authorization("AWS4-HMAC-SHA256 " + random_text(60));
  }
}

// --- parse_authorization -------------------------------------------------------------------

constexpr const char* kGoodAuth =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, "
    "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

TEST(Sigv4ParseAuthorization, ParsesBotocoreHeader) {
  auto a = parse_authorization(kGoodAuth);
  ASSERT_TRUE(a) << a.error().describe();
  EXPECT_EQ(a.value().access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a.value().date, "20150830");
  EXPECT_EQ(a.value().region, "us-east-1");
  EXPECT_EQ(a.value().service, "iam");
  EXPECT_EQ(a.value().signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-amz-date"}));
  EXPECT_EQ(a.value().signature,
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(Sigv4ParseAuthorization, AcceptsCommaWithoutSpaceAndAnyOrder) {
  auto a = parse_authorization(
      "AWS4-HMAC-SHA256 SignedHeaders=host,Signature="
      "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7,"
      "Credential=AKID/20150830/eu-west-1/ssmmessages/aws4_request");
  ASSERT_TRUE(a) << a.error().describe();
  EXPECT_EQ(a.value().service, "ssmmessages");
  EXPECT_EQ(a.value().signed_headers, std::vector<std::string>{"host"});
}

TEST(Sigv4ParseAuthorization, RejectsMalformedHeaders) {
  const std::string sig =
      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
  const std::string cred = "Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request";
  const std::string sh = "SignedHeaders=host;x-amz-date";
  const std::string p = "AWS4-HMAC-SHA256 ";
  const std::vector<std::string> bad = {
      "",
      "AWS4-HMAC-SHA256",
      "AWS4-HMAC-SHA1 " + cred + ", " + sh + ", " + sig,
      "aws4-hmac-sha256 " + cred + ", " + sh + ", " + sig,
      p + cred + ", " + sh,                             // no Signature
      p + sh + ", " + sig,                              // no Credential
      p + cred + ", " + sig,                            // no SignedHeaders
      p + cred + ", " + cred + ", " + sh + ", " + sig,  // duplicate
      p + cred + ", " + sh + ", " + sig + ", Extra=1",  // unknown component
      p + cred + ", " + sh + ", " + sig + ",",          // trailing comma
      p + cred + ", " + sh + ", " + sig.substr(0, 60),  // short signature
      p + cred + ", " + sh +
          ", Signature=5D672D79C15B13162D9279B0855CFBA6789A8EDB4C82C400E06B5924A6F2B5D7",
      p + "Credential=AKIDEXAMPLE/2015083/us-east-1/iam/aws4_request, " + sh + ", " + sig,
      p + "Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws5_request, " + sh + ", " + sig,
      p + "Credential=AKIDEXAMPLE/20150830/us-east-1/aws4_request, " + sh + ", " + sig,
      p + "Credential=/20150830/us-east-1/iam/aws4_request, " + sh + ", " + sig,
      p + "Credential=AKID/20150830//iam/aws4_request, " + sh + ", " + sig,
      p + cred + ", SignedHeaders=Host;x-amz-date, " + sig,   // not lowercase
      p + cred + ", SignedHeaders=host;;x-amz-date, " + sig,  // empty name
      p + cred + ", SignedHeaders=, " + sig,
      p + cred + ", SignedHeaders=host x-amz-date, " + sig,
      p + cred + " " + sh + " " + sig,  // no commas
      p + "Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request/x, " + sh + ", " + sig,
      p + cred + ", " + sh + ", Signature=",
      p + cred + ", " + sh + ", \tSignature=" + sig.substr(10),
      p + cred + ", " + sh + ", " + sig + std::string(1, '\0'),
      p + cred + ", " + sh + ", " + sig + ", \x01\xFFjunk=1",
  };
  for (const auto& h : bad) {
    auto a = parse_authorization(h);
    EXPECT_FALSE(a) << "accepted: " << h;
    if (!a) {
      EXPECT_EQ(a.error().kind, ecsh::ErrorKind::protocol);
      EXPECT_NE(a.error().message.find("Authorization"), std::string::npos);
      for (char c : a.error().message) EXPECT_TRUE(c >= ' ' && c <= '~') << a.error().message;
    }
  }
}

}  // namespace
