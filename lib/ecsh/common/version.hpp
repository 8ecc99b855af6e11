#pragma once

// Dotted numeric versions ("1.50.2", "3.0.196.0"), the two ways they are compared here. Pure.

#include <string_view>

namespace ecsh {

// The session-manager-plugin release whose protocol ecsh speaks: what plugin mode's --version
// prints and the ClientVersion ecsh sends, recent enough that the agent picks the modern
// behaviours (smux port forwarding, smux keepalive off, no output-separation warning).
inline constexpr std::string_view kPluginProtocolVersion = "1.2.677.0";

// Part by part as numbers, a missing part counting as 0 and a part that is not a number as 0:
// -1, 0 or 1. "1.9.0" < "1.50.2"; "1.4" == "1.4.0". How ECS agent and Fargate platform versions
// are compared (doctor, and the sandbox's ECS Exec rules).
int compare_versions(std::string_view a, std::string_view b);

// The session-manager-plugin's rule for the agent's features (its src/version/
// versionvalidator.go): `version` is newer than `than` only when both are all-numeric parts of the
// same count and `version` is greater; anything it cannot read is not newer.
bool plugin_version_newer(std::string_view version, std::string_view than);

}  // namespace ecsh
