#include "ecsh/aws/websocket.hpp"

#include "ecsh/aws/proxy.hpp"
#include "ecsh/aws/tls_context.hpp"

#include "ecsh/common/log.hpp"
#include "ecsh/common/tcp_or_tls_stream.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

namespace ecsh::aws {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxMessageBytes = 16 * 1024 * 1024;

Error ws_error(std::string_view what, const boost::system::error_code& ec) {
  return Error::connection(std::string(what) + ": " + ec.message());
}

class WebSocketImpl final : public WebSocketClient {
 public:
  WebSocketImpl(std::shared_ptr<ssl::context> ctx, TcpOrTlsStream stream)
      : ctx_(std::move(ctx)), ws_(std::move(stream)) {
    // A session writes and reads a frame per message (1 KiB of stdin, each acknowledgement):
    // many frames per socket write and read instead of one (tcp_or_tls_stream.hpp).
    ws_.next_layer().batch_frames();
  }

  websocket::stream<TcpOrTlsStream>& ws() { return ws_; }

  Awaitable<Result<void>> write(bool text, std::string data) override {
    ws_.text(text);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(data), use_awaitable_nothrow);
    (void)n;
    if (ec) co_return ws_error("WebSocket write failed", ec);
    co_return ok();
  }

  Awaitable<Result<WebSocketMessage>> read() override {
    buffer_.clear();
    auto [ec, n] = co_await ws_.async_read(buffer_, use_awaitable_nothrow);
    (void)n;
    if (ec == websocket::error::closed) {
      const auto& reason = ws_.reason();
      co_return Error::connection("closed: " + std::to_string(static_cast<int>(reason.code)) + " " +
                                  std::string(reason.reason.c_str()));
    }
    if (ec) co_return ws_error("WebSocket read failed", ec);
    WebSocketMessage msg;
    msg.text = ws_.got_text();
    msg.data = beast::buffers_to_string(buffer_.data());
    co_return msg;
  }

  Awaitable<void> close() override {
    if (ws_.is_open()) {
      auto [ec] = co_await ws_.async_close(websocket::close_code::normal, use_awaitable_nothrow);
      (void)ec;
    }
    abort();
  }

  void abort() override {
    boost::system::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  std::shared_ptr<ssl::context> ctx_;  // must outlive the TLS stream
  websocket::stream<TcpOrTlsStream> ws_;
  beast::flat_buffer buffer_;
};

Awaitable<Result<void>> handshake(WebSocketImpl& impl, const WebSocketTarget& t,
                                  const WebSocketOptions& o) {
  auto& ws = impl.ws();
  ws.read_message_max(kMaxMessageBytes);
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = o.handshake_timeout;
  timeouts.idle_timeout = o.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  auto headers = o.extra_headers;
  ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "ecsh");
    for (const auto& h : headers) req.set(h.name, h.value);
  }));
  std::string target = t.path.empty() ? "/" : t.path;
  if (!t.query.empty()) target += "?" + t.query;
  log::debug("websocket upgrade GET {}{}", t.authority, target);
  auto [ec] = co_await ws.async_handshake(t.authority, target, use_awaitable_nothrow);
  if (ec) co_return ws_error("WebSocket handshake with " + t.authority + " failed", ec);
  ws.binary(true);
  co_return ok();
}

}  // namespace

Result<WebSocketTarget> parse_websocket_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return Error::usage("not a valid URL: " + std::string(url));
  auto u = *parsed;
  WebSocketTarget t;
  auto scheme = std::string(u.scheme());
  if (scheme == "wss") {
    t.tls = true;
  } else if (scheme != "ws") {
    return Error::usage("not a WebSocket URL (ws:// or wss://): " + std::string(url));
  }
  t.host = std::string(u.encoded_host());
  if (t.host.empty()) return Error::usage("the URL has no host: " + std::string(url));
  if (u.has_port()) {
    unsigned long p = 0;
    auto port_text = std::string(u.port());
    try {
      p = std::stoul(port_text);
    } catch (...) {
      p = 0;
    }
    if (p == 0 || p > 65535) return Error::usage("bad port in URL: " + std::string(url));
    t.port = static_cast<std::uint16_t>(p);
  } else {
    t.port = t.tls ? 443 : 80;
  }
  bool default_port = t.port == (t.tls ? 443 : 80);
  t.authority = default_port ? t.host : t.host + ":" + std::to_string(t.port);
  t.path = std::string(u.encoded_path());
  if (u.has_query()) t.query = std::string(u.encoded_query());
  return t;
}

Awaitable<Result<std::unique_ptr<WebSocketClient>>> connect_websocket(
    asio::any_io_executor executor, std::string url, WebSocketOptions options) {
  ECSH_CO_TRY(auto target, parse_websocket_url(url));
  // IPv6 literals arrive bracketed; the resolver wants them bare.
  std::string resolve_host = target.host;
  if (resolve_host.size() > 2 && resolve_host.front() == '[') {
    resolve_host = resolve_host.substr(1, resolve_host.size() - 2);
  }
  std::string port = std::to_string(target.port);
  ECSH_CO_TRY(auto proxy, proxy_for(options.http, target.tls, target.authority));
  const std::string display_url =
      std::string(target.tls ? "wss://" : "ws://") + target.authority + target.path;
  // Through a proxy, the WebSocket always tunnels with CONNECT (as Go's and Python's WebSocket
  // clients do, and so the official plugin), ws:// and wss:// alike.
  auto dial_error = [&](const Error& e) {
    if (proxy) return e;
    return Error::connection("cannot connect to " + target.authority + ": " + e.message);
  };
  const std::chrono::milliseconds handshake_timeout = options.handshake_timeout;

  if (!target.tls) {
    auto tcp_stream = std::make_unique<TcpOrTlsStream::Plain>(executor);
    auto dialed =
        co_await dial(*tcp_stream, resolve_host, port, proxy, /*tunnel=*/true, handshake_timeout);
    if (!dialed) co_return dial_error(dialed.error());
    tcp_stream->expires_never();
    auto impl = std::make_unique<WebSocketImpl>(nullptr, TcpOrTlsStream(std::move(tcp_stream)));
    ECSH_CO_TRY(co_await handshake(*impl, target, options));
    co_return std::unique_ptr<WebSocketClient>(std::move(impl));
  }

  ECSH_CO_TRY(auto ctx, make_tls_client_context(options.http));
  auto tls_stream = std::make_unique<TcpOrTlsStream::Tls>(executor, *ctx);
  auto& tcp_stream = beast::get_lowest_layer(*tls_stream);
  auto dialed =
      co_await dial(tcp_stream, resolve_host, port, proxy, /*tunnel=*/true, handshake_timeout);
  if (!dialed) co_return dial_error(dialed.error());
  ECSH_CO_TRY(
      prepare_tls_client(tls_stream->native_handle(), resolve_host, options.http.verify_tls));
  auto [hec] =
      co_await tls_stream->async_handshake(ssl::stream_base::client, use_awaitable_nothrow);
  if (hec)
    co_return tls_handshake_error(tls_stream->native_handle(), resolve_host, display_url, hec);
  tcp_stream.expires_never();
  auto impl = std::make_unique<WebSocketImpl>(ctx, TcpOrTlsStream(std::move(tls_stream)));
  ECSH_CO_TRY(co_await handshake(*impl, target, options));
  co_return std::unique_ptr<WebSocketClient>(std::move(impl));
}

}  // namespace ecsh::aws
