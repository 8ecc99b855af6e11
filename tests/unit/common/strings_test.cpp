#include "ecsh/common/strings.hpp"

#include <gtest/gtest.h>

using namespace ecsh;

TEST(Strings, UriEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(str::uri_encode("a b/c~d+e=é"), "a%20b%2Fc~d%2Be%3D%C3%A9");
  EXPECT_EQ(str::uri_encode("a b/c", true), "a%20b/c");
}

TEST(Strings, UriDecodeLeavesMalformedEscapes) {
  EXPECT_EQ(str::uri_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(str::uri_decode("100%"), "100%");
  EXPECT_EQ(str::uri_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(str::uri_decode("a+b"), "a+b");
}

TEST(Strings, SplitKeepsEmptyFields) {
  auto parts = str::split("a,,b,", ',');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(parts[3], "");
}

TEST(Strings, CaseInsensitiveHelpers) {
  EXPECT_TRUE(str::iequals("X-Amz-Date", "x-amz-date"));
  EXPECT_FALSE(str::iequals("x-amz-date", "x-amz-dat"));
  EXPECT_TRUE(str::istarts_with("AWS4-HMAC-SHA256 Credential", "aws4-hmac"));
  EXPECT_EQ(str::trim("  a b \t\n"), "a b");
}
