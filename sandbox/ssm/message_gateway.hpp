#pragma once

// The agent-facing side of ssmmessages (Session Manager's message gateway), as the real
// amazon-ssm-agent sees it (docs/real-agent.md): the CreateControlChannel / CreateDataChannel
// calls and their 201 XML answers, the OpenControlChannel / OpenDataChannel text frames, the
// control channel's AgentMessages (interactive_shell to announce a session, channel_closed to end
// one, agent_task_complete from the agent and the acknowledgement it waits for), and the relay
// between a client's data channel and the agent's. Pure: no I/O; agent_gateway.hpp is the shell.

#include "ecsh/common/error.hpp"
#include "ecsh/session/message.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::sandbox::ssm::gateway {

// ---- HTTP: POST /v1/control-channel/<instanceId>, POST /v1/data-channel/<sessionId> ----

enum class ChannelKind { control, data };

struct ChannelPath {
  ChannelKind kind = ChannelKind::control;
  std::string id;  // the agent's instance ID ("ecs:<cluster>_<task>_<runtimeId>") or session ID
};
// The channel a path names (the query, if any, is ignored); nullopt for any other path.
std::optional<ChannelPath> parse_channel_path(std::string_view path);

// The JSON body of CreateControlChannel ({MessageSchemaVersion, RequestId}) and
// CreateDataChannel (the same and ClientId). RequestId must be at least 16 characters.
struct CreateChannelRequest {
  std::string message_schema_version;
  std::string request_id;
  std::string client_id;  // data channels only; the agent sends ""
};
Result<CreateChannelRequest> parse_create_channel_request(ChannelKind kind, std::string_view body);

// The 201 answer's XML body: the agent reads MessageSchemaVersion and TokenValue.
std::string create_channel_response_xml(ChannelKind kind, std::string_view token);

// ---- The first (text) frame on a channel's WebSocket ----

// OpenControlChannel {MessageSchemaVersion, RequestId, TokenValue, AgentVersion, PlatformType,
// Cookie?}, an agent's OpenDataChannel {…, TokenValue, ClientInstanceId, ClientId} and a
// client's OpenDataChannel {…, TokenValue, ClientId, ClientVersion}.
struct OpenChannel {
  std::string request_id;
  std::string token;
  std::string agent_version;       // control channel
  std::string platform_type;       // control channel
  std::string client_instance_id;  // an agent's data channel
  std::string client_id;
  std::string client_version;  // a client's data channel
  bool from_agent() const { return !client_instance_id.empty() || !agent_version.empty(); }
};
Result<OpenChannel> parse_open_channel(std::string_view text);

// ---- Control channel messages (binary ClientMessages, sequence 0) ----

// What the service tells the agent about a new session (an interactive_shell AgentMessage whose
// payload is {"Content": <AgentTaskPayload as a JSON string>, "TaskId", "Topic",
// "SchemaVersion"}).
struct SessionAnnouncement {
  std::string session_id;
  std::string document_name;  // e.g. AmazonECS-ExecuteInteractiveCommand
  std::string session_type;   // InteractiveCommands, Standard_Stream, Port
  std::string command;        // properties.linux.commands (empty: a shell)
  // Port sessions: properties portNumber, type ("LocalPortForwarding" or empty), host.
  std::string port_number;
  std::string port_type;
  std::string port_host;
  std::string kms_key_id;  // inputs.kmsKeyId, empty: no encryption
  std::string session_owner;
};
// The AgentTaskPayload JSON (the Content string), exposed for tests.
std::string agent_task_payload_json(const SessionAnnouncement& s);
session::ClientMessage interactive_shell_message(const SessionAnnouncement& s,
                                                 std::uint64_t created_date,
                                                 std::string message_id);

// channel_closed on the control channel: the agent ends (cancels) that session.
session::ClientMessage control_channel_closed_message(std::string_view session_id,
                                                      std::string_view destination_id,
                                                      std::string_view created_iso8601,
                                                      std::uint64_t created_date,
                                                      std::string message_id);

// agent_task_complete from the agent when a session ends: its message ID (to acknowledge), the
// session (TaskId), FinalTaskStatus and Output (a failure's reason).
struct TaskComplete {
  std::string message_id;
  std::string topic;
  std::string session_id;
  std::string final_status;
  std::string output;
};
Result<TaskComplete> parse_task_complete(const session::ClientMessage& m);
// The acknowledgement the agent waits for (agent_task_acknowledge {SchemaVersion, MessageId,
// TaskId, Topic}); without it the agent resends the reply with a growing back-off.
session::ClientMessage task_acknowledge_message(const TaskComplete& t, std::uint64_t created_date,
                                                std::string message_id);

// ---- The relay between a client's data channel and the agent's ----

// The service passes data-channel frames through unchanged: sequence numbers, acknowledgements,
// handshakes and KMS encryption are end to end. It keeps agent_session_state for itself, pauses
// the agent while no client is connected (pause_publication / start_publication) and ends the
// client's channel with channel_closed once the agent is done.
class SessionRelay {
 public:
  struct Actions {
    std::vector<std::string> to_client;  // binary frames
    std::vector<std::string> to_agent;
    bool close_client = false;
    bool close_agent = false;
    bool finished = false;  // the session is over for the service
  };
  // created_date and message IDs of the frames the relay itself writes.
  struct Stamp {
    std::uint64_t created_date = 0;
    std::string message_id;
    std::string created_iso8601;
  };

  explicit SessionRelay(std::string session_id) : session_id_(std::move(session_id)) {}

  Actions client_connected(const Stamp& stamp);
  Actions client_frame(std::string frame);
  Actions client_disconnected(const Stamp& stamp);
  Actions agent_connected(const Stamp& stamp);
  Actions agent_frame(std::string frame);
  Actions agent_disconnected();
  // The agent reported the session's end on its control channel (Output: empty or the reason).
  Actions task_completed(const std::string& output, const Stamp& stamp);
  // TerminateSession, the idle timeout, or the container gone: channel_closed to the client.
  Actions terminate(const std::string& output, const Stamp& stamp);

  bool client_connected() const { return client_; }
  bool agent_connected() const { return agent_; }
  bool agent_terminating() const { return terminating_; }
  bool finished() const { return finished_; }
  // Bytes of client frames held until the agent's data channel opens.
  std::size_t held_bytes() const { return held_bytes_; }

  // Frames held for an agent that is not connected yet, at most this many bytes (then dropped:
  // the client retransmits).
  static constexpr std::size_t kMaxHeldBytes = 1 << 20;

 private:
  std::string channel_closed_frame(const std::string& output, const Stamp& stamp) const;
  std::string publication_frame(std::string_view type, const Stamp& stamp) const;
  Actions finish(const std::string& output, const Stamp& stamp);

  std::string session_id_;
  bool client_ = false;
  bool agent_ = false;
  bool terminating_ = false;  // agent_session_state Terminating seen
  bool finished_ = false;
  std::deque<std::string> held_;
  std::size_t held_bytes_ = 0;
};

}  // namespace ecsh::sandbox::ssm::gateway
