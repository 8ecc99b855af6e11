#include "ecsh/aws/client.hpp"
#include "ecsh/aws/credentials.hpp"

#include <gtest/gtest.h>

#include <deque>

using namespace ecsh;
using namespace ecsh::aws;

namespace {

HttpResponse response(int status, std::string body, std::vector<Header> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

class FakeHttp final : public HttpClient {
 public:
  std::deque<Result<HttpResponse>> replies;
  std::vector<HttpRequest> sent;
  Awaitable<Result<HttpResponse>> send(HttpRequest request) override {
    sent.push_back(std::move(request));
    auto r = std::move(replies.front());
    replies.pop_front();
    co_return r;
  }
};

class StaticCredentials final : public CredentialsProvider {
 public:
  Awaitable<Result<Credentials>> credentials() override {
    Credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = "secret";
    co_return c;
  }
};

template <class T>
T run(Awaitable<T> task) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(
      io, [&]() -> Awaitable<void> { out.emplace(co_await std::move(task)); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return std::move(*out);
}

struct Fixture {
  FakeHttp http;
  FixedClock clock{std::chrono::system_clock::from_time_t(1764000000)};
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<AwsClient> client;
  explicit Fixture(int max_attempts = 3) {
    AwsSettings s;
    s.region = "us-east-1";
    s.endpoint_url_flag = "http://127.0.0.1:9";
    s.max_attempts = max_attempts;
    client = std::make_unique<AwsClient>(s, std::make_shared<StaticCredentials>(), http, clock);
    client->set_sleeper([this](std::chrono::milliseconds d) -> Awaitable<void> {
      sleeps.push_back(d);
      co_return;
    });
  }
};

}  // namespace

TEST(ErrorParsing, JsonShapes) {
  auto e = parse_error_response(
      Protocol::json, "ExecuteCommand",
      response(400, R"({"__type":"com.amazonaws.ecs#InvalidParameterException","message":"nope"})",
               {{"x-amzn-RequestId", "rid-1"}}));
  EXPECT_EQ(e.code, "InvalidParameterException");
  EXPECT_EQ(e.request_id, "rid-1");
  EXPECT_EQ(e.message,
            "An error occurred (InvalidParameterException) when calling the ExecuteCommand "
            "operation: nope");
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(exit_code_for(e), 254);
  auto header_only = parse_error_response(
      Protocol::json, "X",
      response(400, "", {{"x-amzn-ErrorType", "ThrottlingException:http://internal"}}));
  EXPECT_EQ(header_only.code, "ThrottlingException");
  EXPECT_TRUE(header_only.retryable);
  auto server = parse_error_response(Protocol::json, "X", response(503, "<html>"));
  EXPECT_EQ(server.code, "503");
  EXPECT_TRUE(server.retryable);
}

TEST(ErrorParsing, QueryXml) {
  auto e = parse_error_response(
      Protocol::query, "GetRole",
      response(404,
               "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>"
               "Sender</Type><Code>NoSuchEntity</Code><Message>The role with name x cannot be "
               "found.</Message></Error><RequestId>rid-2</RequestId></ErrorResponse>"));
  EXPECT_EQ(e.code, "NoSuchEntity");
  EXPECT_EQ(e.request_id, "rid-2");
  EXPECT_NE(e.message.find("cannot be found"), std::string::npos);
}

TEST(Retry, BackoffIsFullJitterCappedAt20Seconds) {
  EXPECT_EQ(retry::backoff(0, 1.0), std::chrono::milliseconds(1000));
  EXPECT_EQ(retry::backoff(3, 0.5), std::chrono::milliseconds(4000));
  EXPECT_EQ(retry::backoff(10, 1.0), std::chrono::milliseconds(20000));
  EXPECT_EQ(retry::backoff(2, 0.0), std::chrono::milliseconds(0));
}

TEST(AwsClient, JsonCallSignsAndTargetsTheOperation) {
  Fixture f;
  f.http.replies.push_back(response(200, R"({"clusters":[]})"));
  boost::json::object req;
  req["clusters"] = boost::json::array{"demo"};
  auto v = run(f.client->json_call(services::ecs(), "DescribeClusters", req));
  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(f.http.sent.size(), 1u);
  const auto& sent = f.http.sent[0];
  EXPECT_EQ(sent.host, "127.0.0.1:9");
  EXPECT_EQ(sent.header("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.DescribeClusters");
  EXPECT_EQ(sent.header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(sent.body, R"({"clusters":["demo"]})");
  auto auth = std::string(sent.header("Authorization").value_or(""));
  EXPECT_NE(auth.find("/us-east-1/ecs/aws4_request"), std::string::npos);
}

TEST(AwsClient, ThrottlingIsRetriedWithBackoffThenSucceeds) {
  Fixture f;
  f.http.replies.push_back(
      response(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"));
  f.http.replies.push_back(response(503, ""));
  f.http.replies.push_back(response(200, "{}"));
  auto v = run(f.client->json_call(services::ecs(), "ListClusters", {}));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(f.http.sent.size(), 3u);
  EXPECT_EQ(f.sleeps.size(), 2u);
}

TEST(AwsClient, GivesUpAfterMaxAttemptsAndKeepsTheError) {
  Fixture f(2);
  for (int i = 0; i < 2; ++i) {
    f.http.replies.push_back(
        response(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"));
  }
  auto v = run(f.client->json_call(services::ecs(), "ListClusters", {}));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, "ThrottlingException");
  EXPECT_EQ(f.http.sent.size(), 2u);
}

TEST(AwsClient, ClientErrorsAreNotRetried) {
  Fixture f;
  f.http.replies.push_back(response(400, R"({"__type":"AccessDeniedException","message":"no"})"));
  auto v = run(f.client->json_call(services::ecs(), "ExecuteCommand", {}));
  ASSERT_FALSE(v);
  EXPECT_EQ(f.http.sent.size(), 1u);
  EXPECT_TRUE(f.sleeps.empty());
}

TEST(AwsClient, ClockSkewIsCorrectedAndTheRequestSignedAgain) {
  Fixture f;
  // The server is one hour ahead of our clock.
  f.http.replies.push_back(
      response(400, R"({"__type":"InvalidSignatureException","message":"Signature expired"})",
               {{"Date", "Tue, 25 Nov 2025 01:00:00 GMT"}}));
  f.http.replies.push_back(response(200, "{}"));
  f.clock.set(std::chrono::system_clock::from_time_t(1764028800));  // 2025-11-25T00:00Z
  auto v = run(f.client->json_call(services::ecs(), "ListClusters", {}));
  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(f.http.sent.size(), 2u);
  EXPECT_EQ(f.http.sent[0].header("X-Amz-Date"), "20251125T000000Z");
  EXPECT_EQ(f.http.sent[1].header("X-Amz-Date"), "20251125T010000Z");
}

TEST(AwsClient, QueryCallEncodesTheForm) {
  Fixture f;
  f.http.replies.push_back(response(200, "<ok/>"));
  QueryParams params{{"RoleName", "web task role"}, {"PolicyDocument", "{\"a\":1}"}};
  auto v = run(f.client->query_call(services::iam(), "GetRole", params));
  ASSERT_TRUE(v);
  EXPECT_EQ(f.http.sent[0].body,
            "Action=GetRole&Version=2010-05-08&RoleName=web%20task%20role&PolicyDocument=%7B%22a%"
            "22%3A1%7D");
}

TEST(CredentialsChain, RefreshesFifteenMinutesBeforeExpiryAndKeepsValidOnesOnFailure) {
  FakeHttp http;
  FixedClock clock{std::chrono::system_clock::from_time_t(4070908800 - 3600)};  // 1 h before
  Environment env;
  env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:9/creds";
  env.vars["AWS_EC2_METADATA_DISABLED"] = "true";
  AwsSettings settings;
  auto chain = make_default_credentials_chain(settings, env, http, clock);
  auto creds_body = [](const char* key) {
    return std::string(R"({"AccessKeyId":")") + key +
           R"(","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00Z"})";
  };
  http.replies.push_back(response(200, creds_body("ASIAFIRST")));
  EXPECT_EQ(run(chain->credentials()).value().access_key_id, "ASIAFIRST");
  EXPECT_EQ(run(chain->credentials()).value().access_key_id, "ASIAFIRST");
  EXPECT_EQ(http.sent.size(), 1u);  // cached

  clock.advance(std::chrono::minutes(50));  // 10 minutes before expiry: refresh
  http.replies.push_back(response(200, creds_body("ASIASECOND")));
  EXPECT_EQ(run(chain->credentials()).value().access_key_id, "ASIASECOND");
  EXPECT_EQ(http.sent.size(), 2u);

  // Refresh fails while the credentials are still valid: keep them.
  http.replies.push_back(response(500, ""));
  EXPECT_EQ(run(chain->credentials()).value().access_key_id, "ASIASECOND");

  // Expired and the refresh fails: an error, not stale credentials.
  clock.advance(std::chrono::minutes(20));
  http.replies.push_back(response(500, ""));
  EXPECT_FALSE(run(chain->credentials()));
}

TEST(QueryLists, EachDialectSerialisesListsItsOwnWay) {
  QueryParams q;
  add_query_list(q, "ActionNames", {"ecs:ExecuteCommand", "ssm:StartSession"}, Protocol::query);
  add_query_list(q, "SubnetId", {"subnet-1"}, Protocol::ec2);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].first, "ActionNames.member.1");
  EXPECT_EQ(q[1].first, "ActionNames.member.2");
  EXPECT_EQ(q[2].first, "SubnetId.1");
}

TEST(Pagination, JsonFollowsNextTokenAndConcatenates) {
  Fixture f;
  f.http.replies.push_back(response(200, R"({"taskArns":["a","b"],"nextToken":"t1"})"));
  f.http.replies.push_back(response(200, R"({"taskArns":["c"],"nextToken":"t2"})"));
  f.http.replies.push_back(response(200, R"({"taskArns":[]})"));
  boost::json::object req;
  req["cluster"] = "demo";
  auto all = run(f.client->json_paginate(services::ecs(), "ListTasks", req, "taskArns"));
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all.value().size(), 3u);
  ASSERT_EQ(f.http.sent.size(), 3u);
  EXPECT_EQ(f.http.sent[0].body, R"({"cluster":"demo"})");
  EXPECT_EQ(f.http.sent[2].body, R"({"cluster":"demo","nextToken":"t2"})");
}

TEST(Pagination, QueryStopsWhenNotTruncated) {
  Fixture f;
  f.http.replies.push_back(
      response(200,
               "<ListRolesResponse><ListRolesResult><IsTruncated>true</"
               "IsTruncated><Marker>m1</Marker></ListRolesResult></ListRolesResponse>"));
  f.http.replies.push_back(response(200,
                                    "<ListRolesResponse><ListRolesResult><IsTruncated>false</"
                                    "IsTruncated></ListRolesResult></ListRolesResponse>"));
  QueryParams none;
  auto pages =
      run(f.client->query_paginate(services::iam(), "ListRoles", none, "Marker", "Marker"));
  ASSERT_TRUE(pages) << pages.error().message;
  EXPECT_EQ(pages.value().size(), 2u);
  EXPECT_NE(f.http.sent[1].body.find("&Marker=m1"), std::string::npos);
}

TEST(Pagination, AGarbledQueryPageIsAProtocolErrorNotTheLastPage) {
  Fixture f;
  f.http.replies.push_back(response(200, "<ListRolesResponse><ListRolesResult><IsTrunc"));
  QueryParams none;
  auto pages =
      run(f.client->query_paginate(services::iam(), "ListRoles", none, "Marker", "Marker"));
  ASSERT_FALSE(pages);
  EXPECT_EQ(pages.error().kind, ErrorKind::protocol);
  EXPECT_TRUE(pages.error().message.starts_with("the ListRoles response is not valid XML"))
      << pages.error().message;
}

TEST(Pagination, ALoopingServiceIsCutOff) {
  Fixture f;
  for (int i = 0; i < 3; ++i)
    f.http.replies.push_back(response(200, R"({"items":[1],"nextToken":"same"})"));
  auto all = run(f.client->json_paginate(services::ecs(), "ListX", {}, "items", "nextToken", 3));
  EXPECT_FALSE(all);
}

TEST(AwsClient, AdaptiveModePacesRequestsAfterThrottling) {
  FakeHttp http;
  FixedClock clock{std::chrono::system_clock::from_time_t(1764000000)};
  AwsSettings s;
  s.region = "us-east-1";
  s.endpoint_url_flag = "http://127.0.0.1:9";
  s.retry_mode = "adaptive";
  s.max_attempts = 5;
  AwsClient client(s, std::make_shared<StaticCredentials>(), http, clock);
  std::vector<std::chrono::milliseconds> sleeps;
  client.set_sleeper([&](std::chrono::milliseconds d) -> Awaitable<void> {
    sleeps.push_back(d);
    clock.advance(d);
    co_return;
  });
  // Unthrottled calls are never delayed.
  for (int i = 0; i < 5; ++i) {
    http.replies.push_back(response(200, "{}"));
    ASSERT_TRUE(run(client.json_call(services::ecs(), "ListClusters", {})));
  }
  EXPECT_TRUE(sleeps.empty());
  // Throttling turns the limiter on: the retries wait for tokens on top of the backoff.
  for (int i = 0; i < 4; ++i) {
    http.replies.push_back(response(400, R"({"__type":"ThrottlingException","message":"slow"})"));
  }
  http.replies.push_back(response(200, "{}"));
  ASSERT_TRUE(run(client.json_call(services::ecs(), "ListClusters", {})));
  EXPECT_GT(sleeps.size(), 4u);  // four backoffs plus at least one token wait
}

TEST(AwsClient, AReplyThatIsNotAJsonObjectIsAProtocolError) {
  for (const char* body : {"[1, 2]", "\"text\"", "{\"clusters\": ["}) {
    Fixture f;
    f.http.replies.push_back(response(200, body));
    auto v = run(f.client->json_call(services::ecs(), "DescribeClusters", {}));
    ASSERT_FALSE(v) << body;
    EXPECT_EQ(v.error().kind, ErrorKind::protocol);
    EXPECT_EQ(exit_code_for(v.error()), 255);
    EXPECT_TRUE(v.error().message.starts_with("the DescribeClusters response is "))
        << v.error().message;
  }
  Fixture f;
  f.http.replies.push_back(response(200, ""));
  auto empty = run(f.client->json_call(services::ecs(), "TerminateSession", {}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty.value().empty());  // an empty body is an empty object
}

TEST(Pagination, AResultThatIsNotAnArrayOrATokenThatIsNotAStringIsAProtocolError) {
  Fixture f;
  f.http.replies.push_back(response(200, R"({"taskArns": "arn:one"})"));
  auto all = run(f.client->json_paginate(services::ecs(), "ListTasks", {}, "taskArns"));
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().kind, ErrorKind::protocol);
  EXPECT_EQ(all.error().message, "the ListTasks response: taskArns is a string, not an array");

  Fixture g;
  g.http.replies.push_back(response(200, R"({"taskArns": ["a"], "nextToken": 7})"));
  auto token = run(g.client->json_paginate(services::ecs(), "ListTasks", {}, "taskArns"));
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().message, "the ListTasks response: nextToken is an integer, not a string");
}

TEST(CredentialsChain, AContainerCredentialsReplyOfTheWrongShapeIsAConfigErrorNamingTheField) {
  FakeHttp http;
  FixedClock clock{std::chrono::system_clock::from_time_t(1764000000)};
  Environment env;
  env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:9/creds";
  AwsSettings settings;
  auto chain = make_default_credentials_chain(settings, env, http, clock);
  http.replies.push_back(
      response(200, R"({"AccessKeyId": "ASIA", "SecretAccessKey": ["s"], "Token": "t"})"));
  auto c = run(chain->credentials());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, ErrorKind::config);
  EXPECT_NE(c.error().message.find("the response: SecretAccessKey is an array, not a string"),
            std::string::npos)
      << c.error().message;
}
