#include "ecsh/docker/stream_demux.hpp"

#include <algorithm>

namespace ecsh::docker {

Result<std::vector<StreamSegment>> StreamDemuxer::feed(std::string_view bytes) {
  if (failed_) return Error::protocol(failure_);
  std::vector<StreamSegment> out;
  auto emit = [&out](StdStream s, std::string_view data) {
    if (data.empty()) return;
    if (!out.empty() && out.back().stream == s) {
      out.back().data.append(data);
      return;
    }
    StreamSegment seg;
    seg.stream = s;
    seg.data.assign(data);
    out.push_back(std::move(seg));
  };
  while (!bytes.empty()) {
    if (remaining_ > 0) {
      const std::size_t n = std::min<std::size_t>(remaining_, bytes.size());
      emit(current_, bytes.substr(0, n));
      bytes.remove_prefix(n);
      remaining_ -= static_cast<std::uint32_t>(n);
      continue;
    }
    const std::size_t n = std::min(header_.size() - header_fill_, bytes.size());
    std::copy_n(bytes.begin(), n, header_.begin() + static_cast<std::ptrdiff_t>(header_fill_));
    header_fill_ += n;
    bytes.remove_prefix(n);
    if (header_fill_ < header_.size()) break;
    header_fill_ = 0;
    if (header_[0] > static_cast<unsigned char>(StdStream::system_error)) {
      failed_ = true;
      failure_ = "malformed Docker stream: unknown stream type " + std::to_string(header_[0]);
      return Error::protocol(failure_);
    }
    current_ = static_cast<StdStream>(header_[0]);
    remaining_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
                 (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
  }
  return out;
}

std::string encode_frame(StdStream stream, std::string_view payload) {
  const auto len = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out.reserve(8 + payload.size());
  out += static_cast<char>(stream);
  out.append(3, '\0');
  out += static_cast<char>((len >> 24) & 0xff);
  out += static_cast<char>((len >> 16) & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  out += static_cast<char>(len & 0xff);
  out.append(payload);
  return out;
}

}  // namespace ecsh::docker
