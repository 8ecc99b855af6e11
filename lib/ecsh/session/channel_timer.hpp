#pragma once

// The data channel's next wake-up (Actions::wake_at) on an Asio timer, shared by ecsh's session
// transport and the sandbox's agent. The timer is re-armed only for an earlier wake-up: one that
// fires early just asks the channel, which answers with its next wake-up (re-arming on every
// frame would cost a syscall each).

#include "ecsh/common/asio.hpp"
#include "ecsh/session/data_channel.hpp"

#include <optional>

namespace ecsh::session {

class ChannelTimer {
 public:
  explicit ChannelTimer(asio::any_io_executor executor) : timer_(executor) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }

  void arm(std::optional<TimePoint> at) {
    if (!at || (at_ && *at >= *at_)) return;
    at_ = at;
    timer_.expires_at(*at);
  }

  // Completes with true when the armed time has come, false once cancel() was called.
  Awaitable<bool> wait_due() {
    while (!stopped_) {
      co_await timer_.async_wait(use_awaitable_nothrow);
      if (stopped_) break;
      if (at_ && TimePoint::clock::now() >= *at_) {
        at_.reset();
        timer_.expires_at(asio::steady_timer::time_point::max());
        co_return true;
      }
      if (!at_) timer_.expires_at(asio::steady_timer::time_point::max());
    }
    co_return false;
  }

  void cancel() {
    stopped_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  std::optional<TimePoint> at_;
  bool stopped_ = false;
};

}  // namespace ecsh::session
