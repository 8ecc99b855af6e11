#include "sandbox/iam/policy.hpp"

#include <gtest/gtest.h>

namespace ecsh::sandbox::iam {
namespace {

PolicyDocument doc(const char* text) {
  std::string error;
  auto d = parse_policy(text, &error);
  EXPECT_TRUE(d.has_value()) << error << " in " << text;
  return d.value_or(PolicyDocument{});
}

Decision decide(const std::vector<const PolicyDocument*>& docs, const PolicyDocument* boundary,
                const std::string& action, const std::string& resource,
                ConditionContext context = {}) {
  std::vector<NamedPolicy> named;
  int i = 0;
  for (auto* d : docs) {
    NamedPolicy n;
    n.name = "p" + std::to_string(++i);
    n.document = d;
    named.push_back(n);
  }
  Request r;
  r.action = action;
  r.resource = resource;
  r.context = std::move(context);
  return evaluate(named, boundary, r).decision;
}

TEST(PolicyEvaluator, AllowsOnlyWhatAStatementAllows) {
  auto p = doc(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":["ssmmessages:CreateControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"}]})");
  EXPECT_EQ(decide({&p}, nullptr, "ssmmessages:CreateControlChannel", "*"), Decision::allowed);
  EXPECT_EQ(decide({&p}, nullptr, "ssmmessages:CreateDataChannel", "*"), Decision::implicit_deny);
  EXPECT_EQ(decide({}, nullptr, "ecs:ListClusters", "*"), Decision::implicit_deny);
}

TEST(PolicyEvaluator, ActionsMatchCaseInsensitivelyResourcesCaseSensitively) {
  auto p = doc(R"({"Statement":{"Effect":"Allow","Action":"ECS:execute*",
      "Resource":"arn:aws:ecs:*:000000000000:task/demo/*"}})");
  EXPECT_EQ(decide({&p}, nullptr, "ecs:ExecuteCommand",
                   "arn:aws:ecs:us-east-1:000000000000:task/demo/abc"),
            Decision::allowed);
  EXPECT_EQ(decide({&p}, nullptr, "ecs:ExecuteCommand",
                   "arn:aws:ecs:us-east-1:000000000000:task/DEMO/abc"),
            Decision::implicit_deny);
  auto q = doc(R"({"Statement":{"Effect":"Allow","Action":"ecs:Describe?asks","Resource":"*"}})");
  EXPECT_EQ(decide({&q}, nullptr, "ecs:DescribeTasks", "x"), Decision::allowed);
  EXPECT_EQ(decide({&q}, nullptr, "ecs:DescribeTTasks", "x"), Decision::implicit_deny);
}

TEST(PolicyEvaluator, ExplicitDenyWinsOverAnyAllow) {
  auto allow_all = doc(R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})");
  auto deny = doc(
      R"({"Statement":[{"Sid":"NoExec","Effect":"Deny","Action":"ecs:ExecuteCommand","Resource":"*"}]})");
  EXPECT_EQ(decide({&allow_all, &deny}, nullptr, "ecs:ExecuteCommand", "t"),
            Decision::explicit_deny);
  EXPECT_EQ(decide({&deny, &allow_all}, nullptr, "ecs:ExecuteCommand", "t"),
            Decision::explicit_deny);
  EXPECT_EQ(decide({&allow_all, &deny}, nullptr, "ecs:DescribeTasks", "t"), Decision::allowed);
}

TEST(PolicyEvaluator, NotActionAndNotResourceInvertTheMatch) {
  auto p =
      doc(R"({"Statement":[{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:secret"}]})");
  EXPECT_EQ(decide({&p}, nullptr, "ecs:ListTasks", "arn:other"), Decision::allowed);
  EXPECT_EQ(decide({&p}, nullptr, "iam:CreateRole", "arn:other"), Decision::implicit_deny);
  EXPECT_EQ(decide({&p}, nullptr, "ecs:ListTasks", "arn:secret"), Decision::implicit_deny);
}

TEST(PolicyEvaluator, PermissionsBoundaryIntersectsWithIdentityPolicies) {
  auto admin = doc(R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})");
  auto boundary = doc(R"({"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]})");
  EXPECT_EQ(decide({&admin}, &boundary, "ecs:ExecuteCommand", "*"), Decision::allowed);
  EXPECT_EQ(decide({&admin}, &boundary, "ssmmessages:OpenDataChannel", "*"),
            Decision::implicit_deny);
  EXPECT_EQ(decide({}, &boundary, "ecs:ExecuteCommand", "*"), Decision::implicit_deny);
}

