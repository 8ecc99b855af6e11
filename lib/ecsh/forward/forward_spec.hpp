#pragma once

// `ecsh forward` decisions, pure (docs/protocol.md §9): what `-L` means, which SSM document and
// parameters a listener needs, which listeners can share one session, how the client chooses
// between smux and basic mode as the official plugin does, and the Port session's properties
// from the agent's handshake.

#include "ecsh/common/error.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::forward {

// -L [BIND:]LOCAL:PORT, -L [BIND:]LOCAL:HOST:PORT, -L /path.sock:PORT, -L /path.sock:HOST:PORT.
// With three fields, a numeric first field is LOCAL (LOCAL:HOST:PORT), anything else is BIND
// (BIND:LOCAL:PORT). An IPv6 BIND or HOST is written in brackets. LOCAL 0 picks a free port.
struct ListenSpec {
  std::string text;                     // as given, for messages
  std::string bind_host = "127.0.0.1";  // loopback unless BIND is given
  bool bind_given = false;
  std::uint16_t local_port = 0;
  std::string unix_path;    // a local unix socket instead of a TCP port
  std::string remote_host;  // empty: a port of the container itself
  std::uint16_t remote_port = 0;
};
Result<ListenSpec> parse_listen_spec(std::string_view text);

// Whether the listener is reachable from other machines (BIND is not a loopback address).
bool binds_beyond_loopback(const ListenSpec& spec);

// "db.internal:5432", or "localhost:8080" for a port of the container.
std::string destination_of(const ListenSpec& spec);

// StartSession's DocumentName and Parameters for a listener: AWS-StartPortForwardingSession
// (portNumber, localPortNumber) or AWS-StartPortForwardingSessionToRemoteHost (host too).
struct PortDocument {
  std::string name;
  std::map<std::string, std::vector<std::string>> parameters;
};
PortDocument port_document(const ListenSpec& spec);

// Listeners with the same destination share one session (a Port session serves one
// destination). Each group lists indexes into `specs`, in order of first appearance.
std::vector<std::vector<std::size_t>> group_by_destination(const std::vector<ListenSpec>& specs);

// How a Port session moves bytes (docs/protocol.md §9).
enum class PortMode { basic, mux };

// The plugin's rule: mux when type is LocalPortForwarding and the AgentVersion is newer than
// 3.0.196.0 by plugin_version_newer (common/version.hpp).
PortMode client_port_mode(std::string_view type, std::string_view agent_version);

// The SessionType action's Properties of a Port session.
struct PortProperties {
  std::string port_number;
  std::string local_port_number;
  std::string local_unix_socket;
  std::string local_connection_type;  // "unix" or TCP
  std::string type;                   // "LocalPortForwarding", or empty (SSH: stdin/stdout)
  std::string host;
};
Result<PortProperties> parse_port_properties(std::string_view json);

}  // namespace ecsh::forward
