#pragma once

// One accepted connection of the sandbox's server, plain TCP or TLS, chosen at run time. It is an
// AsyncStream (Beast's HTTP and WebSocket code runs on it unchanged) and has Beast's WebSocket
// teardown, so the data-channel server takes either kind of link.

#include "ecsh/common/asio.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <memory>
#include <utility>

namespace ecsh::sandbox {

class ServerStream {
 public:
  using Plain = boost::beast::tcp_stream;
  using Tls = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using executor_type = Plain::executor_type;

  explicit ServerStream(std::unique_ptr<Plain> plain) : plain_(std::move(plain)) {}
  explicit ServerStream(std::unique_ptr<Tls> tls) : tls_(std::move(tls)) {}
  ServerStream(ServerStream&&) = default;
  ServerStream& operator=(ServerStream&&) = default;

  bool is_tls() const { return tls_ != nullptr; }
  Tls* tls() { return tls_.get(); }
  Plain& tcp() { return tls_ ? boost::beast::get_lowest_layer(*tls_) : *plain_; }
  asio::ip::tcp::socket& socket() { return tcp().socket(); }
  executor_type get_executor() { return tcp().get_executor(); }

  template <class MutableBufferSequence, class Handler>
  auto async_read_some(const MutableBufferSequence& buffers, Handler&& handler) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Handler>(handler));
    return plain_->async_read_some(buffers, std::forward<Handler>(handler));
  }
  template <class ConstBufferSequence, class Handler>
  auto async_write_some(const ConstBufferSequence& buffers, Handler&& handler) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Handler>(handler));
    return plain_->async_write_some(buffers, std::forward<Handler>(handler));
  }

  // How Beast's WebSocket closes the link at once (a timeout, a failed close handshake).
  friend void beast_close_socket(ServerStream& s) {
    boost::system::error_code ec;
    s.socket().close(ec);
  }

  // The WebSocket close handshake's end: a TLS close_notify, then the TCP shutdown.
  template <class TeardownHandler>
  friend void async_teardown(boost::beast::role_type role, ServerStream& s,
                             TeardownHandler&& handler) {
    if (s.tls_) {
      async_teardown(role, *s.tls_, std::forward<TeardownHandler>(handler));
    } else {
      async_teardown(role, *s.plain_, std::forward<TeardownHandler>(handler));
    }
  }
  friend void teardown(boost::beast::role_type role, ServerStream& s,
                       boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    if (s.tls_) {
      teardown(role, *s.tls_, ec);
    } else {
      teardown(role, s.plain_->socket(), ec);
    }
  }

 private:
  std::unique_ptr<Plain> plain_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace ecsh::sandbox
