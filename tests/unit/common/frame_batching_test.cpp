// Batched frames on a TcpOrTlsStream (common/tcp_or_tls_stream.hpp): a WebSocket on 127.0.0.1
// whose small messages share socket writes and reads, arrive whole and in order, wait for a slow
// reader without stalling, are all written before the close, and fail once the peer is gone.

#include "ecsh/common/tcp_or_tls_stream.hpp"
#include "unit/run_bounded.hpp"

#include <gtest/gtest.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace ecsh;
using ecsh::test_support::run_bounded;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

using Ws = websocket::stream<TcpOrTlsStream>;
constexpr std::size_t kDefaultPending = 256 * 1024;

// A message's bytes: its index, then filler that depends on it (a swapped or torn message shows).
std::string message(std::size_t i, std::size_t size) {
  std::string m = std::to_string(i) + ":";
  while (m.size() < size) m.push_back(static_cast<char>('a' + (i + m.size()) % 26));
  return m;
}

struct Pair {
  std::unique_ptr<Ws> client;
  std::unique_ptr<Ws> server;
};

// A client and a server WebSocket joined over 127.0.0.1, each batched when asked.
Awaitable<Pair> connect_pair(bool batch_client, bool batch_server, std::size_t max_pending) {
  auto ex = co_await asio::this_coro::executor;
  tcp::acceptor acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto client_tcp = std::make_unique<TcpOrTlsStream::Plain>(ex);
  co_await client_tcp->socket().async_connect(acceptor.local_endpoint(), asio::use_awaitable);
  auto server_socket = co_await acceptor.async_accept(asio::use_awaitable);
  TcpOrTlsStream client_stream(std::move(client_tcp));
  TcpOrTlsStream server_stream(std::make_unique<TcpOrTlsStream::Plain>(std::move(server_socket)));
  if (batch_client) client_stream.batch_frames(max_pending);
  if (batch_server) server_stream.batch_frames(max_pending);
  Pair p{std::make_unique<Ws>(std::move(client_stream)),
         std::make_unique<Ws>(std::move(server_stream))};
  p.client->binary(true);
  p.server->binary(true);
  co_await (p.server->async_accept(asio::use_awaitable) &&
            p.client->async_handshake("127.0.0.1", "/", asio::use_awaitable));
  co_return p;
}

// Reads `count` messages; each one's bytes as received.
Awaitable<std::vector<std::string>> read_messages(Ws& ws, std::size_t count,
                                                  std::chrono::milliseconds pause = {}) {
  std::vector<std::string> got;
  beast::flat_buffer buffer;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (std::size_t i = 0; i < count; ++i) {
    auto [ec, n] = co_await ws.async_read(buffer, use_awaitable_nothrow);
    if (ec) break;
    got.push_back(beast::buffers_to_string(buffer.data()));
    buffer.consume(n);
    if (pause.count() > 0 && i < 20) {  // a slow reader at first: the writer must wait
      timer.expires_after(pause);
      co_await timer.async_wait(use_awaitable_nothrow);
    }
  }
  co_return got;
}

Awaitable<void> write_messages(Ws& ws, std::size_t count, std::size_t size) {
  for (std::size_t i = 0; i < count; ++i) {
    co_await ws.async_write(asio::buffer(message(i, size)), asio::use_awaitable);
  }
}

}  // namespace

TEST(FrameBatching, ManySmallMessagesArriveWholeAndInOrderInFewSocketWritesAndReads) {
  constexpr std::size_t kCount = 4000;
  std::vector<std::string> got;
  TcpOrTlsStream::BatchingCounts sent, received;
  const std::function<Awaitable<void>()> body = [&]() -> Awaitable<void> {
    auto p = co_await connect_pair(true, true, kDefaultPending);
    got = co_await (read_messages(*p.server, kCount) && write_messages(*p.client, kCount, 1100));
    sent = p.client->next_layer().batching_counts();
    received = p.server->next_layer().batching_counts();
  };
  ASSERT_TRUE(run_bounded(body));
  ASSERT_EQ(got.size(), kCount);
  for (std::size_t i = 0; i < kCount; ++i) ASSERT_EQ(got[i], message(i, 1100)) << i;
  // One socket write per frame unbatched; batched, dozens of frames share one.
  EXPECT_GE(sent.writes, kCount);
  EXPECT_LT(sent.socket_writes * 8, sent.writes);
  EXPECT_LT(received.socket_reads * 8, received.reads);
}

