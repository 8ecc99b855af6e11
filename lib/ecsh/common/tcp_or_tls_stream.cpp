#include "ecsh/common/tcp_or_tls_stream.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace ecsh {

// The state of batched frames, shared by the stream and the socket read and write under way.
// A batched write completes before its bytes reach the socket, so the stream's owner may let it go
// while its socket write (or read ahead) is under way: the stream then closes its socket and
// leaves its TCP and TLS objects here (`kept_*`, `plain`/`tls` null), for the socket operations
// under way to finish with (the TLS one uses the TLS stream's state to its end), and they are let
// go once none is left. Nothing more is written then.
struct FrameBatching {
  std::size_t max_pending = 0;
  TcpOrTlsStream::Plain* plain = nullptr;
  TcpOrTlsStream::Tls* tls = nullptr;
  asio::any_io_executor executor;
  std::string pending;               // accepted, not yet handed to the socket
  std::string in_flight;             // handed to the socket, not yet written
  bool writing = false;              // a socket write is under way
  bool reading = false;              // a socket read (ahead) is under way
  bool flush_posted = false;         // a flush will run on the next turn of the event loop
  int completions_queued = 0;        // writes accepted whose completion has not run yet
  int deferrals = 0;                 // turns the posted flush waited for the writer's next write
  boost::system::error_code failed;  // the socket write that failed: later writes fail with it
  std::unique_ptr<ErasedIo<asio::const_buffer>> blocked;   // a write waiting for room
  std::vector<std::unique_ptr<ErasedContinuation>> after;  // teardowns waiting for the socket
  // Reading ahead: what one socket read brought beyond what the reader asked for (Beast reads a
  // WebSocket frame's header and a small payload through a 1,536-byte buffer of its own, so a
  // stream of 1 KiB frames cost a `recvmsg` each).
  std::unique_ptr<char[]> read_ahead;  // not zeroed: an idle session touches none of it
  std::size_t read_begin = 0;
  std::size_t read_end = 0;
  TcpOrTlsStream::BatchingCounts counts;
  std::unique_ptr<TcpOrTlsStream::Plain> kept_plain;  // the stream is gone, its socket operation
  std::unique_ptr<TcpOrTlsStream::Tls> kept_tls;      // is not: see above

  bool idle() const { return pending.empty() && !writing && !flush_posted; }
  bool stream_gone() const { return !plain && !tls; }
  // Lets the kept objects go, on the next turn (not inside their own operation's completion).
  void release_kept_when_done() {
    if (writing || reading || (!kept_plain && !kept_tls)) return;
    asio::post(executor, [plain = std::move(kept_plain), tls = std::move(kept_tls)]() {});
  }
};

namespace {

void flush(const std::shared_ptr<FrameBatching>& c);
void schedule_flush(const std::shared_ptr<FrameBatching>& c);

// When the pending bytes go to the socket (tcp_or_tls_stream.hpp): after kQuietTurns turns of
// the event loop without a write, at kFlushAtBytes, or after kMaxDeferrals turns.
constexpr std::size_t kFlushAtBytes = std::size_t{64} << 10;
constexpr int kMaxDeferrals = 64;
constexpr int kQuietTurns = 2;
constexpr std::size_t kReadAheadBytes = std::size_t{64} << 10;

// Takes as much of the write as fits and completes it on the next turn of the event loop; false
// when nothing fits (the write waits for the socket write under way).
bool accept(const std::shared_ptr<FrameBatching>& shared,
            std::unique_ptr<ErasedIo<asio::const_buffer>>& io) {
  auto& c = *shared;
  if (c.failed) {
    asio::post(c.executor, [done = std::move(io), ec = c.failed]() { done->complete(ec, 0); });
    return true;
  }
  std::size_t room = c.max_pending > c.pending.size() ? c.max_pending - c.pending.size() : 0;
  if (room == 0) return false;
  std::size_t taken = 0;
  for (const auto& b : io->sequence()) {
    std::size_t n = std::min(b.size(), room - taken);
    c.pending.append(static_cast<const char*>(b.data()), n);
    taken += n;
    if (taken == room) break;
  }
  ++c.completions_queued;
  ++c.counts.writes;
  asio::post(c.executor, [done = std::move(io), taken, shared]() {
    done->complete({}, taken);  // the writer's next write, if any, comes from here
    --shared->completions_queued;
  });
  return true;
}

void post_flush(const std::shared_ptr<FrameBatching>& c, int quiet_turns = 0) {
  asio::post(c->executor, [c, quiet_turns, seen = c->pending.size()]() {
    const bool busy = c->completions_queued > 0 || c->pending.size() > seen;
    const int quiet = busy ? 0 : quiet_turns + 1;
    if (quiet < kQuietTurns && c->pending.size() < kFlushAtBytes && c->deferrals < kMaxDeferrals &&
        !c->failed && (c->plain || c->tls)) {
      ++c->deferrals;
      post_flush(c, quiet);
      return;
    }
    c->deferrals = 0;
    c->flush_posted = false;
    flush(c);
  });
}

void schedule_flush(const std::shared_ptr<FrameBatching>& c) {
  if (c->writing || c->flush_posted) return;
  c->flush_posted = true;
  post_flush(c);
}

void run_after(FrameBatching& c) {
  auto waiting = std::move(c.after);
  c.after.clear();
  for (auto& then : waiting) then->run();
}

void flush(const std::shared_ptr<FrameBatching>& c) {
  if (c->writing) return;
  if (c->stream_gone()) {  // nothing to write to, nobody to tell
    c->pending.clear();
    c->after.clear();
    c->release_kept_when_done();
    return;
  }
  if (c->pending.empty() || c->failed) {
    run_after(*c);
    return;
  }
  c->writing = true;
  ++c->counts.socket_writes;
  std::swap(c->pending, c->in_flight);
  auto written = [c](boost::system::error_code ec, std::size_t) {
    c->writing = false;
    c->in_flight.clear();
    if (ec && !c->failed) c->failed = ec;
    if (c->stream_gone()) {
      flush(c);
      return;
    }
    if (c->failed || c->blocked || c->pending.size() >= kFlushAtBytes) {
      flush(c);  // what was accepted meanwhile (after a failure: the teardowns waiting)
      if (c->blocked && accept(c, c->blocked)) schedule_flush(c);  // room again, or the error
    } else if (!c->pending.empty()) {
      schedule_flush(c);  // the writer may be about to write more
    } else {
      run_after(*c);
    }
  };
  if (c->tls) {
    asio::async_write(*c->tls, asio::buffer(c->in_flight), std::move(written));
  } else {
    asio::async_write(*c->plain, asio::buffer(c->in_flight), std::move(written));
  }
}

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

// Copies what was read ahead into the reader's buffers; how much.
std::size_t take_read_ahead(FrameBatching& c, const ErasedIo<asio::mutable_buffer>& io) {
  std::size_t n = 0;
  for (const auto& b : io.sequence()) {
    std::size_t k = std::min(b.size(), c.read_end - c.read_begin);
    std::memcpy(b.data(), c.read_ahead.get() + c.read_begin, k);
    c.read_begin += k;
    n += k;
    if (c.read_begin == c.read_end) break;
  }
  return n;
}

// A socket read into the read-ahead buffer, for one reader.
struct ReadAhead {
  std::shared_ptr<FrameBatching> c;
  std::unique_ptr<ErasedIo<asio::mutable_buffer>> io;
  using cancellation_slot_type = asio::cancellation_slot;
  cancellation_slot_type get_cancellation_slot() const noexcept { return io->slot; }
  void operator()(boost::system::error_code ec, std::size_t n) {
    auto done = std::move(io);
    c->reading = false;
    c->release_kept_when_done();
    c->read_begin = 0;
    c->read_end = ec ? 0 : n;
    done->complete(ec, ec ? 0 : take_read_ahead(*c, *done));
  }
};

}  // namespace

