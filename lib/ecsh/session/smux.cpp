#include "ecsh/session/smux.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace ecsh::session::smux {
namespace {

constexpr std::uint64_t kMaxStreamId = std::numeric_limits<std::uint32_t>::max();

void put_header(char* h, Command cmd, std::uint32_t stream, std::size_t length) {
  h[0] = static_cast<char>(kVersion);
  h[1] = static_cast<char>(cmd);
  h[2] = static_cast<char>(length & 0xff);
  h[3] = static_cast<char>((length >> 8) & 0xff);
  for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<char>((stream >> (8 * i)) & 0xff);
}

Event make_event(Event::Kind kind, std::uint32_t stream) {
  Event e;
  e.kind = kind;
  e.stream = stream;
  return e;
}

Error closed_for_writing(std::uint32_t stream) {
  return Error::connection("smux stream " + std::to_string(stream) + " is closed for writing", {},
                           false);
}

}  // namespace

std::string encode_frame(Command cmd, std::uint32_t stream, std::string_view payload) {
  payload = payload.substr(0, kMaxPayloadSize);
  std::string out(kHeaderSize + payload.size(), '\0');
  put_header(out.data(), cmd, stream, payload.size());
  if (!payload.empty()) std::memcpy(out.data() + kHeaderSize, payload.data(), payload.size());
  return out;
}

Mux::Mux(Side side, Options options)
    : side_(side), opt_(options), last_id_(side == Side::client ? 1 : 0) {
  opt_.max_frame = std::clamp<std::size_t>(opt_.max_frame, 1, kMaxPayloadSize);
}

void Mux::append_frame(Command cmd, std::uint32_t stream, std::string_view payload) {
  char h[kHeaderSize];
  put_header(h, cmd, stream, payload.size());
  out_.append(h, kHeaderSize);
  out_.append(payload);
}

Result<std::uint32_t> Mux::open() {
  if (failure_) return *failure_;
  if (streams_.size() >= opt_.max_streams) {
    return Error::connection(
        "too many smux streams are open (" + std::to_string(opt_.max_streams) + ")",
        "close some forwarded connections", false);
  }
  // Skip IDs the peer opened with our parity (xtaci never does; a hostile peer could).
  std::uint64_t id = last_id_;
  do {
    id += 2;
    if (id > kMaxStreamId) {
      return Error::connection("smux stream IDs are exhausted", "start a new session", false);
    }
  } while (streams_.count(static_cast<std::uint32_t>(id)) != 0);
  last_id_ = id;
  const auto stream = static_cast<std::uint32_t>(id);
  streams_.emplace(stream, Stream{});
  append_frame(Command::syn, stream, {});
  return stream;
}

Result<void> Mux::write(std::uint32_t stream, std::string_view data) {
  if (failure_) return *failure_;
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.we_closed) return closed_for_writing(stream);
  if (data.empty()) return ok();
  const std::size_t frames = (data.size() + opt_.max_frame - 1) / opt_.max_frame;
  out_.reserve(out_.size() + data.size() + frames * kHeaderSize);
  while (!data.empty()) {
    const std::size_t n = std::min(data.size(), opt_.max_frame);
    append_frame(Command::psh, stream, data.substr(0, n));
    data.remove_prefix(n);
  }
  return ok();
}

void Mux::close(std::uint32_t stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.we_closed) return;
  it->second.we_closed = true;
  if (!failure_) append_frame(Command::fin, stream, {});
  if (it->second.peer_closed) streams_.erase(it);
}

void Mux::forget(std::uint32_t stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  if (!it->second.we_closed && !failure_) append_frame(Command::fin, stream, {});
  streams_.erase(it);
}

void Mux::nop() {
  if (!failure_) append_frame(Command::nop, 0, {});
}

std::string Mux::take_output() {
  std::string out;
  out.swap(out_);
  return out;
}

bool Mux::is_open(std::uint32_t stream) const { return streams_.count(stream) != 0; }

bool Mux::peer_closed(std::uint32_t stream) const {
  auto it = streams_.find(stream);
  return it != streams_.end() && it->second.peer_closed;
}

bool Mux::we_closed(std::uint32_t stream) const {
  auto it = streams_.find(stream);
  return it != streams_.end() && it->second.we_closed;
}

