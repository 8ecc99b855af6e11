#pragma once

// The sandbox's SSM agent for Port sessions (AWS-StartPortForwardingSession[ToRemoteHost],
// AWS-StartSSHSession), as the agent's port plugin behaves (docs/protocol.md §9; agent
// `agent/session/plugins/port/port.go`, `port_mux.go`, `port_basic.go`):
//
//   - mux when the properties' type is LocalPortForwarding and the client's version is at least
//     1.1.70, otherwise basic (choose_port_mode);
//   - mux: the client's Output payloads are a raw smux v1 byte stream (lib/ecsh/session/smux.hpp).
//     Every stream the client opens is dialed to the destination; a failed dial sends Flag 3
//     (ConnectToPortError) and closes the stream. Either side's end closes both, as the agent's
//     two io.Copy loops do. The mux output goes out in 1 KiB messages 1 ms apart with realistic
//     pacing (up to 64 KiB, no sleep, without);
//   - basic: one connection to the destination, dialed at the start (a failure ends the
//     session); Flag 1 (DisconnectToPort) or the destination closing drops it, and the next
//     Output dials again. Without a type (SSH) the destination closing ends the session;
//   - Flag 2 (TerminateSession) ends the session.
//
// The agent runs in the task: the destination is dialed from the task's network namespace
// (TaskRuntime::open_task_socket), a remote host from the VPC, which is the sandbox host's
// network (and the --vpc-host names). IMDS is refused as the agent refuses it.

#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"
#include "ecsh/session/message.hpp"
#include "sandbox/ssm/sessions.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace ecsh::sandbox::runtime {
class TaskRuntime;
}

namespace ecsh::sandbox::ssm {

enum class PortMode { basic, mux };

// The agent's rule (agent `port.go` GetSession): mux iff type is LocalPortForwarding and the
// client's version is >= 1.1.70 (numeric, component by component).
PortMode choose_port_mode(const PortProperties& properties, std::string_view client_version);

// A connected TCP socket to HOST:PORT as seen from the session's target, or the reason it could
// not be reached ("connection refused", "Forwarding to IP address … is forbidden.").
using DialFn = std::function<Awaitable<Result<asio::ip::tcp::socket>>(
    const SessionRecord& session, std::string host, std::string port)>;

// Dials as the agent inside the task would: loopback names in the task's network namespace,
// names of `vpc_hosts` (NAME → address) and anything else from the host's network.
DialFn make_task_dialer(asio::any_io_executor executor, runtime::TaskRuntime& runtime,
                        std::map<std::string, std::string> vpc_hosts);

struct PortAgentIo {
  // Sends session output (PayloadType output or flag) through the data channel, waiting while
  // its window is full; false once the session is over.
  std::function<Awaitable<bool>(session::PayloadType type, std::string bytes)> send;
  // "Application not ready": incoming data is neither acked nor delivered (the client resends).
  std::function<void(bool ready)> set_input_ready;
  // Ends the session: channel_closed with this Output (empty: a normal end).
  std::function<void(std::string output)> end;
  DialFn dial;
};

class PortAgent {
 public:
  PortAgent(asio::any_io_executor executor, SessionRecord session, PortMode mode, PortAgentIo io,
            bool realistic_pacing);
  ~PortAgent();
  PortAgent(const PortAgent&) = delete;
  PortAgent& operator=(const PortAgent&) = delete;

  void start();
  // An Output payload from the client.
  void on_input(std::string_view bytes);
  void on_flag(std::uint32_t flag);
  // Closes every connection; nothing is sent any more.
  void stop();
  PortMode mode() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ecsh::sandbox::ssm
