#include "ecsh/aws/adaptive.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace ecsh::aws;

TEST(AdaptiveRetryConformance, SameRatesAsBotocoreAfterEveryResponse) {
  const char* path = std::getenv("ECSH_ADAPTIVE_VECTORS");
  ASSERT_NE(path, nullptr) << "run through ctest (the fixture generates the vectors)";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  auto doc = boost::json::parse(buf.str()).as_object();
  ClientRateLimiter limiter(doc.at("start").to_number<double>());
  int i = 0;
  int throttles = 0;
  for (const auto& e : doc.at("events").as_array()) {
    const auto& ev = e.as_object();
    bool throttled = ev.at("throttled").as_bool();
    throttles += throttled;
    limiter.after_response(throttled, ev.at("t").to_number<double>());
    double want = ev.at("max_rate").to_number<double>();
    ASSERT_NEAR(limiter.max_rate(), want, 1e-9 * std::max(1.0, std::abs(want))) << "event " << i;
    ASSERT_EQ(limiter.enabled(), ev.at("enabled").as_bool()) << "event " << i;
    ++i;
  }
  EXPECT_GT(i, 500);
  EXPECT_GT(throttles, 50);
}

TEST(AdaptiveRetry, NoWaitsUntilTheFirstThrottleThenPacing) {
  ClientRateLimiter limiter(0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.before_send(0.001 * i), 0.0);
  for (int i = 0; i < 20; ++i) limiter.after_response(/*throttled=*/i % 2 == 0, 1.0 + 0.05 * i);
  ASSERT_TRUE(limiter.enabled());
  double waited = 0;
  for (int i = 0; i < 10; ++i) waited += limiter.before_send(3.0);
  EXPECT_GT(waited, 0.0);  // ten requests at once exceed the bucket: later ones must wait
}
