#include "ecsh/session/payloads.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/json_fields.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace ecsh::session {
namespace json = boost::json;
namespace {

std::string string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().get_string());
}

const json::value* field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

json::value raw_or_null(std::string_view raw) {
  if (raw.empty()) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(raw, ec);
  if (ec) return nullptr;
  return v;
}

}  // namespace

// ---- HandshakeRequest ----

std::string to_json(const HandshakeRequest& r) {
  json::array actions;
  if (r.session_type) {
    json::object params;
    params["SessionType"] = r.session_type->session_type;
    params["Properties"] = raw_or_null(r.session_type->properties_json);
    json::object a;
    a["ActionType"] = "SessionType";
    a["ActionParameters"] = std::move(params);
    actions.push_back(std::move(a));
  }
  if (r.kms_encryption) {
    json::object params;
    params["KMSKeyId"] = r.kms_encryption->kms_key_id;
    params["Challenge"] = r.kms_encryption->challenge;
    json::object a;
    a["ActionType"] = "KMSEncryption";
    a["ActionParameters"] = std::move(params);
    actions.push_back(std::move(a));
  }
  json::object o;
  o["AgentVersion"] = r.agent_version;
  o["RequestedClientActions"] = std::move(actions);
  return json::serialize(o);
}

Result<HandshakeRequest> parse_handshake_request(std::string_view text) {
  ECSH_TRY(auto o, parse_json_object(text, "the handshake request"));
  HandshakeRequest r;
  r.agent_version = string_field(o, "AgentVersion");
  const auto* actions = field(o, "RequestedClientActions");
  if (actions == nullptr || !actions->is_array()) {
    return Error::protocol("handshake request has no RequestedClientActions list");
  }
  for (const auto& a : actions->get_array()) {
    if (!a.is_object()) return Error::protocol("handshake request action is not an object");
    const auto& ao = a.get_object();
    std::string type = string_field(ao, "ActionType");
    const auto* params = field(ao, "ActionParameters");
    const json::object* po =
        params != nullptr && params->is_object() ? &params->get_object() : nullptr;
    if (type == "SessionType" && po != nullptr) {
      SessionTypeAction s;
      s.session_type = string_field(*po, "SessionType");
      const auto* props = field(*po, "Properties");
      s.properties_json = props == nullptr ? "null" : json::serialize(*props);
      r.session_type = std::move(s);
    } else if (type == "KMSEncryption" && po != nullptr) {
      KmsEncryptionAction k;
      k.kms_key_id = string_field(*po, "KMSKeyId");
      k.challenge = string_field(*po, "Challenge");
      r.kms_encryption = std::move(k);
    } else {
      r.other_actions.push_back(type);
    }
  }
  return r;
}

// ---- HandshakeResponse ----

std::string to_json(const HandshakeResponse& r) {
  json::array actions;
  for (const auto& a : r.actions) {
    json::object o;
    o["ActionType"] = a.action_type;
    o["ActionStatus"] = static_cast<int>(a.status);
    o["ActionResult"] = raw_or_null(a.result_json);
    o["Error"] = a.error;
    actions.push_back(std::move(o));
  }
  json::object o;
  o["ClientVersion"] = r.client_version;
  o["ProcessedClientActions"] = std::move(actions);
  if (r.errors.empty()) {
    o["Errors"] = nullptr;
  } else {
    json::array errors;
    for (const auto& e : r.errors) errors.emplace_back(e);
    o["Errors"] = std::move(errors);
  }
  return json::serialize(o);
}

Result<HandshakeResponse> parse_handshake_response(std::string_view text) {
  ECSH_TRY(auto o, parse_json_object(text, "the handshake response"));
  HandshakeResponse r;
  r.client_version = string_field(o, "ClientVersion");
  const auto* actions = field(o, "ProcessedClientActions");
  if (actions != nullptr && actions->is_array()) {
    for (const auto& a : actions->get_array()) {
      if (!a.is_object()) return Error::protocol("handshake response action is not an object");
      const auto& ao = a.get_object();
      ProcessedAction p;
      p.action_type = string_field(ao, "ActionType");
      const auto* status = field(ao, "ActionStatus");
      boost::system::error_code ec;
      std::int64_t s =
          status != nullptr && status->is_number() ? status->to_number<std::int64_t>(ec) : 0;
      if (ec || s < 0 || s > 255) s = 0;  // not a status we know: neither success nor failure
      p.status = static_cast<ActionStatus>(static_cast<int>(s));
      const auto* result = field(ao, "ActionResult");
      p.result_json = result == nullptr ? "null" : json::serialize(*result);
      p.error = string_field(ao, "Error");
      if (p.action_type == "KMSEncryption" && p.status == ActionStatus::success &&
          result != nullptr && result->is_object()) {
        auto key = crypto::base64_decode(string_field(result->get_object(), "KMSCipherTextKey"));
        if (!key || key->empty()) {
          return Error::protocol("handshake response KMSCipherTextKey is missing or not base64");
        }
        r.kms_ciphertext_key = std::move(*key);
      }
      r.actions.push_back(std::move(p));
    }
  }
  const auto* errors = field(o, "Errors");
  if (errors != nullptr && errors->is_array()) {
    for (const auto& e : errors->get_array()) {
      if (e.is_string()) r.errors.emplace_back(e.get_string());
    }
  }
  return r;
}

