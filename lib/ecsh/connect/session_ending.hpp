#pragma once

// A session's ending said plainly: what ended it, and what to do, as one `Error` whose ending
// decides the exit code (common/error.hpp). Pure: the transport measures, this words.

#include "ecsh/common/error.hpp"
#include "ecsh/connect/session_transport.hpp"

#include <optional>
#include <string_view>

namespace ecsh::connect {

// What each command suggests when Session Manager's idle timeout ended its session.
struct EndingAdvice {
  std::string_view idle_timeout =
      "ECS Exec's idle timeout (20 min) cannot be changed; start a new session.";
};

// The error for a session the service closed on its own (idle timeout, maximum duration), or
// nothing when the channel_closed Output says neither.
std::optional<Error> service_ending(const SessionEnd& end, const EndingAdvice& advice = {});

// The error for a ResumeSession that failed while the link was down: expired credentials are a
// configuration error with what to do; an empty token means the session ended meanwhile.
Error resume_failure(const Error& resume_error);
Error ended_while_reconnecting();

// Session Manager's maximum session duration from its preferences document's Content
// (SSM-SessionManagerRunShell: inputs.maxSessionDuration, minutes as a string, "" for none);
// nothing when there is none or the content is not that document.
std::optional<std::chrono::minutes> max_session_duration_of(std::string_view content);

// The line an interactive session prints when its known maximum duration is `left` away.
std::string max_duration_warning(std::chrono::minutes limit,
                                 std::chrono::steady_clock::duration left);

// "12 s", "3 min", "20 min", "1 h", "1 h 05 min".
std::string format_duration(std::chrono::steady_clock::duration d);

}  // namespace ecsh::connect
