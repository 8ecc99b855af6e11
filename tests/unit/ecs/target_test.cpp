// Target resolution against a fake ECS: which calls it makes (each is a round trip to the region)
// and what it resolves to, for a cluster given by full name, by prefix, or wrongly.

#include "ecsh/ecs/target.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

using namespace ecsh;
using namespace ecsh::aws;
namespace json = boost::json;

namespace {

constexpr const char* kClusterArn = "arn:aws:ecs:us-east-1:000000000000:cluster/prod";
constexpr const char* kTaskArn =
    "arn:aws:ecs:us-east-1:000000000000:task/prod/0123456789abcdef0123456789abcdef";

// A cluster "prod" with one running task of one container; any other cluster does not exist.
class FakeEcs final : public HttpClient {
 public:
  std::vector<std::string> calls;  // "Operation cluster"
  Awaitable<Result<HttpResponse>> send(HttpRequest request) override {
    std::string op(request.header("X-Amz-Target").value_or(""));
    op = op.substr(op.find('.') + 1);
    auto body = json::parse(request.body).as_object();
    std::string cluster =
        body.contains("cluster") ? std::string(body.at("cluster").as_string()) : "";
    calls.push_back(op + " " + cluster);
    HttpResponse r;
    r.status = 200;
    bool known = cluster == "prod" || cluster == kClusterArn;
    if (op == "ListClusters") {
      r.body = json::serialize(json::object{{"clusterArns", json::array{kClusterArn}}});
    } else if (!known) {
      r.status = 400;
      r.body = R"({"__type":"ClusterNotFoundException","message":"Cluster not found."})";
    } else if (op == "DescribeTasks") {
      json::object container{{"name", "app"}, {"runtimeId", "rt-1"}, {"lastStatus", "RUNNING"}};
      json::object task{{"taskArn", kTaskArn},
                        {"clusterArn", kClusterArn},
                        {"lastStatus", "RUNNING"},
                        {"enableExecuteCommand", true},
                        {"containers", json::array{container}}};
      r.body = json::serialize(json::object{{"tasks", json::array{task}}, {"failures", {}}});
    } else if (op == "ListTasks") {
      r.body = json::serialize(json::object{{"taskArns", json::array{kTaskArn}}});
    } else {
      r.status = 400;
      r.body = R"({"__type":"InvalidParameterException","message":"unexpected"})";
    }
    co_return r;
  }
};

class NoCredentialsNeeded final : public CredentialsProvider {
 public:
  Awaitable<Result<Credentials>> credentials() override {
    Credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = "secret";
    co_return c;
  }
};

struct Fixture {
  FakeEcs ecs;
  FixedClock clock{std::chrono::system_clock::from_time_t(1764000000)};
  std::unique_ptr<AwsClient> client;
  Fixture() {
    AwsSettings s;
    s.region = "us-east-1";
    s.endpoint_url_flag = "http://127.0.0.1:9";
    s.max_attempts = 1;
    client = std::make_unique<AwsClient>(s, std::make_shared<NoCredentialsNeeded>(), ecs, clock);
  }
  Result<ecs::ResolvedTarget> resolve(ecs::TargetSpec spec) {
    asio::io_context io;
    std::optional<Result<ecs::ResolvedTarget>> out;
    asio::co_spawn(
        io,
        [&]() -> Awaitable<void> {
          ecs::Picker no_picker;
          out.emplace(co_await ecs::resolve_target(*client, spec, no_picker));
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io.run();
    return std::move(*out);
  }
};

}  // namespace

TEST(ResolveTarget, AFullClusterNameCostsNoListClustersRoundTrip) {
  Fixture f;
  ecs::TargetSpec spec;
  spec.cluster = "prod";
  spec.task = kTaskArn;
  auto r = f.resolve(spec);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(f.ecs.calls, (std::vector<std::string>{"DescribeTasks prod"}));
  EXPECT_EQ(r.value().cluster_arn, kClusterArn);
  EXPECT_EQ(r.value().cluster_name, "prod");
  EXPECT_EQ(r.value().container.name, "app");
}

TEST(ResolveTarget, AClusterPrefixFallsBackToTheListing) {
  Fixture f;
  ecs::TargetSpec spec;
  spec.cluster = "pro";
  auto r = f.resolve(spec);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(f.ecs.calls, (std::vector<std::string>{"ListTasks pro", "ListClusters ",
                                                   std::string("ListTasks ") + kClusterArn,
                                                   std::string("DescribeTasks ") + kClusterArn}));
  EXPECT_EQ(r.value().cluster_name, "prod");
  EXPECT_EQ(r.value().task.arn, kTaskArn);
}

TEST(ResolveTarget, AnUnknownClusterIsAUsageErrorNamingTheClusters) {
  Fixture f;
  ecs::TargetSpec spec;
  spec.cluster = "staging";
  spec.task = kTaskArn;
  auto r = f.resolve(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(exit_code_for(r.error()), 252) << r.error().message;
  EXPECT_NE((r.error().message + r.error().hint).find("prod"), std::string::npos)
      << r.error().message << " / " << r.error().hint;
}