HandshakeResponse answer_handshake(const HandshakeRequest& request,
                                   const std::optional<std::string>& kms_ciphertext_blob,
                                   std::string_view client_version) {
  HandshakeResponse r;
  r.client_version = std::string(client_version);
  if (request.session_type) {
    ProcessedAction p;
    p.action_type = "SessionType";
    const auto& t = request.session_type->session_type;
    if (t == session_type::standard_stream || t == session_type::port ||
        t == session_type::interactive_commands || t == session_type::non_interactive_commands) {
      p.status = ActionStatus::success;
    } else {
      p.status = ActionStatus::failed;
      p.error = "Unknown session type " + t;
      r.errors.push_back(p.error);
    }
    r.actions.push_back(std::move(p));
  }
  if (request.kms_encryption) {
    ProcessedAction p;
    p.action_type = "KMSEncryption";
    if (kms_ciphertext_blob) {
      json::object result;
      result["KMSCipherTextKey"] = crypto::base64_encode(*kms_ciphertext_blob);
      result["KMSCipherTextHash"] = nullptr;
      p.status = ActionStatus::success;
      p.result_json = json::serialize(result);
    } else {
      p.status = ActionStatus::failed;
      p.error = "KMS data key is not available";
      r.errors.push_back(p.error);
    }
    r.actions.push_back(std::move(p));
  }
  for (const auto& other : request.other_actions) {
    ProcessedAction p;
    p.action_type = other;
    p.status = ActionStatus::unsupported;
    p.error = "Unsupported action " + other;
    r.actions.push_back(std::move(p));
  }
  return r;
}

// ---- HandshakeComplete ----

std::string to_json(const HandshakeComplete& c) {
  json::object o;
  o["HandshakeTimeToComplete"] = c.time_to_complete_ns;
  o["CustomerMessage"] = c.customer_message;
  return json::serialize(o);
}

Result<HandshakeComplete> parse_handshake_complete(std::string_view text) {
  ECSH_TRY(auto o, parse_json_object(text, "the handshake complete"));
  HandshakeComplete c;
  c.customer_message = string_field(o, "CustomerMessage");
  const auto* t = field(o, "HandshakeTimeToComplete");
  if (t != nullptr && t->is_number()) {
    boost::system::error_code ec;
    auto v = t->to_number<std::int64_t>(ec);
    if (!ec) c.time_to_complete_ns = v;
  }
  return c;
}

// ---- challenges ----

std::string challenge_json(std::string_view challenge_bytes) {
  json::object o;
  o["Challenge"] = crypto::base64_encode(challenge_bytes);
  return json::serialize(o);
}

Result<std::string> parse_challenge(std::string_view text) {
  ECSH_TRY(auto o, parse_json_object(text, "the encryption challenge"));
  auto bytes = crypto::base64_decode(string_field(o, "Challenge"));
  if (!bytes || bytes->empty()) {
    return Error::protocol("encryption challenge has no base64 Challenge");
  }
  return std::move(*bytes);
}

// ---- Size ----

std::string size_json(TerminalSize size) {
  json::object o;
  o["cols"] = size.cols;
  o["rows"] = size.rows;
  return json::serialize(o);
}

Result<TerminalSize> parse_size(std::string_view text) {
  ECSH_TRY(auto o, parse_json_object(text, "the terminal size"));
  const auto* cols = field(o, "cols");
  const auto* rows = field(o, "rows");
  if (cols == nullptr || rows == nullptr || !cols->is_number() || !rows->is_number()) {
    return Error::protocol("terminal size lacks numeric cols and rows");
  }
  boost::system::error_code ec1, ec2;
  auto c = cols->to_number<std::uint32_t>(ec1);
  auto r = rows->to_number<std::uint32_t>(ec2);
  if (ec1 || ec2) return Error::protocol("terminal size is out of range");
  TerminalSize s;
  s.cols = c;
  s.rows = r;
  return s;
}

// ---- Flag ----

std::string flag_payload(Flag flag) {
  auto v = static_cast<std::uint32_t>(flag);
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
  return out;
}

Result<std::uint32_t> parse_flag(std::string_view payload) {
  if (payload.size() != 4) return Error::protocol("flag payload is not 4 bytes");
  std::uint32_t v = 0;
  for (char c : payload) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

// ---- channel_closed ----

std::string to_json(const ChannelClosed& c, std::string_view created_date) {
  json::object o;
  o["MessageId"] = c.message_id;
  o["CreatedDate"] = created_date;
  o["DestinationId"] = c.destination_id;
  o["SessionId"] = c.session_id;
  o["MessageType"] = "channel_closed";
  o["SchemaVersion"] = 1;
  o["Output"] = c.output;
  return json::serialize(o);
}

Result<ChannelClosed> parse_channel_closed(std::string_view text) {
  ECSH_TRY(auto o, parse_json_object(text, "the channel_closed payload"));
  ChannelClosed c;
  c.message_id = string_field(o, "MessageId");
  c.session_id = string_field(o, "SessionId");
  c.destination_id = string_field(o, "DestinationId");
  c.output = string_field(o, "Output");
  return c;
}

// ---- agent_session_state ----

std::string session_state_json(std::string_view state, std::string_view session_id) {
  json::object o;
  o["SchemaVersion"] = 1;
  o["SessionState"] = state;
  o["SessionId"] = session_id;
  return json::serialize(o);
}

Result<std::string> parse_session_state(std::string_view text) {
  ECSH_TRY(auto o, parse_json_object(text, "the agent_session_state payload"));
  auto state = string_field(o, "SessionState");
  if (state.empty()) return Error::protocol("agent_session_state payload has no SessionState");
  return state;
}

}  // namespace ecsh::session
