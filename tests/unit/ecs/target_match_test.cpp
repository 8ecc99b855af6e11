#include "ecsh/ecs/target_match.hpp"

#include <gtest/gtest.h>

using namespace ecsh;
using namespace ecsh::ecs;

namespace {
std::vector<Candidate> tasks() {
  std::vector<Candidate> c(3);
  c[0].id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
  c[0].arn = "arn:aws:ecs:us-east-1:000000000000:task/demo/" + c[0].id;
  c[1].id = "0a1bffff4e5f40718293a4b5c6d7e8f9";
  c[1].arn = "arn:aws:ecs:us-east-1:000000000000:task/demo/" + c[1].id;
  c[2].id = "9f8e7d6c5b4a40718293a4b5c6d7e8f9";
  c[2].arn = "arn:aws:ecs:us-east-1:000000000000:task/demo/" + c[2].id;
  for (auto& x : c) x.label = x.id + "  RUNNING";
  return c;
}
SelectRequest task_request(std::string given) {
  SelectRequest r;
  r.kind = "task";
  r.flag = "-t/--task";
  r.given = std::move(given);
  r.scope = "in service web";
  return r;
}
}  // namespace

TEST(SelectOne, ExactIdArnAndUniquePrefix) {
  auto c = tasks();
  EXPECT_EQ(select_one(task_request(c[2].id), c, nullptr).value(), 2u);
  EXPECT_EQ(select_one(task_request(c[1].arn), c, nullptr).value(), 1u);
  EXPECT_EQ(select_one(task_request("9f8"), c, nullptr).value(), 2u);
  EXPECT_EQ(select_one(task_request("0a1bf"), c, nullptr).value(), 1u);
}

TEST(SelectOne, AmbiguousPrefixListsTheMatchesOnly) {
  auto c = tasks();
  auto r = select_one(task_request("0a1b"), c, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(exit_code_for(r.error()), 252);
  EXPECT_NE(r.error().message.find(c[0].id), std::string::npos);
  EXPECT_NE(r.error().message.find(c[1].id), std::string::npos);
  EXPECT_EQ(r.error().message.find(c[2].id), std::string::npos);
  EXPECT_NE(r.error().hint.find("-t/--task"), std::string::npos);
}

TEST(SelectOne, UnknownNameListsWhatExists) {
  auto c = tasks();
  auto r = select_one(task_request("zzz"), c, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no task 'zzz' in service web"), std::string::npos);
  EXPECT_NE(r.error().message.find(c[2].id), std::string::npos);
}

TEST(SelectOne, NothingTypedTakesTheOnlyOneOrAsks) {
  auto c = tasks();
  std::vector<Candidate> one{c[1]};
  EXPECT_EQ(select_one(task_request(""), one, nullptr).value(), 0u);

  auto no_tty = select_one(task_request(""), c, nullptr);
  ASSERT_FALSE(no_tty);
  EXPECT_NE(no_tty.error().message.find("choose one with -t/--task"), std::string::npos);

  std::vector<std::string> shown;
  Picker pick_second =
      [&](const std::string&,
          const std::vector<std::string>& labels) -> Result<std::optional<std::size_t>> {
    shown = labels;
    return std::optional<std::size_t>(1);
  };
  EXPECT_EQ(select_one(task_request(""), c, pick_second).value(), 1u);
  EXPECT_EQ(shown.size(), 3u);

  Picker cancel = [](const std::string&,
                     const std::vector<std::string>&) -> Result<std::optional<std::size_t>> {
    return std::optional<std::size_t>();
  };
  EXPECT_FALSE(select_one(task_request(""), c, cancel));
}

TEST(SelectOne, NoCandidatesSaysWhere) {
  auto r = select_one(task_request(""), {}, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no task to choose from in service web"), std::string::npos);
}

TEST(Sidecars, KnownInjectedContainersAreSidecars) {
  EXPECT_TRUE(is_sidecar_container("aws-guardduty-agent-AbCdE"));
  EXPECT_TRUE(is_sidecar_container("envoy"));
  EXPECT_TRUE(is_sidecar_container("log_router"));
  EXPECT_FALSE(is_sidecar_container("web"));
  EXPECT_FALSE(is_sidecar_container("app-envoy"));
}
