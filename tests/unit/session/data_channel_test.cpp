#include "ecsh/session/data_channel.hpp"

#include "ecsh/common/crypto.hpp"

#include <gtest/gtest.h>

#include <cstdio>

using namespace ecsh;
using namespace ecsh::session;
using namespace std::chrono_literals;

namespace {

const TimePoint t0{std::chrono::milliseconds(1700000000000)};

std::string unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  }
  return out;
}

std::string padded(std::string type) {
  type.resize(32, ' ');
  return type;
}

DataChannelOptions counting_ids(int prefix) {
  DataChannelOptions o;
  auto n = std::make_shared<int>(0);
  o.new_message_id = [n, prefix] {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08d-0000-4000-8000-%012d", prefix, ++*n);
    return std::string(buf);
  };
  return o;
}

ClientMessage decoded(const std::string& frame) {
  auto m = try_decode(frame);
  EXPECT_TRUE(m) << (m ? "" : m.error().message);
  return m ? m.value() : ClientMessage{};
}

// A stream message as the peer would send it (built with our encoder; the fixed vectors below
// check the encoder itself).
std::string peer_data(std::string_view type, std::int64_t seq, PayloadType pt, std::string payload,
                      std::uint64_t flags = 0) {
  ClientMessage m;
  m.message_type = std::string(type);
  m.created_date = 1700000000000;
  m.sequence_number = seq;
  m.flags = flags;
  m.message_id = crypto::uuid4();
  m.payload_type = static_cast<std::uint32_t>(pt);
  m.payload = std::move(payload);
  return encode(m);
}
std::string output(std::int64_t seq, std::string payload) {
  return peer_data(message_type::output_stream_data, seq, PayloadType::output, std::move(payload),
                   seq == 0 ? kFlagSyn : 0);
}
std::string input(std::int64_t seq, std::string payload) {
  return peer_data(message_type::input_stream_data, seq, PayloadType::output, std::move(payload));
}

std::string ack_for(const std::string& frame) {
  return encode(make_acknowledgement(decoded(frame), crypto::uuid4(), 1700000000001));
}

// The sequence numbers acknowledged by the ack frames in `frames`.
std::vector<std::int64_t> acked(const std::vector<std::string>& frames) {
  std::vector<std::int64_t> out;
  for (const auto& f : frames) {
    auto m = decoded(f);
    if (m.message_type != "acknowledge") continue;
    out.push_back(try_parse_acknowledgement(m.payload).value().sequence_number);
  }
  return out;
}

std::string delivered(const Actions& a) {
  std::string s;
  for (const auto& d : a.deliver) s += d.data;
  return s;
}

bool has_event(const Actions& a, EventKind k) {
  for (const auto& e : a.events)
    if (e.kind == k) return true;
  return false;
}

DataChannel ready_client(DataChannelOptions o = {}) {
  o.client_waits_for_agent = false;
  return DataChannel(Role::client, std::move(o));
}

}  // namespace

// ---- fixed vectors, written out by hand from docs/protocol.md §3.3 and §4.2 ----

TEST(DataChannelWire, FirstKeystrokeFrameIsByteExact) {
  DataChannelOptions opts;
  opts.client_waits_for_agent = false;
  opts.new_message_id = [] { return std::string("11111111-2222-4333-8444-555555555555"); };
  opts.created_date = [] { return std::uint64_t{1700000000000}; };
  DataChannel client(Role::client, opts);
  auto a = client.send_data(PayloadType::output, "ls\r", t0);
  ASSERT_TRUE(a);
  ASSERT_EQ(a.value().send.size(), 1u);
  std::string expected = unhex("00000074") + padded("input_stream_data") +
                         unhex("00000001") +          // len, type, schema
                         unhex("0000018bcfe56800") +  // CreatedDate
                         unhex("0000000000000000") + unhex("0000000000000000") +  // seq 0, flags 0
                         unhex("84445555555555551111111122224333") +  // id, halves swapped
                         unhex("1d887ce0f8672e4914d9000e801cd74ecd805dd9366c0bc42dc16adc0197dc2f") +
                         unhex("00000001") + unhex("00000003") + "ls\r";
  EXPECT_EQ(crypto::hex(a.value().send[0]), crypto::hex(expected));
  EXPECT_EQ(client.unacked(), 1u);
  EXPECT_EQ(a.value().wake_at, t0 + 200ms);  // initial RTO

  // The agent's acknowledgement, also written by hand, clears it.
  std::string ack_payload =
      R"({"AcknowledgedMessageType":"input_stream_data","AcknowledgedMessageId":"11111111-2222-4333-8444-555555555555","AcknowledgedMessageSequenceNumber":0,"IsSequentialMessage":true})";
  std::string ack = unhex("00000074") + padded("acknowledge") + unhex("00000001") +
                    unhex("0000018bcfe56800") + unhex("0000000000000000") +
                    unhex("0000000000000003") + unhex("8dddeeeeeeeeeeeeaaaaaaaabbbb4ccc") +
                    unhex("5c140c40d534e4d35735aed2359d1a9c12d955d34cd528b99e29c376d62b94be") +
                    unhex("00000000") + unhex("000000af") + ack_payload;
  auto r = client.on_frame(ack, t0 + 40ms);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(client.unacked(), 0u);
  EXPECT_FALSE(r.wake_at);
}

