// Feeds a byte stream into a server-side smux::Mux (the agent's end) cut into pieces the input
// chooses (whole, single bytes, the data channel's 1024-byte pieces, or random sizes), and reacts
// as a port forwarding shell would: greet each opened stream, echo data, close on FIN. The stream
// is either the raw input or frames the input describes (valid ones, with optional garbage).
// Invariants: nothing crashes; events name only streams that exist (the harness tracks them and
// agrees with the Mux after every piece); after a failure every call fails; for described frames
// without garbage, the events are exactly those of a reference model; the server's output
// re-decodes cleanly in a client Mux, with exact data on the server's own streams.
#include "ecsh/session/smux.hpp"

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ecsh::session::smux;

struct Input {
  std::string_view data;
  std::size_t at = 0;
  bool empty() const { return at >= data.size(); }
  std::uint8_t byte() { return at < data.size() ? static_cast<std::uint8_t>(data[at++]) : 0; }
  std::string_view rest() { return data.substr(std::min(at, data.size())); }
};

void check(bool ok) {
  if (!ok) std::abort();
}

std::string pattern(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 29 + seed * 7 + 1);
  return s;
}

// A frame the input described, where it ends in the byte stream, and whether it is well formed.
struct Described {
  Command cmd = Command::nop;
  std::uint32_t stream = 0;
  std::size_t length = 0;
  std::size_t end = 0;
};

// What the Mux should do, frame by frame (docs in smux.hpp), with the harness's reactions.
struct Model {
  struct S {
    bool peer_closed = false;
    bool we_closed = false;
  };
  std::map<std::uint32_t, S> streams;
  std::size_t max_streams = 0;

  void apply(const Described& f, std::vector<Event>& expected) {
    auto it = streams.find(f.stream);
    auto event = [&](Event::Kind kind) {
      Event e;
      e.kind = kind;
      e.stream = f.stream;
      expected.push_back(std::move(e));
    };
    switch (f.cmd) {
      case Command::syn:
        if (it != streams.end() || streams.size() >= max_streams) return;
        streams[f.stream] = S{};
        event(Event::Kind::opened);
        return;
      case Command::psh:
        if (f.length == 0 || it == streams.end() || it->second.peer_closed) return;
        event(Event::Kind::data);
        expected.back().data = pattern(f.length, static_cast<std::uint32_t>(f.end));
        return;
      case Command::fin:
        if (it == streams.end() || it->second.peer_closed) return;
        it->second.peer_closed = true;
        event(Event::Kind::fin);
        if (it->second.we_closed) streams.erase(it);
        return;
      case Command::nop:
        event(Event::Kind::nop);
        return;
    }
  }
  // The harness closes every stream the peer FINed (after the whole piece, like a shell): both
  // halves are then closed. The ID may have been reused within the piece, see below.
  void react(const std::vector<Event>& events) {
    for (const auto& e : events) {
      if (e.kind != Event::Kind::fin) continue;
      auto it = streams.find(e.stream);
      if (it != streams.end() && it->second.peer_closed) streams.erase(it);
    }
  }
};

