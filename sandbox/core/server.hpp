#pragma once

// The sandbox's HTTP/1.1 server: one io_context thread, keep-alive, one coroutine per connection.
// Every request goes to a handler as an aws::HttpRequest; a WebSocket upgrade on
// /v1/data-channel/… is handed over, with its socket, to the data-channel server.

#include "ecsh/aws/http_types.hpp"
#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <memory>
#include <string>

namespace ecsh::sandbox {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using WebSocketUpgradeHandler =
    std::function<void(asio::ip::tcp::socket socket, BeastRequest request)>;
using HttpHandler = std::function<aws::HttpResponse(const aws::HttpRequest& request)>;

class HttpServer {
 public:
  HttpServer(asio::any_io_executor executor, HttpHandler handler);
  ~HttpServer();
  // Binds and starts accepting; returns the bound port.
  Result<std::uint16_t> listen(const std::string& host, std::uint16_t port);
  void set_websocket_handler(WebSocketUpgradeHandler handler);
  // Stops accepting and closes idle connections.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ecsh::sandbox