TEST(DataChannelWire, AgentMarksOnlyItsFirstMessageSyn) {
  DataChannel agent(Role::agent, counting_ids(2));
  auto a = agent.send_data(PayloadType::output, std::string(1500, 'x'), t0);
  ASSERT_TRUE(a);
  ASSERT_EQ(a.value().send.size(), 2u);
  auto m0 = decoded(a.value().send[0]);
  auto m1 = decoded(a.value().send[1]);
  EXPECT_EQ(m0.message_type, "output_stream_data");
  EXPECT_EQ(m0.flags, kFlagSyn);
  EXPECT_EQ(m1.flags, 0u);
  EXPECT_EQ(m0.sequence_number, 0);
  EXPECT_EQ(m1.sequence_number, 1);
}

TEST(DataChannelWire, RejectsMalformedFramesWithoutAcking) {
  auto client = ready_client();
  for (std::string bad : {std::string(), std::string(50, 'x'), output(0, "hi").substr(0, 119)}) {
    auto a = client.on_frame(bad, t0);
    EXPECT_TRUE(a.send.empty());
    EXPECT_TRUE(a.deliver.empty());
    ASSERT_EQ(a.events.size(), 1u);
    EXPECT_EQ(a.events[0].kind, EventKind::rejected);
  }
  auto tampered = output(0, "hello");
  tampered.back() = 'X';
  auto a = client.on_frame(tampered, t0);
  EXPECT_TRUE(a.send.empty());
  EXPECT_TRUE(has_event(a, EventKind::rejected));
  ClientMessage junk_ack;
  junk_ack.message_type = "acknowledge";
  junk_ack.created_date = 1;
  junk_ack.message_id = crypto::uuid4();
  junk_ack.payload = "{not json";
  EXPECT_TRUE(has_event(client.on_frame(encode(junk_ack), t0), EventKind::rejected));
  EXPECT_EQ(client.expected_sequence(), 0);
}

TEST(DataChannelWire, AnAgentThatDoesNotCheckDigestsTakesWhatTheRealAgentTakes) {
  // The SSM agent never checks payload digests (protocol.md §3.3); with check_digest off, the
  // sandbox's agent acks and delivers a frame whose digest does not match, as the agent would.
  auto frame = input(0, "hello");
  frame.back() = 'X';
  DataChannelOptions o;
  o.check_digest = false;
  DataChannel agent(Role::agent, o);
  auto a = agent.on_frame(frame, t0);
  EXPECT_EQ(delivered(a), "hellX");
  EXPECT_EQ(a.send.size(), 1u);  // the ack
  DataChannel checking(Role::agent);
  EXPECT_TRUE(has_event(checking.on_frame(frame, t0), EventKind::rejected));
}

// ---- sending ----

TEST(DataChannelSend, SplitsLargeWritesIntoPipelinedChunks) {
  auto client = ready_client();
  std::string data(3000, 'a');
  data[1024] = 'b';
  auto a = client.send_data(PayloadType::output, data, t0);
  ASSERT_TRUE(a);
  ASSERT_EQ(a.value().send.size(), 3u);  // all at once: no waiting for acks, no sleeps
  std::string joined;
  for (std::size_t i = 0; i < 3; ++i) {
    auto m = decoded(a.value().send[i]);
    EXPECT_EQ(m.sequence_number, static_cast<std::int64_t>(i));
    EXPECT_LE(m.payload.size(), 1024u);
    joined += m.payload;
  }
  EXPECT_EQ(joined, data);
  EXPECT_EQ(decoded(a.value().send[1]).payload[0], 'b');
}

