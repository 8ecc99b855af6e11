#include "sandbox/ssm/sessions.hpp"

#include "ecsh/common/crypto.hpp"

namespace ecsh::sandbox::ssm {

std::string new_stream_token() {
  // Opaque, URL-unsafe characters included as AWS's tokens have them.
  return "AAEAA" + crypto::base64_encode(crypto::random_bytes(120));
}

SessionRecord& SessionRegistry::create(SessionRecord record, std::string_view id_prefix) {
  record.session_id = std::string(id_prefix) + crypto::hex(crypto::random_bytes(9)).substr(0, 17);
  record.token = new_stream_token();
  record.status = "Connected";
  auto id = record.session_id;
  auto& stored = sessions_[id] = std::move(record);
  if (create_hook_) create_hook_(stored);
  return stored;
}

SessionRecord* SessionRegistry::find(const std::string& id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::optional<std::string> SessionRegistry::resume(const std::string& id) {
  auto* s = find(id);
  if (!s || s->status == "Terminated") return std::nullopt;
  s->token = new_stream_token();
  return s->token;
}

bool SessionRegistry::terminate(const std::string& id) {
  auto* s = find(id);
  if (!s) return false;
  bool was_open = s->status != "Terminated";
  s->status = "Terminated";
  if (was_open && terminate_hook_) terminate_hook_(id);
  return true;
}

void SessionRegistry::terminate_for_container(const std::string& task_id,
                                              const std::string& container) {
  std::vector<std::string> ids;
  for (const auto& [id, s] : sessions_) {
    if (!s.host && s.task_id == task_id && s.container == container && s.status != "Terminated")
      ids.push_back(id);
  }
  for (const auto& id : ids) terminate(id);
}

std::vector<const SessionRecord*> SessionRegistry::all() const {
  std::vector<const SessionRecord*> out;
  for (const auto& [id, s] : sessions_) out.push_back(&s);
  return out;
}

}  // namespace ecsh::sandbox::ssm
