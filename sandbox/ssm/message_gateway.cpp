#include "sandbox/ssm/message_gateway.hpp"

#include "ecsh/common/strings.hpp"

#include "ecsh/common/json_fields.hpp"
#include "ecsh/session/payloads.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace ecsh::sandbox::ssm::gateway {
namespace json = boost::json;

namespace {

constexpr std::string_view kControlPrefix = "/v1/control-channel/";
constexpr std::string_view kDataPrefix = "/v1/data-channel/";

// The parsed value must outlive the JsonFields that read it.
Result<json::value> parse_json(std::string_view text, const std::string& what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return Error::protocol(what + " is not JSON");
  return v;
}

session::ClientMessage control_message(std::string_view type, std::string payload,
                                       std::uint64_t created_date, std::string message_id) {
  session::ClientMessage m;
  m.message_type = std::string(type);
  m.created_date = created_date;
  m.sequence_number = 0;
  m.flags = 0;
  m.message_id = std::move(message_id);
  m.payload_type = 0;
  m.payload = std::move(payload);
  return m;
}

}  // namespace

std::optional<ChannelPath> parse_channel_path(std::string_view path) {
  path = path.substr(0, path.find('?'));
  ChannelPath p;
  if (path.starts_with(kControlPrefix)) {
    p.kind = ChannelKind::control;
    path.remove_prefix(kControlPrefix.size());
  } else if (path.starts_with(kDataPrefix)) {
    p.kind = ChannelKind::data;
    path.remove_prefix(kDataPrefix.size());
  } else {
    return std::nullopt;
  }
  if (path.empty() || path.find('/') != std::string_view::npos) return std::nullopt;
  p.id = std::string(path);
  return p;
}

Result<CreateChannelRequest> parse_create_channel_request(ChannelKind kind, std::string_view body) {
  const std::string what =
      kind == ChannelKind::control ? "CreateControlChannel input" : "CreateDataChannel input";
  BOOST_OUTCOME_TRY(auto v, parse_json(body, what));
  BOOST_OUTCOME_TRY(auto o, JsonFields::of(v, what));
  CreateChannelRequest r;
  BOOST_OUTCOME_TRY(r.message_schema_version, o.string("MessageSchemaVersion"));
  BOOST_OUTCOME_TRY(r.request_id, o.string("RequestId"));
  if (r.request_id.size() < 16) return Error::protocol(what + ": RequestId is too short");
  if (kind == ChannelKind::data) {
    // Present but empty from agent 3.3.0.0: DocumentInfo.ClientId is never set
    // (docs/real-agent.md §2.3), and the service accepts it.
    BOOST_OUTCOME_TRY(r.client_id, o.string("ClientId"));
  }
  return r;
}

std::string create_channel_response_xml(ChannelKind kind, std::string_view token) {
  std::string root =
      kind == ChannelKind::control ? "CreateControlChannelResponse" : "CreateDataChannelResponse";
  return "<" + root + "><MessageSchemaVersion>1.0</MessageSchemaVersion><TokenValue>" +
         str::markup_escape(token) + "</TokenValue></" + root + ">";
}

Result<OpenChannel> parse_open_channel(std::string_view text) {
  const std::string what = "the open-channel frame";
  BOOST_OUTCOME_TRY(auto v, parse_json(text, what));
  BOOST_OUTCOME_TRY(auto o, JsonFields::of(v, what));
  OpenChannel c;
  BOOST_OUTCOME_TRY(c.request_id, o.string_or("RequestId"));
  BOOST_OUTCOME_TRY(c.token, o.string_or("TokenValue"));
  BOOST_OUTCOME_TRY(c.agent_version, o.string_or("AgentVersion"));
  BOOST_OUTCOME_TRY(c.platform_type, o.string_or("PlatformType"));
  BOOST_OUTCOME_TRY(c.client_instance_id, o.string_or("ClientInstanceId"));
  BOOST_OUTCOME_TRY(c.client_id, o.string_or("ClientId"));
  BOOST_OUTCOME_TRY(c.client_version, o.string_or("ClientVersion"));
  return c;
}

