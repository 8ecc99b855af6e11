#include "ecsh/forward/forward_spec.hpp"

#include "ecsh/common/json_fields.hpp"
#include "ecsh/common/version.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <optional>

namespace ecsh::forward {
namespace {

// Splits at ':' outside brackets; brackets around a field are removed.
std::optional<std::vector<std::string>> split_fields(std::string_view text) {
  std::vector<std::string> fields;
  std::string current;
  bool bracket = false;
  bool was_bracketed = false;
  for (char c : text) {
    if (c == '[' && !bracket && current.empty()) {
      bracket = true;
      was_bracketed = true;
      continue;
    }
    if (c == ']' && bracket) {
      bracket = false;
      continue;
    }
    if (c == ':' && !bracket) {
      fields.push_back(std::move(current));
      current.clear();
      was_bracketed = false;
      continue;
    }
    if (was_bracketed && !bracket) return std::nullopt;  // text after "]" before ':'
    current.push_back(c);
  }
  if (bracket) return std::nullopt;
  fields.push_back(std::move(current));
  return fields;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<std::uint16_t> port_of(std::string_view s, bool zero_allowed) {
  if (!all_digits(s) || s.size() > 5) return std::nullopt;
  unsigned value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  if (value > 65535 || (value == 0 && !zero_allowed)) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

Error bad_spec(std::string_view text, std::string_view why) {
  return Error::usage("-L " + std::string(text) + ": " + std::string(why),
                      "Write -L [BIND:]LOCAL:PORT, -L [BIND:]LOCAL:HOST:PORT or "
                      "-L /path/to.sock:PORT (LOCAL 0 picks a free port).");
}

}  // namespace

Result<ListenSpec> parse_listen_spec(std::string_view text) {
  ListenSpec spec;
  spec.text = std::string(text);
  if (text.starts_with("/") || text.starts_with("./")) {
    // A unix socket path may hold ':' only if it is followed by the destination.
    auto last = text.rfind(':');
    if (last == std::string_view::npos) return bad_spec(text, "a unix socket needs :PORT");
    std::string_view path = text.substr(0, last);
    std::string_view rest = text.substr(last + 1);
    auto port = port_of(rest, false);
    if (!port) return bad_spec(text, "the destination port must be 1-65535");
    // PATH:HOST:PORT when the part before the last ':' ends with :HOST.
    auto host_colon = path.rfind(':');
    if (host_colon != std::string_view::npos &&
        path.find('/', host_colon) == std::string_view::npos) {
      spec.remote_host = std::string(path.substr(host_colon + 1));
      path = path.substr(0, host_colon);
    }
    if (path.empty()) return bad_spec(text, "the unix socket path is empty");
    spec.unix_path = std::string(path);
    spec.remote_port = *port;
    return spec;
  }
  auto fields = split_fields(text);
  if (!fields) return bad_spec(text, "unbalanced brackets");
  auto& f = *fields;
  std::string bind, local, host, remote;
  switch (f.size()) {
    case 2:
      local = f[0];
      remote = f[1];
      break;
    case 3:
      if (all_digits(f[0])) {
        local = f[0];
        host = f[1];
        remote = f[2];
      } else {
        bind = f[0];
        local = f[1];
        remote = f[2];
      }
      break;
    case 4:
      bind = f[0];
      local = f[1];
      host = f[2];
      remote = f[3];
      break;
    default:
      return bad_spec(text, "expected 2 to 4 fields separated by ':'");
  }
  auto local_port = port_of(local, true);
  if (!local_port) return bad_spec(text, "the local port must be 0-65535");
  auto remote_port = port_of(remote, false);
  if (!remote_port) return bad_spec(text, "the destination port must be 1-65535");
  if (f.size() == 4 && bind.empty()) return bad_spec(text, "the bind address is empty");
  if ((f.size() == 4 || (f.size() == 3 && all_digits(f[0]))) && host.empty()) {
    return bad_spec(text, "the destination host is empty");
  }
  if (!bind.empty()) {
    spec.bind_host = bind == "*" ? "0.0.0.0" : bind;
    spec.bind_given = true;
  }
  spec.local_port = *local_port;
  spec.remote_host = host;
  spec.remote_port = *remote_port;
  return spec;
}

bool binds_beyond_loopback(const ListenSpec& spec) {
  if (!spec.unix_path.empty() || !spec.bind_given) return false;
  const auto& h = spec.bind_host;
  return !(h == "localhost" || h.starts_with("127.") || h == "::1");
}

std::string destination_of(const ListenSpec& spec) {
  std::string host = spec.remote_host.empty() ? "localhost" : spec.remote_host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(spec.remote_port);
}

PortDocument port_document(const ListenSpec& spec) {
  PortDocument d;
  d.parameters["portNumber"] = {std::to_string(spec.remote_port)};
  // The agent only passes localPortNumber back to the client; ecsh binds its own listeners.
  d.parameters["localPortNumber"] = {std::to_string(spec.local_port)};
  if (spec.remote_host.empty()) {
    d.name = "AWS-StartPortForwardingSession";
  } else {
    d.name = "AWS-StartPortForwardingSessionToRemoteHost";
    d.parameters["host"] = {spec.remote_host};
  }
  return d;
}

std::vector<std::vector<std::size_t>> group_by_destination(const std::vector<ListenSpec>& specs) {
  std::vector<std::vector<std::size_t>> groups;
  std::map<std::string, std::size_t> by_destination;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto key = destination_of(specs[i]);
    auto [it, inserted] = by_destination.emplace(key, groups.size());
    if (inserted) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  return groups;
}

PortMode client_port_mode(std::string_view type, std::string_view agent_version) {
  if (type == "LocalPortForwarding" && plugin_version_newer(agent_version, "3.0.196.0")) {
    return PortMode::mux;
  }
  return PortMode::basic;
}

Result<PortProperties> parse_port_properties(std::string_view json) {
  ECSH_TRY(const auto o, parse_json_object(json, "the Port session's properties"));
  auto str = [&o](std::string_view key) {
    auto* f = o.if_contains(key);
    if (!f) return std::string();
    if (f->is_string()) return std::string(f->as_string());
    if (f->is_int64()) return std::to_string(f->as_int64());
    return std::string();
  };
  PortProperties p;
  p.port_number = str("portNumber");
  p.local_port_number = str("localPortNumber");
  p.local_unix_socket = str("localUnixSocket");
  p.local_connection_type = str("localConnectionType");
  p.type = str("type");
  p.host = str("host");
  if (p.port_number.empty()) {
    return Error::protocol("the Port session's properties have no portNumber");
  }
  return p;
}

}  // namespace ecsh::forward
