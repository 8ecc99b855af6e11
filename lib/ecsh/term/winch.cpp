#include "ecsh/term/winch.hpp"

#include <boost/asio/signal_set.hpp>

#include <csignal>

namespace ecsh::term {

struct WinchWatcher::Impl {
  Impl(asio::any_io_executor ex, SizeQuery q, std::chrono::milliseconds s)
      : signals(ex, SIGWINCH), timer(ex), query(std::move(q)), settle(s) {}
  asio::signal_set signals;
  asio::steady_timer timer;
  SizeQuery query;
  std::chrono::milliseconds settle;
  WindowSize last;
};

WinchWatcher::WinchWatcher(asio::any_io_executor ex, SizeQuery query,
                           std::chrono::milliseconds settle) {
  if (!query) query = [] { return terminal_size(); };
  impl_ = std::make_unique<Impl>(std::move(ex), std::move(query), settle);
  impl_->last = impl_->query();
}

WinchWatcher::~WinchWatcher() = default;

WindowSize WinchWatcher::current() const { return impl_->last; }

void WinchWatcher::cancel() {
  impl_->signals.cancel();
  impl_->timer.cancel();
}

Awaitable<Result<WindowSize>> WinchWatcher::changed() {
  Impl& im = *impl_;
  for (;;) {
    auto [ec, sig] = co_await im.signals.async_wait(use_awaitable_nothrow);
    (void)sig;
    if (ec) co_return Error::internal("window size watch stopped: " + ec.message());
    im.timer.expires_after(im.settle);
    auto [tec] = co_await im.timer.async_wait(use_awaitable_nothrow);
    if (tec) co_return Error::internal("window size watch stopped: " + tec.message());
    // signal_set counts every signal of the burst; drop them by registering afresh. A signal
    // in between is not lost: the size is read after the new registration.
    boost::system::error_code ignored;
    im.signals.clear(ignored);
    im.signals.add(SIGWINCH, ignored);
    const WindowSize now = im.query();
    if (now != im.last) {
      im.last = now;
      co_return now;
    }
  }
}

}  // namespace ecsh::term
