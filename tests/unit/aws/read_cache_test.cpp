// aws::ReadCache: one answer per read-only question, shared by calls made at the same time.

#include "ecsh/aws/read_cache.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace ecsh;
using namespace ecsh::aws;

namespace {

// Answers after 5 ms, each answer numbered; `status` for every answer.
class SlowHttp final : public HttpClient {
 public:
  explicit SlowHttp(asio::any_io_executor ex) : executor(ex) {}
  asio::any_io_executor executor;
  int calls = 0;
  int status = 200;
  Awaitable<Result<HttpResponse>> send(HttpRequest) override {
    int n = ++calls;
    asio::steady_timer t(executor);
    t.expires_after(std::chrono::milliseconds(5));
    co_await t.async_wait(use_awaitable_nothrow);
    HttpResponse r;
    r.status = status;
    r.body = "answer " + std::to_string(n);
    co_return r;
  }
};

HttpRequest json_request(std::string target, std::string body) {
  HttpRequest r;
  r.host = "ecs.us-east-1.amazonaws.com";
  r.set_header("X-Amz-Target", std::move(target));
  r.set_header("X-Amz-Date", "20261207T000000Z");
  r.body = std::move(body);
  return r;
}

HttpRequest query_request(std::string body) {
  HttpRequest r;
  r.host = "iam.amazonaws.com";
  r.body = std::move(body);
  return r;
}

// Runs `n` sends of `make()` at once; their bodies.
std::vector<std::string> at_once(asio::io_context& io, ReadCache& cache,
                                 const std::vector<HttpRequest>& requests) {
  std::vector<std::string> bodies(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> Awaitable<void> {
          auto r = co_await cache.send(requests[i]);
          bodies[i] = r ? r.value().body : "error";
        },
        asio::detached);
  }
  io.run();
  io.restart();
  return bodies;
}

}  // namespace

TEST(ReadCache, TheOperationIsNamedByTargetOrAction) {
  EXPECT_EQ(operation_of(json_request("AmazonEC2ContainerServiceV20141113.DescribeTasks", "{}")),
            "DescribeTasks");
  EXPECT_EQ(operation_of(query_request("Action=SimulatePrincipalPolicy&Version=2010-05-08")),
            "SimulatePrincipalPolicy");
  HttpRequest get;
  get.query = "Version=2016-11-15&Action=DescribeSubnets";
  EXPECT_EQ(operation_of(get), "DescribeSubnets");
  EXPECT_EQ(operation_of(HttpRequest{}), "");
}

TEST(ReadCache, ARepeatedReadIsAnsweredOnceEvenWhenAskedAtTheSameTime) {
  asio::io_context io;
  SlowHttp http(io.get_executor());
  ReadCache cache(io.get_executor(), http, {"DescribeTaskDefinition"});
  const auto req = json_request("AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
                                R"({"taskDefinition":"app:1"})");
  auto bodies = at_once(io, cache, {req, req, req});
  EXPECT_EQ(http.calls, 1);
  EXPECT_EQ(bodies, (std::vector<std::string>{"answer 1", "answer 1", "answer 1"}));
  // Later, a different date header: still the same question.
  auto later = req;
  later.set_header("X-Amz-Date", "20261207T000500Z");
  bodies = at_once(io, cache, {later});
  EXPECT_EQ(http.calls, 1);
  EXPECT_EQ(cache.sent(), 1u);
  EXPECT_EQ(cache.answered(), 3u);
  // Another question goes out.
  bodies = at_once(io, cache,
                   {json_request("AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
                                 R"({"taskDefinition":"app:2"})")});
  EXPECT_EQ(bodies[0], "answer 2");
}

TEST(ReadCache, WritesAndFailuresAreNeverKept) {
  asio::io_context io;
  SlowHttp http(io.get_executor());
  ReadCache cache(io.get_executor(), http, {"DescribeSubnets"});
  const auto write = query_request("Action=PutRolePolicy&RoleName=r");
  at_once(io, cache, {write, write});
  EXPECT_EQ(http.calls, 2);  // not in the read-only list
  http.status = 500;
  const auto read = query_request("Action=DescribeSubnets&SubnetId.1=subnet-1");
  at_once(io, cache, {read});
  http.status = 200;
  auto bodies = at_once(io, cache, {read});
  EXPECT_EQ(http.calls, 4);  // the failure was not kept: asked again
  EXPECT_EQ(bodies[0], "answer 4");
}