TEST(DataChannelSend, FullWindowReportsBackpressureAndNeverEvicts) {
  DataChannelOptions o;
  o.max_unacked = 4;
  auto client = ready_client(o);
  auto a = client.send_data(PayloadType::output, std::string(5 * 1024, 'z'), t0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.value().send.size(), 4u);
  EXPECT_TRUE(a.value().backpressure);
  EXPECT_EQ(client.waiting(), 1u);
  // Nothing is dropped while the window stays full: the oldest is resent, the rest wait.
  auto t = client.on_timer(t0 + 200ms);
  ASSERT_EQ(t.send.size(), 1u);
  EXPECT_EQ(decoded(t.send[0]).sequence_number, 0);
  EXPECT_EQ(client.unacked(), 4u);
  // An ack frees a slot: the waiting chunk goes out and input may be read again.
  auto r = client.on_frame(ack_for(a.value().send[2]), t0 + 250ms);
  ASSERT_EQ(r.send.size(), 1u);
  EXPECT_EQ(decoded(r.send[0]).sequence_number, 4);
  EXPECT_TRUE(r.backpressure);  // the window is full again
  EXPECT_FALSE(has_event(r, EventKind::writable));
  auto r2 = client.on_frame(ack_for(a.value().send[0]), t0 + 260ms);
  EXPECT_TRUE(r2.send.empty());
  EXPECT_FALSE(r2.backpressure);
  EXPECT_TRUE(has_event(r2, EventKind::writable));
  // A caller that ignores backpressure gets an error instead of unbounded memory.
  DataChannelOptions tiny;
  tiny.max_unacked = 1;
  auto c2 = ready_client(tiny);
  ASSERT_TRUE(c2.send_data(PayloadType::output, "abc", t0));
  ASSERT_TRUE(c2.send_data(PayloadType::output, "def", t0));
  ASSERT_TRUE(c2.send_data(PayloadType::output, "ghi", t0));
  EXPECT_FALSE(c2.send_data(PayloadType::output, "jkl", t0));
}

// ---- retransmission ----

TEST(DataChannelResend, BacksOffAndDoesNotHammerEvery100ms) {
  auto client = ready_client();
  auto a = client.send_data(PayloadType::output, "x", t0);
  ASSERT_TRUE(a);
  EXPECT_TRUE(client.on_timer(t0 + 100ms).send.empty());  // the plugin's poll tick: not yet
  EXPECT_TRUE(client.on_timer(t0 + 199ms).send.empty());
  auto r1 = client.on_timer(t0 + 200ms);  // RTO 200 ms
  ASSERT_EQ(r1.send.size(), 1u);
  EXPECT_EQ(r1.send[0], a.value().send[0]);               // the same frame, byte for byte
  EXPECT_EQ(r1.wake_at, t0 + 600ms);                      // last_sent updated, timeout doubled
  EXPECT_TRUE(client.on_timer(t0 + 300ms).send.empty());  // the plugin would resend here
  EXPECT_TRUE(client.on_timer(t0 + 500ms).send.empty());
  EXPECT_EQ(client.on_timer(t0 + 600ms).send.size(), 1u);
  EXPECT_EQ(client.on_timer(t0 + 1400ms).send.size(), 1u);  // +800
  EXPECT_EQ(client.on_timer(t0 + 3000ms).send.size(), 1u);  // +1600
  auto r5 = client.on_timer(t0 + 6200ms);                   // +3200
  EXPECT_EQ(r5.send.size(), 1u);
  EXPECT_EQ(r5.wake_at, t0 + 11200ms);  // capped at max_backoff (5 s)
  // Resending counted 5 times in 6.2 s, where the plugin would have sent 61 copies.
}

TEST(DataChannelResend, RttEstimatorFollowsJacobson) {
  auto client = ready_client();
  EXPECT_DOUBLE_EQ(client.rto().count(), 200.0);
  auto a = client.send_data(PayloadType::output, "x", t0);
  client.on_frame(ack_for(a.value().send[0]), t0 + 40ms);
  // RTTVAR = 0.75*0 + 0.25*|100-40| = 15; RTT = 0.875*100 + 0.125*40 = 92.5; RTO = 92.5 + 60.
  EXPECT_DOUBLE_EQ(client.rttvar().count(), 15.0);
  EXPECT_DOUBLE_EQ(client.rtt().count(), 92.5);
  EXPECT_DOUBLE_EQ(client.rto().count(), 152.5);
  // A steady 92.5 ms sample shrinks RTTVAR until the 10 ms floor takes over.
  for (int i = 0; i < 40; ++i) {
    auto b = client.send_data(PayloadType::output, "y", t0);
    client.on_frame(ack_for(b.value().send[0]), t0 + std::chrono::microseconds(92500));
  }
  EXPECT_NEAR(client.rto().count(), 102.5, 0.01);
  // Huge samples are capped at 1 s.
  for (int i = 0; i < 5; ++i) {
    auto b = client.send_data(PayloadType::output, "z", t0);
    client.on_frame(ack_for(b.value().send[0]), t0 + 20s);
  }
  EXPECT_DOUBLE_EQ(client.rto().count(), 1000.0);
}

