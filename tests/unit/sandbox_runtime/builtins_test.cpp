#include "sandbox/runtime/builtins.hpp"

#include <gtest/gtest.h>

namespace {

using ecsh::sandbox::runtime::parse_http_url;

TEST(HttpUrl, HostPortAndPath) {
  auto u = parse_http_url("http://127.0.0.1:8080/a/b?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/a/b?x=1");
}

TEST(HttpUrl, DefaultsToPort80AndRoot) {
  auto u = parse_http_url("HTTP://localhost");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/");
}

TEST(HttpUrl, Ipv6Literal) {
  auto u = parse_http_url("http://[::1]:81/x#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 81);
  EXPECT_EQ(u->path, "/x");
}

TEST(HttpUrl, RejectsWhatItCannotFetch) {
  for (const char* bad :
       {"https://example.com/", "http://", "http://:80/", "http://h:0/", "http://h:65536/",
        "http://h:8x/", "http://user@h/", "http://[::1/", "ftp://h/", "http://h/a b", "localhost"})
    EXPECT_FALSE(parse_http_url(bad)) << bad;
}

}  // namespace
