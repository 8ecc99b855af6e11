// smux v1 (lib/ecsh/session/smux.hpp): byte layouts written out by hand from the frame format
// (docs/protocol.md §9), stream IDs, splitting, reassembly across any chunking, a client and a
// server talking through a pipe, half close, and hostile input.
#include "ecsh/session/smux.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace ecsh;
using namespace ecsh::session::smux;

namespace {

std::string unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i < h.size();) {
    if (h[i] == ' ') {
      ++i;
      continue;
    }
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

// A frame as read by hand from the bytes (independent of Mux's decoder).
struct RawFrame {
  unsigned version = 0;
  unsigned cmd = 0;
  std::size_t length = 0;
  std::uint32_t stream = 0;
  std::string payload;
};

std::vector<RawFrame> split_frames(std::string_view bytes) {
  std::vector<RawFrame> out;
  while (bytes.size() >= kHeaderSize) {
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    RawFrame f;
    f.version = b(0);
    f.cmd = b(1);
    f.length = b(2) | std::size_t{b(3)} << 8;
    f.stream =
        b(4) | std::uint32_t{b(5)} << 8 | std::uint32_t{b(6)} << 16 | std::uint32_t{b(7)} << 24;
    EXPECT_GE(bytes.size(), kHeaderSize + f.length);
    f.payload = std::string(bytes.substr(kHeaderSize, f.length));
    bytes.remove_prefix(std::min(bytes.size(), kHeaderSize + f.length));
    out.push_back(std::move(f));
  }
  EXPECT_TRUE(bytes.empty()) << bytes.size() << " trailing bytes";
  return out;
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + seed * 17 + i / 251) & 0xff);
  return s;
}

std::vector<Event> feed_ok(Mux& m, std::string_view bytes) {
  auto r = m.feed(bytes);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? std::move(r.value()) : std::vector<Event>{};
}

std::vector<Event> feed_in_pieces(Mux& m, std::string_view bytes, std::size_t piece) {
  std::vector<Event> events;
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    auto r = m.feed_into(bytes.substr(at, piece), events);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
  }
  return events;
}

// "o3", "d3:hello", "f3", "n0": events in a form that compares and prints well.
std::vector<std::string> describe(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    const char* k = e.kind == Event::Kind::opened ? "o"
                    : e.kind == Event::Kind::data ? "d"
                    : e.kind == Event::Kind::fin  ? "f"
                                                  : "n";
    std::string s = k + std::to_string(e.stream);
    if (e.kind == Event::Kind::data)
      s += ":" + (e.data.size() <= 16 ? e.data : std::to_string(e.data.size()) + "B");
    out.push_back(s);
  }
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST(Smux, FrameLayoutsByHand) {
  EXPECT_EQ(encode_frame(Command::syn, 3), unhex("01 00 0000 03000000"));
  EXPECT_EQ(encode_frame(Command::fin, 5), unhex("01 01 0000 05000000"));
  EXPECT_EQ(encode_frame(Command::nop, 0), unhex("01 03 0000 00000000"));
  EXPECT_EQ(encode_frame(Command::psh, 0x01020304, "hi"), unhex("01 02 0200 04030201 6869"));
  // Length and stream ID are little-endian over their whole width.
  EXPECT_EQ(encode_frame(Command::psh, 0xfffffffe, std::string(0x1234, 'x')).substr(0, 8),
            unhex("01 02 3412 feffffff"));
  EXPECT_EQ(encode_frame(Command::psh, 7, std::string(70000, 'x')).size(), kHeaderSize + 65535);
}

TEST(Smux, ClientOpensOddIdsFrom3) {
  Mux m(Side::client);
  EXPECT_EQ(m.open().value(), 3u);
  EXPECT_EQ(m.open().value(), 5u);
  EXPECT_EQ(m.open().value(), 7u);
  EXPECT_EQ(m.take_output(), unhex("01 00 0000 03000000 01 00 0000 05000000 01 00 0000 07000000"));
  EXPECT_FALSE(m.has_output());
  EXPECT_EQ(m.open_streams(), 3u);
  EXPECT_TRUE(m.is_open(5));
  EXPECT_FALSE(m.is_open(1));
}

TEST(Smux, ServerOpensEvenIdsFrom2) {
  Mux m(Side::server);
  EXPECT_EQ(m.open().value(), 2u);
  EXPECT_EQ(m.open().value(), 4u);
  EXPECT_EQ(m.take_output(), unhex("01 00 0000 02000000 01 00 0000 04000000"));
}

