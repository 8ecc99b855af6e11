#include "sandbox/core/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

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
  std::set<tcp::socket*> open_sockets;
  bool closed = false;

  Task<void> accept_loop() {
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

  static aws::HttpRequest to_aws(const BeastRequest& req) {
    aws::HttpRequest r;
    r.method = std::string(req.method_string());
    r.scheme = "http";
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

  Task<void> serve(tcp::socket socket) {
    auto self = shared_from_this();
    open_sockets.insert(&socket);
    struct Forget {
      Impl* impl;
      tcp::socket* s;
      ~Forget() { impl->open_sockets.erase(s); }
    } forget{this, &socket};
    boost::system::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    const bool loopback = !peer_ec && peer.address().is_loopback();
    beast::flat_buffer buffer;
    while (!closed) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      auto [ec, n] = co_await http::async_read(socket, buffer, parser, use_awaitable_nothrow);
      if (ec) co_return;
      BeastRequest req = parser.release();
      if (beast::websocket::is_upgrade(req) && websocket &&
          std::string_view(req.target()).starts_with("/v1/data-channel/")) {
        open_sockets.erase(&socket);
        websocket(std::move(socket), std::move(req));
        co_return;
      }
      aws::HttpResponse out;
      std::string_view target = req.target();
      if (target.starts_with("/_sandbox/") && !loopback) {
        out.status = 403;
        out.body = "the admin endpoint answers loopback clients only\n";
      } else {
        out = handler(to_aws(req));
      }
      http::response<http::string_body> res;
      res.version(req.version());
      res.result(static_cast<http::status>(out.status));
      for (const auto& h : out.headers) res.set(h.name, h.value);
      res.set(http::field::server, "ecsh-sandbox");
      res.keep_alive(req.keep_alive());
      res.body() = std::move(out.body);
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(socket, res, use_awaitable_nothrow);
      if (wec || !res.keep_alive()) {
        boost::system::error_code ignore;
        socket.shutdown(tcp::socket::shutdown_both, ignore);
        co_return;
      }
    }
  }
};

HttpServer::HttpServer(asio::any_io_executor executor, HttpHandler handler)
    : impl_(std::make_shared<Impl>(executor, std::move(handler))) {}

HttpServer::~HttpServer() { close(); }

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

void HttpServer::set_websocket_handler(WebSocketUpgradeHandler handler) {
  impl_->websocket = std::move(handler);
}

void HttpServer::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  for (auto* s : impl_->open_sockets) s->close(ec);
}

}  // namespace ecsh::sandbox
