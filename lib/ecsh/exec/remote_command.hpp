#pragma once

// How `ecsh exec -- CMD ARGS…` gets a real exit status, byte-exact stdout, separate stderr and
// forwarded stdin through ECS Exec, which always runs the command in a pty and reports no status.
//
// The command sent to ExecuteCommand is `/bin/sh -c '<wrapper>'`. The wrapper, in order:
//   1. `stty -echo -opost`: the pty no longer echoes input nor turns "\n" into "\r\n", so the
//      command's output crosses the pty unchanged. Canonical input stays on, so that ^D at the
//      start of a line is end-of-file for the stdin decoder. When stdin is forwarded it also
//      states `icanon iexten -ixon -istrip eof ^D lnext ^V`.
//   2. prints the start marker `<M>:S<t><d>:` where <M> is a random 32-hex-digit nonce, <t> is 1
//      when stty worked (0: output may carry CRLF and echo), <d> names the stdin decoder
//      available ('r' the terminal itself, read by `cat`; 'b' base64 when stty could not state
//      the line discipline or cat is missing; 'p' the POSIX printf fallback).
//   3. runs the command with its stderr in a temporary file (when one can be created), and its
//      stdin from /dev/null or from the decoder reading the pty.
//   4. prints `<M>:X<status>:`, then the captured stderr, then `<M>:E:`.
// The client (OutputDemux) drops whatever precedes the start marker, passes stdout through as it
// arrives, and stops at the end marker. A nonce per session means command output cannot forge a
// marker. Stdin is sent raw through the terminal's canonical line discipline: every control
// byte behind ^V (VLNEXT, so the next byte is data whatever it is), a ^D after every 4000 data
// bytes (it hands the line to the reader without adding a byte), and ^D on an empty line at the
// end (end of file). Random bytes grow by 1/8, text and zeros not at all; the fallbacks are
// base64 lines (4/3) or printf octal escapes, closed with "\n\x04".
//
// --user USER (ECS Exec itself always runs the command as root): before step 1 the wrapper
// resolves USER in the container (`id USER`, else /etc/passwd), then finds the first way to
// switch that exists and works, each tried with `/bin/sh -c :` as the user: setpriv (util-linux:
// --reuid --regid --init-groups, else --clear-groups), runuser -u, su -s /bin/sh, busybox su,
// chroot --userspec --skip-chdir (GNU). HOME, USER and LOGNAME are the user's. Only the command
// itself runs as the user; the wrapper's plumbing (stty, the stdin decoder, the stderr file)
// stays root's. When USER cannot be used the wrapper prints `<M>:U<why><tools>:` instead of the
// start marker and runs nothing: <why> is 'u' (no such user) or 't' (no way to switch), <tools>
// the letters of the tools that exist but failed (p setpriv, r runuser, s su, b busybox, c
// chroot). The interactive shell does the same, and prints `<M>:Uy:` before it starts the shell.

#include "ecsh/common/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::exec {

enum class StdinMode {
  none,     // the command reads /dev/null
  forward,  // the command reads what ecsh forwards (ecsh's stdin is a pipe or a file)
};

// A --user value: a POSIX-style user name (letters, digits, '.', '_', '-', a trailing '$'; not
// starting with a digit, '.' or '-'; at most 32 characters) or a numeric UID. A usage error
// otherwise: nothing else reaches the container's shell.
Result<void> check_user(std::string_view user);

// Why the wrapper could not run the command as --user.
struct RunAsFailure {
  enum class Kind { unknown_user, no_tool };
  Kind kind = Kind::unknown_user;
  std::string failed_tools;  // letters of the tools that exist but failed (see above)
};

// The one-line error for a RunAsFailure (ErrorKind::run_as); `where` names the container, e.g.
// "container app of task 1a2b…".
Error run_as_error(const RunAsFailure& failure, std::string_view user, std::string_view where);

struct RemoteCommand {
  std::string command;  // the ExecuteCommand `command` string
  std::string nonce;
};

