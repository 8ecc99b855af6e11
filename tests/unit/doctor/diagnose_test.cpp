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

// A session that ended early says which of its causes it was, from the task as it is now.
ecs::TaskView task_now(ecs::TaskStatus last, ecs::TaskStatus desired) {
  ecs::TaskView t;
  t.id = "0123abcd";
  t.last_status = last;
  t.desired_status = desired;
  ecs::ContainerView c;
  c.name = "web";
  c.last_status = last;
  t.containers.push_back(c);
  return t;
}

Error ended_early() {
  return Error::session_ended(SessionEnding::unexplained,
                              "the session ended before the command finished");
}

TEST(Diagnose, AStoppedTaskEndedTheSession) {
  auto t = task_now(ecs::TaskStatus::stopped, ecs::TaskStatus::stopped);
  t.stopped_reason = "Scaling activity initiated by (deployment ecs-svc/1)";
  Error e = explain_ending(t, target(), ended_early());
  EXPECT_EQ(e.ending, SessionEnding::task_stopped);
  EXPECT_EQ(exit_code_for(e), 249);
  EXPECT_NE(e.message.find("task 0123abcd stopped: Scaling activity"), std::string::npos)
      << e.message;
  // A task on its way out (desired STOPPED, still RUNNING) counts too.
  e = explain_ending(task_now(ecs::TaskStatus::running, ecs::TaskStatus::stopped), target(),
                     ended_early());
  EXPECT_EQ(e.ending, SessionEnding::task_stopped);
}

TEST(Diagnose, TheTargetsContainerStoppedInARunningTask) {
  auto t = task_now(ecs::TaskStatus::running, ecs::TaskStatus::running);
  t.containers[0].last_status = ecs::TaskStatus::stopped;
  t.containers[0].exit_code = 137;
  t.containers[0].reason = "OutOfMemoryError: Container killed due to memory usage";
  Error e = explain_ending(t, target(), ended_early());
  EXPECT_EQ(e.ending, SessionEnding::task_stopped);
  EXPECT_NE(e.message.find("container web of task 0123abcd stopped with exit code 137: "
                           "OutOfMemoryError"),
            std::string::npos)
      << e.message;
}

TEST(Diagnose, ARunningTaskMeansTheSessionWasEndedElsewhere) {
  Error e = explain_ending(task_now(ecs::TaskStatus::running, ecs::TaskStatus::running), target(),
                           ended_early());
  EXPECT_EQ(e.ending, SessionEnding::terminated_elsewhere);
  EXPECT_EQ(exit_code_for(e), 250);
  EXPECT_NE(e.message.find("ended from outside ecsh"), std::string::npos);
  // Nothing known about the task: the error stays as it was.
  e = explain_ending(std::nullopt, target(), ended_early());
  EXPECT_EQ(e.ending, SessionEnding::unexplained);
  EXPECT_EQ(exit_code_for(e), 255);
}

}  // namespace
}  // namespace ecsh::doctor
