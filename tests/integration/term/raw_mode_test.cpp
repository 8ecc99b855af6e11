// RawModeGuard on a real pseudo-terminal: the flags it sets, and that every way out (scope end,
// exception, exit(), kill -TERM/-HUP/-INT/-QUIT, abort) puts the saved settings back. The
// signal cases run in a forked child; the parent reads the pty settings after the child died.

#include "ecsh/term/raw_mode.hpp"
#include "ecsh/term/tty.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <stdexcept>

namespace ecsh::term {
namespace {

class Pty : public ::testing::Test {
 protected:
  void SetUp() override {
    struct winsize ws {};
    ws.ws_col = 132;
    ws.ws_row = 43;
    ASSERT_EQ(::openpty(&master_, &slave_, nullptr, nullptr, &ws), 0);
    ASSERT_EQ(::tcgetattr(slave_, &cooked_), 0);
    // The cooked settings the guard must come back to.
    ASSERT_TRUE(cooked_.c_lflag & ICANON);
    ASSERT_TRUE(cooked_.c_lflag & ECHO);
  }
  void TearDown() override {
    ::close(master_);
    ::close(slave_);
  }
  struct termios now() const {
    struct termios t {};
    EXPECT_EQ(::tcgetattr(slave_, &t), 0);
    return t;
  }
  bool is_cooked() const {
    const struct termios t = now();
    return t.c_lflag == cooked_.c_lflag && t.c_iflag == cooked_.c_iflag &&
           t.c_oflag == cooked_.c_oflag && t.c_cflag == cooked_.c_cflag;
  }
  // Runs body in a child; returns its wait status.
  int in_child(const std::function<void()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      struct rlimit no_core {};
      ::setrlimit(RLIMIT_CORE, &no_core);  // SIGQUIT and SIGABRT would dump core
      body();
      ::_exit(0);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return status;
  }
  int master_ = -1;
  int slave_ = -1;
  struct termios cooked_ {};
};

TEST_F(Pty, EntersRealRawModeAndRestoresAtScopeEnd) {
  {
    auto g = RawModeGuard::enter(slave_);
    ASSERT_TRUE(g) << g.error().describe();
    EXPECT_TRUE(raw_mode_active());
    const struct termios t = now();
    EXPECT_FALSE(t.c_lflag & ICANON);
    EXPECT_FALSE(t.c_lflag & ECHO);
    EXPECT_FALSE(t.c_lflag & ISIG);  // Ctrl-C, Ctrl-Z, Ctrl-\ become bytes for the remote
    EXPECT_FALSE(t.c_lflag & IEXTEN);
    EXPECT_FALSE(t.c_iflag & IXON);
    EXPECT_FALSE(t.c_iflag & ICRNL);
    EXPECT_FALSE(t.c_iflag & ISTRIP);
    EXPECT_FALSE(t.c_oflag & OPOST);
    EXPECT_EQ(t.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
    EXPECT_EQ(t.c_cc[VMIN], 1);
    EXPECT_EQ(t.c_cc[VTIME], 0);
  }
  EXPECT_FALSE(raw_mode_active());
  EXPECT_TRUE(is_cooked());
}

TEST_F(Pty, ControlBytesArriveAsBytes) {
  auto g = RawModeGuard::enter(slave_);
  ASSERT_TRUE(g);
  ASSERT_EQ(::write(master_, "\x03\x1a\x1c\r", 4), 4);
  char buf[8] = {};
  ASSERT_EQ(::read(slave_, buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), std::string("\x03\x1a\x1c\r", 4));
}

TEST_F(Pty, RestoresWhenAnExceptionUnwinds) {
  try {
    auto g = RawModeGuard::enter(slave_);
    ASSERT_TRUE(g);
    ASSERT_FALSE(now().c_lflag & ICANON);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(is_cooked());
}

TEST_F(Pty, ExplicitRestoreAndMove) {
  auto g = RawModeGuard::enter(slave_);
  ASSERT_TRUE(g);
  RawModeGuard moved = std::move(g).value();
  EXPECT_TRUE(moved.active());
  EXPECT_FALSE(now().c_lflag & ICANON);
  moved.restore();
  EXPECT_FALSE(moved.active());
  EXPECT_TRUE(is_cooked());
  moved.restore();  // idempotent
  EXPECT_TRUE(is_cooked());
}

TEST_F(Pty, OneGuardAtATime) {
  auto g = RawModeGuard::enter(slave_);
  ASSERT_TRUE(g);
  auto second = RawModeGuard::enter(slave_);
  EXPECT_FALSE(second);
  g.value().restore();
  auto third = RawModeGuard::enter(slave_);
  EXPECT_TRUE(third);
}

TEST_F(Pty, NotATerminalIsAnError) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto g = RawModeGuard::enter(fds[0]);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().kind, ErrorKind::usage);
  EXPECT_FALSE(raw_mode_active());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(Pty, RestoresAtExit) {
  const int st = in_child([&] {
    auto g = RawModeGuard::enter(slave_);
    if (!g) ::_exit(10);
    std::exit(7);  // no unwinding: only the atexit hook can restore
  });
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 7);
  EXPECT_TRUE(is_cooked());
}

class PtySignal : public Pty, public ::testing::WithParamInterface<int> {};

TEST_P(PtySignal, RestoresAndDiesOfTheSignal) {
  const int sig = GetParam();
  const int st = in_child([&] {
    auto g = RawModeGuard::enter(slave_);
    if (!g) ::_exit(10);
    ::kill(::getpid(), sig);
    ::_exit(11);  // not reached: the default action kills
  });
  ASSERT_TRUE(WIFSIGNALED(st)) << "status " << st;
  EXPECT_EQ(WTERMSIG(st), sig);
  EXPECT_TRUE(is_cooked());
}

INSTANTIATE_TEST_SUITE_P(Fatal, PtySignal,
                         ::testing::Values(SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGABRT));

TEST_F(Pty, WithoutTheGuardTheChildLeavesRawMode) {
  // The check above can fail: a child that dies in raw mode without the guard's handlers.
  const int st = in_child([&] {
    auto g = RawModeGuard::enter(slave_);
    if (!g) ::_exit(10);
    ::signal(SIGTERM, SIG_DFL);
    ::kill(::getpid(), SIGTERM);
    ::_exit(11);
  });
  ASSERT_TRUE(WIFSIGNALED(st));
  EXPECT_FALSE(is_cooked());
  ASSERT_EQ(::tcsetattr(slave_, TCSANOW, &cooked_), 0);
}

void note_signal(int) {}

TEST_F(Pty, AProgramHandlerInstalledBeforeIsCalledInstead) {
  const int st = in_child([&] {
    ::signal(SIGTERM, note_signal);
    {
      auto g = RawModeGuard::enter(slave_);
      if (!g) ::_exit(10);
      ::kill(::getpid(), SIGTERM);  // the program's handler runs; the process lives on
      struct termios t {};
      ::tcgetattr(slave_, &t);
      if (t.c_lflag & ICANON) ::_exit(12);  // still raw until the guard goes
    }
    struct sigaction sa {};
    ::sigaction(SIGTERM, nullptr, &sa);
    ::_exit(sa.sa_handler == note_signal ? 0 : 13);  // the program's handler is back
  });
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_TRUE(is_cooked());
}

TEST_F(Pty, IgnoredSignalsStayIgnored) {
  const int st = in_child([&] {
    ::signal(SIGHUP, SIG_IGN);
    int code = 0;
    {
      auto g = RawModeGuard::enter(slave_);
      if (!g) ::_exit(10);
      ::kill(::getpid(), SIGHUP);  // survives, still raw
      struct termios t {};
      ::tcgetattr(slave_, &t);
      if (t.c_lflag & ICANON) code = 12;
    }
    ::_exit(code);
  });
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_TRUE(is_cooked());
}

TEST(Tty, PipesAndFilesAreNotTerminals) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(is_tty(fds[0]));
  EXPECT_EQ(stream_kind(fds[0]), StreamKind::pipe);
  EXPECT_EQ(query_window_size(fds[0]), std::nullopt);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(stream_kind(-1), StreamKind::closed);
  EXPECT_FALSE(is_tty(-1));
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(stream_kind(fileno(f)), StreamKind::file);
  std::fclose(f);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(null_fd, 0);
  EXPECT_EQ(stream_kind(null_fd), StreamKind::other);
  ::close(null_fd);
}

TEST_F(Pty, WindowSizeOfAPty) {
  EXPECT_TRUE(is_tty(slave_));
  EXPECT_EQ(stream_kind(slave_), StreamKind::tty);
  const auto s = query_window_size(slave_);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->cols, 132);
  EXPECT_EQ(s->rows, 43);
}

}  // namespace
}  // namespace ecsh::term