bool Mux::accepts_data(std::uint32_t stream) const {
  auto it = streams_.find(stream);
  return it != streams_.end() && !it->second.peer_closed;
}

Result<std::vector<Event>> Mux::feed(std::string_view bytes) {
  std::vector<Event> events;
  ECSH_TRY(feed_into(bytes, events));
  return events;
}

Result<void> Mux::begin_frame() {
  const unsigned version = hdr_[0];
  const unsigned cmd = hdr_[1];
  if (version != kVersion) {
    failure_ = Error::protocol("smux frame has version " + std::to_string(version) +
                               ", not 1 (the stream is corrupt or not smux v1)");
    return *failure_;
  }
  if (cmd > static_cast<unsigned>(Command::nop)) {
    failure_ = Error::protocol(cmd == 4 ? std::string("smux frame has command 4 (UPD), which only "
                                                      "smux v2 has, in a v1 session")
                                        : "smux frame has unknown command " + std::to_string(cmd));
    return *failure_;
  }
  cmd_ = static_cast<Command>(cmd);
  remaining_ = std::size_t{hdr_[2]} | std::size_t{hdr_[3]} << 8;
  stream_ = std::uint32_t{hdr_[4]} | std::uint32_t{hdr_[5]} << 8 | std::uint32_t{hdr_[6]} << 16 |
            std::uint32_t{hdr_[7]} << 24;
  keep_ = cmd_ == Command::psh && remaining_ > 0 && accepts_data(stream_);
  return ok();
}

void Mux::deliver(std::string data, std::vector<Event>& events) {
  // Checked again: the stream may have been closed or forgotten while a cut frame arrived.
  if (!accepts_data(stream_)) {
    discarded_ += data.size();
    return;
  }
  Event e = make_event(Event::Kind::data, stream_);
  e.data = std::move(data);
  events.push_back(std::move(e));
}

void Mux::finish_control(std::vector<Event>& events) {
  switch (cmd_) {
    case Command::syn: {
      if (streams_.count(stream_) != 0) return;  // already open: ignored, as xtaci does
      if (streams_.size() >= opt_.max_streams) {
        ++refused_;
        if (!failure_) append_frame(Command::fin, stream_, {});
        return;
      }
      streams_.emplace(stream_, Stream{});
      events.push_back(make_event(Event::Kind::opened, stream_));
      return;
    }
    case Command::fin: {
      auto it = streams_.find(stream_);
      if (it == streams_.end() || it->second.peer_closed) return;
      it->second.peer_closed = true;
      events.push_back(make_event(Event::Kind::fin, stream_));
      if (it->second.we_closed) streams_.erase(it);
      return;
    }
    case Command::nop:
      events.push_back(make_event(Event::Kind::nop, stream_));
      return;
    case Command::psh:
      return;
  }
}

Result<void> Mux::feed_into(std::string_view bytes, std::vector<Event>& events) {
  if (failure_) return *failure_;
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    if (hdr_have_ < kHeaderSize) {
      const std::size_t n = std::min(kHeaderSize - hdr_have_, left);
      std::memcpy(hdr_ + hdr_have_, p, n);
      hdr_have_ += n;
      p += n;
      left -= n;
      if (hdr_have_ < kHeaderSize) break;
      ECSH_TRY(begin_frame());
      if (remaining_ <= left) {
        // The whole payload is here: one copy straight into the event, nothing buffered.
        if (keep_) {
          deliver(std::string(p, remaining_), events);
        } else {
          discarded_ += remaining_;
        }
        p += remaining_;
        left -= remaining_;
        remaining_ = 0;
        finish_control(events);
        hdr_have_ = 0;
        continue;
      }
      if (keep_) payload_.reserve(remaining_);
    }
    // A frame cut by the end of a chunk: collect its payload across calls.
    const std::size_t n = std::min(remaining_, left);
    if (keep_) {
      payload_.append(p, n);
    } else {
      discarded_ += n;
    }
    p += n;
    left -= n;
    remaining_ -= n;
    if (remaining_ == 0) {
      if (keep_) {
        deliver(std::move(payload_), events);
        payload_ = std::string();
      }
      finish_control(events);
      hdr_have_ = 0;
    }
  }
  return ok();
}

}  // namespace ecsh::session::smux
