#include "ecsh/fleet/report.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace ecsh::fleet {
namespace {

Target target(std::string id, std::string service = "web") {
  Target t;
  t.cluster_arn = "arn:aws:ecs:us-east-1:000000000000:cluster/prod";
  t.cluster_name = "prod";
  t.task.id = id;
  t.task.arn = "arn:aws:ecs:us-east-1:000000000000:task/prod/" + id;
  t.task.task_definition_arn = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3";
  t.task.group = service.empty() ? "family:web" : "service:" + service;
  t.task.last_status = ecs::TaskStatus::running;
  t.task.enable_execute_command = true;
  t.container.name = "app";
  t.container.exec_agent_status = ecs::AgentStatus::running;
  t.label = id.substr(0, 6) + "/app";
  return t;
}

TaskResult exited(int code, double seconds = 0.25) {
  TaskResult r;
  r.exit_code = code;
  r.seconds = seconds;
  r.sessions = 1;
  return r;
}

TaskResult failed(std::string why, std::string fix = {}) {
  TaskResult r;
  r.error = std::move(why);
  r.fix = std::move(fix);
  r.error_code = "unreachable";
  return r;
}

TEST(FleetReport, ExitStatusIsZeroOnlyWhenEveryTaskExitedZero) {
  EXPECT_EQ(exit_status({exited(0), exited(0)}), 0);
  EXPECT_EQ(exit_status({exited(0), exited(3)}), 1);
  EXPECT_EQ(exit_status({exited(0), failed("exec disabled at launch")}), 1);
  EXPECT_EQ(exit_status({exited(255)}), 1);
}

TEST(FleetReport, DurationsReadWell) {
  EXPECT_EQ(format_seconds(0.0423), "42 ms");
  EXPECT_EQ(format_seconds(4.2), "4.20 s");
  EXPECT_EQ(format_seconds(12.34), "12.3 s");
  EXPECT_EQ(format_seconds(125), "2 min 05 s");
  EXPECT_EQ(format_seconds(-1), "0 ms");
}

TEST(FleetReport, TableRowPerTaskWithExitTimeAndReason) {
  auto rows = table_rows({target("3f2a91aaaa"), target("0b1c2d3e4f", "")},
                         {exited(3, 1.5), failed("exec disabled at launch", "ecsh enable")});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"3f2a91", "web", "app", "3", "1.50 s", ""}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"0b1c2d", "family:web", "app", "-", "-",
                                               "exec disabled at launch; fix: ecsh enable"}));
  EXPECT_EQ(table_head().size(), rows[0].size());
}

TEST(FleetReport, SummaryLineCountsEachOutcome) {
  EXPECT_EQ(summary_line({exited(0), exited(0), exited(3), failed("x")}, 1.42),
            "4 tasks: 2 exited 0, 1 exited non-zero, 1 failed or not reached; 1.42 s");
  EXPECT_EQ(summary_line({exited(0)}, 0.5),
            "1 task: 1 exited 0, 0 exited non-zero, "
            "0 failed or not reached; 500 ms");
}

TEST(FleetReport, Utf8Validation) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii\n"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xff\xfe"));
  EXPECT_FALSE(valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(valid_utf8("\xe2\x9c"));          // truncated
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(FleetReport, JsonHasOneObjectPerTaskWithBase64WhenNotUtf8) {
  auto ok = exited(0, 0.1234);
  ok.stdout_bytes = "hello\n";
  ok.stderr_bytes = std::string("\xff\x00", 2);
  auto bad = failed("exec disabled at launch", "ecsh enable -c prod -s web");
  auto doc = to_json({"sh", "-c", "echo hello"}, {target("3f2a91aaaa"), target("0b1c2d3e4f")},
                     {ok, bad}, 2.5);
  const auto& tasks = doc.at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 2u);
  const auto& a = tasks[0].as_object();
  EXPECT_EQ(a.at("task").as_string(), "3f2a91aaaa");
  EXPECT_EQ(a.at("service").as_string(), "web");
  EXPECT_EQ(a.at("container").as_string(), "app");
  EXPECT_EQ(a.at("exit_code").as_int64(), 0);
  EXPECT_EQ(a.at("stdout").as_string(), "hello\n");
  EXPECT_EQ(a.at("stdout_encoding").as_string(), "utf-8");
  EXPECT_EQ(a.at("stderr").as_string(), "/wA=");
  EXPECT_EQ(a.at("stderr_encoding").as_string(), "base64");
  EXPECT_DOUBLE_EQ(a.at("duration_seconds").as_double(), 0.123);
  EXPECT_TRUE(a.at("error").is_null());
  const auto& b = tasks[1].as_object();
  EXPECT_TRUE(b.at("exit_code").is_null());
  EXPECT_EQ(b.at("error").at("message").as_string(), "exec disabled at launch");
  EXPECT_EQ(b.at("error").at("fix").as_string(), "ecsh enable -c prod -s web");
  EXPECT_EQ(b.at("error").at("code").as_string(), "unreachable");
  const auto& s = doc.at("summary").as_object();
  EXPECT_EQ(s.at("tasks").as_uint64(), 2u);
  EXPECT_EQ(s.at("exit_status").as_int64(), 1);
  EXPECT_EQ(doc.at("command").as_array().size(), 3u);
}

