// for_each_at_most (common/at_most.hpp): every job runs once, never more than the limit at once.

#include "ecsh/common/at_most.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace ecsh;

namespace {

// Runs 10 jobs of 1-3 ms with `limit`; how many ran at most at once, and which ran.
std::pair<std::size_t, std::vector<int>> run_jobs(std::size_t count, std::size_t limit) {
  asio::io_context io;
  std::size_t now = 0, peak = 0;
  std::vector<int> ran(count, 0);
  bool returned = false;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        const std::function<Awaitable<void>(std::size_t)> job =
            [&](std::size_t i) -> Awaitable<void> {
          peak = std::max(peak, ++now);
          asio::steady_timer t(co_await asio::this_coro::executor);
          t.expires_after(std::chrono::milliseconds(1 + i % 3));
          co_await t.async_wait(use_awaitable_nothrow);
          --now;
          ++ran[i];
        };
        co_await for_each_at_most(count, limit, job);
        returned = now == 0;  // every job had finished
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(returned || count == 0);
  return {peak, ran};
}

}  // namespace

TEST(ForEachAtMost, EveryJobOnceAndNeverMoreThanTheLimitAtOnce) {
  auto [peak, ran] = run_jobs(10, 3);
  EXPECT_EQ(peak, 3u);
  EXPECT_EQ(ran, std::vector<int>(10, 1));
  std::tie(peak, ran) = run_jobs(2, 8);  // fewer jobs than the limit
  EXPECT_EQ(peak, 2u);
  std::tie(peak, ran) = run_jobs(4, 0);  // a limit of 0 still makes progress, one at a time
  EXPECT_EQ(peak, 1u);
  EXPECT_EQ(ran, std::vector<int>(4, 1));
  std::tie(peak, ran) = run_jobs(0, 4);
  EXPECT_EQ(peak, 0u);
}
