#pragma once

// A wake-up for coroutines on one executor: wait() suspends until notify(), and a notify() that
// comes while nobody waits is not lost (the next wait() returns at once). Every waiter wakes.

#include "ecsh/common/asio.hpp"

namespace ecsh {

class Wakeup {
 public:
  explicit Wakeup(asio::any_io_executor executor) : timer_(executor) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }

  Awaitable<void> wait() {
    // The expiry stays at max: setting it again would cancel the other waiters' waits, and two
    // waiters would then wake each other for ever.
    if (!pending_) co_await timer_.async_wait(use_awaitable_nothrow);
    pending_ = false;
  }

  void notify() {
    pending_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace ecsh
