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

TEST(Errors, DescribeAddsTheHintOnItsOwnLine) {
  EXPECT_EQ(Error::config("no region", "set AWS_REGION").describe(), "no region\nset AWS_REGION");
  EXPECT_EQ(Error::config("no region").describe(), "no region");
}
