// WinchWatcher with a real SIGWINCH (raise) and an injected size source.

#include "ecsh/term/winch.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace ecsh::term {
namespace {

using namespace std::chrono_literals;

WindowSize size(unsigned short c, unsigned short r) {
  WindowSize s;
  s.cols = c;
  s.rows = r;
  return s;
}

TEST(WinchWatcher, ReportsTheNewSizeOnceForABurst) {
  asio::io_context io;
  WindowSize answer = size(80, 24);
  int queries = 0;
  WinchWatcher w(
      io.get_executor(),
      [&] {
        ++queries;
        return answer;
      },
      5ms);
  EXPECT_EQ(w.current(), size(80, 24));
  std::optional<WindowSize> got;
  bool second_reported = true;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        answer = size(120, 40);
        for (int i = 0; i < 5; ++i) ::raise(SIGWINCH);
        auto r = co_await w.changed();
        if (r) got = r.value();
        // The burst is spent and the size did not change again: nothing more is reported
        // before the watcher is cancelled.
        ::raise(SIGWINCH);
        asio::steady_timer t(io, 200ms);
        t.async_wait([&](boost::system::error_code) { w.cancel(); });
        auto again = co_await w.changed();
        second_reported = static_cast<bool>(again);
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, size(120, 40));
  EXPECT_EQ(w.current(), size(120, 40));
  EXPECT_FALSE(second_reported);
  EXPECT_EQ(queries, 3);  // construction, the burst, the unchanged signal
}

TEST(WinchWatcher, CancelEndsTheWaitWithAnError) {
  asio::io_context io;
  WinchWatcher w(
      io.get_executor(), [] { return size(80, 24); }, 5ms);
  bool failed = false;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        auto r = co_await w.changed();
        failed = !r;
      },
      asio::detached);
  asio::post(io, [&] { w.cancel(); });
  io.run();
  EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace ecsh::term
