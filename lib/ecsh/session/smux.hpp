#pragma once

// smux v1, the stream multiplexer of port forwarding sessions, as a pure state machine
// (docs/protocol.md §9 describes the mode; docs/ARCHITECTURE.md "Pure state machines, thin
// socket shells"): it takes the peer's bytes and the application's calls, and returns events and
// the bytes to send. No I/O, no clocks. Both ends of port forwarding use github.com/xtaci/smux v1
// with its default config: the plugin as the client (plugin
// `src/sessionmanagerplugin/session/portsession/muxportforwarding.go`), the agent as the server
// (agent `agent/session/plugins/port/port_mux.go`). The facts below are xtaci/smux v1 defaults
// (`session.go`, `frame.go`, `stream.go`).
//
// The byte stream is a sequence of frames, an 8-byte header and its payload:
//   off size field
//     0    1 version    always 1 (2 is smux v2, which the SSM agent does not speak)
//     1    1 cmd        0 SYN open a stream, 1 FIN the sender writes no more on it, 2 PSH data,
//                       3 NOP keepalive; 4 (UPD) is v2 only and, like any other value, an error
//     2    2 length     u16 little-endian: payload bytes after the header (0..65535)
//     4    4 stream ID  u32 little-endian
// SYN, FIN and NOP carry no payload. The session data channel carries this stream in Output
// payloads cut into 1024-byte pieces that ignore frame boundaries, so feed() reassembles across
// any chunking.
//
// Stream IDs: a client opens odd IDs from 3 (xtaci's client counter starts at 1 and adds 2 before
// use), a server even IDs from 2. The agent is the server and never opens streams. Writes are
// split into PSH frames of at most max_frame (xtaci MaxFrameSize, 32768) payload bytes. v1 has
// no flow control and no per-stream acknowledgement.
//
// Receiving, as xtaci does:
//   - SYN for an ID already known is ignored; SYN for a new ID opens it (Event::Kind::opened,
//     the peer's "accepted" stream). Past max_streams the stream is refused: a FIN is queued for
//     it and its data is discarded (xtaci has no such limit; ours bounds memory).
//   - PSH for an unknown stream, or one the peer has FINed, is discarded and counted in
//     discarded_bytes(). Empty PSH frames are ignored.
//   - FIN marks the peer's side closed, reported once (Event::Kind::fin); FIN for an unknown
//     stream is ignored.
//   - NOP is ignored, but reported (Event::Kind::nop) so that a shell can track liveness.
//   - A version other than 1 or an unknown cmd is a protocol error: the session is failed and
//     every later feed(), open() and write() returns that error.
// Two deliberate differences from xtaci, neither visible with a well-behaved peer: a payload on
// SYN, FIN or NOP is read and discarded (xtaci reads no payload for them and would take it for
// the next header), and UPD is refused (a current xtaci would read it as a v2 window update even
// in a v1 session).
//
// Closing. xtaci removes a stream from its table when its own side closes it, and then ignores
// further frames for it; it keeps reading a stream that we FINed until it closes it too. So both
// halves close independently here: close(id) queues one FIN and marks our side closed; a stream
// is forgotten once both sides are closed; forget(id) drops it at once (the local TCP connection
// failed), queueing a FIN if we had not sent one.
//
// Driving it (the port forwarding shell): feed() every Output payload; act on the events (an
// opened stream from the agent is not expected: forget() it); after any call that may queue
// frames (open, write, close, forget, nop, and feed itself when it refuses a stream) send
// take_output() as session data. The events of one feed() are in order, while is_open() and the
// other queries answer for the state after the whole feed: if we had closed a stream, a FIN and
// then a SYN reusing its ID in one feed (only a hostile peer does that) show as fin, opened, and
// the stream is open.

#include "ecsh/common/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ecsh::session::smux {

enum class Side { client, server };

enum class Command : std::uint8_t { syn = 0, fin = 1, psh = 2, nop = 3 };

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kMaxFrameSize = 32768;    // xtaci default MaxFrameSize
inline constexpr std::size_t kMaxPayloadSize = 65535;  // what the u16 length can say

