#include "ecsh/common/error.hpp"

#include <gtest/gtest.h>

using namespace ecsh;

TEST(Errors, ExitCodesFollowTheAwsCli) {
  EXPECT_EQ(exit_code_for(Error::usage("x")), 252);
  EXPECT_EQ(exit_code_for(Error::config("x")), 253);
  Error service;
  service.kind = ErrorKind::service;
  EXPECT_EQ(exit_code_for(service), 254);
  EXPECT_EQ(exit_code_for(Error::connection("x")), 255);
  EXPECT_EQ(exit_code_for(Error::protocol("x")), 255);
}

// Each way a session can be ended by something else than its command has its own code, so that
// a script can tell "run it again" from "the task is gone".
TEST(Errors, EachSessionEndingHasItsOwnExitCode) {
  EXPECT_EQ(exit_code_for(Error::session_ended(SessionEnding::idle_timeout, "x")), 247);
  EXPECT_EQ(exit_code_for(Error::session_ended(SessionEnding::max_duration, "x")), 248);
  EXPECT_EQ(exit_code_for(Error::session_ended(SessionEnding::task_stopped, "x")), 249);
  EXPECT_EQ(exit_code_for(Error::session_ended(SessionEnding::terminated_elsewhere, "x")), 250);
  // Not known yet: a connection error, and what the CLI may still refine.
  Error unexplained = Error::session_ended(SessionEnding::unexplained, "x");
  EXPECT_EQ(unexplained.kind, ErrorKind::connection);
  EXPECT_EQ(exit_code_for(unexplained), 255);
}

TEST(Errors, DescribeAddsTheHintOnItsOwnLine) {
  EXPECT_EQ(Error::config("no region", "set AWS_REGION").describe(), "no region\nset AWS_REGION");
  EXPECT_EQ(Error::config("no region").describe(), "no region");
}
