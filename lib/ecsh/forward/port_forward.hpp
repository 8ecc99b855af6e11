#pragma once

// `ecsh forward` once a Port session is started (docs/protocol.md §9): local listeners (TCP or
// unix sockets) whose connections go through one SSM session to one destination. In smux mode
// (lib/ecsh/session/smux.hpp) every local connection is a stream and many run at once; a stream
// the agent cannot dial (Flag ConnectToPortError) closes only its own local connection. In basic
// mode one connection is served at a time, the next waits, and Flag DisconnectToPort tells the
// agent when one ends. The session transport resumes dropped links without losing a byte of any
// stream; while a connection is open, an smux NOP now and then keeps the session from the
// service's idle timeout. stop() (Ctrl-C) sends Flag TerminateSession and ends the session.

#include "ecsh/aws/client.hpp"
#include "ecsh/connect/exec_session.hpp"
#include "ecsh/forward/forward_spec.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ecsh::forward {

// A bound, listening local socket.
class Listener {
 public:
  ~Listener();
  const ListenSpec& spec() const;
  // "127.0.0.1:15432", "[::1]:8080" or the unix socket's path.
  std::string address() const;
  std::uint16_t port() const;  // 0 for a unix socket

  struct Impl;
  std::unique_ptr<Impl> impl;
};

// Binds every listener now, so that a busy port or path fails before a session starts.
Result<std::vector<std::shared_ptr<Listener>>> bind_listeners(asio::any_io_executor executor,
                                                              const std::vector<ListenSpec>& specs);

struct ForwardSettings {
  connect::ExecSettings exec;  // TLS settings; plugin_messages: print what the plugin prints
  std::string ssm_target;      // names the session's target (KMS context)
  std::string destination;     // "db.internal:5432", for messages
  std::string via;             // "task 3f2a91…/app", for messages
  // Lines for the user (stderr): a refused connection, say.
  std::function<void(const std::string& line)> say;
  // Lines announcing the listeners (stdout), once the session is ready.
  std::function<void(const std::string& line)> announce;
  // No listeners given (plugin mode): made from the handshake's Properties (localPortNumber,
  // localUnixSocket).
  std::function<Result<std::vector<std::shared_ptr<Listener>>>(const PortProperties&)>
      listeners_from_properties;
  // An smux NOP this often while a connection is open and nothing else went up (0: none).
  std::chrono::seconds keepalive{60};
  std::chrono::seconds handshake_timeout{30};
};

struct ForwardEnd {
  bool stopped = false;  // stop() was called (Ctrl-C)
  // How the session ended: channel_closed when the service closed it (the task may have
  // stopped, or its idle timeout), with its Output.
  connect::SessionEnd session;
  std::uint64_t connections = 0;
};

class PortForward {
 public:
  ~PortForward();

  static Awaitable<Result<std::shared_ptr<PortForward>>> open(
      aws::AwsClient& client, connect::SessionTarget session,
      std::vector<std::shared_ptr<Listener>> listeners, ForwardSettings settings);

  // Waits for the handshake, serves connections, and returns when the session is over.
  Awaitable<Result<ForwardEnd>> run();
  // Ends the session from this side (Flag TerminateSession, then the link is closed).
  void stop();
  PortMode mode() const;
  const std::string& session_id() const;

  // For tests and benchmarks: drop the link as if the network failed.
  void drop_link_for_testing();

  struct Impl;

 private:
  explicit PortForward(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// A Port session without a type (AWS-StartSSHSession, the SSH ProxyCommand case): `in_fd` and
// `out_fd` are the one connection, in basic mode. The end of input ends the session (Flag
// TerminateSession); so does the agent closing it (sshd hung up).
Awaitable<Result<ForwardEnd>> run_stdio_port_session(aws::AwsClient& client,
                                                     connect::SessionTarget session,
                                                     ForwardSettings settings, int in_fd,
                                                     int out_fd);

}  // namespace ecsh::forward
