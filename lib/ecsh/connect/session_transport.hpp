#pragma once

// One Session Manager session over its WebSocket: the OpenDataChannel frame, the data channel
// state machine (lib/ecsh/session) driven by real frames and timers, one writer at a time,
// backpressure, the KMS handshake, and reconnection through ResumeSession with both sequence
// states kept (nothing lost, nothing duplicated).

#include "ecsh/aws/websocket.hpp"
#include "ecsh/session/data_channel.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace ecsh::connect {

struct SessionTarget {
  std::string session_id;
  std::string stream_url;
  std::string token_value;  // secret: never logged
};

struct KmsDataKey {
  std::string ciphertext_blob;  // raw bytes, sent to the agent
  std::string plaintext;        // 64 bytes, kept here
};

struct TransportOptions {
  aws::WebSocketOptions websocket;
  std::string client_id;  // one per process
  // A fresh token for the same session after a dropped link (SSM/ECS ResumeSession). Null: a
  // dropped link ends the session.
  std::function<Awaitable<Result<std::string>>()> resume;
  int max_reconnects = 5;
  // A link that carries nothing for this long is dead, even if TCP says nothing (a silent drop:
  // a NAT entry gone, a cable pulled): a WebSocket ping goes out after half of it without
  // traffic, and when not even its pong comes back the link is resumed. The official plugin
  // pings every 5 minutes and never checks (aws/session-manager-plugin#47).
  std::chrono::seconds dead_link_after{8};
  // kms:GenerateDataKey for the handshake's KMSEncryption action (key ID given). Null: KMS
  // sessions fail the handshake, as a plugin without credentials would.
  std::function<Awaitable<Result<KmsDataKey>>(std::string key_id)> generate_data_key;
  session::DataChannelOptions channel;
};

// How the session ended.
struct SessionEnd {
  bool channel_closed = false;  // the service closed it (the remote side ended)
  std::string output;           // channel_closed's Output, e.g. an agent error
  int reconnects = 0;
  std::chrono::steady_clock::duration lasted{};       // since the session opened
  std::chrono::steady_clock::duration since_input{};  // since the last input was sent
};

class SessionTransport {
 public:
  ~SessionTransport();

  static Awaitable<Result<std::unique_ptr<SessionTransport>>> open(asio::any_io_executor executor,
                                                                   SessionTarget target,
                                                                   TransportOptions options);

  // Session output (payload types 1, 11, 12) in order, as it arrives.
  void on_output(std::function<void(std::string_view)> sink);
  // Printed once when a handshake completes with a customer message.
  void on_notice(std::function<void(std::string_view)> sink);
  // The agent's HandshakeRequest, seen before it is answered (a Port session's AgentVersion
  // and Properties decide how to forward).
  void on_handshake(std::function<void(const session::HandshakeRequest&)> sink);
  // Session data may flow (the handshake is complete, or the agent's first output came).
  void on_ready(std::function<void()> sink);
  // Flags from the agent (PayloadType 10), e.g. ConnectToPortError.
  void on_flag(std::function<void(std::uint32_t)> sink);

  // Sends session input; waits while the outgoing window is full.
  Awaitable<Result<void>> send(session::PayloadType type, std::string bytes);
  // Runs the session until the channel closes, close() is called, or the link cannot be
  // restored.
  Awaitable<Result<SessionEnd>> run();
  // Ends the session from this side (e.g. the user typed ~.).
  void close();

  // For tests and benchmarks: drop the link as if the network failed.
  void drop_link_for_testing();

 private:
  struct Impl;
  explicit SessionTransport(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// The OpenDataChannel text frame (docs/protocol.md §3.2).
std::string open_data_channel_json(std::string_view token, std::string_view client_id);

}  // namespace ecsh::connect
