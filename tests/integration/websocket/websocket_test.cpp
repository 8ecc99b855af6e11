// The data-channel WebSocket client against a Beast server on 127.0.0.1 in a thread.

#include "ecsh/aws/websocket.hpp"

#include "integration/socket_probe.hpp"

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace ecsh;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

namespace {

enum class ServerMode { echo, close_with_bye, go_silent };

// One connection: records the upgrade request, then behaves per mode. Stops by itself.
class TestServer {
 public:
  explicit TestServer(ServerMode mode) : mode_(mode), acceptor_(io_, {tcp::v4(), 0}) {
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { run(); });
  }
  ~TestServer() {
    stop_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::string target;
  std::string extra_header;

 private:
  void run() {
    boost::system::error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    beast::flat_buffer buffer;
    beast::http::request<beast::http::string_body> req;
    beast::http::read(socket, buffer, req, ec);
    if (ec) return;
    target = std::string(req.target());
    extra_header = std::string(req["X-Test-Header"]);
    websocket::stream<tcp::socket> ws(std::move(socket));
    ws.accept(req, ec);
    if (ec) return;
    if (mode_ == ServerMode::close_with_bye) {
      ws.close(websocket::close_reason(websocket::close_code::normal, "Bye"), ec);
      return;
    }
    if (mode_ == ServerMode::go_silent) {
      // Never read again: pings go unanswered, as on a dead link.
      for (int i = 0; i < 100 && !stop_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return;
    }
    while (!stop_) {
      beast::flat_buffer msg;
      ws.read(msg, ec);
      if (ec) return;
      ws.text(ws.got_text());
      ws.write(msg.data(), ec);
      if (ec) return;
    }
  }

  ServerMode mode_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

template <class F>
void run_coro(F&& f) {
  asio::io_context io;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        co_await f(io.get_executor());
        done = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(done) << "the coroutine did not finish in time";
}

}  // namespace

TEST(WebSocketUrl, KeepsTheQueryExactly) {
  auto t = aws::parse_websocket_url(
      "wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/s-1?role=publish_subscribe&"
      "cell-number=AAEAAQ+/x%2B==");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t.value().tls);
  EXPECT_EQ(t.value().authority, "ssmmessages.eu-west-1.amazonaws.com");
  EXPECT_EQ(t.value().port, 443);
  EXPECT_EQ(t.value().path, "/v1/data-channel/s-1");
  EXPECT_EQ(t.value().query, "role=publish_subscribe&cell-number=AAEAAQ+/x%2B==");
  auto local = aws::parse_websocket_url("ws://127.0.0.1:8080/x");
  ASSERT_TRUE(local);
  EXPECT_EQ(local.value().authority, "127.0.0.1:8080");
  EXPECT_FALSE(aws::parse_websocket_url("https://example.com/"));
  EXPECT_FALSE(aws::parse_websocket_url("ws://:80/"));
}

TEST(WebSocketClient, SendsTheUrlAsGivenAndEchoesTextAndBinary) {
  TestServer server(ServerMode::echo);
  std::string path = "/v1/data-channel/s-1?role=publish_subscribe&cell-number=AAE+/x==";
  run_coro([&](asio::any_io_executor ex) -> Awaitable<void> {
    aws::WebSocketOptions o;
    o.extra_headers.push_back({"X-Test-Header", "present"});
    std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + path;
    auto c = co_await aws::connect_websocket(ex, url, o);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    if (!c) co_return;
    auto& ws = *c.value();
    std::string hello = R"({"MessageSchemaVersion":"1.0"})";
    auto hello_written = co_await ws.write(true, hello);
    EXPECT_TRUE(hello_written);
    auto m1 = co_await ws.read();
    EXPECT_TRUE(m1 && m1.value().text);
    if (m1) {
      EXPECT_EQ(m1.value().data, R"({"MessageSchemaVersion":"1.0"})");
    }
    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
    auto big_written = co_await ws.write(false, big);
    EXPECT_TRUE(big_written);
    auto m2 = co_await ws.read();
    EXPECT_TRUE(m2 && !m2.value().text);
    if (m2) {
      EXPECT_TRUE(m2.value().data == big);
    }
    co_await ws.close();
  });
  EXPECT_EQ(server.target, path);
  EXPECT_EQ(server.extra_header, "present");
}

TEST(WebSocketClient, ReportsThePeersCloseReason) {
  TestServer server(ServerMode::close_with_bye);
  run_coro([&](asio::any_io_executor ex) -> Awaitable<void> {
    aws::WebSocketOptions o;  // named: see docs/CODING.md on temporaries in co_await
    std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
    auto c = co_await aws::connect_websocket(ex, url, o);
    EXPECT_TRUE(c);
    if (!c) co_return;
    auto m = co_await c.value()->read();
    EXPECT_FALSE(m);
    if (!m) {
      EXPECT_EQ(m.error().message, "closed: 1000 Bye");
    }
  });
}

TEST(WebSocketClient, NoticesADeadLinkWithinTheIdleTimeout) {
  TestServer server(ServerMode::go_silent);
  auto start = std::chrono::steady_clock::now();
  run_coro([&](asio::any_io_executor ex) -> Awaitable<void> {
    aws::WebSocketOptions o;
    o.idle_timeout = std::chrono::seconds(2);
    std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
    auto c = co_await aws::connect_websocket(ex, url, o);
    EXPECT_TRUE(c);
    if (!c) co_return;
    auto m = co_await c.value()->read();
    EXPECT_FALSE(m);
  });
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(WebSocketClient, ConnectionRefusedIsAConnectionError) {
  // A port from a closed acceptor: nothing listens there.
  std::uint16_t port = 0;
  {
    boost::asio::io_context io;
    tcp::acceptor a(io, {tcp::v4(), 0});
    port = a.local_endpoint().port();
  }
  run_coro([&](asio::any_io_executor ex) -> Awaitable<void> {
    aws::WebSocketOptions o;
    std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/";
    auto c = co_await aws::connect_websocket(ex, url, o);
    EXPECT_FALSE(c);
    if (!c) {
      EXPECT_EQ(exit_code_for(c.error()), 255);
    }
  });
}

// Nagle's algorithm off on the data channel's socket, plain and TLS: with it on, a keystroke's
// message waits for the delayed ACK of the one before (40 ms a keystroke on Linux).
TEST(WebSocketClient, TurnsNagleOffOnPlainAndTlsConnections) {
  for (std::string scheme : {"ws", "wss"}) {
    test_support::NoDelayProbeServer server;
    run_coro([&](asio::any_io_executor ex) -> Awaitable<void> {
      aws::WebSocketOptions o;
      o.handshake_timeout = std::chrono::seconds(5);
      std::string url = scheme + "://127.0.0.1:" + std::to_string(server.port()) + "/";
      auto c = co_await aws::connect_websocket(ex, url, o);
      EXPECT_FALSE(c) << "the probe hangs up before any handshake completes";
    });
    EXPECT_EQ(server.client_nodelay(), std::optional<bool>(true)) << scheme;
  }
}
