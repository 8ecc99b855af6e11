#pragma once

// The sandbox's side of the session data channel: it plays the service and the SSM agent at
// once (docs/protocol.md §10). Port sessions are handed to the port plugin (port_agent.hpp)
// after their handshake. For other sessions it runs the command in the container with a pty,
// streams the output as output_stream_data (1 KiB messages, 1 ms apart with realistic pacing),
// takes input and resizes, runs the KMS handshake when the cluster sets a key, and ends with
// channel_closed after draining. A dropped link leaves the session and its process alive until the
// client reconnects with a token from ResumeSession.

#include "sandbox/core/server.hpp"
#include "sandbox/runtime/task_runtime.hpp"
#include "sandbox/ssm/port_agent.hpp"
#include "sandbox/ssm/sessions.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace ecsh::sandbox {
namespace kms {
class KmsModule;
}
namespace logs {
class LogsModule;
}
}  // namespace ecsh::sandbox

namespace ecsh::sandbox::ssm {

class AgentGateway;  // agent_gateway.hpp

using ExecFn = std::function<Result<std::shared_ptr<runtime::ExecProcess>>(
    const SessionRecord& session, const std::vector<std::string>& argv,
    const runtime::ExecOptions& options)>;

// Faults on the data channel, set through /_sandbox/faults {"data_channel": {...}}.
struct ChannelFaults {
  int drop_link_every_frames = 0;       // abort the link after this many frames from the agent
  int max_link_drops = 0;               // stop dropping after this many
  double duplicate_rate = 0;            // resend a frame right away
  double corrupt_rate = 0;              // flip a payload byte (the digest no longer matches)
  double reorder_rate = 0;              // hold a frame back behind the next one
  int stall_ms = 0;                     // pause sending once for this long mid-session
  bool bye_after_first_output = false;  // close 1000 "Bye" once, as the service does hourly
  // A silent drop: after this many frames from the agent the link stops carrying data both ways
  // (nothing sent, nothing read, pings unanswered) without closing, as a dead NAT entry or a
  // pulled cable would leave it. The client must notice by itself and resume.
  int silent_drop_after_frames = 0;
  int max_silent_drops = 1;
  // The service's close 1000 "Bye" (its hourly forced reconnect) at random points: before each
  // frame the agent sends, the link is closed with this probability (drawn from `seed`), at most
  // `max_forced_reconnects` times. The frame is left unacked and resent after the resume.
  double force_reconnect_rate = 0;
  int max_forced_reconnects = 16;
  std::uint32_t seed = 1;
};

class DataChannelServer {
 public:
  struct Options {
    bool realistic_pacing = true;
    // Benchmarks only (--agent-io pipes): commands run with pipes (stderr merged into stdout)
    // instead of the pty ECS Exec always uses, to measure the client without the kernel's pty
    // line discipline in the way. Stdin end-of-file (^D on a pty) does not exist then.
    bool pipes = false;
    // How Port sessions reach their destination (sandbox/ssm/port_agent.hpp); null: Port
    // sessions end at once with an error.
    DialFn dial;
    // The service ends a session whose client sent nothing (no input, no keystroke, no port
    // data; acknowledgements do not count) for this long: Session Manager's idle session
    // timeout, 20 minutes unless the account's preferences say otherwise.
    std::chrono::seconds idle_timeout{20 * 60};
    // The service closes each data-channel WebSocket with close 1000 "Bye" about an hour after
    // it opened (aws/session-manager-plugin#135); the client must resume. Zero: never.
    std::chrono::milliseconds connection_max_age{0};
    // Session Manager's maximum session duration preference: the session ends this long after
    // it started, whatever it is doing. Zero: no limit (the default preference).
    std::chrono::milliseconds max_session_duration{0};
  };
  DataChannelServer(asio::any_io_executor executor, SessionRegistry& sessions, ExecFn exec,
                    const kms::KmsModule* kms, logs::LogsModule* logs, Options options);
  ~DataChannelServer();

  // The HTTP server's upgrade hook for /v1/data-channel/<sessionId>.
  void accept(TcpOrTlsStream stream, BeastRequest request);
  void set_faults(const ChannelFaults& faults);
  // Sessions to containers with a real agent: their data channels (the agent's and the
  // client's) go to the message gateway.
  void set_gateway(AgentGateway* gateway);
  // Ends a session's channel (TerminateSession): channel_closed, then close.
  void terminate(const std::string& session_id);
  // Stops every agent (sandbox shutdown).
  void shutdown();
  std::size_t active_sessions() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ecsh::sandbox::ssm
