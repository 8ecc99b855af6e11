#pragma once

// A TCP connection, plain or TLS, chosen at run time: the client's HTTP connections and
// WebSockets, and the sandbox's accepted connections. It is an AsyncStream (Beast's HTTP and
// WebSocket code runs on it unchanged) and has Beast's WebSocket teardown.
//
// Reads and writes are type-erased: each of Beast's operations (HTTP read and write, every
// WebSocket frame operation) would otherwise instantiate the TLS stream's and the TCP stream's
// machinery for its own handler type, in every file that uses one, twice over; here they are
// instantiated once, in tcp_or_tls_stream.cpp, and an operation costs one small allocation for
// its completion.
// A read or write takes at most kMaxBuffers buffers of a sequence (a read_some or write_some may
// transfer less than asked; Beast's callers loop).
//
// Batched frames (batch_frames(), the WebSockets of sessions, whose frames are small: 1 KiB of
// stdin, an acknowledgement of ~120 bytes):
// - Writes are coalesced: a write copies its bytes into a pending buffer and completes on the next
//   turn of the event loop; the socket write waits while the writer keeps writing (a write's
//   completion is queued, or the pending bytes grew during the last turn) and goes out after two
//   quiet turns, at 64 KiB, or after 64 turns. A lone frame (a keystroke) waits two turns of the
//   loop, microseconds. A frame per message otherwise cost a `sendmsg`, a TLS record and a
//   wake-up of the peer each (strace: 37,162 `sendmsg` for 32 MiB of stdin).
// - Reads read ahead: one socket read of up to 64 KiB serves the reads that follow (Beast reads
//   a frame's header and small payload through a 1,536-byte buffer of its own: a `recvmsg` per
//   frame otherwise).
// Beast still writes one operation at a time, so frames, pings, pongs and the close frame keep
// their order; a write waits when max_pending bytes are already waiting; a failed socket write
// fails the next write (what was accepted before it is lost, as bytes in a kernel's send buffer
// are when a link drops: the session protocol resends what was not acknowledged); the WebSocket
// teardown waits until everything accepted is written.

#include "ecsh/common/asio.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

namespace ecsh {

// The completion of one erased read or write, and the buffers it reads into or writes from (kept
// here, at a stable address, for the duration of the operation).
template <class Buffer>
struct ErasedIo {
  static constexpr std::size_t kMaxBuffers = 16;
  virtual ~ErasedIo() = default;
  virtual void complete(boost::system::error_code ec, std::size_t n) = 0;
  std::array<Buffer, kMaxBuffers> buffers{};
  std::size_t count = 0;
  asio::cancellation_slot slot;
  std::span<const Buffer> sequence() const { return {buffers.data(), count}; }
};

// Something to run once, erased (what waits for coalesced writes to reach the socket).
struct ErasedContinuation {
  virtual ~ErasedContinuation() = default;
  virtual void run() = 0;
};
template <class F>
struct ErasedContinuationFor final : ErasedContinuation {
  explicit ErasedContinuationFor(F f) : fn(std::move(f)) {}
  void run() override { fn(); }
  F fn;
};

struct FrameBatching;  // tcp_or_tls_stream.cpp

template <class Buffer, class Handler, class IoExecutor>
struct ErasedIoFor final : ErasedIo<Buffer> {
  ErasedIoFor(Handler h, IoExecutor ex) : handler(std::move(h)), io_executor(std::move(ex)) {}
  void complete(boost::system::error_code ec, std::size_t n) override {
    auto ex = asio::get_associated_executor(handler, io_executor);
    asio::dispatch(ex, [h = std::move(handler), ec, n]() mutable { h(ec, n); });
  }
  Handler handler;
  IoExecutor io_executor;
};

class TcpOrTlsStream {
 public:
  using Plain = boost::beast::tcp_stream;
  using Tls = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using executor_type = Plain::executor_type;

