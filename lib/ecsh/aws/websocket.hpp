#pragma once

// The WebSocket client behind the Session Manager data channel. Beast stays in websocket.cpp.
// The URL is used exactly as given (the stream URL's query carries an opaque cell-number with
// '+', '/' and '='; re-encoding it breaks the session).

#include "ecsh/aws/http_client.hpp"
#include "ecsh/aws/http_types.hpp"
#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace ecsh::aws {

struct WebSocketOptions {
  HttpOptions http;                   // TLS verification and CA bundle, timeouts
  std::vector<Header> extra_headers;  // e.g. a SigV4 signature of the upgrade request
  // A dead link is noticed when nothing arrives for this long; a ping goes out after half of it
  // without traffic (Beast's keep-alive pings).
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds handshake_timeout{30};
};

struct WebSocketMessage {
  bool text = false;
  std::string data;
};

class WebSocketClient {
 public:
  virtual ~WebSocketClient() = default;
  // One write at a time: callers serialise their writes.
  virtual Awaitable<Result<void>> write(bool text, std::string data) = 0;
  // A close frame from the peer is an Error{connection} whose message says "closed: <code>
  // <reason>".
  virtual Awaitable<Result<WebSocketMessage>> read() = 0;
  // Sends a close frame (best effort) and shuts the socket down.
  virtual Awaitable<void> close() = 0;
  // Closes the socket at once, making pending reads and writes fail (no close frame).
  virtual void abort() = 0;
};

// ws:// or wss:// URL.
Awaitable<Result<std::unique_ptr<WebSocketClient>>> connect_websocket(
    asio::any_io_executor executor, std::string url, WebSocketOptions options);

// Host header value and request target (path?query, raw) of a ws/wss URL, as the upgrade request
// carries them: what a SigV4 signature of the upgrade must cover.
struct WebSocketTarget {
  bool tls = false;
  std::string host;  // without port
  std::uint16_t port = 0;
  std::string authority;  // Host header: host, or host:port when not the default
  std::string path;       // raw
  std::string query;      // raw, without '?'
};
Result<WebSocketTarget> parse_websocket_url(std::string_view url);

}  // namespace ecsh::aws
