#pragma once

// The Session Manager data channel as a pure state machine (docs/protocol.md §4, §5;
// docs/ARCHITECTURE.md "Pure state machines, thin socket shells"): it takes events (a frame
// arrived, the application wants to send, the timer fired) and returns Actions (frames to write,
// bytes to deliver, notifications, the next wake-up). No I/O; time is a parameter (CreatedDate
// and message IDs come from injectable functions in the options). One class serves both ends:
// Role::client is ecsh talking to an agent; Role::agent is the sandbox's agent.
//
// Reliability, both directions independent:
//   - sequence numbers from 0, one per stream message (data, size, flag, handshake);
//   - every stream message is acknowledged (`acknowledge`, flags 3, seq 0), duplicates re-acked;
//   - in-order delivery through a bounded out-of-order buffer (beyond it: dropped, not acked);
//   - Jacobson RTT/RTO (RTT 100 ms, RTTVAR 0, RTO 200 ms, RTO = RTT + max(10 ms, 4 RTTVAR) <= 1 s);
//     the oldest unacked message is resent when now - last_sent > its timeout, which doubles
//     with every resend of that message (up to max_backoff), and last_sent is updated;
//   - no silent eviction: past max_unacked frames in flight, data waits and backpressure is set.
//
// Driving it (the transport glue): write every Actions::send frame as a binary WebSocket
// message in order; write Actions::deliver to the terminal; (re)arm one steady_timer at
// Actions::wake_at and call on_timer() when it fires; stop reading stdin while backpressure
// is set, resume on EventKind::writable; after a reconnect (new socket + OpenDataChannel text
// frame) call resume().
//
// Client (ecsh) handshake, only when the agent asks (ECS Exec asks only with KMS):
//   on EventKind::handshake_request:
//     if request.kms_encryption: blob, key = kms:GenerateDataKey(64 bytes, context) (elsewhere)
//                                enable_encryption(key)
//     respond_handshake(answer_handshake(request, blob))
//   EncChallengeRequest is answered internally; EventKind::handshake_complete (then ready)
//   releases the session data held so far.
// Agent (sandbox):
//   start_handshake(request) -> handshake_response event -> [enable_encryption(key from
//   kms:Decrypt of response.kms_ciphertext_key); send_challenge() -> challenge_verified event]
//   -> complete_handshake(message). Without a handshake just send_data(); hold incoming data
//   with set_application_ready(false) until the pty is up. End with control_frame() of
//   agent_session_state / channel_closed.

#include "ecsh/common/error.hpp"
#include "ecsh/session/kms_crypto.hpp"
#include "ecsh/session/message.hpp"
#include "ecsh/session/payloads.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::session {

enum class Role { client, agent };

// Monotonic time drives every timer (it plugs straight into an asio::steady_timer, and a wall
// clock jump cannot stall or storm the resends). Wall time is only used for CreatedDate.
using TimePoint = std::chrono::steady_clock::time_point;
using Millis = std::chrono::duration<double, std::milli>;

struct Delivery {
  std::uint32_t payload_type =
      0;             // PayloadType: 1 output, 3 size, 10 flag, 11 stderr, 12 exit code
  std::string data;  // decrypted
};

enum class EventKind {
  handshake_request,   // client: the agent asked for a handshake; answer with respond_handshake()
  handshake_response,  // agent: the client answered (Event::handshake_response)
  challenge_verified,  // agent: the client's EncChallengeResponse matched the challenge
  handshake_complete,  // client: HandshakeComplete arrived (text = CustomerMessage)
  ready,               // session data may flow from now on (held data has been sent)
  channel_closed,      // the channel is over (text = Output); nothing more happens
  session_state,       // agent_session_state arrived (text = SessionState)
  paused,              // pause_publication: sending and resending stop until the peer is heard
  resumed,             // start_publication, or the peer was heard again after a pause
  writable,            // backpressure is over: read input again
  rejected,            // a frame or payload was refused, not acked (text = why)
  resend_timeout,      // the oldest unacked message has waited longer than give_up_after
};

struct Event {
  EventKind kind = EventKind::rejected;
  std::string text;
  std::optional<HandshakeRequest> handshake_request;
  std::optional<HandshakeResponse> handshake_response;
};

struct Actions {
  std::vector<std::string> send;  // encoded frames, to be written in this order (binary messages)
  std::vector<Delivery> deliver;  // application bytes, in sequence order
  std::vector<Event> events;
  std::optional<TimePoint> wake_at;  // call on_timer() then (nullopt: nothing to wait for)
  bool backpressure = false;         // the outgoing window is full: stop reading input
};

struct DataChannelOptions {
  std::size_t max_chunk = 1024;          // payload bytes per message before encryption
  std::size_t max_unacked = 4096;        // frames in flight; more data waits (backpressure)
  std::size_t max_out_of_order = 10000;  // frames buffered ahead of the expected sequence
  std::size_t max_out_of_order_bytes = 16 << 20;  // and their payload bytes
  std::size_t max_frame = 256 << 10;  // larger frames are rejected (real ones are ~1.2 KiB)
  // Whether incoming payload digests are checked. The plugin checks them; the SSM agent never
  // does (protocol.md §3.3), so the sandbox's agent does not either.
  bool check_digest = true;
  Millis max_backoff{5000};  // ceiling of a message's doubled resend timeout
  Millis give_up_after{0};   // resend_timeout event after this (0: never)
  // Client only: hold session data until the agent's first Output or HandshakeComplete (the
  // plugin starts its handlers then). mark_ready() lifts it early.
  bool client_waits_for_agent = true;
  std::function<std::string()> new_message_id;  // default: random UUIDv4
  std::function<std::uint64_t()> created_date;  // epoch ms for CreatedDate; default: system clock
};

