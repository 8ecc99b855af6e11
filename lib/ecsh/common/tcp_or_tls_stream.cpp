#include "ecsh/common/tcp_or_tls_stream.hpp"

namespace ecsh {

namespace {

// The handler every erased operation runs with: it owns the operation's buffers and completion,
// and carries the caller's cancellation slot down to the socket.
template <class Buffer>
struct Finish {
  std::unique_ptr<ErasedIo<Buffer>> io;
  using cancellation_slot_type = asio::cancellation_slot;
  cancellation_slot_type get_cancellation_slot() const noexcept { return io->slot; }
  void operator()(boost::system::error_code ec, std::size_t n) {
    auto done = std::move(io);
    done->complete(ec, n);
  }
};

}  // namespace

void TcpOrTlsStream::read_some(std::unique_ptr<ErasedIo<asio::mutable_buffer>> io) {
  auto sequence = io->sequence();
  Finish<asio::mutable_buffer> finish{std::move(io)};
  if (tls_) {
    tls_->async_read_some(sequence, std::move(finish));
  } else {
    plain_->async_read_some(sequence, std::move(finish));
  }
}

void TcpOrTlsStream::write_some(std::unique_ptr<ErasedIo<asio::const_buffer>> io) {
  auto sequence = io->sequence();
  Finish<asio::const_buffer> finish{std::move(io)};
  if (tls_) {
    tls_->async_write_some(sequence, std::move(finish));
  } else {
    plain_->async_write_some(sequence, std::move(finish));
  }
}

}  // namespace ecsh
