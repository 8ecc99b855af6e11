#pragma once

// The sandbox's Session Manager sessions: created by ECS ExecuteCommand or SSM StartSession,
// resumed with a new token, terminated. The data-channel server looks a session up by the ID
// in the stream URL and checks the token of the OpenDataChannel frame.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::sandbox::ssm {

// The version the built-in SSM agent says it is: in its session handshakes and, for managed
// instances, in DescribeInstanceInformation. Newer than every threshold the plugin tests
// (smux port forwarding, TerminateSession).
inline constexpr std::string_view kBuiltInAgentVersion = "3.3.40.0";

struct PortProperties {
  std::string port_number;        // "portNumber"
  std::string host;               // "host" (ToRemoteHost), empty: the target itself
  std::string local_port_number;  // "localPortNumber", for the client
  std::string type;               // "LocalPortForwarding", empty for AWS-StartSSHSession
};

struct SessionRecord {
  std::string session_id;
  std::string token;   // current token (ResumeSession replaces it)
  std::string target;  // "ecs:<cluster>_<taskId>_<runtimeId>" or "i-…"
  std::string owner_arn;
  std::string region;
  std::string task_id;    // the runtime's task ID (ECS targets)
  std::string container;  // container name (ECS targets)
  bool host = false;      // a managed instance's shell (target "i-…")
  std::string document;   // e.g. AWS-StartInteractiveCommand
  std::string command;    // what to run (ECS: the ExecuteCommand command)
  // Port sessions (AWS-StartPortForwardingSession[ToRemoteHost], AWS-StartSSHSession): the
  // document's properties sent in the handshake's SessionType action (docs/protocol.md §9).
  std::optional<PortProperties> port;
  // Played by a real SSM agent through the message gateway (agent_gateway.hpp), not the
  // built-in one.
  bool relayed = false;
  std::string kms_key_arn;           // the cluster's exec KMS key, empty: no encryption
  std::string log_group;             // CloudWatch log group for transcripts, empty: none
  std::string status = "Connected";  // Connected, Terminated
  std::chrono::system_clock::time_point created;
};

class SessionRegistry {
 public:
  // New session with a fresh ID and token.
  SessionRecord& create(SessionRecord record, std::string_view id_prefix);
  SessionRecord* find(const std::string& session_id);
  // A new token for a session that is not terminated.
  std::optional<std::string> resume(const std::string& session_id);
  // Marks it terminated and tells the data-channel server (which closes the channel).
  bool terminate(const std::string& session_id);
  // Called for each new session (the gateway announces it to a real agent and sets `relayed`).
  void on_create(std::function<void(SessionRecord&)> hook) { create_hook_ = std::move(hook); }
  void on_terminate(std::function<void(const std::string&)> hook) {
    terminate_hook_ = std::move(hook);
  }
  std::vector<const SessionRecord*> all() const;
  // Ends every open session to a container of a task (the task or its container stopped: the
  // agent inside is gone).
  void terminate_for_container(const std::string& task_id, const std::string& container);

 private:
  std::map<std::string, SessionRecord> sessions_;
  std::function<void(const std::string&)> terminate_hook_;
  std::function<void(SessionRecord&)> create_hook_;
};

std::string new_stream_token();

}  // namespace ecsh::sandbox::ssm