TEST(DataChannelResend, ResumeResendsEverythingUnackedAndKeepsSequences) {
  auto client = ready_client();
  auto a = client.send_data(PayloadType::output, std::string(3000, 'q'), t0);
  client.on_frame(ack_for(a.value().send[1]), t0 + 10ms);
  client.on_frame(output(0, "prompt$ "), t0 + 10ms);
  auto r = client.resume(t0 + 5s);
  ASSERT_EQ(r.send.size(), 2u);
  EXPECT_EQ(r.send[0], a.value().send[0]);
  EXPECT_EQ(r.send[1], a.value().send[2]);
  EXPECT_EQ(r.wake_at,
            t0 + 5s + std::chrono::duration_cast<std::chrono::microseconds>(client.rto()));
  auto next = client.send_data(PayloadType::output, "x", t0 + 5s);
  EXPECT_EQ(decoded(next.value().send[0]).sequence_number, 3);
  EXPECT_EQ(client.expected_sequence(), 1);
  auto dup = client.on_frame(output(0, "prompt$ "), t0 + 5s);
  EXPECT_TRUE(dup.deliver.empty());
  EXPECT_EQ(acked(dup.send), std::vector<std::int64_t>{0});
}

TEST(DataChannelResend, AcksInAnyOrderTwiceOrForNothingKeepTheWindowExact) {
  auto client = ready_client();
  auto a = client.send_data(PayloadType::output, std::string(6 * 1024, 'w'), t0);
  ASSERT_TRUE(a);
  ASSERT_EQ(a.value().send.size(), 6u);
  // 5, 3 and 1 acknowledged (5 twice), and one for a message never sent.
  for (int i : {5, 3, 1, 5}) client.on_frame(ack_for(a.value().send[i]), t0 + 10ms);
  client.on_frame(ack_for(output(99, "never sent")), t0 + 10ms);
  EXPECT_EQ(client.unacked(), 3u);
  auto r = client.resume(t0 + 1s);
  ASSERT_EQ(r.send.size(), 3u);
  EXPECT_EQ(r.send[0], a.value().send[0]);
  EXPECT_EQ(r.send[1], a.value().send[2]);
  EXPECT_EQ(r.send[2], a.value().send[4]);
  // The oldest is acknowledged: the timer now resends the next one still waiting, 2.
  client.on_frame(ack_for(a.value().send[0]), t0 + 1010ms);
  auto t = client.on_timer(t0 + 10s);
  ASSERT_EQ(t.send.size(), 1u);
  EXPECT_EQ(t.send[0], a.value().send[2]);
  client.on_frame(ack_for(a.value().send[2]), t0 + 10s);
  client.on_frame(ack_for(a.value().send[4]), t0 + 10s);
  EXPECT_EQ(client.unacked(), 0u);
  EXPECT_FALSE(client.on_timer(t0 + 60s).wake_at.has_value());  // nothing left to resend
  auto next = client.send_data(PayloadType::output, "x", t0 + 60s);
  EXPECT_EQ(decoded(next.value().send[0]).sequence_number, 6);
  EXPECT_EQ(client.unacked(), 1u);
}

TEST(DataChannelResend, GivesNoticeWhenNothingIsAckedForTooLong) {
  DataChannelOptions o;
  o.give_up_after = Millis(60000);
  auto client = ready_client(o);
  ASSERT_TRUE(client.send_data(PayloadType::output, "x", t0));
  EXPECT_FALSE(has_event(client.on_timer(t0 + 59s), EventKind::resend_timeout));
  auto r = client.on_timer(t0 + 60s);
  EXPECT_TRUE(has_event(r, EventKind::resend_timeout));
  EXPECT_FALSE(has_event(client.on_timer(t0 + 70s), EventKind::resend_timeout));
}

// ---- receiving ----

TEST(DataChannelReceive, AcksEveryMessageAndDeliversInOrder) {
  auto client = ready_client();
  auto m0 = output(0, "hello ");
  auto a = client.on_frame(m0, t0);
  EXPECT_EQ(delivered(a), "hello ");
  ASSERT_EQ(a.send.size(), 1u);
  auto ack = decoded(a.send[0]);
  EXPECT_EQ(ack.message_type, "acknowledge");
  EXPECT_EQ(ack.flags, 3u);
  EXPECT_EQ(ack.sequence_number, 0);
  auto parsed = try_parse_acknowledgement(ack.payload).value();
  EXPECT_EQ(parsed.message_type, "output_stream_data");
  EXPECT_EQ(parsed.message_id, decoded(m0).message_id);
  EXPECT_EQ(parsed.sequence_number, 0);
  // Acks are not stream messages: they use up no sequence number.
  auto s = client.send_data(PayloadType::output, "x", t0);
  EXPECT_EQ(decoded(s.value().send[0]).sequence_number, 0);
}