TEST(FrameBatching, AWriterFasterThanItsReaderWaitsAndLosesNothing) {
  // 2 MiB through a pending limit of 4 KiB, read slowly at first: writes must wait for room
  // (a write that found no room once waited forever).
  constexpr std::size_t kCount = 2048;
  std::vector<std::string> got;
  const std::function<Awaitable<void>()> body = [&]() -> Awaitable<void> {
    auto p = co_await connect_pair(true, false, 4096);
    got = co_await (read_messages(*p.server, kCount, std::chrono::milliseconds(5)) &&
                    write_messages(*p.client, kCount, 1024));
  };
  ASSERT_TRUE(run_bounded(body));
  ASSERT_EQ(got.size(), kCount);
  for (std::size_t i = 0; i < kCount; ++i) ASSERT_EQ(got[i], message(i, 1024)) << i;
}

TEST(FrameBatching, ALoneMessageGoesOutWithoutWaitingForMore) {
  std::vector<std::string> got;
  const std::function<Awaitable<void>()> body = [&]() -> Awaitable<void> {
    auto p = co_await connect_pair(true, true, kDefaultPending);
    co_await p.client->async_write(asio::buffer(std::string("k")), asio::use_awaitable);
    got = co_await read_messages(*p.server, 1);  // nothing else is ever written
    // And the answer the other way, as a keystroke's echo.
    co_await p.server->async_write(asio::buffer(std::string("echo")), asio::use_awaitable);
    auto back = co_await read_messages(*p.client, 1);
    got.insert(got.end(), back.begin(), back.end());
  };
  ASSERT_TRUE(run_bounded(body));
  EXPECT_EQ(got, (std::vector<std::string>{"k", "echo"}));
}

TEST(FrameBatching, TheCloseComesAfterEveryMessageWrittenBeforeIt) {
  constexpr std::size_t kCount = 500;
  std::vector<std::string> got;
  std::optional<boost::system::error_code> after_last;
  std::string reason;
  const std::function<Awaitable<void>()> body = [&]() -> Awaitable<void> {
    auto p = co_await connect_pair(true, false, kDefaultPending);
    auto write_then_close = [&]() -> Awaitable<void> {
      co_await write_messages(*p.client, kCount, 700);
      // The close handshake ends with the server's answer, read while the server reads.
      auto [ec] = co_await p.client->async_close(
          websocket::close_reason(websocket::close_code::normal, "Bye"), use_awaitable_nothrow);
      (void)ec;
    };
    auto read_to_close = [&]() -> Awaitable<void> {
      got = co_await read_messages(*p.server, kCount);
      beast::flat_buffer buffer;
      auto [ec, n] = co_await p.server->async_read(buffer, use_awaitable_nothrow);
      after_last = ec;
      reason = std::string(p.server->reason().reason.c_str());
    };
    co_await (read_to_close() && write_then_close());
  };
  ASSERT_TRUE(run_bounded(body));
  ASSERT_EQ(got.size(), kCount);
  EXPECT_EQ(got.back(), message(kCount - 1, 700));
  ASSERT_TRUE(after_last.has_value());
  EXPECT_EQ(after_last.value(), websocket::error::closed);
  EXPECT_EQ(reason, "Bye");
}

TEST(FrameBatching, WritesFailOnceThePeerIsGone) {
  bool failed = false;
  std::size_t written = 0;
  const std::function<Awaitable<void>()> body = [&]() -> Awaitable<void> {
    auto p = co_await connect_pair(true, false, 4096);
    beast::get_lowest_layer(*p.server).socket().close();
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    for (std::size_t i = 0; i < 10000 && !failed; ++i) {
      std::string m = message(i, 1024);
      auto [ec, n] = co_await p.client->async_write(asio::buffer(m), use_awaitable_nothrow);
      failed = static_cast<bool>(ec);
      if (!failed) ++written;
      const bool pause = i % 100 == 99;  // let the reset come back
      timer.expires_after(std::chrono::milliseconds(pause ? 1 : 0));
      if (pause) (void)co_await timer.async_wait(use_awaitable_nothrow);
    }
  };
  ASSERT_TRUE(run_bounded(body));
  EXPECT_TRUE(failed) << written << " writes accepted after the peer closed";
}