TEST(Smux, OpenSkipsAnIdThePeerAlreadyOpened) {
  Mux m(Side::client);
  EXPECT_EQ(describe(feed_ok(m, encode_frame(Command::syn, 3))), Strings{"o3"});
  EXPECT_EQ(m.open().value(), 5u);
}

TEST(Smux, WriteSplitsIntoMaxFrameSizedPshFrames) {
  Mux m(Side::client);
  auto id = m.open().value();
  (void)m.take_output();
  const std::string data = pattern(100000, 1);
  ASSERT_TRUE(m.write(id, data));
  auto frames = split_frames(m.take_output());
  ASSERT_EQ(frames.size(), 4u);
  const std::size_t sizes[] = {32768, 32768, 32768, 1696};
  std::string joined;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].version, 1u);
    EXPECT_EQ(frames[i].cmd, 2u);
    EXPECT_EQ(frames[i].stream, 3u);
    EXPECT_EQ(frames[i].length, sizes[i]);
    EXPECT_EQ(frames[i].payload.size(), sizes[i]);
    joined += frames[i].payload;
  }
  EXPECT_EQ(joined, data);
  // The first PSH header by hand: 32768 = 0x8000.
  ASSERT_TRUE(m.write(id, std::string(32768, 'a')));
  EXPECT_EQ(m.take_output().substr(0, 8), unhex("01 02 0080 03000000"));
}

TEST(Smux, MaxFrameOptionAndEmptyWrite) {
  Options o;
  o.max_frame = 1000;
  Mux m(Side::client, o);
  auto id = m.open().value();
  (void)m.take_output();
  ASSERT_TRUE(m.write(id, ""));
  EXPECT_FALSE(m.has_output());
  ASSERT_TRUE(m.write(id, pattern(2500, 2)));
  auto frames = split_frames(m.take_output());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].length, 1000u);
  EXPECT_EQ(frames[1].length, 1000u);
  EXPECT_EQ(frames[2].length, 500u);
}

TEST(Smux, ReceivesEventsInOrder) {
  Mux m(Side::server);
  const std::string bytes = unhex(
      "01 00 0000 03000000"             // SYN 3
      "01 02 0500 03000000 68656c6c6f"  // PSH 3 "hello"
      "01 03 0000 00000000"             // NOP
      "01 02 0000 03000000"             // empty PSH: nothing
      "01 01 0000 03000000");           // FIN 3
  EXPECT_EQ(describe(feed_ok(m, bytes)), (Strings{"o3", "d3:hello", "n0", "f3"}));
  EXPECT_TRUE(m.is_open(3));
  EXPECT_TRUE(m.peer_closed(3));
  EXPECT_FALSE(m.we_closed(3));
  EXPECT_EQ(m.discarded_bytes(), 0u);
  EXPECT_FALSE(m.has_output());  // receiving queues nothing
}

TEST(Smux, DecodesLittleEndianFieldsByHand) {
  Mux m(Side::server);
  // SYN and PSH for stream 0x01020304 = 16909060, the PSH with 0x0103 = 259 payload bytes.
  const std::string payload = pattern(259, 3);
  auto events = feed_ok(
      m, unhex("01 00 0000 04030201 01 02 0301 04030201") + payload + unhex("01 01 0000 04030201"));
  ASSERT_EQ(describe(events), (Strings{"o16909060", "d16909060:259B", "f16909060"}));
  EXPECT_EQ(events[1].data, payload);
  EXPECT_TRUE(m.is_open(0x01020304));
}

