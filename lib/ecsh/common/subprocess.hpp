#pragma once

// Starting child processes: the one way ecsh does it (ssh, a profile's credential_process, tar
// for `ecsh cp`, the demo's ecsh-sandbox). Never through a shell: argv is the program and its
// arguments as they are. Every child gets
//   - no descriptor of ecsh's beyond 0, 1 and 2 (every fd >= 3 is closed in the child:
//     posix_spawn_file_actions_addclosefrom_np), whether or not it was opened O_CLOEXEC;
//   - the default disposition of SIGINT, SIGQUIT and SIGPIPE, and an empty signal mask, whatever
//     ecsh (or whoever started ecsh) ignores or blocks;
//   - the environment the caller gives (this process's own by default; see environment_without
//     for the scrubbed ones).

#include "ecsh/common/unique_fd.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::subprocess {

// Where a standard stream of the child goes.
enum class Stream {
  inherit,      // ecsh's own
  null,         // /dev/null
  capture,      // a pipe that ecsh reads (run: into Completed; spawn: Child::out / Child::err)
  append_file,  // stderr only: appended to Spec::err_path (created 0600)
};

struct Spec {
  std::vector<std::string> argv;  // argv[0] is the program
  bool search_path = true;        // look argv[0] up in PATH when it has no '/' (execvp)
  // The child's environment, "NAME=value" each; nothing: this process's environment as it is.
  std::optional<std::vector<std::string>> env;
  Stream in = Stream::inherit;  // inherit or null
  Stream out = Stream::inherit;
  Stream err = Stream::inherit;
  std::string err_path;  // for err == append_file
  // run(): at most this many bytes of each captured stream are kept (the rest is read and
  // dropped, so that the child never blocks on a full pipe). stdout keeps its first bytes,
  // stderr its last (where a failing program says why).
  std::size_t out_limit = std::numeric_limits<std::size_t>::max();
  std::size_t err_limit = std::numeric_limits<std::size_t>::max();
  // run(): ecsh ignores SIGINT and SIGQUIT while the child runs, as system() does (the child,
  // which has the terminal, decides what Ctrl-C means).
  bool ignore_interrupts = false;
  // run(): a child still running (or holding its captured streams open) this long after it
  // started is killed (SIGKILL) and reaped; Completed::timed_out says so. Nothing: no limit.
  std::optional<std::chrono::milliseconds> timeout;
};

struct Child {
  pid_t pid = -1;
  int error = 0;  // errno when the child could not be started (then pid is -1)
  UniqueFd out;   // the read ends of captured streams
  UniqueFd err;
};

struct Completed {
  int error = 0;       // errno when the child could not be started (then nothing else is set)
  int exit_code = -1;  // its exit status, or 128 + the signal that killed it
  std::string out;     // captured stdout (its first out_limit bytes)
  std::string err;     // captured stderr (its last err_limit bytes)
  bool out_cut = false, err_cut = false;  // more was written than was kept
  bool timed_out = false;                 // killed at Spec::timeout (exit_code 137)
};

// Starts the child and returns without waiting; the caller reaps it (wait_for).
Child spawn(const Spec& spec);

// Starts the child, reads what it captures until it closes those streams, and waits for it.
Completed run(const Spec& spec);

// Waits for a child (retrying on EINTR): its exit status, or 128 + the signal that killed it.
int wait_for(pid_t pid);

// This process's environment without the variables for which `drop(name)` is true.
std::vector<std::string> environment_without(const std::function<bool(std::string_view)>& drop);

}  // namespace ecsh::subprocess
