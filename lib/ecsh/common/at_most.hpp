#pragma once

// Many independent jobs on one executor, at most `limit` at a time: job(0) … job(count - 1),
// each started when an earlier one finishes; returns when every one has. The jobs report what
// they found through what they capture. Callers name the job in a local first: a lambda converted
// to std::function in the co_await's full-expression is a temporary g++ 12 miscompiles
// (docs/CODING.md).

#include "ecsh/common/asio.hpp"
#include "ecsh/common/wakeup.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>

namespace ecsh {

inline Awaitable<void> for_each_at_most(std::size_t count, std::size_t limit,
                                        const std::function<Awaitable<void>(std::size_t)>& job) {
  if (count == 0) co_return;
  auto executor = co_await asio::this_coro::executor;
  std::size_t next = 0;
  std::size_t running = std::min(std::max<std::size_t>(limit, 1), count);
  Wakeup all_done(executor);
  // The workers live in this frame's locals, which outlive them: this waits for the last.
  auto worker = [&]() -> Awaitable<void> {
    while (next < count) co_await job(next++);
    if (--running == 0) all_done.notify();
  };
  for (std::size_t i = running; i > 0; --i) asio::co_spawn(executor, worker(), asio::detached);
  co_await all_done.wait();
}

}  // namespace ecsh