TEST(Smux, ReassemblesAcrossAnyChunking) {
  // A stream of frames of many sizes, up to the largest a u16 length allows.
  std::string bytes;
  Strings expected;
  std::map<std::uint32_t, std::string> expected_data;
  for (std::uint32_t id : {3u, 5u}) {
    bytes += encode_frame(Command::syn, id);
    expected.push_back("o" + std::to_string(id));
  }
  const std::size_t sizes[] = {1, 7, 8, 9, 1016, 1024, 1025, 32768, 65535, 3};
  unsigned seed = 0;
  for (std::size_t size : sizes) {
    for (std::uint32_t id : {3u, 5u}) {
      std::string p = pattern(size, ++seed);
      bytes += encode_frame(Command::psh, id, p);
      expected_data[id] += p;
      expected.push_back("d" + std::to_string(id) + ":" +
                         (size <= 16 ? p : std::to_string(size) + "B"));
    }
    bytes += encode_frame(Command::nop, 0);
    expected.push_back("n0");
  }
  bytes += encode_frame(Command::fin, 5);
  expected.push_back("f5");

  for (std::size_t piece : {bytes.size(), std::size_t{1}, std::size_t{3}, std::size_t{1024}}) {
    SCOPED_TRACE(piece);
    Mux m(Side::server);
    auto events = feed_in_pieces(m, bytes, piece);
    EXPECT_EQ(describe(events), expected);
    std::map<std::uint32_t, std::string> got;
    for (const auto& e : events) {
      if (e.kind == Event::Kind::data) got[e.stream] += e.data;
    }
    EXPECT_EQ(got, expected_data);
    EXPECT_FALSE(m.failed());
  }
}

TEST(Smux, ClientAndServerThroughAPipe) {
  Mux client(Side::client);
  Mux server(Side::server);
  std::map<std::uint32_t, std::string> sent_up, got_up, sent_down, got_down;
  std::map<std::uint32_t, int> fins_at_server, fins_at_client;

  // Moves everything queued, in 1024-byte pieces that ignore frame boundaries (as the data
  // channel does), and lets the server echo every piece back reversed.
  auto pump = [&] {
    while (client.has_output() || server.has_output()) {
      std::string up = client.take_output();
      for (const auto& e : feed_in_pieces(server, up, 1024)) {
        if (e.kind == Event::Kind::data) {
          got_up[e.stream] += e.data;
          std::string back(e.data.rbegin(), e.data.rend());
          ASSERT_TRUE(server.write(e.stream, back));
          sent_down[e.stream] += back;
        } else if (e.kind == Event::Kind::fin) {
          ++fins_at_server[e.stream];
          server.close(e.stream);
        }
      }
      std::string down = server.take_output();
      for (const auto& e : feed_in_pieces(client, down, 1024)) {
        if (e.kind == Event::Kind::data) got_down[e.stream] += e.data;
        if (e.kind == Event::Kind::fin) ++fins_at_client[e.stream];
        EXPECT_NE(e.kind, Event::Kind::opened);  // the server opens nothing
      }
    }
  };

  std::vector<std::uint32_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(client.open().value());
  EXPECT_EQ(ids, (std::vector<std::uint32_t>{3, 5, 7}));
  // Interleaved writes of awkward sizes, several before each pump.
  unsigned seed = 10;
  for (int round = 0; round < 6; ++round) {
    for (std::size_t k = 0; k < ids.size(); ++k) {
      std::string p = pattern(1 + (round * 7919 + k * 40503) % 70000, ++seed);
      ASSERT_TRUE(client.write(ids[k], p));
      sent_up[ids[k]] += p;
    }
    if (round % 2 == 1) pump();
  }
  for (auto id : ids) client.close(id);
  pump();

  EXPECT_EQ(got_up, sent_up);
  EXPECT_EQ(got_down, sent_down);
  for (auto id : ids) {
    EXPECT_EQ(fins_at_server[id], 1) << id;
    EXPECT_EQ(fins_at_client[id], 1) << id;
  }
  // Both halves closed on both ends: forgotten everywhere.
  EXPECT_EQ(client.open_streams(), 0u);
  EXPECT_EQ(server.open_streams(), 0u);
  EXPECT_EQ(client.discarded_bytes(), 0u);
  EXPECT_EQ(server.discarded_bytes(), 0u);
}

