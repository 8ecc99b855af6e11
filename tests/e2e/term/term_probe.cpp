// A tiny program for the tmux tests of the terminal layer.
//   term_probe echo          raw mode on stdin; prints each byte read as "byte=N"; 'q' quits,
//                            'x' throws (caught in main: exit 3), '!' aborts
//   term_probe escape        raw mode + the escape filter; prints what would be sent and the
//                            actions; exits 0 on ~.
//   term_probe pick TITLE ITEM...   the picker; prints "chosen=ITEM" (exit 0) or "cancelled"
//                            (exit 1) on stdout, errors on stderr (exit 2)

#include "ecsh/term/escape.hpp"
#include "ecsh/term/picker.hpp"
#include "ecsh/term/raw_mode.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

void say(const std::string& s) {
  std::string_view v = s;
  while (!v.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, v.data(), v.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    v.remove_prefix(static_cast<std::size_t>(n));
  }
}

int read_byte() {
  unsigned char c = 0;
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 1) return c;
    if (n < 0 && errno == EINTR) continue;
    return -1;
  }
}

int run_echo() {
  auto guard = ecsh::term::RawModeGuard::enter(STDIN_FILENO);
  if (!guard) {
    std::fprintf(stderr, "%s\n", guard.error().describe().c_str());
    return 2;
  }
  say("pid=" + std::to_string(::getpid()) + " raw\r\n");
  for (;;) {
    const int c = read_byte();
    if (c < 0) return 4;
    say("byte=" + std::to_string(c) + "\r\n");
    if (c == 'q') return 0;
    if (c == 'x') throw std::runtime_error("thrown on request");
    if (c == '!') std::abort();
  }
}

int run_escape() {
  auto guard = ecsh::term::RawModeGuard::enter(STDIN_FILENO);
  if (!guard) return 2;
  say("escape ready\r\n");
  ecsh::term::EscapeFilter filter;
  for (;;) {
    char buf[64];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 4;
    const auto out = filter.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    if (!out.send.empty()) {
      std::string line = "sent=";
      for (char c : out.send) line += std::to_string(static_cast<unsigned char>(c)) + " ";
      say(line + "\r\n");
    }
    for (auto a : out.actions) {
      if (a == ecsh::term::EscapeAction::help) say("action=help\r\n");
      if (a == ecsh::term::EscapeAction::disconnect) {
        say("action=disconnect\r\n");
        return 0;
      }
    }
  }
}

int run_pick(int argc, char** argv) {
  if (argc < 3) return 2;
  std::vector<std::string> items(argv + 3, argv + argc);
  ecsh::term::PickerOptions opts;
  auto r = ecsh::term::pick(argv[2], items, opts);
  if (!r) {
    std::fprintf(stderr, "error: %s\n", r.error().describe().c_str());
    return 2;
  }
  if (!r.value()) {
    std::printf("cancelled\n");
    return 1;
  }
  std::printf("chosen=%s\n", items[*r.value()].c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "echo") return run_echo();
    if (mode == "escape") return run_escape();
    if (mode == "pick") return run_pick(argc, argv);
  } catch (const std::exception& e) {
    // The guard was destroyed while unwinding: the terminal is cooked again here.
    std::printf("caught: %s\n", e.what());
    return 3;
  }
  std::fprintf(stderr, "usage: term_probe echo|escape|pick TITLE ITEM...\n");
  return 2;
}
