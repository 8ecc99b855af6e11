#pragma once

// Docker's multiplexed attach stream (an exec or attach without a TTY): stdout and stderr share
// one connection as frames of an 8-byte header and a payload:
//
//   byte 0     stream: 0 stdin (written to stdout), 1 stdout, 2 stderr, 3 system error
//   bytes 1-3  zero (ignored, as Docker's stdcopy ignores them)
//   bytes 4-7  payload length, big-endian
//
// Pure and incremental: bytes may arrive split anywhere. A frame's payload is handed on as it
// arrives (a large frame is never buffered whole).

#include "ecsh/common/error.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::docker {

enum class StdStream : std::uint8_t {
  stdin_stream = 0,
  stdout_stream = 1,
  stderr_stream = 2,
  system_error = 3,
};

struct StreamSegment {
  StdStream stream = StdStream::stdout_stream;
  std::string data;
  friend bool operator==(const StreamSegment&, const StreamSegment&) = default;
};

class StreamDemuxer {
 public:
  // The payload bytes in `bytes`, in order, one segment per run of the same stream (adjacent
  // pieces of one stream are merged; empty frames produce nothing). A frame with an unknown
  // stream type is an Error{protocol}, and so is every later feed.
  Result<std::vector<StreamSegment>> feed(std::string_view bytes);

  // True when the bytes fed so far end exactly on a frame boundary (no header or payload is
  // missing): a stream that ends elsewhere was cut short.
  bool at_frame_boundary() const { return header_fill_ == 0 && remaining_ == 0; }

 private:
  std::array<unsigned char, 8> header_{};
  std::size_t header_fill_ = 0;
  std::uint32_t remaining_ = 0;
  StdStream current_ = StdStream::stdout_stream;
  bool failed_ = false;
  std::string failure_;
};

// One frame as the engine writes it (tests, and anything that plays the engine's side).
std::string encode_frame(StdStream stream, std::string_view payload);

}  // namespace ecsh::docker
