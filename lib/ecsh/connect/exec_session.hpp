#pragma once

// `ecsh exec` end to end once the target is known: ECS ExecuteCommand, the session transport,
// and either an interactive terminal (raw mode, resize, escapes) or a one-shot command with
// byte-exact stdout, separate stderr, forwarded stdin and the remote exit status
// (lib/ecsh/exec/remote_command.hpp explains the wrapping).

#include "ecsh/aws/client.hpp"
#include "ecsh/connect/session_transport.hpp"
#include "ecsh/ecs/target.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ecsh::connect {

struct ExecSettings {
  aws::HttpOptions http;  // TLS settings for the WebSocket
  bool escapes = true;    // ~. and ~? in interactive sessions
  int stdout_fd = 1;
  int stderr_fd = 2;
  int stdin_fd = 0;
  bool plugin_messages = false;  // print what session-manager-plugin prints
  // --user: run the command or shell as this user in the container (exec::check_user()); empty:
  // as ECS Exec does, root.
  std::string user;
};

// "container app of task 1a2b…", for messages.
std::string container_description(const ecs::ResolvedTarget& target);

// ExecuteCommand for one container; the session's ID, stream URL and token.
Awaitable<Result<SessionTarget>> start_ecs_session(aws::AwsClient& client,
                                                   const ecs::ResolvedTarget& target,
                                                   const std::string& command);

// SSM StartSession on `ssm_target` (an ECS container's "ecs:…" or an instance's "i-…") with a
// document and its parameters; the session's ID, stream URL and token.
Awaitable<Result<SessionTarget>> start_document_session(
    aws::AwsClient& client, const std::string& ssm_target, const std::string& document,
    const std::map<std::string, std::vector<std::string>>& parameters);

// StartSession to a managed instance with AWS-StartInteractiveCommand: the agent runs `command`
// with `sh -c` on the instance.
Awaitable<Result<SessionTarget>> start_instance_session(aws::AwsClient& client,
                                                        const std::string& instance_id,
                                                        const std::string& command);

// The transport options for a session started by ExecuteCommand/StartSession: ResumeSession on
// dropped links, kms:GenerateDataKey for encrypted sessions.
TransportOptions transport_options(aws::AwsClient& client, const SessionTarget& session,
                                   const std::string& ssm_target, const ExecSettings& settings);

// Runs `words` (no shell) in the container; returns the remote exit status.
Awaitable<Result<int>> run_one_shot(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                    const std::vector<std::string>& words, bool forward_stdin,
                                    const ExecSettings& settings);

// How a one-shot session is started: `start` gets the wrapped command (remote_command.hpp) and
// starts a session that runs it in a pty; ssm_target names the target for KMS; ended_hint is
// what to do when the session ends before the command's status arrives.
struct OneShotStarter {
  std::function<Awaitable<Result<SessionTarget>>(std::string command)> start;
  std::string ssm_target;
  std::string ended_hint = "The task may have stopped; check it with: ecsh doctor";
  std::string where = "the container";  // names the container in a --user error
};

// Ends a session for the service (TerminateSession); a failure is only logged.
Awaitable<void> terminate_session(aws::AwsClient& client, const std::string& session_id);
Awaitable<Result<int>> run_one_shot_with(aws::AwsClient& client, const OneShotStarter& starter,
                                         const std::vector<std::string>& words, bool forward_stdin,
                                         const ExecSettings& settings);

// Ends a one-shot session from outside (a deadline): the session is closed if it is open, and
// not opened if it is not yet.
struct SessionCancel {
  bool cancelled = false;
  std::function<void()> close;  // set while a session is open
  void cancel() {
    cancelled = true;
    if (close) close();
  }
};

// A one-shot command whose output goes to callbacks instead of file descriptors (`ecsh run`,
// which prefixes each task's lines). No stdin is forwarded.
struct OneShotIo {
  std::function<void(std::string_view)> on_stdout;
  std::function<void(std::string_view)> on_stderr;
  bool started = false;  // out: the command started (running it again would run it twice)
  std::shared_ptr<SessionCancel> cancel;  // may be null
  // Each phase as it completes, in order: "ExecuteCommand" (the session is started),
  // "WebSocket open", "handshake" (data may flow: the handshake, with KMS, is complete, or the
  // agent's first output came), "first output", "exit status". May be null.
  std::function<void(std::string_view phase)> on_phase;
};
Awaitable<Result<int>> run_one_shot_io(aws::AwsClient& client, const OneShotStarter& starter,
                                       const std::vector<std::string>& words,
                                       const ExecSettings& settings, OneShotIo& io);

// An interactive shell (bash if present, else sh); returns 0 when the session ended normally.
Awaitable<Result<int>> run_interactive(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                       const ExecSettings& settings);

// With --user, the interactive shell's markers (exec::RunAsGate): its nonce, and the container
// it runs in for the error.
struct RunAsMarkers {
  std::string nonce;
  std::string where;
};

// A terminal session on a session that is already started (ExecuteCommand or StartSession).
// `run_as`, when given, holds the output back until the --user switch worked (else the error).
Awaitable<Result<int>> run_terminal_session(aws::AwsClient& client, const SessionTarget& session,
                                            const std::string& ssm_target,
                                            const ExecSettings& settings,
                                            const RunAsMarkers* run_as = nullptr);

std::string ecs_ssm_target(const ecs::ResolvedTarget& target);

}  // namespace ecsh::connect
