// Batched frames over TLS (common/tcp_or_tls_stream.hpp), with the sandbox's certificates
// (core/tls.hpp): a WebSocket whose link is dropped, or which is let go, while a coalesced write
// is still on its way into the socket. A batched write completes before its bytes reach the
// socket, so its owner may destroy the stream while the TLS write is under way; the TLS
// machinery it uses must outlive that write (under AddressSanitizer this failed as a
// heap-use-after-free: the sandbox died when a session over wss:// lost its link).

#include "ecsh/common/tcp_or_tls_stream.hpp"
#include "sandbox/core/tls.hpp"
#include "unit/run_bounded.hpp"

#include <gtest/gtest.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <unistd.h>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

using namespace ecsh;
using ecsh::test_support::run_bounded;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

using Ws = websocket::stream<TcpOrTlsStream>;

struct TlsPair {
  std::unique_ptr<Ws> client;
  std::unique_ptr<Ws> server;
};

class TlsFrameBatching : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ecsh-tls-batching-" + std::to_string(::getpid()));
    auto files = sandbox::ensure_tls_files(dir_);
    ASSERT_TRUE(files.has_value()) << files.error().message;
    auto server = sandbox::make_tls_server_context(files.value());
    ASSERT_TRUE(server.has_value()) << server.error().message;
    server_ctx_ = server.value();
    client_ctx_.load_verify_file(files.value().ca.string());
    client_ctx_.set_verify_mode(ssl::verify_peer);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A batched client and an unbatched server WebSocket over TLS on 127.0.0.1, with the smallest
  // socket buffers the kernel allows: a write of some hundred KiB stays under way until the
  // server reads.
  Awaitable<TlsPair> connect_pair() {
    auto ex = co_await asio::this_coro::executor;
    tcp::acceptor acceptor(ex);
    const tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(local.protocol());
    acceptor.set_option(asio::socket_base::receive_buffer_size(4096));
    acceptor.bind(local);
    acceptor.listen();
    auto client_tls = std::make_unique<TcpOrTlsStream::Tls>(ex, client_ctx_);
    auto& client_socket = beast::get_lowest_layer(*client_tls).socket();
    client_socket.open(local.protocol());
    client_socket.set_option(asio::socket_base::send_buffer_size(4096));
    co_await client_socket.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    auto server_tls = std::make_unique<TcpOrTlsStream::Tls>(
        co_await acceptor.async_accept(asio::use_awaitable), *server_ctx_);
    co_await (client_tls->async_handshake(ssl::stream_base::client, asio::use_awaitable) &&
              server_tls->async_handshake(ssl::stream_base::server, asio::use_awaitable));
    TcpOrTlsStream client_stream(std::move(client_tls));
    client_stream.batch_frames(std::size_t{4} << 20);  // no write waits for room
    TlsPair p{std::make_unique<Ws>(std::move(client_stream)),
              std::make_unique<Ws>(TcpOrTlsStream(std::move(server_tls)))};
    p.client->binary(true);
    p.server->binary(true);
    co_await (p.server->async_accept(asio::use_awaitable) &&
              p.client->async_handshake("localhost", "/", asio::use_awaitable));
    co_return p;
  }

  std::filesystem::path dir_;
  std::shared_ptr<ssl::context> server_ctx_;
  ssl::context client_ctx_{ssl::context::tls_client};
};

// Writes 1,000 messages of 1 KiB, all accepted at once (batched), to a peer that reads nothing;
// then lets the event loop turn for 100 ms: their socket write is under way and stays so.
constexpr std::size_t kMessages = 1000;
Awaitable<void> write_while_the_peer_reads_nothing(Ws& ws) {
  const std::string m(1024, 'x');
  for (std::size_t i = 0; i < kMessages; ++i) {
    co_await ws.async_write(asio::buffer(m), asio::use_awaitable);
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
  co_await timer.async_wait(use_awaitable_nothrow);
}

}  // namespace

TEST_F(TlsFrameBatching, AStreamLetGoWhileATlsWriteIsUnderWayLeavesNothingBehindToFail) {
  asio::io_context io;
  std::size_t read = 0;
  const std::function<Awaitable<void>()> body = [&]() -> Awaitable<void> {
    auto p = co_await connect_pair();
    co_await write_while_the_peer_reads_nothing(*p.client);
    EXPECT_EQ(p.client->next_layer().batching_counts().writes, kMessages + 1);  // + the upgrade
    p.client.reset();  // the stream goes while its TLS write waits for the socket
    // The peer now reads: the stuck write moves, or fails, with the stream gone.
    beast::flat_buffer buffer;
    for (int i = 0; i < 100000; ++i) {
      auto [ec, n] = co_await p.server->async_read(buffer, use_awaitable_nothrow);
      if (ec) break;
      buffer.consume(n);
      ++read;
    }
  };
  ASSERT_TRUE(run_bounded(io, body));
  // Not all of them: the stream's end cut its write short.
  EXPECT_LT(read, kMessages);
}

TEST_F(TlsFrameBatching, ALinkDroppedWhileATlsWriteIsUnderWayFailsTheNextWrite) {
  // As the sandbox's fault injection drops a link: the socket is closed under the stream.
  asio::io_context io;
  bool next_write_failed = false;
  const std::function<Awaitable<void>()> body = [&]() -> Awaitable<void> {
    auto p = co_await connect_pair();
    co_await write_while_the_peer_reads_nothing(*p.client);
    boost::system::error_code ec;
    beast::get_lowest_layer(*p.client).socket().close(ec);
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, std::chrono::milliseconds(50));
    co_await timer.async_wait(use_awaitable_nothrow);
    auto [write_ec, n] =
        co_await p.client->async_write(asio::buffer(std::string("after")), use_awaitable_nothrow);
    next_write_failed = static_cast<bool>(write_ec);
    p.client.reset();
  };
  ASSERT_TRUE(run_bounded(io, body));
  EXPECT_TRUE(next_write_failed);
}
