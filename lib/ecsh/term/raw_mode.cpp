#include "ecsh/term/raw_mode.hpp"

#include <termios.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ecsh::term {
namespace {

// Process-wide state read by the signal handlers: written only while no handler of ours is
// installed, or before g_active is set (release), read after g_active (acquire).
std::atomic<bool> g_active{false};
int g_fd = -1;
struct termios g_saved {};
struct termios g_raw {};

// Termination signals: restore, then chain to a program handler or die with the default.
constexpr std::array<int, 5> kTerminate = {SIGTERM, SIGHUP, SIGQUIT, SIGINT, SIGPIPE};
// Faults and abort: always restore first.
constexpr std::array<int, 5> kFault = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
constexpr int kMaxSignal = 65;

struct Slot {
  bool installed = false;
  struct sigaction previous {};
};
std::array<Slot, kMaxSignal> g_slots{};

int set_attr(int fd, const struct termios& t) {
  int rc = 0;
  do {
    rc = ::tcsetattr(fd, TCSANOW, &t);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

void restore_saved() {
  if (g_active.load(std::memory_order_acquire)) set_attr(g_fd, g_saved);
}

bool in_foreground() { return ::tcgetpgrp(g_fd) == ::getpgrp(); }

bool has_program_handler(const struct sigaction& sa) {
  if (sa.sa_flags & SA_SIGINFO) return sa.sa_sigaction != nullptr;
  return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}

void call_previous(int sig, siginfo_t* info, void* ctx) {
  const struct sigaction& p = g_slots[static_cast<std::size_t>(sig)].previous;
  if (p.sa_flags & SA_SIGINFO) {
    p.sa_sigaction(sig, info, ctx);
  } else {
    p.sa_handler(sig);
  }
}

// Deliver `sig` with its default action now (it is blocked while its handler runs).
void reraise_default(int sig) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

void on_terminate(int sig, siginfo_t* info, void* ctx) {
  const int saved_errno = errno;
  const Slot& slot = g_slots[static_cast<std::size_t>(sig)];
  if (has_program_handler(slot.previous)) {
    // The program shuts down on its own and the guard's destructor restores.
    call_previous(sig, info, ctx);
    errno = saved_errno;
    return;
  }
  restore_saved();
  g_active.store(false, std::memory_order_release);
  reraise_default(sig);
  errno = saved_errno;
}

void on_fault(int sig, siginfo_t* info, void* ctx) {
  const int saved_errno = errno;
  restore_saved();
  g_active.store(false, std::memory_order_release);
  const Slot& slot = g_slots[static_cast<std::size_t>(sig)];
  if (has_program_handler(slot.previous)) {
    call_previous(sig, info, ctx);
  } else {
    reraise_default(sig);
  }
  errno = saved_errno;
}

void on_tstp(int sig, siginfo_t* info, void* ctx) {
  const int saved_errno = errno;
  const Slot& slot = g_slots[static_cast<std::size_t>(sig)];
  if (has_program_handler(slot.previous)) {
    call_previous(sig, info, ctx);
    errno = saved_errno;
    return;
  }
  restore_saved();
  // Stop with the default action; execution resumes here after SIGCONT.
  struct sigaction ours {};
  ::sigaction(SIGTSTP, nullptr, &ours);
  reraise_default(SIGTSTP);
  ::sigaction(SIGTSTP, &ours, nullptr);
  if (g_active.load(std::memory_order_acquire) && in_foreground()) set_attr(g_fd, g_raw);
  errno = saved_errno;
}

void on_cont(int sig, siginfo_t* info, void* ctx) {
  const int saved_errno = errno;
  // A background process that sets terminal attributes is stopped with SIGTTOU: only the
  // foreground takes the terminal back into raw mode (the next SIGCONT, from `fg`, does it).
  if (g_active.load(std::memory_order_acquire) && in_foreground()) set_attr(g_fd, g_raw);
  const Slot& slot = g_slots[static_cast<std::size_t>(sig)];
  if (has_program_handler(slot.previous)) call_previous(sig, info, ctx);
  errno = saved_errno;
}

void install(int sig, void (*handler)(int, siginfo_t*, void*), bool skip_if_ignored) {
  Slot& slot = g_slots[static_cast<std::size_t>(sig)];
  struct sigaction prev {};
  if (::sigaction(sig, nullptr, &prev) != 0) return;
  if (skip_if_ignored && !(prev.sa_flags & SA_SIGINFO) && prev.sa_handler == SIG_IGN) return;
  struct sigaction sa {};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  // Handlers that restore must not be interrupted by one another half-way.
  for (int s : kTerminate) sigaddset(&sa.sa_mask, s);
  sigaddset(&sa.sa_mask, SIGTSTP);
  sigaddset(&sa.sa_mask, SIGCONT);
  // A background process restoring the terminal would be stopped by SIGTTOU inside the
  // handler; with SIGTTOU blocked the change goes through.
  sigaddset(&sa.sa_mask, SIGTTOU);
  slot.previous = prev;
  slot.installed = true;
  ::sigaction(sig, &sa, nullptr);
}

template <class Fn>
void for_each_installed(Fn fn) {
  for (int s = 1; s < kMaxSignal; ++s) {
    if (g_slots[static_cast<std::size_t>(s)].installed) fn(s);
  }
}

void uninstall_all() {
  for_each_installed([](int sig) {
    Slot& slot = g_slots[static_cast<std::size_t>(sig)];
    struct sigaction cur {};
    // Leave alone a handler installed after ours (e.g. an asio::signal_set).
    if (::sigaction(sig, nullptr, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
        (cur.sa_sigaction == on_terminate || cur.sa_sigaction == on_fault ||
         cur.sa_sigaction == on_tstp || cur.sa_sigaction == on_cont)) {
      ::sigaction(sig, &slot.previous, nullptr);
    }
    slot.installed = false;
  });
}

void restore_at_exit() {
  restore_saved();
  g_active.store(false, std::memory_order_release);
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

bool raw_mode_active() noexcept { return g_active.load(std::memory_order_acquire); }

Result<RawModeGuard> RawModeGuard::enter(int fd) {
  if (g_active.load(std::memory_order_acquire)) {
    return Error::internal("terminal is already in raw mode (one RawModeGuard at a time)");
  }
  if (fd < 0 || ::isatty(fd) != 1) {
    return Error::usage("cannot enter raw mode: the input is not a terminal",
                        "run the interactive session from a terminal, or pass a command");
  }
  struct termios saved {};
  if (::tcgetattr(fd, &saved) != 0) {
    return Error::internal("cannot read the terminal settings: " + errno_text());
  }
  struct termios raw = saved;
  ::cfmakeraw(&raw);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;

  static bool atexit_registered = false;
  if (!atexit_registered) {
    std::atexit(restore_at_exit);
    atexit_registered = true;
  }

  g_fd = fd;
  g_saved = saved;
  g_raw = raw;
  g_active.store(true, std::memory_order_release);
  for (int s : kTerminate) install(s, on_terminate, /*skip_if_ignored=*/true);
  for (int s : kFault) install(s, on_fault, /*skip_if_ignored=*/false);
  install(SIGTSTP, on_tstp, /*skip_if_ignored=*/true);
  install(SIGCONT, on_cont, /*skip_if_ignored=*/false);

  if (set_attr(fd, raw) != 0) {
    const std::string why = errno_text();
    g_active.store(false, std::memory_order_release);
    uninstall_all();
    set_attr(fd, saved);
    return Error::internal("cannot put the terminal into raw mode: " + why);
  }
  RawModeGuard guard;
  guard.owns_ = true;
  return guard;
}

RawModeGuard::RawModeGuard(RawModeGuard&& other) noexcept : owns_(other.owns_) {
  other.owns_ = false;
}

RawModeGuard& RawModeGuard::operator=(RawModeGuard&& other) noexcept {
  if (this != &other) {
    restore();
    owns_ = other.owns_;
    other.owns_ = false;
  }
  return *this;
}

RawModeGuard::~RawModeGuard() { restore(); }

void RawModeGuard::restore() noexcept {
  if (!owns_) return;
  owns_ = false;
  // Restore before clearing the flag: a signal in between restores again, harmlessly.
  restore_saved();
  g_active.store(false, std::memory_order_release);
  uninstall_all();
}

}  // namespace ecsh::term
