#pragma once

// `ecsh cp` once the target is known (copy_spec.hpp decides; this runs it): every step is a
// one-shot command in the container with byte-exact stdout and forwarded stdin
// (lib/ecsh/exec/remote_command.hpp), so it works over ECS Exec and over Method 2 alike.
//
// - Regular files go as plain bytes (`cat` there), directories, and several sources at once
//   when the container has tar, as one tar stream (this machine's tar packs and unpacks).
// - Every file's SHA-256 is checked end to end: sha256sum in the container when it has one,
//   else the copy is read back and compared.
// - Destinations are written under a temporary name and renamed only when complete and
//   verified; a failure removes what was written. Modes and mtimes are kept.
// - A progress line on a terminal (stderr), a summary at the end.

#include "ecsh/common/asio.hpp"
#include "ecsh/copy/copy_spec.hpp"

#include <functional>
#include <string>
#include <vector>

namespace ecsh::copy {

// Runs `words` (no shell) in the container with stdin from `stdin_fd` (-1: none), stdout and
// stderr into the given descriptors; returns the command's exit status.
using RemoteRunner = std::function<Awaitable<Result<int>>(
    std::vector<std::string> words, int stdin_fd, int stdout_fd, int stderr_fd)>;

struct CopyOptions {
  bool recursive = false;
  bool no_clobber = false;
  bool progress = false;  // redraw a progress line on stderr (a terminal, not -q)
  bool quiet = false;     // no summary line
  int stdin_fd = 0;       // the local "-" source
  int stdout_fd = 1;      // the local "-" destination
  int stderr_fd = 2;
};

struct CopySummary {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  double seconds = 0;
  std::string method;  // "plain" or "tar", and how it was verified
};

Awaitable<Result<CopySummary>> run_copy(const CopyPlan& plan, const CopyOptions& options,
                                        RemoteRunner run);

// Removes the local temporary files of the copy under way (for a signal handler that ends the
// process: an interrupted copy leaves nothing here).
void remove_partial_copies();

// "12.5 MiB" and friends, for the progress line and the summary.
std::string human_bytes(std::uint64_t bytes);

}  // namespace ecsh::copy