TEST(Smux, HalfCloseKeepsTheOtherDirection) {
  Mux client(Side::client);
  Mux server(Side::server);
  auto id = client.open().value();
  ASSERT_TRUE(client.write(id, "request"));
  client.close(id);
  client.close(id);  // idempotent: one FIN
  EXPECT_EQ(client.take_output(), encode_frame(Command::syn, 3) +
                                      encode_frame(Command::psh, 3, "request") +
                                      encode_frame(Command::fin, 3));
  EXPECT_TRUE(client.we_closed(id));
  EXPECT_TRUE(client.is_open(id));  // the peer may still write
  auto w = client.write(id, "more");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().kind, ErrorKind::connection);

  auto events =
      feed_ok(server, encode_frame(Command::syn, 3) + encode_frame(Command::psh, 3, "request") +
                          encode_frame(Command::fin, 3));
  EXPECT_EQ(describe(events), (Strings{"o3", "d3:request", "f3"}));
  EXPECT_TRUE(server.peer_closed(id));
  // The server still writes after the client's FIN, then closes.
  ASSERT_TRUE(server.write(id, "response"));
  server.close(id);
  EXPECT_FALSE(server.is_open(id));  // both halves closed

  events = feed_ok(client, server.take_output());
  EXPECT_EQ(describe(events), (Strings{"d3:response", "f3"}));
  EXPECT_FALSE(client.is_open(id));
  EXPECT_EQ(client.open_streams(), 0u);
}

TEST(Smux, FinIsReportedOnceAndIgnoredForUnknownStreams) {
  Mux m(Side::server);
  auto events = feed_ok(m, encode_frame(Command::fin, 9) + encode_frame(Command::syn, 3) +
                               encode_frame(Command::fin, 3) + encode_frame(Command::fin, 3));
  EXPECT_EQ(describe(events), (Strings{"o3", "f3"}));
  EXPECT_FALSE(m.is_open(9));
  EXPECT_TRUE(m.is_open(3));
}

TEST(Smux, DataForUnknownOrPeerClosedStreamsIsDiscardedAndCounted) {
  Mux m(Side::server);
  auto events = feed_ok(m, encode_frame(Command::psh, 9, "0123456789"));
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(m.discarded_bytes(), 10u);
  EXPECT_FALSE(m.is_open(9));

  events = feed_ok(m, encode_frame(Command::syn, 3) + encode_frame(Command::fin, 3) +
                          encode_frame(Command::psh, 3, "late"));
  EXPECT_EQ(describe(events), (Strings{"o3", "f3"}));
  EXPECT_EQ(m.discarded_bytes(), 14u);

  // Discarded data cut across calls is counted too, and does not derail the next frame.
  const std::string bytes = encode_frame(Command::psh, 11, pattern(3000, 4)) +
                            encode_frame(Command::syn, 13) + encode_frame(Command::psh, 13, "ok");
  events = feed_in_pieces(m, bytes, 1000);
  EXPECT_EQ(describe(events), (Strings{"o13", "d13:ok"}));
  EXPECT_EQ(m.discarded_bytes(), 3014u);
}

TEST(Smux, PayloadOnControlFramesIsSkipped) {
  Mux m(Side::server);
  const std::string bytes = unhex(
      "01 00 0300 03000000 aabbcc"  // SYN 3 with 3 payload bytes
      "01 03 0200 00000000 dddd"    // NOP with 2
      "01 02 0200 03000000 6869"    // PSH 3 "hi"
      "01 01 0100 03000000 ee");    // FIN 3 with 1
  for (std::size_t piece : {bytes.size(), std::size_t{1}}) {
    Mux fresh(Side::server);
    EXPECT_EQ(describe(feed_in_pieces(fresh, bytes, piece)), (Strings{"o3", "n0", "d3:hi", "f3"}));
    EXPECT_EQ(fresh.discarded_bytes(), 6u);
  }
}

TEST(Smux, ForgettingAStreamWhileItsFrameArrivesDiscardsTheFrame) {
  Mux m(Side::server);
  const std::string frame = encode_frame(Command::psh, 3, pattern(5000, 5));
  EXPECT_EQ(describe(feed_ok(m, encode_frame(Command::syn, 3) + frame.substr(0, 100))),
            Strings{"o3"});
  m.forget(3);
  EXPECT_EQ(m.take_output(), encode_frame(Command::fin, 3));
  EXPECT_TRUE(feed_ok(m, frame.substr(100)).empty());
  EXPECT_EQ(m.discarded_bytes(), 5000u);
}

TEST(Smux, ForgetQueuesFinOnlyWhenNotYetSent) {
  Mux m(Side::client);
  auto a = m.open().value();
  auto b = m.open().value();
  (void)m.take_output();
  m.close(a);
  m.forget(a);
  m.forget(b);
  m.forget(b);
  m.forget(99);
  EXPECT_EQ(m.take_output(), encode_frame(Command::fin, a) + encode_frame(Command::fin, b));
  EXPECT_EQ(m.open_streams(), 0u);
  EXPECT_FALSE(m.write(b, "x"));
  // Data arriving for a forgotten stream is discarded.
  EXPECT_TRUE(feed_ok(m, encode_frame(Command::psh, a, "abc")).empty());
  EXPECT_EQ(m.discarded_bytes(), 3u);
}