class DataChannel {
 public:
  explicit DataChannel(Role role, DataChannelOptions options = {});

  // A frame arrived (binary or text WebSocket message).
  Actions on_frame(std::string_view frame, TimePoint now);
  // The application wants to send: split into max_chunk pieces, each one stream message. Data
  // waits (and backpressure is set) when not ready, paused or the window is full. Errors: the
  // channel is closed, or the caller kept writing far past backpressure.
  Result<Actions> send_data(PayloadType type, std::string_view bytes, TimePoint now);
  Actions on_timer(TimePoint now);

  // Client: answer a handshake_request (sent at once, before any session data).
  Result<Actions> respond_handshake(const HandshakeResponse& response, TimePoint now);
  // Agent: send HandshakeRequest (must come before any session data), then optionally
  // send_challenge() once encryption is on, then complete_handshake().
  Actions start_handshake(const HandshakeRequest& request, TimePoint now);
  Result<Actions> send_challenge(TimePoint now);
  Actions complete_handshake(std::string_view customer_message, TimePoint now);

  // Both: turn on KMS encryption with the 64-byte plaintext data key.
  Result<void> enable_encryption(std::string_view data_key64);
  bool encrypted() const { return cipher_.has_value(); }

  // "Application not ready" (the agent's pty is not up yet): incoming session data is neither
  // acked nor delivered, so the peer resends it. Handshake messages are still processed.
  Actions set_application_ready(bool ready, TimePoint now);
  // Client: stop holding session data (no handshake and no output is coming).
  Actions mark_ready(TimePoint now);

  // After a reconnect: keep both sequence states and resend every unacked frame.
  Actions resume(TimePoint now);

  // A control message (flags 3, seq 0, not acked, not resent), e.g. agent_session_state or,
  // for the sandbox playing the service, channel_closed.
  std::string control_frame(std::string_view message_type, std::string payload);

  Role role() const { return role_; }
  bool ready() const { return ready_; }
  bool closed() const { return closed_; }
  bool paused() const { return paused_; }
  std::int64_t next_send_sequence() const { return next_seq_; }
  std::int64_t expected_sequence() const { return expected_; }
  std::size_t unacked() const { return unacked_count_; }
  std::size_t waiting() const { return held_.size(); }
  std::size_t buffered_out_of_order() const { return incoming_.size(); }
  Millis rtt() const { return rtt_; }
  Millis rttvar() const { return rttvar_; }
  Millis rto() const { return rto_; }

 private:
  // A message sent and not yet acknowledged. Encoded again when resent (the same bytes): the
  // frame itself goes to the writer, and a copy of it kept here cost an allocation and a copy
  // per KiB sent.
  struct Outgoing {
    ClientMessage message;
    TimePoint first_sent;
    TimePoint last_sent;
    int resends = 0;
    bool timeout_reported = false;
    bool acked = false;  // acknowledged out of order, behind one that is not yet
  };
  struct Held {
    std::uint32_t payload_type = 0;
    std::string plaintext;
  };
  enum class Outcome { ack, drop };

  std::string make_id();
  std::uint64_t created_date();
  std::string ack_frame(const ClientMessage& m);
  void send_stream(std::uint32_t payload_type, std::string payload, TimePoint now, Actions& a);
  void flush_held(TimePoint now, Actions& a);
  void handle_ack(const ClientMessage& m, TimePoint now, Actions& a);
  void handle_stream(ClientMessage m, TimePoint now, Actions& a);
  Outcome process_in_order(ClientMessage& m, bool already_acked, TimePoint now, Actions& a);
  bool decrypt_in_place(ClientMessage& m, Actions& a);
  void drain(TimePoint now, Actions& a);
  void become_ready(TimePoint now, Actions& a);
  void heard_peer(Actions& a);
  Millis timeout_of(const Outgoing& o) const;
  void finish(TimePoint now, Actions& a);
  static void event(Actions& a, EventKind kind, std::string text = {});

  Role role_;
  DataChannelOptions opt_;
  std::optional<SessionCipher> cipher_;

  std::int64_t next_seq_ = 0;
  std::int64_t expected_ = 0;
  // Sent and not yet acknowledged: sequence numbers unacked_first_ onwards, in order (acks
  // arrive for one message after another: a map cost a node's allocation and a rebalance each).
  // The front is never acknowledged; holes behind it are (acked, frame let go).
  std::deque<Outgoing> unacked_;
  std::int64_t unacked_first_ = 0;
  std::size_t unacked_count_ = 0;
  std::deque<Held> held_;
  std::map<std::int64_t, ClientMessage> incoming_;  // out of order, already decrypted and acked
  std::size_t incoming_bytes_ = 0;

  bool ready_ = false;
  bool app_ready_ = true;
  bool handshake_active_ = false;  // agent: request sent, complete not yet
  bool handshake_seen_ = false;    // client: a HandshakeRequest arrived
  bool closed_ = false;
  bool paused_ = false;
  bool backpressured_ = false;
  TimePoint handshake_started_{};
  std::string challenge_;  // agent: the plaintext challenge sent

  Millis rtt_{100};
  Millis rttvar_{0};
  Millis rto_{200};
};

}  // namespace ecsh::session