struct Options {
  std::size_t max_frame = kMaxFrameSize;  // payload bytes per PSH frame we send (1..65535)
  std::size_t max_streams = 65536;        // streams known at once (ours and the peer's)
};

struct Event {
  enum class Kind {
    opened,  // the peer opened `stream` (SYN)
    data,    // one PSH frame's payload for `stream`, in order
    fin,     // the peer will write no more on `stream` (reported once)
    nop,     // a keepalive arrived (the peer is alive)
  };
  Kind kind = Kind::data;
  std::uint32_t stream = 0;
  std::string data;
};

// One frame. A payload longer than kMaxPayloadSize is cut to it (split data with Mux::write).
std::string encode_frame(Command cmd, std::uint32_t stream, std::string_view payload = {});

class Mux {
 public:
  explicit Mux(Side side, Options options = {});

  // Opens the next stream of our side (queues SYN). Errors: the session failed, max_streams
  // streams are known, or the stream IDs are exhausted.
  Result<std::uint32_t> open();
  // Queues `data` as PSH frames of at most max_frame bytes. Errors: the session failed, or the
  // stream is not open for writing (unknown, or closed by us). A peer FIN does not stop writing.
  Result<void> write(std::uint32_t stream, std::string_view data);
  // We write no more on `stream`: queues one FIN (repeated calls do nothing). The stream is
  // forgotten once the peer has closed its side too.
  void close(std::uint32_t stream);
  // Drops `stream` now, queueing a FIN if close() had not. Later data for it is discarded.
  void forget(std::uint32_t stream);
  // Queues a NOP (keepalive).
  void nop();

  // The peer's bytes, cut anywhere. Returns the events of the frames they completed. A protocol
  // error fails the session (the events decoded before it are lost; feed_into keeps them).
  Result<std::vector<Event>> feed(std::string_view bytes);
  // The same, appending to `events` (reuse one vector across calls).
  Result<void> feed_into(std::string_view bytes, std::vector<Event>& events);

  // The bytes queued for the peer, which are then cleared.
  std::string take_output();
  bool has_output() const { return !out_.empty(); }
  std::size_t output_size() const { return out_.size(); }

  Side side() const { return side_; }
  bool is_open(std::uint32_t stream) const;  // known: at least one side has not closed
  bool peer_closed(std::uint32_t stream) const;
  bool we_closed(std::uint32_t stream) const;
  std::size_t open_streams() const { return streams_.size(); }
  // Payload bytes received and thrown away: PSH for unknown or peer-closed streams, and
  // payloads on SYN, FIN and NOP frames.
  std::uint64_t discarded_bytes() const { return discarded_; }
  std::uint64_t refused_streams() const { return refused_; }  // SYNs past max_streams
  bool failed() const { return failure_.has_value(); }

 private:
  struct Stream {
    bool we_closed = false;
    bool peer_closed = false;
  };

  void append_frame(Command cmd, std::uint32_t stream, std::string_view payload);
  Result<void> begin_frame();
  bool accepts_data(std::uint32_t stream) const;
  void finish_control(std::vector<Event>& events);
  void deliver(std::string data, std::vector<Event>& events);

  Side side_;
  Options opt_;
  std::uint64_t last_id_;  // the last ID our side opened (the next one is this + 2)
  std::unordered_map<std::uint32_t, Stream> streams_;
  std::string out_;
  std::optional<Error> failure_;
  std::uint64_t discarded_ = 0;
  std::uint64_t refused_ = 0;

  // The frame being received: its header (hdr_have_ bytes of it so far); once complete, its
  // fields and the payload still to come. Only a frame cut by a chunk boundary is buffered,
  // and only its PSH payload (keep_ says whether it is kept or counted as discarded).
  unsigned char hdr_[kHeaderSize] = {};
  std::size_t hdr_have_ = 0;
  Command cmd_ = Command::nop;
  std::uint32_t stream_ = 0;
  std::size_t remaining_ = 0;
  bool keep_ = false;
  std::string payload_;
};

}  // namespace ecsh::session::smux