bool same(const std::vector<Event>& a, const std::vector<Event>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].stream != b[i].stream || a[i].data != b[i].data) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{std::string_view(reinterpret_cast<const char*>(data), size)};
  // setup bits 0-1: chunking; bit 2: the rest describes frames; bits 3-5: max_streams (1..7, or
  // 0: the default).
  const std::uint8_t setup = in.byte();
  const bool described = (setup & 4) != 0;
  Options options;
  if (const std::size_t limit = (setup >> 3) & 7; limit != 0) options.max_streams = limit;
  std::uint32_t rng = 0x9e3779b9u ^ in.byte();

  // The byte stream, and for described frames where each one ends.
  std::string bytes;
  std::vector<Described> frames;
  bool exact = described;
  if (!described) {
    bytes = std::string(in.rest());
  } else {
    while (!in.empty() && frames.size() < 4096 && bytes.size() < (1u << 18)) {
      const std::uint8_t op = in.byte();
      if ((op & 7) == 7) {  // raw bytes: the model cannot follow any more
        const std::size_t n = in.byte() % 16;
        for (std::size_t i = 0; i < n; ++i) bytes += static_cast<char>(in.byte());
        exact = false;
        continue;
      }
      Described f;
      f.cmd = static_cast<Command>(op & 3);
      f.stream = in.byte() % 10;
      if (f.cmd == Command::psh) {
        f.length = in.byte();
        if (op & 0x40) f.length = f.length * 257 % 65536;
      }
      std::string payload;
      if (f.cmd != Command::psh && (op & 0x80)) {
        payload = std::string(in.byte() % 8, 'x');  // a payload on a control frame: skipped
      }
      const std::size_t start = bytes.size();
      if (f.cmd == Command::psh) {
        // The payload's pattern is keyed by where the frame ends, so that the model knows it.
        const std::size_t end = start + kHeaderSize + f.length;
        payload = pattern(f.length, static_cast<std::uint32_t>(end));
      }
      bytes += encode_frame(f.cmd, f.stream, payload);
      f.end = bytes.size();
      frames.push_back(f);
    }
  }

  Mux server(Side::server, options);
  Model model;
  model.max_streams = options.max_streams;
  std::map<std::uint32_t, std::string> own_data;  // the server's own streams, written then closed
  for (int i = 0; i < 2; ++i) {
    auto id = server.open();
    if (!id) break;
    // Two frames (32768 + 232 bytes), then one short frame.
    own_data[id.value()] = pattern(i == 0 ? 33000 : 1500, id.value());
    check(server.write(id.value(), own_data[id.value()]).has_value());
    server.close(id.value());
    model.streams[id.value()].we_closed = true;
  }
  std::string output = server.take_output();
  std::size_t written_to_peer_streams = 0;
  std::set<std::uint32_t> known;
  for (const auto& kv : own_data) known.insert(kv.first);
  std::set<std::uint32_t> fin_seen;

  std::size_t at = 0;
  std::size_t next_frame = 0;
  std::vector<Event> events;
  while (at < bytes.size()) {
    std::size_t piece = bytes.size() - at;
    switch (setup & 3) {
      case 1:
        piece = 1;
        break;
      case 2:
        piece = 1024;
        break;
      case 3:
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        piece = 1 + rng % 2048;
        break;
      default:
        break;
    }
    piece = std::min(piece, bytes.size() - at);
    const bool was_failed = server.failed();
    events.clear();
    auto r = server.feed_into(std::string_view(bytes).substr(at, piece), events);
    at += piece;
    if (was_failed) {
      check(!r && events.empty());
      continue;
    }
    if (!r) {
      check(server.failed() && !exact);
      check(!server.open() && !server.write(1, "x"));
      check(!server.feed("").has_value());
      continue;
    }
    if (exact) {
      std::vector<Event> expected;
      while (next_frame < frames.size() && frames[next_frame].end <= at) {
        model.apply(frames[next_frame++], expected);
      }
      check(same(events, expected));
      model.react(events);
    }
    for (const auto& e : events) {
      switch (e.kind) {
        case Event::Kind::opened: {
          check(known.insert(e.stream).second);
          fin_seen.erase(e.stream);
          std::string hello = "hello " + std::to_string(e.stream);
          if (server.write(e.stream, hello)) {
            written_to_peer_streams += hello.size();
          } else {
            check(!server.is_open(e.stream));  // FINed and closed below, earlier in this loop
          }
          break;
        }
        case Event::Kind::data:
          check(known.count(e.stream) == 1 && fin_seen.count(e.stream) == 0 && !e.data.empty());
          if (server.write(e.stream, e.data)) {
            written_to_peer_streams += e.data.size();
          } else {
            check(own_data.count(e.stream) == 1);  // only our own streams are closed for writing
          }
          break;
        case Event::Kind::fin:
          // The events of one piece are in order, but the Mux's state is the one after the
          // piece: our own (half-closed) stream is already forgotten, and a hostile peer may
          // have reopened the ID (SYN) since. Close what is there and FINed.
          check(known.count(e.stream) == 1 && fin_seen.insert(e.stream).second);
          if (server.peer_closed(e.stream)) server.close(e.stream);
          check(!server.peer_closed(e.stream));
          known.erase(e.stream);
          break;
        case Event::Kind::nop:
          break;
      }
    }
    // The harness and the Mux agree on which streams exist.
    check(known.size() == server.open_streams());
    for (auto id : known) check(server.is_open(id));
    output += server.take_output();
  }
  if (exact) check(next_frame == frames.size() && !server.failed());

  // What the server sent decodes in a client: the server's own streams arrive exactly, and
  // everything written to the peer's streams (which this client never opened) is discarded.
  Mux client(Side::client);
  std::map<std::uint32_t, std::string> got;
  for (std::size_t i = 0; i < output.size(); i += 1024) {
    auto r = client.feed(std::string_view(output).substr(i, 1024));
    check(r.has_value());
    for (const auto& e : r.value()) {
      check(e.kind == Event::Kind::nop || own_data.count(e.stream) == 1);
      if (e.kind == Event::Kind::data) got[e.stream] += e.data;
    }
  }
  check(got == own_data);
  check(client.discarded_bytes() == written_to_peer_streams);
  return 0;
}
