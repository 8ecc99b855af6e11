#include "ecsh/session/data_channel.hpp"

#include "ecsh/common/crypto.hpp"

#include <algorithm>
#include <cmath>

namespace ecsh::session {
namespace {

std::uint64_t system_epoch_ms() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

bool is_stream_type(std::string_view t) {
  return t == message_type::input_stream_data || t == message_type::output_stream_data;
}

constexpr Millis kMinRtoMargin{10};
constexpr Millis kMaxRto{1000};

}  // namespace

DataChannel::DataChannel(Role role, DataChannelOptions options)
    : role_(role), opt_(std::move(options)) {
  if (!opt_.new_message_id) opt_.new_message_id = [] { return crypto::uuid4(); };
  if (!opt_.created_date) opt_.created_date = system_epoch_ms;
  if (opt_.max_chunk == 0) opt_.max_chunk = 1024;
  if (opt_.max_unacked == 0) opt_.max_unacked = 1;
  ready_ = role_ == Role::agent || !opt_.client_waits_for_agent;
}

void DataChannel::event(Actions& a, EventKind kind, std::string text) {
  Event e;
  e.kind = kind;
  e.text = std::move(text);
  a.events.push_back(std::move(e));
}

std::string DataChannel::make_id() { return opt_.new_message_id(); }

std::uint64_t DataChannel::created_date() {
  auto ms = opt_.created_date();
  return ms > 0 ? ms : 1;  // CreatedDate 0 is invalid on the wire
}

std::string DataChannel::ack_frame(const ClientMessage& m) {
  return encode(make_acknowledgement(m, make_id(), created_date()));
}

std::string DataChannel::control_frame(std::string_view type, std::string payload) {
  ClientMessage m;
  m.message_type = std::string(type);
  m.created_date = created_date();
  m.sequence_number = 0;
  m.flags = kFlagSyn | kFlagFin;
  m.message_id = make_id();
  m.payload_type = static_cast<std::uint32_t>(PayloadType::none);
  m.payload = std::move(payload);
  return encode(m);
}

// ---- sending ----

void DataChannel::send_stream(std::uint32_t payload_type, std::string payload, TimePoint now,
                              Actions& a) {
  if (cipher_ && is_encrypted_payload(cipher_->outgoing(), payload_type)) {
    auto sealed = cipher_->seal(payload);
    if (!sealed) {
      event(a, EventKind::rejected, sealed.error().message);
      return;
    }
    payload = std::move(sealed.value());
  }
  ClientMessage m;
  m.message_type = std::string(role_ == Role::client ? message_type::input_stream_data
                                                     : message_type::output_stream_data);
  m.created_date = created_date();
  m.sequence_number = next_seq_++;
  m.flags = role_ == Role::agent && m.sequence_number == 0 ? kFlagSyn : 0;
  m.message_id = make_id();
  m.payload_type = payload_type;
  m.payload = std::move(payload);
  if (unacked_.empty()) unacked_first_ = m.sequence_number;
  a.send.push_back(encode(m));
  Outgoing o;
  o.message = std::move(m);
  o.first_sent = now;
  o.last_sent = now;
  unacked_.push_back(std::move(o));
  ++unacked_count_;
}

void DataChannel::flush_held(TimePoint now, Actions& a) {
  while (!held_.empty() && ready_ && !paused_ && !closed_ && unacked_count_ < opt_.max_unacked) {
    Held h = std::move(held_.front());
    held_.pop_front();
    send_stream(h.payload_type, std::move(h.plaintext), now, a);
  }
}

Result<Actions> DataChannel::send_data(PayloadType type, std::string_view bytes, TimePoint now) {
  if (closed_) {
    return Error::connection("the session's data channel is closed", "start a new session", false);
  }
  if (held_.size() >= 2 * opt_.max_unacked) {
    return Error::internal("data channel send queue overflow: the caller ignored backpressure");
  }
  Actions a;
  for (std::size_t at = 0; at < bytes.size(); at += opt_.max_chunk) {
    Held h;
    h.payload_type = static_cast<std::uint32_t>(type);
    h.plaintext = std::string(bytes.substr(at, opt_.max_chunk));
    held_.push_back(std::move(h));
  }
  flush_held(now, a);
  finish(now, a);
  return a;
}

// ---- receiving ----

Actions DataChannel::on_frame(std::string_view frame, TimePoint now) {
  Actions a;
  if (closed_) return a;
  if (frame.size() > opt_.max_frame) {
    event(a, EventKind::rejected,
          "data-channel frame of " + std::to_string(frame.size()) + " bytes is too large");
    finish(now, a);
    return a;
  }
  auto decoded = try_decode(frame, opt_.check_digest);
  if (!decoded) {
    event(a, EventKind::rejected, decoded.error().message);
    finish(now, a);
    return a;
  }
  ClientMessage m = std::move(decoded.value());
  const auto& type = m.message_type;
  if (type == message_type::acknowledge) {
    handle_ack(m, now, a);
  } else if (is_stream_type(type)) {
    handle_stream(std::move(m), now, a);
  } else if (type == message_type::channel_closed) {
    auto closed = parse_channel_closed(m.payload);
    closed_ = true;
    held_.clear();
    event(a, EventKind::channel_closed, closed ? closed.value().output : std::string());
  } else if (type == message_type::pause_publication) {
    if (!paused_) {
      paused_ = true;
      event(a, EventKind::paused);
    }
  } else if (type == message_type::start_publication) {
    heard_peer(a);
    flush_held(now, a);
  } else if (type == message_type::agent_session_state) {
    auto state = parse_session_state(m.payload);
    if (state) {
      event(a, EventKind::session_state, state.value());
    } else {
      event(a, EventKind::rejected, state.error().message);
    }
  }
  // Other message types (control-channel ones) are not for a data channel: ignored.
  finish(now, a);
  return a;
}

void DataChannel::heard_peer(Actions& a) {
  if (paused_) {
    paused_ = false;
    event(a, EventKind::resumed);
  }
}

void DataChannel::handle_ack(const ClientMessage& m, TimePoint now, Actions& a) {
  auto ack = try_parse_acknowledgement(m.payload);
  if (!ack) {
    event(a, EventKind::rejected, ack.error().message);
    return;
  }
  heard_peer(a);
  const std::int64_t index = ack.value().sequence_number - unacked_first_;
  if (index >= 0 && index < static_cast<std::int64_t>(unacked_.size()) &&
      !unacked_[static_cast<std::size_t>(index)].acked) {
    auto& o = unacked_[static_cast<std::size_t>(index)];
    Millis sample = now - o.first_sent;
    if (sample < Millis(0)) sample = Millis(0);
    rttvar_ = 0.75 * rttvar_ + 0.25 * Millis(std::abs((rtt_ - sample).count()));
    rtt_ = 0.875 * rtt_ + 0.125 * sample;
    rto_ = std::min(rtt_ + std::max(kMinRtoMargin, 4.0 * rttvar_), kMaxRto);
    o.acked = true;
    o.message = ClientMessage{};  // its payload is let go
    --unacked_count_;
    while (!unacked_.empty() && unacked_.front().acked) {
      unacked_.pop_front();
      ++unacked_first_;
    }
  }
  flush_held(now, a);
}

bool DataChannel::decrypt_in_place(ClientMessage& m, Actions& a) {
  if (!cipher_ || !is_encrypted_payload(cipher_->incoming(), m.payload_type)) return true;
  auto plain = cipher_->open(m.payload);
  if (!plain) {
    event(a, EventKind::rejected,
          "message #" + std::to_string(m.sequence_number) + ": " + plain.error().message);
    return false;
  }
  m.payload = std::move(plain.value());
  return true;
}

void DataChannel::handle_stream(ClientMessage m, TimePoint now, Actions& a) {
  heard_peer(a);
  const auto seq = m.sequence_number;
  if (seq < expected_ || incoming_.count(seq) != 0) {
    a.send.push_back(ack_frame(m));  // a duplicate: our ack was lost, ack again
    flush_held(now, a);
    return;
  }
  if (seq > expected_) {
    // Store ahead of time when there is room; otherwise drop without an ack so it comes again.
    if (incoming_.size() >= opt_.max_out_of_order ||
        incoming_bytes_ + m.payload.size() > opt_.max_out_of_order_bytes ||
        static_cast<std::uint64_t>(seq - expected_) > opt_.max_out_of_order) {
      return;
    }
    if (!decrypt_in_place(m, a)) return;
    a.send.push_back(ack_frame(m));
    incoming_bytes_ += m.payload.size();
    incoming_.emplace(seq, std::move(m));
    flush_held(now, a);
    return;
  }
  if (!decrypt_in_place(m, a)) return;
  if (process_in_order(m, false, now, a) == Outcome::drop) return;
  ++expected_;
  drain(now, a);
  flush_held(now, a);
}

void DataChannel::drain(TimePoint now, Actions& a) {
  while (!incoming_.empty() && incoming_.begin()->first == expected_) {
    const std::size_t bytes = incoming_.begin()->second.payload.size();
    if (process_in_order(incoming_.begin()->second, true, now, a) == Outcome::drop) return;
    incoming_bytes_ -= bytes;
    incoming_.erase(incoming_.begin());
    ++expected_;
  }
}

// Takes the payload out of `m` when it is delivered (the message is done with once in order).
DataChannel::Outcome DataChannel::process_in_order(ClientMessage& m, bool already_acked,
                                                   TimePoint now, Actions& a) {
  auto ack = [&] {
    if (!already_acked) a.send.push_back(ack_frame(m));
  };
  const auto pt = static_cast<PayloadType>(m.payload_type);
  bool first_output = false;
  if (role_ == Role::client) {
    if (pt == PayloadType::handshake_request) {
      ack();  // acked before it is handled, like the plugin
      handshake_seen_ = true;
      ready_ = false;  // no session data until HandshakeComplete
      auto req = parse_handshake_request(m.payload);
      if (!req) {
        event(a, EventKind::rejected, req.error().message);
      } else {
        Event e;
        e.kind = EventKind::handshake_request;
        e.handshake_request = std::move(req.value());
        a.events.push_back(std::move(e));
      }
      return Outcome::ack;
    }
    if (pt == PayloadType::enc_challenge_request) {
      ack();
      auto challenge = parse_challenge(m.payload);
      if (!challenge) {
        event(a, EventKind::rejected, challenge.error().message);
      } else if (!cipher_) {
        event(a, EventKind::rejected, "encryption challenge arrived before encryption was enabled");
      } else {
        auto plain = cipher_->open(challenge.value());
        if (!plain) {
          event(a, EventKind::rejected, "encryption challenge: " + plain.error().message);
        } else {
          auto resealed = cipher_->seal(plain.value());
          if (resealed) {
            send_stream(static_cast<std::uint32_t>(PayloadType::enc_challenge_response),
                        challenge_json(resealed.value()), now, a);
          }
        }
      }
      return Outcome::ack;
    }
    if (pt == PayloadType::handshake_complete) {
      ack();
      auto done = parse_handshake_complete(m.payload);
      event(a, EventKind::handshake_complete, done ? done.value().customer_message : std::string());
      become_ready(now, a);
      return Outcome::ack;
    }
    if (!app_ready_) return Outcome::drop;
    // No handshake: the agent's first Output starts the session (the plugin's first-message
    // rule). Become ready after this message is delivered and acked.
    first_output = !ready_ && !handshake_seen_ && pt == PayloadType::output;
  } else {
    if (pt == PayloadType::handshake_response) {
      ack();
      auto resp = parse_handshake_response(m.payload);
      if (!resp) {
        event(a, EventKind::rejected, resp.error().message);
      } else {
        Event e;
        e.kind = EventKind::handshake_response;
        e.handshake_response = std::move(resp.value());
        a.events.push_back(std::move(e));
      }
      return Outcome::ack;
    }
    if (pt == PayloadType::enc_challenge_response) {
      ack();
      auto challenge = parse_challenge(m.payload);
      if (!challenge) {
        event(a, EventKind::rejected, challenge.error().message);
      } else if (!cipher_ || challenge_.empty()) {
        event(a, EventKind::rejected, "encryption challenge response without a challenge");
      } else {
        auto plain = cipher_->open(challenge.value());
        if (plain && crypto::equal_constant_time(plain.value(), challenge_)) {
          event(a, EventKind::challenge_verified);
        } else {
          event(a, EventKind::rejected, "encryption challenge response does not match");
        }
      }
      return Outcome::ack;
    }
    if (handshake_active_) {
      ack();  // the agent acks and discards session data that comes before the handshake ends
      return Outcome::ack;
    }
    if (!app_ready_) return Outcome::drop;
  }
  if (!m.payload.empty()) {
    if (!a.deliver.empty() && a.deliver.back().payload_type == m.payload_type) {
      a.deliver.back().data += m.payload;
    } else {
      Delivery d;
      d.payload_type = m.payload_type;
      d.data = std::move(m.payload);
      a.deliver.push_back(std::move(d));
    }
  }
  ack();
  if (first_output) become_ready(now, a);
  return Outcome::ack;
}

void DataChannel::become_ready(TimePoint now, Actions& a) {
  if (ready_) return;
  ready_ = true;
  event(a, EventKind::ready);
  flush_held(now, a);
}

// ---- timer and bookkeeping ----

Millis DataChannel::timeout_of(const Outgoing& o) const {
  Millis t = rto_ * std::pow(2.0, std::min(o.resends, 20));
  return std::min(t, std::max(opt_.max_backoff, rto_));
}

Actions DataChannel::on_timer(TimePoint now) {
  Actions a;
  if (!closed_ && !paused_ && !unacked_.empty()) {
    auto& o = unacked_.front();
    if (opt_.give_up_after > Millis(0) && !o.timeout_reported &&
        Millis(now - o.first_sent) >= opt_.give_up_after) {
      o.timeout_reported = true;
      event(a, EventKind::resend_timeout,
            "message #" + std::to_string(unacked_first_) + " was never acknowledged");
    }
    if (Millis(now - o.last_sent) >= timeout_of(o)) {
      a.send.push_back(encode(o.message));
      o.last_sent = now;  // the plugin loses this update and then resends every 100 ms
      ++o.resends;
    }
  }
  finish(now, a);
  return a;
}

void DataChannel::finish(TimePoint, Actions& a) {
  bool full = held_.size() + unacked_count_ >= opt_.max_unacked;
  if (closed_) full = false;
  if (backpressured_ && !full) event(a, EventKind::writable);
  backpressured_ = full;
  a.backpressure = full;
  a.wake_at.reset();
  if (closed_ || paused_ || unacked_.empty()) return;
  const auto& o = unacked_.front();
  auto resend_at = o.last_sent + std::chrono::duration_cast<TimePoint::duration>(timeout_of(o));
  if (opt_.give_up_after > Millis(0) && !o.timeout_reported) {
    auto give_up_at =
        o.first_sent + std::chrono::duration_cast<TimePoint::duration>(opt_.give_up_after);
    resend_at = std::min(resend_at, give_up_at);
  }
  a.wake_at = resend_at;
}

// ---- handshake, encryption, readiness, resume ----

Result<Actions> DataChannel::respond_handshake(const HandshakeResponse& response, TimePoint now) {
  if (role_ != Role::client) return Error::internal("only the client answers a handshake");
  if (closed_) {
    return Error::connection("the session's data channel is closed", "start a new session", false);
  }
  Actions a;
  send_stream(static_cast<std::uint32_t>(PayloadType::handshake_response), to_json(response), now,
              a);
  finish(now, a);
  return a;
}

Actions DataChannel::start_handshake(const HandshakeRequest& request, TimePoint now) {
  Actions a;
  handshake_active_ = true;
  ready_ = false;
  handshake_started_ = now;
  send_stream(static_cast<std::uint32_t>(PayloadType::handshake_request), to_json(request), now, a);
  finish(now, a);
  return a;
}

Result<Actions> DataChannel::send_challenge(TimePoint now) {
  if (!cipher_) return Error::internal("send_challenge needs enable_encryption first");
  challenge_ = crypto::random_bytes(64);
  ECSH_TRY(auto sealed, cipher_->seal(challenge_));
  Actions a;
  send_stream(static_cast<std::uint32_t>(PayloadType::enc_challenge_request),
              challenge_json(sealed), now, a);
  finish(now, a);
  return a;
}

Actions DataChannel::complete_handshake(std::string_view customer_message, TimePoint now) {
  Actions a;
  HandshakeComplete c;
  c.time_to_complete_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - handshake_started_).count();
  c.customer_message = std::string(customer_message);
  send_stream(static_cast<std::uint32_t>(PayloadType::handshake_complete), to_json(c), now, a);
  handshake_active_ = false;
  become_ready(now, a);
  finish(now, a);
  return a;
}

Result<void> DataChannel::enable_encryption(std::string_view data_key64) {
  ECSH_TRY(auto c,
           SessionCipher::create(data_key64, role_ == Role::client ? Direction::client_to_agent
                                                                   : Direction::agent_to_client));
  cipher_ = std::move(c);
  return ok();
}

Actions DataChannel::set_application_ready(bool ready, TimePoint now) {
  Actions a;
  app_ready_ = ready;
  if (ready && !closed_) drain(now, a);
  finish(now, a);
  return a;
}

Actions DataChannel::mark_ready(TimePoint now) {
  Actions a;
  if (!closed_) become_ready(now, a);
  finish(now, a);
  return a;
}

Actions DataChannel::resume(TimePoint now) {
  Actions a;
  if (closed_) return a;
  paused_ = false;
  for (auto& o : unacked_) {
    if (o.acked) continue;
    a.send.push_back(encode(o.message));
    o.last_sent = now;
    o.resends = 0;
  }
  flush_held(now, a);
  finish(now, a);
  return a;
}

}  // namespace ecsh::session
