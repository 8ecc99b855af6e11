#pragma once

// Options every TCP connection that ecsh opens carries. Nagle's algorithm is off: a session
// sends small messages back to back (a keystroke, then its acknowledgement), and with Nagle on
// the second waits for the peer's delayed ACK, 40 ms on Linux, on every keystroke. The official
// plugin (Go) and the SSM agent both set TCP_NODELAY.

#include <boost/asio/ip/tcp.hpp>

namespace ecsh {

// Best effort: a socket that refuses the option still works, only slower.
inline void set_low_latency(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

}  // namespace ecsh
