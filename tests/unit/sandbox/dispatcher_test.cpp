#include "sandbox/core/dispatcher.hpp"

#include "ecsh/aws/sigv4.hpp"
#include "sandbox/iam/iam_module.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace ecsh::sandbox {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
const auto kNow = std::chrono::sys_days(std::chrono::year(2026) / 11 / 25) + 6h;

// A toy JSON service: one read, one write.
struct Counter : ServiceModule {
  int value = 0;
  std::string name() const override { return "counter"; }
  void register_routes(Router& r) override {
    r.add_json("ecs", "AmazonEC2ContainerServiceV20141113", "ListClusters",
               [this](RequestContext& ctx, const json::object&) -> ApiResult<json::value> {
                 BOOST_OUTCOME_TRY(ctx.authorize("ecs:ListClusters", "*"));
                 return json::object{{"clusterArns", json::array{}}, {"n", value}};
               });
    r.add_json("ecs", "AmazonEC2ContainerServiceV20141113", "CreateCluster",
               [this](RequestContext& ctx, const json::object& in) -> ApiResult<json::value> {
                 BOOST_OUTCOME_TRY(ctx.authorize("ecs:CreateCluster", "*"));
                 value += static_cast<int>(in.at("n").as_int64());
                 ctx.mutated = true;
                 return json::object{};
               });
  }
  json::value save() const override { return value; }
  void load(const json::value&) override {}
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : iam([] { return kNow; }), dispatcher(iam, iam, [] { return kNow; }) {
    iam.register_routes(dispatcher);
    counter.register_routes(dispatcher);
    dispatcher.set_after_mutation([this] { ++saves; });
    auto applied = iam.apply_scenario(json::parse(R"({
      "users":[{"name":"reader","access_key_id":"AKIAREADER","secret_access_key":"rs",
                "policies":[{"Version":"2012-10-17","Statement":[
                  {"Effect":"Allow","Action":["ecs:List*","sts:GetCallerIdentity"],"Resource":"*"}]}]}]})")
                                          .as_object());
    EXPECT_TRUE(applied);
  }

  aws::HttpResponse call_json(const std::string& op, const std::string& body,
                              const std::string& key = "AKIAECSHSANDBOXADMIN",
                              const std::string& secret = "ecsh-sandbox-secret") {
    aws::HttpRequest r;
    r.scheme = "http";
    r.host = "127.0.0.1:1";
    r.headers.push_back({"Content-Type", "application/x-amz-json-1.1"});
    r.headers.push_back({"X-Amz-Target", "AmazonEC2ContainerServiceV20141113." + op});
    r.body = body;
    sign(r, "ecs", key, secret);
    return dispatcher.handle(r);
  }
  aws::HttpResponse call_query(const std::string& service, const std::string& body,
                               const std::string& key = "AKIAECSHSANDBOXADMIN",
                               const std::string& secret = "ecsh-sandbox-secret") {
    aws::HttpRequest r;
    r.scheme = "http";
    r.host = "127.0.0.1:1";
    r.headers.push_back({"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"});
    r.body = body;
    sign(r, service, key, secret);
    return dispatcher.handle(r);
  }
  static void sign(aws::HttpRequest& r, const std::string& service, const std::string& key,
                   const std::string& secret) {
    aws::Credentials c;
    c.access_key_id = key;
    c.secret_access_key = secret;
    aws::SigningScope s;
    s.region = "us-east-1";
    s.service = service;
    s.time = kNow;
    aws::sign_request(r, c, s);
  }

  iam::IamModule iam;
  Dispatcher dispatcher;
  Counter counter;
  int saves = 0;
};

TEST_F(DispatcherTest, RoutesJsonByTargetAndPersistsOnlyAfterWrites) {
  auto r = call_json("CreateCluster", R"({"n":5})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(saves, 1);
  auto list = call_json("ListClusters", "{}");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body).at("n").as_int64(), 5);
  EXPECT_EQ(saves, 1);
  EXPECT_TRUE(list.header("x-amzn-RequestId").has_value());
}

TEST_F(DispatcherTest, JsonErrorsHaveTypeAndMessage) {
  auto r = call_json("NoSuchOperation", "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body).at("__type").as_string(), "UnknownOperationException");
  auto bad = call_json("CreateCluster", "[1,2]");
  EXPECT_EQ(json::parse(bad.body).at("__type").as_string(), "SerializationException");
}

TEST_F(DispatcherTest, EnforcesCallerPoliciesWithIamWording) {
  EXPECT_EQ(call_json("ListClusters", "{}", "AKIAREADER", "rs").status, 200);
  auto denied = call_json("CreateCluster", R"({"n":1})", "AKIAREADER", "rs");
  EXPECT_EQ(denied.status, 400);
  auto body = json::parse(denied.body).as_object();
  EXPECT_EQ(body.at("__type").as_string(), "AccessDeniedException");
  EXPECT_EQ(body.at("message").as_string(),
            "User: arn:aws:iam::000000000000:user/reader is not authorized to perform: "
            "ecs:CreateCluster on resource: * because no identity-based policy allows the "
            "ecs:CreateCluster action");
  EXPECT_EQ(counter.value, 0);
}

TEST_F(DispatcherTest, QueryResponsesAndErrorsUseTheServiceNamespace) {
  auto who = call_query("sts", "Action=GetCallerIdentity&Version=2011-06-15", "AKIAREADER", "rs");
  EXPECT_EQ(who.status, 200);
  EXPECT_NE(who.body.find(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                "<GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:user/reader</Arn>"),
            std::string::npos)
      << who.body;
  auto missing = call_query("iam", "Action=GetRole&RoleName=nope&Version=2010-05-08");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                              "<Error><Type>Sender</Type><Code>NoSuchEntity</Code>"
                              "<Message>The role with name nope cannot be found.</Message>"),
            std::string::npos)
      << missing.body;
}

TEST_F(DispatcherTest, InjectedThrottlingHitsTheChosenShareOfCalls) {
  ApiFaults f;
  f.throttle_rate = 0.5;
  f.operations = {"ListClusters"};
  f.seed = 7;
  dispatcher.set_faults(f);
  int throttled = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = call_json("ListClusters", "{}");
    if (r.status == 400 && r.body.find("ThrottlingException") != std::string::npos) ++throttled;
  }
  EXPECT_GT(throttled, 70);
  EXPECT_LT(throttled, 130);
  EXPECT_EQ(call_json("CreateCluster", R"({"n":1})").status, 200) << "other operations unaffected";
}

}  // namespace
}  // namespace ecsh::sandbox
