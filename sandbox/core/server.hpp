#pragma once

// The sandbox's HTTP/1.1 server: one io_context thread, keep-alive, one coroutine per connection.
// Every request goes to a handler as an aws::HttpRequest; a WebSocket upgrade on
// /v1/data-channel/… or /v1/control-channel/… is handed over, with its socket, to the session side.

#include "ecsh/aws/http_types.hpp"
#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace ecsh {
class TcpOrTlsStream;  // ecsh/common/tcp_or_tls_stream.hpp
}

namespace ecsh::sandbox {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using WebSocketUpgradeHandler = std::function<void(TcpOrTlsStream stream, BeastRequest request)>;
using HttpHandler = std::function<aws::HttpResponse(const aws::HttpRequest& request)>;

class HttpServer {
 public:
  HttpServer(asio::any_io_executor executor, HttpHandler handler);
  ~HttpServer();
  // Binds and starts accepting; returns the bound port.
  Result<std::uint16_t> listen(const std::string& host, std::uint16_t port);
  // Listens on an IPv4 TCP socket made elsewhere (bound, e.g. inside a task's network namespace)
  // and takes it over; returns its port.
  Result<std::uint16_t> listen_on(int fd);
  // Upgrades on /v1/data-channel/… and /v1/control-channel/… go here.
  void set_websocket_handler(WebSocketUpgradeHandler handler);
  // Every API answer (not the admin endpoint's) is written this much later, as a region far
  // away answers (benchmarks: --api-latency). Other requests are served meanwhile.
  void set_response_delay(std::chrono::milliseconds delay);
  // Serve TLS instead of plain HTTP on the same port (before listen). A plain HTTP request on it
  // gets nginx's 400 "The plain HTTP request was sent to HTTPS port".
  void enable_tls(std::shared_ptr<boost::asio::ssl::context> context);
  bool tls() const;
  // The TLS connections accepted so far (the last 10000): the server name the client sent (SNI,
  // empty when none) and whether the connection became a WebSocket.
  struct TlsConnection {
    std::string server_name;
    bool websocket = false;
  };
  std::vector<TlsConnection> tls_connections() const;
  // Stops accepting and closes idle connections.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ecsh::sandbox
