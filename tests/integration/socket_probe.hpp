#pragma once

// Reads a socket option back from the client side of a connection made in this process: the
// server side knows the client's port, and the client's descriptor is found among this
// process's own (/proc/self/fd). Lets a test check what the code under test set on a socket it
// never exposes.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <thread>

namespace ecsh::test_support {

// TCP_NODELAY of this process's TCP socket bound to local port `port`; nullopt when none is.
inline std::optional<bool> tcp_nodelay_of_local_port(std::uint16_t port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  std::optional<bool> found;
  while (auto* entry = ::readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == ::dirfd(dir)) continue;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      continue;
    if (addr.ss_family != AF_INET) continue;
    if (ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port) != port) continue;
    int on = 0;
    socklen_t on_len = sizeof on;
    if (::getsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_NODELAY, &on, &on_len) != 0) continue;
    found = on != 0;
    break;
  }
  ::closedir(dir);
  return found;
}

// Accepts one connection on 127.0.0.1, waits for the client's first bytes (an HTTP request, a
// WebSocket upgrade or a TLS ClientHello: by then the client has set its socket options), reads
// the client socket's TCP_NODELAY, and hangs up. Stops by itself.
class NoDelayProbeServer {
 public:
  NoDelayProbeServer() : acceptor_(io_, {boost::asio::ip::tcp::v4(), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      accepted_ = true;
      if (ec) return;
      char byte = 0;
      socket.read_some(boost::asio::buffer(&byte, 1), ec);
      if (ec) return;
      client_nodelay_ = tcp_nodelay_of_local_port(socket.remote_endpoint(ec).port());
      socket.close(ec);
    });
  }
  ~NoDelayProbeServer() { join(); }
  std::uint16_t port() const { return port_; }
  // The client's TCP_NODELAY, once the connection has been probed; nullopt if it never came.
  std::optional<bool> client_nodelay() {
    join();
    return client_nodelay_;
  }

 private:
  void join() {
    if (!thread_.joinable()) return;
    if (!accepted_) {
      // A blocking accept() is not woken by closing the acceptor: connect once ourselves.
      boost::system::error_code ec;
      boost::asio::io_context io;
      boost::asio::ip::tcp::socket poke(io);
      poke.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    }
    thread_.join();
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> accepted_{false};
  std::optional<bool> client_nodelay_;
  std::thread thread_;
};

}  // namespace ecsh::test_support
