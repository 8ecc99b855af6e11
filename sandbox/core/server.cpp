#include "sandbox/core/server.hpp"

#include "ecsh/common/tcp_or_tls_stream.hpp"
#include "sandbox/core/time_format.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <openssl/ssl.h>
#include <unistd.h>

#include <deque>
#include <set>

namespace ecsh::sandbox {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::any_io_executor ex, HttpHandler h)
      : executor(ex), acceptor(ex), handler(std::move(h)) {}

  asio::any_io_executor executor;
  tcp::acceptor acceptor;
  HttpHandler handler;
  WebSocketUpgradeHandler websocket;
  std::chrono::milliseconds response_delay{0};
  std::set<tcp::socket*> open_sockets;
  bool closed = false;
  std::shared_ptr<asio::ssl::context> tls_context;
  std::deque<TlsConnection> tls_log;
  std::size_t tls_log_dropped = 0;  // entries dropped from the front (for stable indices)

  Awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!closed) {
      auto [ec, socket] = co_await acceptor.async_accept(use_awaitable_nothrow);
      if (ec) {
        if (closed || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
    }
  }

  static aws::HttpRequest to_aws(const BeastRequest& req, bool tls) {
    aws::HttpRequest r;
    r.method = std::string(req.method_string());
    r.scheme = tls ? "https" : "http";
    std::string_view target = req.target();
    auto q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
    for (const auto& f : req) {
      r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    }
    if (auto h = r.header("host")) r.host = std::string(*h);
    r.body = req.body();
    return r;
  }

  // A bad request (a TLS ClientHello on the plain port, a plain request on the TLS port) gets a
  // 400 and the connection is closed, as nginx does.
  template <class Stream>
  static Awaitable<void> reject(Stream& stream, std::string body) {
    http::response<http::string_body> res{http::status::bad_request, 11};
    res.set(http::field::server, "ecsh-sandbox");
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(false);
    res.body() = std::move(body);
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, use_awaitable_nothrow);
    (void)wec;
    (void)wn;
  }

  Awaitable<void> serve(tcp::socket socket) {
    auto self = shared_from_this();
    boost::system::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    const bool loopback = !peer_ec && peer.address().is_loopback();
    if (!tls_context) {
      TcpOrTlsStream stream(std::make_unique<TcpOrTlsStream::Plain>(std::move(socket)));
      co_await serve_http(std::move(stream), loopback, 0);
      co_return;
    }
    // A TLS connection starts with a handshake record (0x16); anything else is plain text.
    unsigned char first = 0;
    auto [pec, pn] = co_await socket.async_receive(
        asio::buffer(&first, 1), tcp::socket::message_peek, use_awaitable_nothrow);
    if (pec || pn == 0) co_return;
    if (first != 0x16) {
      beast::flat_buffer buffer;
      http::request_parser<http::string_body> parser;
      auto [rec, rn] =
          co_await http::async_read_header(socket, buffer, parser, use_awaitable_nothrow);
      (void)rn;
      if (!rec) {
        std::string body = "The plain HTTP request was sent to HTTPS port\n";
        co_await reject(socket, body);
      }
      boost::system::error_code ignore;
      socket.shutdown(tcp::socket::shutdown_both, ignore);
      co_return;
    }
    auto tls = std::make_unique<TcpOrTlsStream::Tls>(std::move(socket), *tls_context);
    beast::get_lowest_layer(*tls).expires_after(std::chrono::seconds(30));
    auto [hec] =
        co_await tls->async_handshake(asio::ssl::stream_base::server, use_awaitable_nothrow);
    if (hec) co_return;
    beast::get_lowest_layer(*tls).expires_never();
    TlsConnection info;
    if (const char* sni = SSL_get_servername(tls->native_handle(), TLSEXT_NAMETYPE_host_name)) {
      info.server_name = sni;
    }
    tls_log.push_back(info);
    if (tls_log.size() > 10000) {
      tls_log.pop_front();
      ++tls_log_dropped;
    }
    const std::size_t log_index = tls_log_dropped + tls_log.size();  // 1-based
    TcpOrTlsStream stream(std::move(tls));
    co_await serve_http(std::move(stream), loopback, log_index);
  }

  Awaitable<void> serve_http(TcpOrTlsStream stream, bool loopback, std::size_t tls_log_index) {
    auto self = shared_from_this();
    tcp::socket* socket = &stream.socket();
    open_sockets.insert(socket);
    struct Forget {
      Impl* impl;
      tcp::socket* s;
      ~Forget() { impl->open_sockets.erase(s); }
    } forget{this, socket};
    const bool tls = stream.is_tls();
    beast::flat_buffer buffer;
    while (!closed) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_awaitable_nothrow);
      if (ec) {
        if (!tls && ec != http::error::end_of_stream && ec != asio::error::eof &&
            ec != asio::error::connection_reset) {
          std::string body = "Bad Request\n";
          co_await reject(stream, body);
          boost::system::error_code ignore;
          socket->shutdown(tcp::socket::shutdown_both, ignore);
        }
        co_return;
      }
      BeastRequest req = parser.release();
      if (beast::websocket::is_upgrade(req) && websocket &&
          (std::string_view(req.target()).starts_with("/v1/data-channel/") ||
           std::string_view(req.target()).starts_with("/v1/control-channel/"))) {
        open_sockets.erase(socket);
        if (tls_log_index > tls_log_dropped && tls_log_index - tls_log_dropped <= tls_log.size()) {
          tls_log[tls_log_index - tls_log_dropped - 1].websocket = true;
        }
        websocket(std::move(stream), std::move(req));
        co_return;
      }
      aws::HttpResponse out;
      std::string_view target = req.target();
      if (target.starts_with("/_sandbox/") && !loopback) {
        out.status = 403;
        out.body = "the admin endpoint answers loopback clients only\n";
      } else {
        out = handler(to_aws(req, tls));
        if (response_delay.count() > 0 && !target.starts_with("/_sandbox/")) {
          asio::steady_timer later(stream.get_executor());
          later.expires_after(response_delay);
          co_await later.async_wait(use_awaitable_nothrow);
        }
      }
      http::response<http::string_body> res;
      res.version(req.version());
      res.result(static_cast<http::status>(out.status));
      for (const auto& h : out.headers) res.set(h.name, h.value);
      res.set(http::field::server, "ecsh-sandbox");
      // Every AWS answer has one.
      res.set(http::field::date, http_date(std::chrono::system_clock::now()));
      res.keep_alive(req.keep_alive());
      res.body() = std::move(out.body);
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, use_awaitable_nothrow);
      if (wec || !res.keep_alive()) {
        boost::system::error_code ignore;
        socket->shutdown(tcp::socket::shutdown_both, ignore);
        co_return;
      }
    }
  }
};

