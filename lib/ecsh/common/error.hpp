#pragma once

#include <boost/outcome/result.hpp>
#include <boost/outcome/try.hpp>

#include <string>

namespace ecsh {

// What kind of failure: decides the process exit code (README.md "Exit codes", following the
// AWS CLI; docs/ARCHITECTURE.md "Errors and exit codes") and whether retrying can help.
enum class ErrorKind {
  usage,       // bad arguments, target not resolvable            -> 252
  config,      // credentials, config files, region missing       -> 253
  service,     // an AWS (or sandbox) service returned an error   -> 254
  connection,  // could not connect, TLS, timeouts                -> 255
  protocol,    // malformed input from a peer (frames, JSON, XML) -> 255
  internal,    // anything else                                   -> 255
  run_as,      // --user cannot be used in the container          -> 251
  // A session that something other than the command ended; `Error::ending` says what, and
  // decides the exit code (247-250, `exit_code_for`).
  session_ended,
};

// Why a session ended before its command or shell did (ecsh(1), EXIT STATUS).
enum class SessionEnding {
  none,
  idle_timeout,          // Session Manager's idle timeout (no input for 20 min)      -> 247
  max_duration,          // Session Manager's maximum session duration                -> 248
  task_stopped,          // the task or its container stopped                         -> 249
  terminated_elsewhere,  // TerminateSession from elsewhere, or the agent went away   -> 250
  // Not yet known: the channel closed before the command finished, or the link could not be
  // restored. The CLI looks at the task to tell task_stopped from terminated_elsewhere
  // (connection, 255, when it cannot).
  unexplained,
};

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;  // what failed and why, one line
  std::string hint;     // what to do about it, one line (may be empty)
  // Structured AWS error data (kind == service), kept until the CLI prints it.
  int http_status = 0;
  std::string code;        // e.g. "AccessDeniedException"
  std::string request_id;  // x-amzn-RequestId
  bool retryable = false;
  SessionEnding ending = SessionEnding::none;

  static Error usage(std::string msg, std::string hint = {});
  static Error config(std::string msg, std::string hint = {});
  static Error connection(std::string msg, std::string hint = {}, bool retryable = true);
  static Error protocol(std::string msg);
  static Error internal(std::string msg);
  static Error session_ended(SessionEnding why, std::string msg, std::string hint = {});

  // "message" or "message\nhint" — what the CLI prints after "ecsh: ".
  std::string describe() const;
};

int exit_code_for(const Error& e);

namespace outcome = boost::outcome_v2;
template <class T>
using Result = outcome::result<T, Error, outcome::policy::terminate>;

inline outcome::success_type<void> ok() { return outcome::success(); }

}  // namespace ecsh

// Propagate an error from an expression returning Result<T>; inside coroutines use
// ECSH_CO_TRY.
#define ECSH_TRY BOOST_OUTCOME_TRY
#define ECSH_CO_TRY BOOST_OUTCOME_CO_TRY
