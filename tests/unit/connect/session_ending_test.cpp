// How a session's ending is said (connect/session_ending.hpp): the cause, what to do, and the
// exit code, from what the transport measured.

#include "ecsh/connect/session_ending.hpp"

#include "ecsh/session/ending.hpp"

#include <gtest/gtest.h>

using namespace ecsh;
using namespace ecsh::connect;
using namespace std::chrono_literals;

namespace {
SessionEnd closed(std::string_view output) {
  SessionEnd e;
  e.channel_closed = true;
  e.output = std::string(output);
  e.lasted = 25min;
  e.since_input = 20min + 3s;
  return e;
}
}  // namespace

TEST(SessionEndingText, TheIdleTimeoutSaysHowLongAndWhatToDo) {
  auto e = service_ending(closed(session::kIdleTimeoutOutput));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message,
            "session ended by Session Manager after 20 min without input (idle timeout)");
  EXPECT_EQ(exit_code_for(*e), 247);
  EXPECT_NE(e->hint.find("cannot be changed"), std::string::npos);
  // A command gives its own advice (forward: --keepalive).
  EndingAdvice forward;
  forward.idle_timeout = "use --keepalive";
  EXPECT_EQ(service_ending(closed(session::kIdleTimeoutOutput), forward)->hint, "use --keepalive");
}

TEST(SessionEndingText, TheMaximumDuration) {
  auto e = service_ending(closed(session::kMaxSessionDurationOutput));
  ASSERT_TRUE(e);
  EXPECT_EQ(exit_code_for(*e), 248);
  EXPECT_NE(e->message.find("maximum session duration, after 25 min"), std::string::npos);
}

TEST(SessionEndingText, OtherEndingsAreNotTheServices) {
  EXPECT_FALSE(service_ending(closed("")));
  EXPECT_FALSE(service_ending(closed("Unable to start command: exec: \"bash\": not found")));
  SessionEnd open;  // the link ended, no channel_closed
  open.output = std::string(session::kIdleTimeoutOutput);
  EXPECT_FALSE(service_ending(open));
}

TEST(SessionEndingText, ExpiredCredentialsAreAConfigurationErrorWithTheRemedy) {
  Error expired;
  expired.kind = ErrorKind::service;
  expired.code = "ExpiredTokenException";
  expired.message = "The security token included in the request is expired";
  Error e = resume_failure(expired);
  EXPECT_EQ(exit_code_for(e), 253);
  EXPECT_NE(e.message.find("credentials expired during the session"), std::string::npos);
  EXPECT_NE(e.hint.find("aws sso login"), std::string::npos);
  // Anything else keeps its kind, with the context.
  Error denied = expired;
  denied.code = "AccessDeniedException";
  denied.message = "not allowed";
  Error d = resume_failure(denied);
  EXPECT_EQ(d.kind, ErrorKind::service);
  EXPECT_EQ(d.message, "the session's link dropped and could not be resumed: not allowed");
}

TEST(SessionEndingText, DurationsReadAsPeopleSayThem) {
  EXPECT_EQ(format_duration(12s), "12 s");
  EXPECT_EQ(format_duration(20min + 10s), "20 min");
  EXPECT_EQ(format_duration(19min + 45s), "20 min");
  EXPECT_EQ(format_duration(1h + 5min), "1 h 05 min");
  EXPECT_EQ(format_duration(2h), "2 h");
  EXPECT_EQ(format_duration(-3s), "0 s");
}

// The preferences document as the console saves it; only a real limit counts.
TEST(SessionEndingText, TheMaximumDurationComesFromThePreferences) {
  auto doc = [](std::string value) {
    return R"({"schemaVersion":"1.0","sessionType":"Standard_Stream","inputs":)"
           R"({"idleSessionTimeout":"20","maxSessionDuration":")" +
           value + R"(","runAsEnabled":false}})";
  };
  EXPECT_EQ(max_session_duration_of(doc("60")), std::chrono::minutes(60));
  EXPECT_FALSE(max_session_duration_of(doc("")));      // no limit
  EXPECT_FALSE(max_session_duration_of(doc("0")));     // not a value the console takes
  EXPECT_FALSE(max_session_duration_of(doc("1441")));  // above its 24 h
  EXPECT_FALSE(max_session_duration_of(doc("6O")));
  EXPECT_FALSE(max_session_duration_of("not json"));
  EXPECT_FALSE(max_session_duration_of(R"({"inputs":{}})"));
  EXPECT_EQ(max_duration_warning(std::chrono::minutes(60), 1min),
            "ecsh: Session Manager ends this session in 1 min (its maximum session duration, 1 "
            "h); save your work, then start a new one.");
}
