// Every failed session explains itself (doctor/diagnose.hpp): which errors are worth asking
// doctor about, and how its blocking findings read under AWS's message.

#include "ecsh/doctor/diagnose.hpp"

#include <gtest/gtest.h>

namespace ecsh::doctor {
namespace {

Error service_error(std::string code) {
  Error e;
  e.kind = ErrorKind::service;
  e.code = std::move(code);
  e.message = "An error occurred (" + e.code + ")";
  return e;
}

Check check(std::string title, Status status, std::string detail = {}, std::string fix = {}) {
  Check c;
  c.id = "x";
  c.title = std::move(title);
  c.status = status;
  c.detail = std::move(detail);
  c.fix = std::move(fix);
  return c;
}

ecs::ResolvedTarget target() {
  ecs::ResolvedTarget t;
  t.cluster_name = "demo";
  t.task.id = "0123abcd";
  t.task.group = "service:web";
  t.container.name = "web";
  return t;
}

TEST(Diagnose, OnlyEcsExecRefusalsAreDiagnosed) {
  EXPECT_TRUE(refused_by_ecs_exec(service_error("InvalidParameterException")));
  EXPECT_TRUE(refused_by_ecs_exec(service_error("TargetNotConnectedException")));
  EXPECT_TRUE(refused_by_ecs_exec(service_error("TargetNotConnected")));  // SSM's StartSession
  EXPECT_TRUE(refused_by_ecs_exec(service_error("AccessDeniedException")));
  EXPECT_FALSE(refused_by_ecs_exec(service_error("ThrottlingException")));
  EXPECT_FALSE(refused_by_ecs_exec(Error::connection("the link dropped")));
}

TEST(Diagnose, TheScopeIsTheTargetsTaskAndService) {
  auto s = scope_of(target());
  EXPECT_EQ(s.cluster_name, "demo");
  EXPECT_EQ(s.service, "web");
  ASSERT_TRUE(s.task);
  EXPECT_EQ(s.task->id, "0123abcd");
}

TEST(Diagnose, BlockingFindingsWithTheirFixesAtMostThree) {
  std::vector<Check> checks{
      check("cluster demo is active", Status::ok),
      check("service web has enableExecuteCommand", Status::fail, "exec is disabled",
            "ecsh enable -c demo -s web"),
      check("the task can reach ssmmessages", Status::unknown, "cannot tell"),
      check("task role allows ssmmessages", Status::fail, "", "ecsh enable"),
      check("a", Status::fail),
      check("b", Status::fail),
  };
  EXPECT_EQ(explain_blocking(checks, target()),
            "doctor: ✗ service web has enableExecuteCommand: exec is disabled\n"
            "  fix: ecsh enable -c demo -s web\n"
            "doctor: ✗ task role allows ssmmessages\n"
            "  fix: ecsh enable\n"
            "doctor: ✗ a\n"
            "  (and 1 more: ecsh doctor -c demo -t 0123abcd -n web)");
  EXPECT_EQ(explain_blocking({check("ok", Status::ok), check("?", Status::unknown)}, target()), "");
}

}  // namespace
}  // namespace ecsh::doctor
