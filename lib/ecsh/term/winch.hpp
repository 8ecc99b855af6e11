#pragma once

// Window-size changes as an awaitable: SIGWINCH through asio::signal_set (no polling). A burst
// of signals (a window being dragged) is coalesced: after a signal the watcher waits `settle`
// for more, then reads the size once, and reports only a size that differs from the last one.

#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"
#include "ecsh/term/tty.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace ecsh::term {

class WinchWatcher {
 public:
  using SizeQuery = std::function<WindowSize()>;

  // query defaults to terminal_size(). The size at construction is the starting point.
  explicit WinchWatcher(asio::any_io_executor ex, SizeQuery query = {},
                        std::chrono::milliseconds settle = std::chrono::milliseconds(30));
  ~WinchWatcher();
  WinchWatcher(const WinchWatcher&) = delete;
  WinchWatcher& operator=(const WinchWatcher&) = delete;

  // The last size read (at construction or reported by changed()).
  WindowSize current() const;

  // Completes with the new size once it changed. An error when the wait was cancelled
  // (cancel(), the watcher's destruction, or a cancellation slot such as awaitable ||).
  Awaitable<Result<WindowSize>> changed();

  void cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ecsh::term