void TcpOrTlsStream::read_some(std::unique_ptr<ErasedIo<asio::mutable_buffer>> io) {
  if (batching_) {
    auto& c = *batching_;
    ++c.counts.reads;
    if (c.read_end > c.read_begin) {
      std::size_t n = take_read_ahead(c, *io);
      asio::post(c.executor, [done = std::move(io), n]() { done->complete({}, n); });
      return;
    }
    if (!c.read_ahead) c.read_ahead.reset(new char[kReadAheadBytes]);
    auto buffer = asio::buffer(c.read_ahead.get(), kReadAheadBytes);
    ++c.counts.socket_reads;
    c.reading = true;
    ReadAhead read{batching_, std::move(io)};
    if (tls_) {
      tls_->async_read_some(buffer, std::move(read));
    } else {
      plain_->async_read_some(buffer, std::move(read));
    }
    return;
  }
  auto sequence = io->sequence();
  Finish<asio::mutable_buffer> finish{std::move(io)};
  if (tls_) {
    tls_->async_read_some(sequence, std::move(finish));
  } else {
    plain_->async_read_some(sequence, std::move(finish));
  }
}

TcpOrTlsStream::~TcpOrTlsStream() {
  if (!batching_) return;
  auto& c = *batching_;
  c.plain = nullptr;
  c.tls = nullptr;
  if (!c.writing && !c.reading) return;
  // A socket operation under way outlives the stream: it ends now (aborted) and finishes with
  // the objects it uses kept alive (see FrameBatching).
  boost::system::error_code ec;
  socket().close(ec);
  c.kept_plain = std::move(plain_);
  c.kept_tls = std::move(tls_);
}

void TcpOrTlsStream::batch_frames(std::size_t max_pending) {
  batching_ = std::make_shared<FrameBatching>();
  batching_->max_pending = std::max<std::size_t>(max_pending, 1);
  batching_->plain = plain_.get();
  batching_->tls = tls_.get();
  batching_->executor = get_executor();
}

TcpOrTlsStream::BatchingCounts TcpOrTlsStream::batching_counts() const {
  return batching_ ? batching_->counts : BatchingCounts{};
}

void TcpOrTlsStream::after_writes(std::unique_ptr<ErasedContinuation> then) {
  if (!batching_ || batching_->idle() || batching_->failed) {
    then->run();
    return;
  }
  batching_->after.push_back(std::move(then));
  schedule_flush(batching_);
}

void TcpOrTlsStream::write_some(std::unique_ptr<ErasedIo<asio::const_buffer>> io) {
  if (batching_) {
    if (!accept(batching_, io)) batching_->blocked = std::move(io);
    schedule_flush(batching_);
    return;
  }
  auto sequence = io->sequence();
  Finish<asio::const_buffer> finish{std::move(io)};
  if (tls_) {
    tls_->async_write_some(sequence, std::move(finish));
  } else {
    plain_->async_write_some(sequence, std::move(finish));
  }
}

}  // namespace ecsh