std::string agent_task_payload_json(const SessionAnnouncement& s) {
  json::object properties;
  if (s.session_type == "Port") {
    properties["portNumber"] = s.port_number;
    if (!s.port_type.empty()) properties["type"] = s.port_type;
    if (!s.port_host.empty()) properties["host"] = s.port_host;
  } else {
    // The agent reads the command of its own platform; in container mode it ignores
    // runAsElevated for the user (the session runs as the agent, root) but sets HOME=/root.
    json::object linux_shell{{"commands", s.command}, {"runAsElevated", true}};
    properties["linux"] = linux_shell;
    properties["windows"] = json::object{{"commands", s.command}, {"runAsElevated", true}};
  }
  json::object inputs{{"s3BucketName", ""},
                      {"s3KeyPrefix", ""},
                      {"s3EncryptionEnabled", false},
                      {"cloudWatchLogGroupName", ""},
                      {"cloudWatchStreamingEnabled", false},
                      {"cloudWatchEncryptionEnabled", false},
                      {"kmsKeyId", s.kms_key_id},
                      {"runAsEnabled", false},
                      {"runAsDefaultUser", ""},
                      {"shellProfile", json::object{{"linux", ""}, {"windows", ""}}}};
  json::object content{
      {"schemaVersion", "1.0"},        {"description", "Session document for " + s.document_name},
      {"sessionType", s.session_type}, {"inputs", inputs},
      {"parameters", json::object()},  {"properties", properties}};
  json::object payload{{"DocumentName", s.document_name},
                       {"DocumentContent", content},
                       {"SessionId", s.session_id},
                       {"Parameters", json::object()},
                       {"RunAsUser", ""},
                       {"SessionOwner", s.session_owner}};
  return json::serialize(payload);
}

session::ClientMessage interactive_shell_message(const SessionAnnouncement& s,
                                                 std::uint64_t created_date,
                                                 std::string message_id) {
  json::object envelope{{"Content", agent_task_payload_json(s)},
                        {"TaskId", s.session_id},
                        {"Topic", "aws.ssm.startSession"},
                        {"SchemaVersion", 1}};
  return control_message("interactive_shell", json::serialize(envelope), created_date,
                         std::move(message_id));
}

session::ClientMessage control_channel_closed_message(std::string_view session_id,
                                                      std::string_view destination_id,
                                                      std::string_view created_iso8601,
                                                      std::uint64_t created_date,
                                                      std::string message_id) {
  json::object o{{"MessageType", "channel_closed"},
                 {"MessageId", message_id},
                 {"DestinationId", destination_id},
                 {"SessionId", session_id},
                 {"SchemaVersion", 1},
                 {"CreatedDate", created_iso8601}};
  return control_message("channel_closed", json::serialize(o), created_date, std::move(message_id));
}

Result<TaskComplete> parse_task_complete(const session::ClientMessage& m) {
  if (m.message_type != "agent_task_complete")
    return Error::protocol("not an agent_task_complete message: " + m.message_type);
  const std::string what = "the agent_task_complete payload";
  BOOST_OUTCOME_TRY(auto v, parse_json(m.payload, what));
  BOOST_OUTCOME_TRY(auto o, JsonFields::of(v, what));
  TaskComplete t;
  t.message_id = m.message_id;
  BOOST_OUTCOME_TRY(t.topic, o.string_or("Topic"));
  BOOST_OUTCOME_TRY(t.session_id, o.string("TaskId"));
  BOOST_OUTCOME_TRY(t.final_status, o.string_or("FinalTaskStatus"));
  BOOST_OUTCOME_TRY(t.output, o.string_or("Output"));
  return t;
}

session::ClientMessage task_acknowledge_message(const TaskComplete& t, std::uint64_t created_date,
                                                std::string message_id) {
  json::object o{{"SchemaVersion", 1},
                 {"MessageId", t.message_id},
                 {"TaskId", t.session_id},
                 {"Topic", t.topic}};
  return control_message("agent_task_acknowledge", json::serialize(o), created_date,
                         std::move(message_id));
}