TEST(DataChannelReceive, ReordersAndReAcksDuplicates) {
  auto client = ready_client();
  auto a2 = client.on_frame(output(2, "c"), t0);
  EXPECT_TRUE(a2.deliver.empty());
  EXPECT_EQ(acked(a2.send), std::vector<std::int64_t>{2});  // stored and acked at once
  auto a1 = client.on_frame(output(1, "b"), t0);
  EXPECT_TRUE(a1.deliver.empty());
  EXPECT_EQ(client.buffered_out_of_order(), 2u);
  auto again = client.on_frame(output(2, "c"), t0);  // duplicate while buffered
  EXPECT_EQ(acked(again.send), std::vector<std::int64_t>{2});
  auto a0 = client.on_frame(output(0, "a"), t0);
  EXPECT_EQ(delivered(a0), "abc");
  EXPECT_EQ(acked(a0.send), std::vector<std::int64_t>{0});
  EXPECT_EQ(client.expected_sequence(), 3);
  EXPECT_EQ(client.buffered_out_of_order(), 0u);
  auto old = client.on_frame(output(1, "b"), t0);  // an old duplicate: re-acked, not redelivered
  EXPECT_TRUE(old.deliver.empty());
  EXPECT_EQ(acked(old.send), std::vector<std::int64_t>{1});
}

TEST(DataChannelReceive, OutOfOrderBufferIsBounded) {
  DataChannelOptions o;
  o.max_out_of_order = 2;
  auto client = ready_client(o);
  EXPECT_EQ(acked(client.on_frame(output(1, "b"), t0).send), std::vector<std::int64_t>{1});
  EXPECT_EQ(acked(client.on_frame(output(2, "c"), t0).send), std::vector<std::int64_t>{2});
  // Full: dropped without an ack, so the agent will resend it.
  EXPECT_TRUE(client.on_frame(output(3, "d"), t0).send.empty());
  // Far ahead of the window: dropped too (no unbounded gaps).
  auto far = client.on_frame(output(1000000, "z"), t0);
  EXPECT_TRUE(far.send.empty());
  EXPECT_EQ(client.buffered_out_of_order(), 2u);
  EXPECT_EQ(delivered(client.on_frame(output(0, "a"), t0)), "abc");
  EXPECT_EQ(delivered(client.on_frame(output(3, "d"), t0)), "d");

  // The buffer is bounded in bytes too, and oversized frames are refused outright.
  DataChannelOptions b;
  b.max_out_of_order_bytes = 2048;
  b.max_frame = 4096;
  auto c2 = ready_client(b);
  EXPECT_EQ(acked(c2.on_frame(output(1, std::string(1500, 'b')), t0).send),
            std::vector<std::int64_t>{1});
  EXPECT_TRUE(c2.on_frame(output(2, std::string(1000, 'c')), t0).send.empty());
  auto huge = c2.on_frame(output(0, std::string(5000, 'a')), t0);
  EXPECT_TRUE(huge.send.empty());
  EXPECT_TRUE(has_event(huge, EventKind::rejected));
  EXPECT_EQ(delivered(c2.on_frame(output(0, "a"), t0)), "a" + std::string(1500, 'b'));
}

TEST(DataChannelReceive, ApplicationNotReadyLeavesMessagesUnacked) {
  DataChannel agent(Role::agent);
  agent.set_application_ready(false, t0);  // the pty is not up yet
  auto a = agent.on_frame(input(0, "ls\r"), t0);
  EXPECT_TRUE(a.send.empty());
  EXPECT_TRUE(a.deliver.empty());
  EXPECT_EQ(agent.expected_sequence(), 0);
  // Later messages are buffered (and acked) but wait for the missing one.
  auto later = agent.on_frame(input(1, "pwd\r"), t0);
  EXPECT_EQ(acked(later.send), std::vector<std::int64_t>{1});
  EXPECT_TRUE(later.deliver.empty());
  agent.set_application_ready(true, t0 + 1s);
  auto resent = agent.on_frame(input(0, "ls\r"), t0 + 1s);  // the client's resend
  EXPECT_EQ(delivered(resent), "ls\rpwd\r");
  EXPECT_EQ(acked(resent.send), std::vector<std::int64_t>{0});
  EXPECT_EQ(agent.expected_sequence(), 2);
}

TEST(DataChannelReceive, DeliversPayloadTypesSeparately) {
  DataChannel agent(Role::agent);
  TerminalSize sz;
  sz.cols = 80;
  sz.rows = 24;
  agent.on_frame(input(0, "a"), t0);
  auto a = agent.on_frame(
      peer_data(message_type::input_stream_data, 1, PayloadType::size, size_json(sz)), t0);
  ASSERT_EQ(a.deliver.size(), 1u);
  EXPECT_EQ(a.deliver[0].payload_type, 3u);
  EXPECT_EQ(parse_size(a.deliver[0].data).value().cols, 80u);
}