TEST(PolicyEvaluator, DeniedReasonsUseAwsWording) {
  auto deny = doc(R"({"Statement":[{"Effect":"Deny","Action":"ecs:*","Resource":"*"}]})");
  NamedPolicy n;
  n.name = "d";
  n.document = &deny;
  Request r;
  r.action = "ecs:ExecuteCommand";
  r.resource = "*";
  EXPECT_EQ(evaluate({n}, nullptr, r).reason, "with an explicit deny in an identity-based policy");
  EXPECT_EQ(evaluate({}, nullptr, r).reason,
            "no identity-based policy allows the ecs:ExecuteCommand action");
}

TEST(PolicyEvaluator, ConditionsOnAbsentKeysDoNotApplyUnlessIfExists) {
  auto p = doc(R"({"Statement":[
      {"Effect":"Allow","Action":"ecs:ExecuteCommand","Resource":"*",
       "Condition":{"StringEquals":{"ecs:cluster":"arn:aws:ecs:us-east-1:000000000000:cluster/demo"}}},
      {"Effect":"Deny","Action":"ecs:ExecuteCommand","Resource":"*",
       "Condition":{"StringEqualsIfExists":{"aws:RequestedRegion":"eu-west-1"}}}]})");
  ConditionContext demo{{"ecs:cluster", "arn:aws:ecs:us-east-1:000000000000:cluster/demo"},
                        {"aws:RequestedRegion", "us-east-1"}};
  EXPECT_EQ(decide({&p}, nullptr, "ecs:ExecuteCommand", "*", demo), Decision::allowed);
  ConditionContext other{{"ecs:cluster", "arn:aws:ecs:us-east-1:000000000000:cluster/prod"}};
  EXPECT_EQ(decide({&p}, nullptr, "ecs:ExecuteCommand", "*", other), Decision::explicit_deny)
      << "IfExists is satisfied by an absent key, so the Deny applies";
  ConditionContext eu{{"ecs:cluster", "arn:aws:ecs:us-east-1:000000000000:cluster/demo"},
                      {"aws:RequestedRegion", "eu-west-1"}};
  EXPECT_EQ(decide({&p}, nullptr, "ecs:ExecuteCommand", "*", eu), Decision::explicit_deny);
}

TEST(PolicyEvaluator, MalformedDocumentsAreRejectedWithIamMessages) {
  std::string error;
  EXPECT_FALSE(parse_policy("{not json", &error));
  EXPECT_EQ(error, "Syntax errors in policy.");
  EXPECT_FALSE(
      parse_policy(R"({"Statement":[{"Effect":"Maybe","Action":"a:b","Resource":"*"}]})", &error));
  EXPECT_FALSE(parse_policy(R"({"Statement":[{"Effect":"Allow","Resource":"*"}]})", &error));
  EXPECT_EQ(error, "Policy statement must contain actions.");
  EXPECT_FALSE(parse_policy(
      R"({"Statement":[{"Effect":"Allow","Action":"nocolon","Resource":"*"}]})", &error));
}

TEST(TrustPolicy, NamesPrincipalsByArnAccountOrService) {
  auto trust = doc(R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000",
      "Service":["ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole"}]})");
  EXPECT_EQ(evaluate_trust(trust, "AWS", "arn:aws:iam::000000000000:user/dev", "000000000000",
                           "sts:AssumeRole"),
            Decision::allowed);
  EXPECT_EQ(evaluate_trust(trust, "AWS", "arn:aws:iam::111111111111:user/x", "111111111111",
                           "sts:AssumeRole"),
            Decision::implicit_deny);
  EXPECT_EQ(
      evaluate_trust(trust, "Service", "ecs-tasks.amazonaws.com", "000000000000", "sts:AssumeRole"),
      Decision::allowed);
  EXPECT_EQ(evaluate_trust(trust, "Service", "ec2.amazonaws.com", "000000000000", "sts:AssumeRole"),
            Decision::implicit_deny);
}

TEST(Wildcards, BacktrackWithoutBlowingUp) {
  EXPECT_TRUE(wildcard_match("a*b*c*d", "aXXbYYcZZd", false));
  EXPECT_FALSE(wildcard_match("a*b*c*e", std::string(5000, 'a') + "bcd", false));
  EXPECT_TRUE(wildcard_match("*", "", false));
  EXPECT_FALSE(wildcard_match("?", "", false));
}

}  // namespace
}  // namespace ecsh::sandbox::iam