// ---- SessionRelay ----

std::string SessionRelay::channel_closed_frame(const std::string& output,
                                               const Stamp& stamp) const {
  session::ChannelClosed closed;
  closed.message_id = stamp.message_id;
  closed.session_id = session_id_;
  closed.destination_id = session_id_;
  closed.output = output;
  session::ClientMessage m;
  m.message_type = "channel_closed";
  m.created_date = stamp.created_date;
  m.flags = session::kFlagSyn | session::kFlagFin;
  m.message_id = stamp.message_id;
  m.payload = session::to_json(closed, stamp.created_iso8601);
  return session::encode(m);
}

std::string SessionRelay::publication_frame(std::string_view type, const Stamp& stamp) const {
  session::ClientMessage m;
  m.message_type = std::string(type);
  m.created_date = stamp.created_date;
  m.flags = session::kFlagSyn | session::kFlagFin;
  m.message_id = stamp.message_id;
  return session::encode(m);
}

SessionRelay::Actions SessionRelay::client_connected(const Stamp& stamp) {
  Actions a;
  if (finished_) {
    a.close_client = true;
    return a;
  }
  client_ = true;
  if (agent_) a.to_agent.push_back(publication_frame("start_publication", stamp));
  return a;
}

SessionRelay::Actions SessionRelay::client_frame(std::string frame) {
  Actions a;
  if (finished_) return a;
  if (agent_) {
    a.to_agent.push_back(std::move(frame));
  } else if (held_bytes_ + frame.size() <= kMaxHeldBytes) {
    held_bytes_ += frame.size();
    held_.push_back(std::move(frame));
  }
  return a;
}

SessionRelay::Actions SessionRelay::client_disconnected(const Stamp& stamp) {
  Actions a;
  if (!client_) return a;
  client_ = false;
  if (agent_ && !finished_) a.to_agent.push_back(publication_frame("pause_publication", stamp));
  return a;
}

SessionRelay::Actions SessionRelay::agent_connected(const Stamp& stamp) {
  Actions a;
  if (finished_) {
    a.close_agent = true;
    return a;
  }
  agent_ = true;
  for (auto& f : held_) a.to_agent.push_back(std::move(f));
  held_.clear();
  held_bytes_ = 0;
  if (!client_) a.to_agent.push_back(publication_frame("pause_publication", stamp));
  return a;
}

SessionRelay::Actions SessionRelay::agent_frame(std::string frame) {
  Actions a;
  if (finished_) return a;
  auto m = session::try_decode(frame);
  // What the service cannot read is still the client's business (it checks the digest itself).
  if (m && m.value().message_type == session::message_type::agent_session_state) {
    auto state = session::parse_session_state(m.value().payload);
    if (state && state.value() == "Terminating") terminating_ = true;
    return a;  // for the service only
  }
  if (client_) a.to_client.push_back(std::move(frame));
  // Without a client the frame is lost; the agent resends what is not acknowledged.
  return a;
}

SessionRelay::Actions SessionRelay::agent_disconnected() {
  agent_ = false;
  return {};
}

SessionRelay::Actions SessionRelay::finish(const std::string& output, const Stamp& stamp) {
  Actions a;
  if (finished_) return a;
  finished_ = true;
  if (client_) a.to_client.push_back(channel_closed_frame(output, stamp));
  a.close_client = true;
  a.close_agent = true;
  a.finished = true;
  held_.clear();
  held_bytes_ = 0;
  return a;
}

SessionRelay::Actions SessionRelay::task_completed(const std::string& output, const Stamp& stamp) {
  return finish(output, stamp);
}

SessionRelay::Actions SessionRelay::terminate(const std::string& output, const Stamp& stamp) {
  Actions a;
  if (finished_) return a;
  // The agent is told on its data channel too: channel_closed cancels its session.
  std::vector<std::string> to_agent;
  if (agent_) to_agent.push_back(channel_closed_frame(output, stamp));
  a = finish(output, stamp);
  a.to_agent = std::move(to_agent);
  return a;
}

}  // namespace ecsh::sandbox::ssm::gateway
