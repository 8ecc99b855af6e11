#pragma once

// Real raw mode (cfmakeraw: no ICANON, ISIG, IXON, IEXTEN, ICRNL, OPOST, ECHO; 8-bit) on a
// terminal, undone on every way out of the process:
//  - normal return and exceptions: the destructor;
//  - exit(): an atexit hook;
//  - SIGTERM, SIGHUP, SIGQUIT, SIGINT, SIGPIPE (sent by kill: ISIG is off, so the keyboard no
//    longer makes them): the saved settings are put back and the signal is re-raised with its
//    default action, so the parent sees the real cause of death. If the program had its own
//    handler for one of these before the guard was made, that handler is called instead (the
//    program shuts down normally and the destructor restores); if the signal was ignored, it
//    stays ignored.
//  - SIGABRT (uncaught exception, std::terminate), SIGSEGV, SIGBUS, SIGFPE, SIGILL: restored,
//    then the previous handler or the default action.
//  - SIGTSTP (kill -TSTP): restored, the process stops; on SIGCONT (also after kill -STOP) raw
//    mode is entered again, when the process is in the terminal's foreground.
// One guard at a time per process (the state the signal handlers read is process-wide).

#include "ecsh/common/error.hpp"

namespace ecsh::term {

class RawModeGuard {
 public:
  // Errors: fd is not a terminal, its settings cannot be read or set, or a guard is already
  // active.
  static Result<RawModeGuard> enter(int fd);

  RawModeGuard(RawModeGuard&& other) noexcept;
  RawModeGuard& operator=(RawModeGuard&& other) noexcept;
  RawModeGuard(const RawModeGuard&) = delete;
  RawModeGuard& operator=(const RawModeGuard&) = delete;
  ~RawModeGuard();

  // Puts the saved settings back now (idempotent); the destructor then does nothing.
  void restore() noexcept;
  bool active() const noexcept { return owns_; }

 private:
  RawModeGuard() = default;
  bool owns_ = false;
};

// True while some RawModeGuard holds a terminal in raw mode.
bool raw_mode_active() noexcept;

}  // namespace ecsh::term