// ---- control messages ----

TEST(DataChannelControl, ChannelClosedEndsTheChannelWithItsOutput) {
  auto client = ready_client();
  ASSERT_TRUE(client.send_data(PayloadType::output, "x", t0));
  DataChannel service(Role::agent);
  ChannelClosed c;
  c.output = "Plugin with name InteractiveCommands not found.";
  auto a =
      client.on_frame(service.control_frame(message_type::channel_closed, to_json(c, "2024")), t0);
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.events[0].kind, EventKind::channel_closed);
  EXPECT_EQ(a.events[0].text, "Plugin with name InteractiveCommands not found.");
  EXPECT_TRUE(a.send.empty());  // not acked
  EXPECT_FALSE(a.wake_at);
  EXPECT_TRUE(client.closed());
  EXPECT_FALSE(client.send_data(PayloadType::output, "y", t0));
  EXPECT_TRUE(client.on_timer(t0 + 10s).send.empty());
  EXPECT_TRUE(client.on_frame(output(0, "late"), t0).deliver.empty());
}

TEST(DataChannelControl, PausePublicationStopsSendingUntilThePeerIsBack) {
  auto client = ready_client();
  DataChannel service(Role::agent);
  ASSERT_TRUE(client.send_data(PayloadType::output, "a", t0));
  auto p = client.on_frame(service.control_frame(message_type::pause_publication, ""), t0);
  EXPECT_TRUE(has_event(p, EventKind::paused));
  EXPECT_FALSE(p.wake_at);
  EXPECT_TRUE(client.on_timer(t0 + 5s).send.empty());  // no resend while paused
  auto held = client.send_data(PayloadType::output, "b", t0 + 5s);
  EXPECT_TRUE(held.value().send.empty());
  auto s = client.on_frame(service.control_frame(message_type::start_publication, ""), t0 + 6s);
  EXPECT_TRUE(has_event(s, EventKind::resumed));
  ASSERT_EQ(s.send.size(), 1u);
  EXPECT_EQ(decoded(s.send[0]).payload, "b");
  // Also any incoming data clears a pause.
  client.on_frame(service.control_frame(message_type::pause_publication, ""), t0 + 7s);
  auto d = client.on_frame(output(0, "out"), t0 + 8s);
  EXPECT_TRUE(has_event(d, EventKind::resumed));
  EXPECT_FALSE(client.paused());
}

TEST(DataChannelControl, ReportsAgentSessionState) {
  auto client = ready_client();
  DataChannel agent(Role::agent);
  auto a = client.on_frame(agent.control_frame(message_type::agent_session_state,
                                               session_state_json("Terminating", "s")),
                           t0);
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.events[0].kind, EventKind::session_state);
  EXPECT_EQ(a.events[0].text, "Terminating");
  EXPECT_TRUE(a.send.empty());
}

// ---- session start ----

TEST(DataChannelStart, ClientHoldsInputUntilTheAgentsFirstOutput) {
  DataChannel client(Role::client);
  EXPECT_FALSE(client.ready());
  auto early = client.send_data(PayloadType::output, "typed early", t0);
  EXPECT_TRUE(early.value().send.empty());
  auto first = client.on_frame(output(0, "$ "), t0 + 1s);
  EXPECT_TRUE(has_event(first, EventKind::ready));
  EXPECT_EQ(delivered(first), "$ ");
  ASSERT_EQ(first.send.size(), 2u);  // the ack and the held input
  EXPECT_EQ(decoded(first.send[1]).payload, "typed early");
  EXPECT_EQ(decoded(first.send[1]).sequence_number, 0);
  // mark_ready() lifts the hold without waiting for output.
  DataChannel other(Role::client);
  ASSERT_TRUE(other.send_data(PayloadType::output, "x", t0));
  EXPECT_EQ(other.mark_ready(t0).send.size(), 1u);
}

namespace {

// Runs frames from one side into the other until neither has anything to say; returns the
// actions produced on each side.
struct Pair {
  DataChannel client{Role::client, counting_ids(1)};
  DataChannel agent{Role::agent, counting_ids(2)};
  std::vector<Actions> client_got, agent_got;