// `words` is the user's argv, run without a shell (as docker exec and kubectl exec do), as
// `user` when it is not empty (check_user() first).
RemoteCommand wrap_one_shot(const std::vector<std::string>& words, StdinMode stdin_mode,
                            std::string nonce, const std::string& user = {});
// The interactive shell: bash when the image has it, else sh; as `user` when it is not empty,
// with the `nonce` of the markers that RunAsGate reads.
std::string interactive_shell_command(const std::string& user = {}, const std::string& nonce = {});

// The shell text that resolves `user`, defines `ecsh_as CMD ARGS…` (which runs CMD as the user;
// with `exec_form`, in place of the shell) and, when the user cannot be used, prints the
// `<nonce>:U…:` marker and exits. Used by the two functions above.
std::string run_as_prelude(const std::string& user, const std::string& nonce, bool exec_form);

enum class StdinDecoder {
  terminal,      // raw bytes, control bytes behind ^V, lines ended by ^D; `cat` reads the pty
  base64,        // `base64 -d` of base64 lines
  printf_octal,  // printf of \ooo escapes, when the image has neither
};

// Splits the pty output stream back into stdout, stderr and the exit status.
class OutputDemux {
 public:
  explicit OutputDemux(std::string nonce);

  struct Chunk {
    std::string stdout_bytes;
    std::string stderr_bytes;
  };
  // Feed pty output in arbitrary pieces; returns what can be delivered now.
  Chunk feed(std::string_view bytes);

  // The command started (not when --user could not be used: then nothing ran).
  bool started() const { return state_ != State::preamble && !run_as_failure_; }
  bool finished() const { return state_ == State::done; }
  // Known once the start marker was seen.
  bool tty_configured() const { return tty_configured_; }
  StdinDecoder decoder() const { return decoder_; }
  std::optional<int> exit_status() const { return exit_status_; }
  // Set (and finished()) when the wrapper could not run the command as --user.
  const std::optional<RunAsFailure>& run_as_failure() const { return run_as_failure_; }
  // Bytes seen before the start marker (normally none; kept for --debug).
  const std::string& preamble() const { return preamble_; }

 private:
  enum class State { preamble, stdout_data, status, stderr_data, done };
  std::string marker_;  // "<nonce>:"
  State state_ = State::preamble;
  std::string pending_;  // undecided bytes (a possible marker prefix, or a header being read)
  std::string preamble_;
  bool tty_configured_ = false;
  StdinDecoder decoder_ = StdinDecoder::base64;
  std::optional<int> exit_status_;
  std::optional<RunAsFailure> run_as_failure_;
};

// Parses a `U…:` header (what follows "<nonce>:"): the failure, or nullopt for `Uy:` (the switch
// worked). Returns false when `header` is not (yet) a complete U header; `length` is its size.
enum class RunAsHeader { incomplete, invalid, ok, failed };
RunAsHeader parse_run_as_header(std::string_view header, std::size_t& length,
                                RunAsFailure& failure);

// The interactive shell's output with --user: held back until the wrapper says whether the
// switch worked (`<nonce>:Uy:`, dropped from the output), then passed through untouched.
class RunAsGate {
 public:
  explicit RunAsGate(std::string nonce) : marker_(std::move(nonce) + ":") {}
  // What to show now.
  std::string feed(std::string_view bytes);
  bool open() const { return open_; }
  const std::optional<RunAsFailure>& failure() const { return failure_; }
  // The session ended before the marker: what was held back.
  std::string flush();

 private:
  std::string marker_;
  std::string held_;
  bool open_ = false;
  std::optional<RunAsFailure> failure_;
};

// Encodes forwarded stdin for the remote decoder. Output lines stay below the pty's 4095-byte
// canonical line limit.
class StdinEncoder {
 public:
  explicit StdinEncoder(StdinDecoder decoder) : decoder_(decoder) {}
  std::string encode(std::string_view bytes);
  // The rest, then end-of-file.
  std::string finish();

 private:
  StdinDecoder decoder_;
  std::string carry_;     // base64: 0-2 bytes not yet a full group
  std::size_t line_ = 0;  // bytes on the current line
};

}  // namespace ecsh::exec
