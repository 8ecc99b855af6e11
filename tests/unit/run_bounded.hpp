#pragma once

// Runs a coroutine on an io_context for at most a bounded time, for unit tests that open real
// sockets on 127.0.0.1: a hang fails the test instead of stalling the suite.

#include "ecsh/common/asio.hpp"

#include <chrono>
#include <exception>
#include <functional>

namespace ecsh::test_support {

// Whether `body` finished within `limit` (an exception it throws reaches the test).
inline bool run_bounded(asio::io_context& io, const std::function<Awaitable<void>()>& body,
                        std::chrono::seconds limit = std::chrono::seconds(20)) {
  bool finished = false;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        co_await body();
        finished = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run_for(limit);
  return finished;
}

inline bool run_bounded(const std::function<Awaitable<void>()>& body) {
  asio::io_context io;
  return run_bounded(io, body);
}

}  // namespace ecsh::test_support
