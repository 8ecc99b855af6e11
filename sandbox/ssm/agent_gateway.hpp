#pragma once

// The sandbox as the message gateway for the real amazon-ssm-agent (docs/real-agent.md): with
// `--agent-binaries DIR`, each exec-enabled container gets the agent laid out as ECS lays it
// out, started inside the container, with the task's metadata and credentials endpoints and
// ssmmessages (TLS) served inside the task's network namespace. Sessions to such a container
// are announced on the agent's control channel and relayed, frame for frame, between the
// client's data channel and the agent's (message_gateway.hpp holds the rules, pure).

#include "ecsh/aws/http_types.hpp"
#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"
#include "sandbox/core/server.hpp"
#include "sandbox/runtime/task_runtime.hpp"
#include "sandbox/ssm/sessions.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace ecsh::sandbox::ssm {

// A container whose ExecuteCommandAgent is a real agent.
struct ExternalAgentTarget {
  std::string target;  // ecs:<cluster>_<taskId>_<runtimeId>
  std::string task_id, container, runtime_id;
  std::string cluster_arn, task_arn, region, family, revision, availability_zone;
  std::string image;
  std::string role_arn;  // the credentials endpoint's role (the task role); empty: none
};

struct AgentCredentials {
  std::string access_key_id, secret_access_key, session_token;
  std::chrono::system_clock::time_point expiration;
};

class AgentGateway {
 public:
  struct Options {
    std::string binaries_dir;  // amazon-ssm-agent, ssm-agent-worker, ssm-session-worker
    std::string work_dir;      // per-container layouts, data, logs
    std::string ca_pem;        // the CA the agent must trust (the sandbox's)
    std::shared_ptr<boost::asio::ssl::context> tls;
    // The sandbox's API (SigV4, IAM, KMS), which also answers ssmmessages' channel calls.
    HttpHandler api;
    // Temporary credentials for a role (the IAM module's issue_role_session).
    std::function<Result<AgentCredentials>(const std::string& role_arn,
                                           const std::string& session_name)>
        credentials;
  };
  AgentGateway(asio::any_io_executor executor, SessionRegistry& sessions,
               runtime::TaskRuntime& runtime, Options options);
  ~AgentGateway();

  // Whether DIR holds the three binaries (a message for --agent-binaries otherwise).
  static Result<void> check_binaries(const std::string& dir);

  // ECS: a container's agent starts (its task runs), its task stops.
  void start_agent(const ExternalAgentTarget& target);
  void stop_task(const std::string& task_id);
  // A real agent runs for this target (whether or not it is connected yet).
  bool hosts(const std::string& target) const;
  // Its control channel is open.
  bool connected(const std::string& target) const;

  // SessionRegistry::on_create: announces sessions to a hosted target and marks them relayed.
  void on_session_created(SessionRecord& record);
  // TerminateSession and the like.
  void terminate(const std::string& session_id);

  // ssmmessages' POST /v1/control-channel/<id> and /v1/data-channel/<id>, after SigV4 (the
  // dispatcher), as the service answers the agent: 201 and XML.
  aws::HttpResponse create_channel(const aws::HttpRequest& request);
  // Where upgrades on the per-task ssmmessages listeners go (control and data channels alike).
  void set_websocket_handler(WebSocketUpgradeHandler handler);
  // A WebSocket upgrade on /v1/control-channel/<id>.
  void accept_control_channel(TcpOrTlsStream stream, BeastRequest request);

  // /_sandbox/faults for relayed sessions: the client's link is dropped after every N frames
  // sent to it, at most `max_drops` times (0: off). The client resumes as from any drop.
  void set_link_drops(int every_frames, int max_drops);

  void shutdown();

  struct Impl;
  std::shared_ptr<Impl> impl() const { return impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ecsh::sandbox::ssm