  void to_agent(const Actions& a, TimePoint now) {
    for (const auto& f : a.send) {
      agent_got.push_back(agent.on_frame(f, now));
      to_client(agent_got.back(), now);
    }
  }
  void to_client(const Actions& a, TimePoint now) {
    for (const auto& f : a.send) {
      client_got.push_back(client.on_frame(f, now));
      to_agent(client_got.back(), now);
    }
  }
  const Event* find(const std::vector<Actions>& v, EventKind k) {
    for (const auto& a : v)
      for (const auto& e : a.events)
        if (e.kind == k) return &e;
    return nullptr;
  }
};

HandshakeRequest interactive_request(bool kms) {
  HandshakeRequest r;
  r.agent_version = "3.3.40.0";
  SessionTypeAction st;
  st.session_type = "InteractiveCommands";
  r.session_type = st;
  if (kms) {
    KmsEncryptionAction k;
    k.kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/k";
    k.challenge = crypto::base64_encode(crypto::random_bytes(16));
    r.kms_encryption = k;
  }
  return r;
}

std::string test_key() {
  std::string k;
  for (int i = 0; i < 64; ++i) k += static_cast<char>(0xA0 + i);
  return k;
}

}  // namespace

TEST(DataChannelHandshake, WithoutKmsNoSessionDataBeforeComplete) {
  Pair p;
  auto req = p.agent.start_handshake(interactive_request(false), t0);
  ASSERT_EQ(req.send.size(), 1u);
  auto req_msg = decoded(req.send[0]);
  EXPECT_EQ(req_msg.sequence_number, 0);
  EXPECT_EQ(req_msg.flags, kFlagSyn);
  EXPECT_EQ(req_msg.payload_type, 5u);

  auto got = p.client.on_frame(req.send[0], t0);
  ASSERT_EQ(got.send.size(), 1u);
  EXPECT_EQ(acked(got.send), std::vector<std::int64_t>{0});  // acked before it is handled
  ASSERT_EQ(got.events.size(), 1u);
  ASSERT_EQ(got.events[0].kind, EventKind::handshake_request);
  ASSERT_TRUE(got.events[0].handshake_request);
  p.agent.on_frame(got.send[0], t0);

  // Keystrokes typed now wait for HandshakeComplete.
  auto early = p.client.send_data(PayloadType::output, "whoami\r", t0);
  EXPECT_TRUE(early.value().send.empty());

  auto answer = answer_handshake(*got.events[0].handshake_request, std::nullopt);
  auto resp = p.client.respond_handshake(answer, t0 + 1ms);
  ASSERT_TRUE(resp);
  ASSERT_EQ(resp.value().send.size(), 1u);
  auto resp_msg = decoded(resp.value().send[0]);
  EXPECT_EQ(resp_msg.payload_type, 6u);
  EXPECT_EQ(resp_msg.sequence_number, 0);
  p.to_agent(resp.value(), t0 + 2ms);
  const Event* hr = p.find(p.agent_got, EventKind::handshake_response);
  ASSERT_NE(hr, nullptr);
  EXPECT_EQ(hr->handshake_response->client_version, "1.2.677.0");
  EXPECT_EQ(hr->handshake_response->actions.at(0).status, ActionStatus::success);
  EXPECT_EQ(p.client.unacked(), 0u);

  auto done = p.agent.complete_handshake("", t0 + 3ms);
  p.to_client(done, t0 + 3ms);
  ASSERT_NE(p.find(p.client_got, EventKind::handshake_complete), nullptr);
  ASSERT_NE(p.find(p.client_got, EventKind::ready), nullptr);
  std::string agent_saw;
  for (const auto& a : p.agent_got) agent_saw += delivered(a);
  EXPECT_EQ(agent_saw, "whoami\r");
  EXPECT_EQ(p.client.next_send_sequence(), 2);  // response #0, keystrokes #1
}

TEST(DataChannelHandshake, AgentDiscardsDataThatComesBeforeTheHandshakeEnds) {
  DataChannel agent(Role::agent);
  agent.start_handshake(interactive_request(false), t0);
  auto a = agent.on_frame(input(0, "too early"), t0);
  EXPECT_EQ(acked(a.send), std::vector<std::int64_t>{0});
  EXPECT_TRUE(a.deliver.empty());
  // And its own output waits for complete_handshake().
  auto out = agent.send_data(PayloadType::output, "$ ", t0);
  EXPECT_TRUE(out.value().send.empty());
  auto done = agent.complete_handshake("", t0);
  ASSERT_EQ(done.send.size(), 2u);
  EXPECT_EQ(decoded(done.send[0]).payload_type, 7u);
  EXPECT_EQ(decoded(done.send[1]).payload, "$ ");
}

