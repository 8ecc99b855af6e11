#pragma once

// How Session Manager says it ended a session, and what ecsh makes of it. The service closes the
// client's channel with `channel_closed`, whose Output carries a sentence when the service (not
// the command) ended the session: the idle session timeout (20 minutes without input; ECS Exec's
// cannot be changed, aws/containers-roadmap#1939) or the maximum session duration preference.
// The sentences below are what the sandbox sends; AWS's exact words are not published, so
// `closed_by` recognises them by their key words (docs/protocol.md §8).

#include <string_view>

namespace ecsh::session {

inline constexpr std::string_view kIdleTimeoutOutput =
    "Your session timed out due to inactivity and has been terminated.";
inline constexpr std::string_view kMaxSessionDurationOutput =
    "Your session has reached the maximum session duration and has been terminated.";

enum class ClosedBy {
  peer,          // the command ended, the agent failed, or nothing was said (Output empty)
  idle_timeout,  // Session Manager's idle session timeout
  max_duration,  // Session Manager's maximum session duration
};

ClosedBy closed_by(std::string_view channel_closed_output);

}  // namespace ecsh::session