Error service_error(std::string code, bool retryable) {
  Error e;
  e.kind = ErrorKind::service;
  e.code = std::move(code);
  e.message = "An error occurred (" + e.code + ")";
  e.retryable = retryable;
  return e;
}

TEST(FleetReport, ThrottledStartsAreRetriedUpToTheLimitOthersNot) {
  auto throttled = service_error("ThrottlingException", true);
  EXPECT_TRUE(retry_start(throttled, 1, 12));
  EXPECT_TRUE(retry_start(throttled, 11, 12));
  EXPECT_FALSE(retry_start(throttled, 12, 12));
  EXPECT_FALSE(retry_start(service_error("AccessDeniedException", false), 1, 12));
  EXPECT_FALSE(retry_start(service_error("TargetNotConnectedException", false), 1, 12));
  EXPECT_FALSE(retry_start(Error::connection("reset"), 1, 12));
}

TEST(FleetReport, AFailedSessionIsRetriedOnceAndOnlyIfTheCommandNeverStarted) {
  auto dropped = Error::connection("the WebSocket handshake timed out");  // retryable
  EXPECT_TRUE(retry_session(dropped, false, 1));
  EXPECT_FALSE(retry_session(dropped, false, 2));  // once
  EXPECT_FALSE(retry_session(dropped, true, 1));   // it may have run: never twice
  auto ended = Error::connection("the session ended before the command finished", {}, false);
  EXPECT_FALSE(retry_session(ended, false, 1));
}

TEST(FleetReport, RefusalsSayWhyAndPointAtDoctor) {
  auto t = target("3f2a91aaaa");
  auto opaque = service_error("TargetNotConnectedException", false);
  EXPECT_TRUE(is_refusal(opaque));
  EXPECT_FALSE(is_refusal(service_error("ThrottlingException", true)));
  auto u = refusal(t, opaque);
  EXPECT_EQ(u.reason, "the exec agent cannot be reached (TargetNotConnectedException)");
  EXPECT_EQ(u.fix, "ecsh doctor -c prod -t 3f2a91aaaa -n app  (says why)");
  t.task.enable_execute_command = false;
  auto known = refusal(t, service_error("InvalidParameterException", false));
  EXPECT_NE(known.reason.find("exec disabled at launch"), std::string::npos);
}

TEST(FleetReport, DoctorsFirstFailingCheckIsTheReason) {
  doctor::Check ok;
  ok.status = doctor::Status::ok;
  ok.title = "task is RUNNING";
  doctor::Check unknown;
  unknown.status = doctor::Status::unknown;
  unknown.title = "KMS";
  doctor::Check fail;
  fail.status = doctor::Status::fail;
  fail.title = "task role allows ssmmessages";
  fail.detail = "role/bare may not: ssmmessages:OpenDataChannel";
  fail.fix = "ecsh enable";
  EXPECT_FALSE(doctor_reason({ok, unknown}));
  auto u = doctor_reason({ok, unknown, fail});
  ASSERT_TRUE(u);
  EXPECT_EQ(
      u->reason,
      "doctor: task role allows ssmmessages ✗ (role/bare may not: ssmmessages:OpenDataChannel)");
  EXPECT_EQ(u->fix, "ecsh enable");
}

}  // namespace
}  // namespace ecsh::fleet
