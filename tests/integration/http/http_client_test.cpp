// The HTTP client against a Beast server on 127.0.0.1 in a thread: connection reuse, and the
// one fresh retry when a pooled connection was closed by the server meanwhile.

#include "ecsh/aws/http_client.hpp"

#include "integration/socket_probe.hpp"

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <thread>

using namespace ecsh;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

// Serves `per_connection` requests on each accepted connection, then closes it without warning.
class CountingServer {
 public:
  CountingServer(int per_connection, int max_connections)
      : per_connection_(per_connection), acceptor_(io_, {tcp::v4(), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, max_connections] {
      for (int c = 0; c < max_connections; ++c) {
        boost::system::error_code ec;
        tcp::socket socket(io_);
        acceptor_.accept(socket, ec);
        if (ec || stop_) return;
        ++accepted;
        beast::flat_buffer buffer;
        for (int r = 0; r < per_connection_; ++r) {
          http::request<http::string_body> req;
          http::read(socket, buffer, req, ec);
          if (ec) break;
          http::response<http::string_body> res{http::status::ok, 11};
          res.body() = std::to_string(++served);
          res.keep_alive(true);
          res.prepare_payload();
          http::write(socket, res, ec);
          if (ec) break;
        }
        socket.close(ec);
      }
    });
  }
  ~CountingServer() {
    // A blocking accept() is not woken by closing the acceptor from another thread: connect once.
    stop_ = true;
    boost::system::error_code ec;
    boost::asio::io_context io;
    tcp::socket poke(io);
    poke.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::atomic<int> accepted{0};
  std::atomic<int> served{0};

 private:
  int per_connection_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

std::vector<std::string> send_three(std::uint16_t port) {
  asio::io_context io;
  std::vector<std::string> bodies;
  auto client = aws::make_http_client(io.get_executor(), aws::HttpOptions{});
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        for (int i = 0; i < 3; ++i) {
          aws::HttpRequest req;
          req.method = "GET";
          req.scheme = "http";
          req.host = "127.0.0.1:" + std::to_string(port);
          auto r = co_await client->send(req);
          bodies.push_back(r ? r.value().body : "error: " + r.error().message);
        }
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run_for(std::chrono::seconds(20));
  return bodies;
}

}  // namespace

TEST(HttpClient, ReusesOneKeepAliveConnection) {
  CountingServer server(/*per_connection=*/10, /*max_connections=*/3);
  auto bodies = send_three(server.port());
  EXPECT_EQ(bodies, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(server.accepted.load(), 1);
}

TEST(HttpClient, RetriesOnceWhenAPooledConnectionWasClosed) {
  // The server drops each connection after one response; the client only learns that when it
  // reuses the connection, and must retry on a fresh one without an error.
  CountingServer server(/*per_connection=*/1, /*max_connections=*/3);
  auto bodies = send_three(server.port());
  EXPECT_EQ(bodies, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(server.accepted.load(), 3);
}

// Every AWS API connection, plain and TLS, has Nagle's algorithm off (a request's headers and
// body must not wait for a delayed ACK).
TEST(HttpClient, TurnsNagleOffOnPlainAndTlsConnections) {
  for (std::string scheme : {"http", "https"}) {
    test_support::NoDelayProbeServer server;
    asio::io_context io;
    aws::HttpOptions options;
    options.connect_timeout = std::chrono::seconds(5);
    options.read_timeout = std::chrono::seconds(5);
    auto client = aws::make_http_client(io.get_executor(), options);
    bool failed = false;
    asio::co_spawn(
        io,
        [&]() -> Awaitable<void> {
          aws::HttpRequest req;
          req.method = "GET";
          req.scheme = scheme;
          req.host = "127.0.0.1:" + std::to_string(server.port());
          auto r = co_await client->send(req);
          failed = !r;
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io.run_for(std::chrono::seconds(20));
    EXPECT_TRUE(failed) << "the probe hangs up before answering";
    EXPECT_EQ(server.client_nodelay(), std::optional<bool>(true)) << scheme;
  }
}