HttpServer::HttpServer(asio::any_io_executor executor, HttpHandler handler)
    : impl_(std::make_shared<Impl>(executor, std::move(handler))) {}

HttpServer::~HttpServer() { close(); }

void HttpServer::set_response_delay(std::chrono::milliseconds delay) {
  impl_->response_delay = delay;
}

Result<std::uint16_t> HttpServer::listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Error::usage("cannot listen on " + host + ": not an IP address");
  tcp::endpoint ep(address, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::connection(
        "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message(),
        "Choose another port, or 0 for a free one.", false);
  }
  asio::co_spawn(impl_->executor, impl_->accept_loop(), asio::detached);
  return a.local_endpoint().port();
}

Result<std::uint16_t> HttpServer::listen_on(int fd) {
  boost::system::error_code ec;
  auto& a = impl_->acceptor;
  a.assign(tcp::v4(), fd, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::close(fd);
    return Error::connection("cannot listen on a given socket: " + ec.message());
  }
  auto port = a.local_endpoint(ec).port();
  if (ec) return Error::connection("cannot listen on a given socket: " + ec.message());
  asio::co_spawn(impl_->executor, impl_->accept_loop(), asio::detached);
  return port;
}

void HttpServer::set_websocket_handler(WebSocketUpgradeHandler handler) {
  impl_->websocket = std::move(handler);
}

void HttpServer::enable_tls(std::shared_ptr<asio::ssl::context> context) {
  impl_->tls_context = std::move(context);
}

bool HttpServer::tls() const { return impl_->tls_context != nullptr; }

std::vector<HttpServer::TlsConnection> HttpServer::tls_connections() const {
  return {impl_->tls_log.begin(), impl_->tls_log.end()};
}

void HttpServer::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  for (auto* s : impl_->open_sockets) s->close(ec);
}

}  // namespace ecsh::sandbox
