#include "ecsh/fleet/report.hpp"

#include "ecsh/aws/client.hpp"
#include "ecsh/common/crypto.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include <cmath>
#include <cstdint>

namespace ecsh::fleet {
namespace json = boost::json;

TaskResult unreachable_result(const Unreachable& u) {
  TaskResult r;
  r.error = u.reason;
  r.fix = u.fix;
  r.error_code = "unreachable";
  return r;
}

int exit_status(const std::vector<TaskResult>& results) {
  // --user could be used nowhere: nothing ran (251, as exec's).
  if (!results.empty() && std::all_of(results.begin(), results.end(),
                                      [](const TaskResult& r) { return r.error_code == "user"; })) {
    return 251;
  }
  for (const auto& r : results) {
    if (!r.exit_code || *r.exit_code != 0) return 1;
  }
  return 0;
}

std::string format_seconds(double seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 1) return fmt::format("{:.0f} ms", seconds * 1000);
  if (seconds < 10) return fmt::format("{:.2f} s", seconds);
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  auto whole = static_cast<long long>(std::llround(seconds));
  return fmt::format("{} min {:02} s", whole / 60, whole % 60);
}

std::vector<std::string> table_head() {
  return {"TASK", "SERVICE", "CONTAINER", "EXIT", "TIME", "ERROR"};
}

namespace {

std::string error_text(const TaskResult& r) {
  if (r.error.empty()) return {};
  return r.fix.empty() ? r.error : r.error + "; fix: " + r.fix;
}

std::string service_or_family(const Target& t) {
  std::string s = t.task.service_name();
  return s.empty() ? "family:" + task_family(t.task) : s;
}

}  // namespace

std::vector<std::vector<std::string>> table_rows(const std::vector<Target>& targets,
                                                 const std::vector<TaskResult>& results) {
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < targets.size() && i < results.size(); ++i) {
    const auto& t = targets[i];
    const auto& r = results[i];
    auto slash = t.label.rfind('/');
    rows.push_back({slash == std::string::npos ? t.label : t.label.substr(0, slash),
                    service_or_family(t), t.container.name,
                    r.exit_code ? std::to_string(*r.exit_code) : "-",
                    r.seconds > 0 ? format_seconds(r.seconds) : "-", error_text(r)});
  }
  return rows;
}

std::string summary_line(const std::vector<TaskResult>& results, double wall_seconds) {
  std::size_t zero = 0, nonzero = 0, failed = 0;
  for (const auto& r : results) {
    if (!r.exit_code) {
      ++failed;
    } else if (*r.exit_code == 0) {
      ++zero;
    } else {
      ++nonzero;
    }
  }
  return fmt::format("{} task{}: {} exited 0, {} exited non-zero, {} failed or not reached; {}",
                     results.size(), results.size() == 1 ? "" : "s", zero, nonzero, failed,
                     format_seconds(wall_seconds));
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

namespace {

void put_bytes(json::object& o, const char* key, const char* encoding_key,
               const std::string& bytes) {
  if (valid_utf8(bytes)) {
    o[key] = bytes;
    o[encoding_key] = "utf-8";
  } else {
    o[key] = crypto::base64_encode(bytes);
    o[encoding_key] = "base64";
  }
}

}  // namespace

json::object to_json(const std::vector<std::string>& command, const std::vector<Target>& targets,
                     const std::vector<TaskResult>& results, double wall_seconds) {
  json::object doc;
  doc["schema"] = "ecsh.run/1";
  json::array cmd;
  for (const auto& w : command) cmd.emplace_back(w);
  doc["command"] = std::move(cmd);
  json::array tasks;
  std::size_t ok = 0, nonzero = 0, failed = 0;
  for (std::size_t i = 0; i < targets.size() && i < results.size(); ++i) {
    const auto& t = targets[i];
    const auto& r = results[i];
    json::object o;
    o["cluster"] = t.cluster_name;
    o["service"] = t.task.service_name();
    o["task"] = t.task.id;
    o["task_arn"] = t.task.arn;
    o["container"] = t.container.name;
    o["label"] = t.label;
    if (r.exit_code) {
      o["exit_code"] = *r.exit_code;
      (*r.exit_code == 0 ? ok : nonzero) += 1;
    } else {
      o["exit_code"] = nullptr;
      ++failed;
    }
    put_bytes(o, "stdout", "stdout_encoding", r.stdout_bytes);
    put_bytes(o, "stderr", "stderr_encoding", r.stderr_bytes);
    o["duration_seconds"] = std::round(r.seconds * 1000) / 1000;
    o["sessions"] = r.sessions;
    if (r.error.empty()) {
      o["error"] = nullptr;
    } else {
      json::object e;
      e["message"] = r.error;
      e["code"] = r.error_code;
      e["fix"] = r.fix;
      o["error"] = std::move(e);
    }
    tasks.push_back(std::move(o));
  }
  doc["tasks"] = std::move(tasks);
  json::object summary;
  summary["tasks"] = results.size();
  summary["exited_zero"] = ok;
  summary["exited_nonzero"] = nonzero;
  summary["failed"] = failed;
  summary["wall_seconds"] = std::round(wall_seconds * 1000) / 1000;
  summary["exit_status"] = exit_status(results);
  doc["summary"] = std::move(summary);
  return doc;
}

bool retry_start(const Error& e, int attempts_made, int max_attempts) {
  return e.kind == ErrorKind::service && aws::retry::is_throttling(e.code) &&
         attempts_made < max_attempts;
}

bool retry_session(const Error& e, bool command_started, int sessions_started) {
  return sessions_started < 2 && !command_started && e.retryable;
}

bool is_refusal(const Error& e) {
  return e.kind == ErrorKind::service &&
         (e.code == "InvalidParameterException" || e.code == "TargetNotConnectedException");
}

Unreachable refusal(const Target& target, const Error& e) {
  Unreachable u;
  std::string doctor = "ecsh doctor -c " + target.cluster_name + " -t " + target.task.id + " -n " +
                       target.container.name;
  if (auto known = precheck(target.cluster_name, target.task, target.container)) return *known;
  if (e.code == "TargetNotConnectedException") {
    u.reason = "the exec agent cannot be reached (TargetNotConnectedException)";
  } else {
    u.reason = e.message;
  }
  u.fix = doctor + "  (says why)";
  return u;
}

std::optional<Unreachable> doctor_reason(const std::vector<doctor::Check>& checks) {
  for (const auto& c : checks) {
    if (c.status != doctor::Status::fail) continue;
    Unreachable u;
    u.reason = "doctor: " + c.title + " ✗" + (c.detail.empty() ? "" : " (" + c.detail + ")");
    u.fix = c.fix;
    return u;
  }
  return std::nullopt;
}

}  // namespace ecsh::fleet