TEST(Smux, DuplicateSynIsIgnored) {
  Mux m(Side::client);
  auto events = feed_ok(m, encode_frame(Command::syn, 2) + encode_frame(Command::psh, 2, "a") +
                               encode_frame(Command::syn, 2) + encode_frame(Command::psh, 2, "b"));
  EXPECT_EQ(describe(events), (Strings{"o2", "d2:a", "d2:b"}));
  EXPECT_EQ(m.open_streams(), 1u);
}

TEST(Smux, NopIsReportedAndSent) {
  Mux m(Side::client);
  m.nop();
  EXPECT_EQ(m.take_output(), unhex("01 03 0000 00000000"));
  EXPECT_EQ(describe(feed_ok(m, unhex("01 03 0000 00000000 01 03 0000 00000000"))),
            (Strings{"n0", "n0"}));
}

TEST(Smux, BadVersionFailsTheSession) {
  Mux m(Side::server);
  auto r = m.feed(encode_frame(Command::syn, 3) + unhex("02 00 0000 05000000"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::protocol);
  EXPECT_NE(r.error().message.find("version 2"), std::string::npos) << r.error().message;
  EXPECT_TRUE(m.failed());
  // Every later call fails too, even with valid input.
  auto again = m.feed(encode_frame(Command::syn, 7));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::protocol);
  EXPECT_FALSE(m.open());
  EXPECT_FALSE(m.write(3, "x"));  // stream 3 was opened before the bad frame
  m.nop();
  m.close(3);
  EXPECT_FALSE(m.has_output());
}

TEST(Smux, UpdAndUnknownCommandsFailTheSession) {
  for (std::string_view header :
       {"01 04 0800 03000000", "01 05 0000 03000000", "01 ff 0000 00000000"}) {
    SCOPED_TRACE(header);
    Mux m(Side::server);
    std::vector<Event> events;
    // The header arrives cut: the error still shows once it is complete, not before.
    const std::string bytes = encode_frame(Command::syn, 3) + unhex(header);
    ASSERT_TRUE(m.feed_into(bytes.substr(0, 10), events));
    EXPECT_EQ(describe(events), Strings{"o3"});
    auto r = m.feed_into(bytes.substr(10), events);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::protocol);
    EXPECT_TRUE(m.failed());
    EXPECT_FALSE(m.feed(""));
    EXPECT_FALSE(m.write(3, "x"));
  }
  Mux m(Side::server);
  auto r = m.feed(unhex("01 04 0800 03000000"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("UPD"), std::string::npos) << r.error().message;
}

TEST(Smux, MaxStreamsIsEnforced) {
  Options o;
  o.max_streams = 2;
  Mux m(Side::client, o);
  ASSERT_TRUE(m.open());
  auto b = m.open();
  ASSERT_TRUE(b);
  auto c = m.open();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, ErrorKind::connection);
  EXPECT_EQ(m.open_streams(), 2u);
  m.forget(b.value());
  EXPECT_EQ(m.open().value(), 7u);  // 5 was used; IDs are never reused by our side
  (void)m.take_output();

  // A peer's SYN past the limit is refused with a FIN; its data is discarded.
  auto events = feed_ok(m, encode_frame(Command::syn, 2) + encode_frame(Command::psh, 2, "xyz"));
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(m.is_open(2));
  EXPECT_EQ(m.refused_streams(), 1u);
  EXPECT_EQ(m.discarded_bytes(), 3u);
  EXPECT_EQ(m.take_output(), encode_frame(Command::fin, 2));
}

TEST(Smux, WriteFailsForUnknownAndClosedStreams) {
  Mux m(Side::client);
  EXPECT_FALSE(m.write(3, "x"));  // never opened
  auto id = m.open().value();
  ASSERT_TRUE(m.write(id, "x"));
  m.close(id);
  auto r = m.write(id, "y");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::connection);
  EXPECT_FALSE(m.failed());  // a local mistake does not fail the session
  EXPECT_EQ(m.take_output(), encode_frame(Command::syn, 3) + encode_frame(Command::psh, 3, "x") +
                                 encode_frame(Command::fin, 3));
}