TEST(DataChannelHandshake, WithKmsEncryptsBothWaysAndRejectsTampering) {
  Pair p;
  auto req = p.agent.start_handshake(interactive_request(true), t0);
  p.to_client(req, t0);
  const Event* hreq = p.find(p.client_got, EventKind::handshake_request);
  ASSERT_NE(hreq, nullptr);
  ASSERT_TRUE(hreq->handshake_request->kms_encryption);
  // (kms:GenerateDataKey happens elsewhere; here the blob is opaque and the key is known.)
  auto answer = answer_handshake(*hreq->handshake_request, std::string("ciphertext-blob"));
  ASSERT_TRUE(p.client.enable_encryption(test_key()));
  auto resp = p.client.respond_handshake(answer, t0);
  p.to_agent(resp.value(), t0);
  const Event* hresp = p.find(p.agent_got, EventKind::handshake_response);
  ASSERT_NE(hresp, nullptr);
  EXPECT_EQ(hresp->handshake_response->kms_ciphertext_key, std::string("ciphertext-blob"));
  // (kms:Decrypt of the blob gives the agent the same key.)
  ASSERT_TRUE(p.agent.enable_encryption(test_key()));
  auto challenge = p.agent.send_challenge(t0);
  ASSERT_TRUE(challenge);
  EXPECT_EQ(decoded(challenge.value().send[0]).payload_type, 8u);
  p.to_client(challenge.value(), t0);
  ASSERT_NE(p.find(p.agent_got, EventKind::challenge_verified), nullptr);
  p.to_client(p.agent.complete_handshake("This session is encrypted using AWS KMS.", t0), t0);
  const Event* done = p.find(p.client_got, EventKind::handshake_complete);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->text, "This session is encrypted using AWS KMS.");

  // Client -> agent: the Output payload is sealed with bytes 32..63; Size stays clear.
  auto keys = p.client.send_data(PayloadType::output, "secret\r", t0);
  auto wire = decoded(keys.value().send[0]);
  EXPECT_EQ(wire.payload.size(), 7u + 28u);
  EXPECT_EQ(gcm_open(test_key().substr(32, 32), wire.payload).value(), "secret\r");
  TerminalSize sz;
  sz.cols = 100;
  sz.rows = 30;
  auto size = p.client.send_data(PayloadType::size, size_json(sz), t0);
  EXPECT_EQ(decoded(size.value().send[0]).payload, size_json(sz));
  p.agent_got.clear();
  p.to_agent(keys.value(), t0);
  p.to_agent(size.value(), t0);
  ASSERT_GE(p.agent_got.size(), 2u);
  EXPECT_EQ(delivered(p.agent_got[0]), "secret\r");
  EXPECT_EQ(p.agent_got[1].deliver.at(0).payload_type, 3u);

  // Agent -> client: Output sealed with bytes 0..31.
  auto out = p.agent.send_data(PayloadType::output, "root\n", t0);
  auto out_wire = decoded(out.value().send[0]);
  EXPECT_EQ(gcm_open(test_key().substr(0, 32), out_wire.payload).value(), "root\n");
  // Tampered ciphertext (with a digest that matches the tampered bytes): refused, not acked,
  // not delivered; the genuine frame is then accepted.
  auto evil = out_wire;
  evil.payload[14] = static_cast<char>(evil.payload[14] ^ 0x20);
  auto bad = p.client.on_frame(encode(evil), t0);
  EXPECT_TRUE(bad.send.empty());
  EXPECT_TRUE(bad.deliver.empty());
  EXPECT_TRUE(has_event(bad, EventKind::rejected));
  auto good = p.client.on_frame(out.value().send[0], t0);
  EXPECT_EQ(delivered(good), "root\n");
}

TEST(DataChannelHandshake, ChallengeFromAWrongKeyIsRejected) {
  DataChannel agent(Role::agent);
  DataChannel client(Role::client);
  auto req = agent.start_handshake(interactive_request(true), t0);
  client.on_frame(req.send.at(0), t0);
  ASSERT_TRUE(agent.enable_encryption(test_key()));
  std::string other = test_key();
  other[0] = 'x';
  other[40] = 'y';
  ASSERT_TRUE(client.enable_encryption(other));
  auto challenge = agent.send_challenge(t0);
  auto c = decoded(challenge.value().send[0]);
  auto r = client.on_frame(encode(c), t0);
  EXPECT_TRUE(has_event(r, EventKind::rejected));
  EXPECT_FALSE(client.enable_encryption("short"));
}

TEST(DataChannelHandshake, AHandshakeRequestStopsSessionDataEvenAfterMarkReady) {
  auto client = ready_client();
  DataChannel agent(Role::agent);
  auto req = agent.start_handshake(interactive_request(false), t0);
  auto got = client.on_frame(req.send.at(0), t0);
  EXPECT_FALSE(client.ready());
  auto held = client.send_data(PayloadType::output, "x", t0);
  EXPECT_TRUE(held.value().send.empty());
  auto resp = client.respond_handshake(
      answer_handshake(*got.events.at(0).handshake_request, std::nullopt), t0);
  ASSERT_EQ(resp.value().send.size(), 1u);  // the response itself is not held
  EXPECT_EQ(decoded(resp.value().send[0]).payload_type, 6u);
}