  explicit TcpOrTlsStream(std::unique_ptr<Plain> plain) : plain_(std::move(plain)) {}
  explicit TcpOrTlsStream(std::unique_ptr<Tls> tls) : tls_(std::move(tls)) {}
  TcpOrTlsStream(TcpOrTlsStream&&) noexcept = default;
  TcpOrTlsStream& operator=(TcpOrTlsStream&&) = delete;  // would let a batched stream go unseen
  ~TcpOrTlsStream();

  // From now on, writes are coalesced and reads read ahead (see the top of this file). Before
  // the first read or write.
  void batch_frames(std::size_t max_pending = std::size_t{256} << 10);
  // What batching did so far (all zero without it).
  struct BatchingCounts {
    std::uint64_t writes = 0;         // writes accepted
    std::uint64_t socket_writes = 0;  // writes to the socket that carried them
    std::uint64_t reads = 0;          // reads served
    std::uint64_t socket_reads = 0;   // reads from the socket that served them
  };
  BatchingCounts batching_counts() const;

  bool is_tls() const { return tls_ != nullptr; }
  Tls* tls() { return tls_.get(); }
  Plain& tcp() { return tls_ ? boost::beast::get_lowest_layer(*tls_) : *plain_; }
  asio::ip::tcp::socket& socket() { return tcp().socket(); }
  executor_type get_executor() { return tcp().get_executor(); }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          read_some(erase<asio::mutable_buffer>(b, std::move(handler)));
        },
        token, buffers);
  }
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          write_some(erase<asio::const_buffer>(b, std::move(handler)));
        },
        token, buffers);
  }

  // How Beast's WebSocket closes the link at once (a timeout, a failed close handshake).
  friend void beast_close_socket(TcpOrTlsStream& s) {
    boost::system::error_code ec;
    s.socket().close(ec);
  }

  // The WebSocket close handshake's end: a TLS close_notify, then the TCP shutdown.
  // Batched writes are written first.
  template <class TeardownHandler>
  friend void async_teardown(boost::beast::role_type role, TcpOrTlsStream& s,
                             TeardownHandler&& handler) {
    auto then = [role, &s, h = std::move(handler)]() mutable {
      if (s.tls_) {
        async_teardown(role, *s.tls_, std::move(h));
      } else {
        async_teardown(role, *s.plain_, std::move(h));
      }
    };
    s.after_writes(std::make_unique<ErasedContinuationFor<decltype(then)>>(std::move(then)));
  }
  friend void teardown(boost::beast::role_type role, TcpOrTlsStream& s,
                       boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    if (s.tls_) {
      teardown(role, *s.tls_, ec);
    } else {
      teardown(role, s.plain_->socket(), ec);
    }
  }

 private:
  template <class Buffer, class Sequence, class Handler>
  std::unique_ptr<ErasedIo<Buffer>> erase(const Sequence& buffers, Handler handler) {
    using Io = ErasedIoFor<Buffer, Handler, executor_type>;
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto io = std::make_unique<Io>(std::move(handler), get_executor());
    if constexpr (std::is_same_v<decltype(slot), asio::cancellation_slot>) io->slot = slot;
    for (auto it = asio::buffer_sequence_begin(buffers);
         it != asio::buffer_sequence_end(buffers) && io->count < io->buffers.size(); ++it) {
      Buffer b(*it);
      if (b.size() > 0) io->buffers[io->count++] = b;
    }
    return io;
  }
  // tcp_or_tls_stream.cpp: the one instantiation of each stream's read and write.
  void read_some(std::unique_ptr<ErasedIo<asio::mutable_buffer>> io);
  void write_some(std::unique_ptr<ErasedIo<asio::const_buffer>> io);
  // Runs `then` once no coalesced write is waiting or under way (at once without coalescing).
  void after_writes(std::unique_ptr<ErasedContinuation> then);

  std::unique_ptr<Plain> plain_;
  std::unique_ptr<Tls> tls_;
  std::shared_ptr<FrameBatching> batching_;  // shared with the socket read and write under way
};

}  // namespace ecsh
