// subprocess: what a child gets (argv as is, the environment asked for, no descriptor of ours
// beyond 0-2, default SIGINT/SIGQUIT/SIGPIPE and an empty mask) and what run() captures.

#include "ecsh/common/subprocess.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace ecsh;
using subprocess::Stream;

namespace {

subprocess::Completed run_captured(std::vector<std::string> argv) {
  subprocess::Spec spec;
  spec.argv = std::move(argv);
  spec.out = Stream::capture;
  spec.err = Stream::capture;
  return subprocess::run(spec);
}

// The mask of signals in a "SigBlk:"/"SigIgn:" line of the child's /proc/self/status.
unsigned long long status_mask(const std::string& status, const std::string& field) {
  auto at = status.find(field + ":");
  if (at == std::string::npos) return ~0ull;
  return std::strtoull(status.c_str() + at + field.size() + 1, nullptr, 16);
}

}  // namespace

TEST(Subprocess, CapturesStdoutStderrAndTheExitStatus) {
  auto r = run_captured({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.out_cut || r.err_cut);
}

TEST(Subprocess, AKillingSignalIs128PlusIt) {
  auto r = run_captured({"/bin/sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
}

TEST(Subprocess, AChildPastItsTimeoutIsKilledAndSaysSo) {
  subprocess::Spec spec;
  spec.argv = {"/bin/sh", "-c", "echo started; exec sleep 30"};
  spec.out = Stream::capture;
  spec.timeout = std::chrono::milliseconds(2000);
  auto r = subprocess::run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_EQ(r.out, "started\n");  // what it wrote before is kept

  // Without captured streams the child itself is still held to the deadline.
  spec.out = Stream::null;
  r = subprocess::run(spec);
  EXPECT_TRUE(r.timed_out);

  // One that ends in time is not touched.
  spec.argv = {"/bin/sh", "-c", "exit 4"};
  spec.timeout = std::chrono::seconds(20);
  r = subprocess::run(spec);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 4);
}

TEST(Subprocess, ArgvReachesTheProgramAsIsWithoutAShell) {
  auto r = run_captured({"printf", "%s|", "two words", "$HOME", "; echo injected", "`id`", "*"});
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.out, "two words|$HOME|; echo injected|`id`|*|");
}

TEST(Subprocess, AProgramThatDoesNotExistIsAnErrnoNotAnExitStatus) {
  auto r = run_captured({"ecsh-no-such-program-anywhere"});
  EXPECT_EQ(r.error, ENOENT);
  subprocess::Spec spec;
  spec.argv = {"printf", "x"};
  spec.search_path = false;  // no PATH lookup: "printf" is a relative path that is not here
  EXPECT_EQ(subprocess::run(spec).error, ENOENT);
}

TEST(Subprocess, NoDescriptorOfOursBeyondTheStandardOnesReachesTheChild) {
  // Not O_CLOEXEC on purpose: the child must not get it all the same.
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  int high = ::fcntl(fd, F_DUPFD, 57);  // F_DUPFD does not set FD_CLOEXEC
  ASSERT_GE(high, 57);
  subprocess::Spec spec;
  spec.argv = {"/bin/sh", "-c",
               "for n in 0 1 2 " + std::to_string(fd) + " " + std::to_string(high) +
                   "; do if [ -e /proc/$$/fd/$n ]; then echo open $n; "
                   "else echo closed $n; fi; done"};
  spec.in = Stream::null;
  spec.out = Stream::capture;
  spec.err = Stream::capture;
  auto r = subprocess::run(spec);
  ::close(high);
  ::close(fd);
  EXPECT_EQ(r.out, "open 0\nopen 1\nopen 2\nclosed " + std::to_string(fd) + "\nclosed " +
                       std::to_string(high) + "\n");
}

TEST(Subprocess, TheChildGetsDefaultSignalDispositionsAndAnEmptyMask) {
  struct sigaction ignore {
  }, old_pipe{}, old_int{}, old_quit{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old_pipe);
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGUSR1);
  ::sigprocmask(SIG_BLOCK, &block, &old_mask);

  auto r = run_captured({"cat", "/proc/self/status"});

  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto bit = [](int sig) { return 1ull << (sig - 1); };
  EXPECT_EQ(status_mask(r.out, "SigBlk"), 0ull) << r.out;
  const auto ignored = status_mask(r.out, "SigIgn");
  EXPECT_EQ(ignored & (bit(SIGPIPE) | bit(SIGINT) | bit(SIGQUIT)), 0ull) << r.out;
}

TEST(Subprocess, IgnoringInterruptsLastsOnlyWhileTheChildRuns) {
  struct sigaction before {};
  ::sigaction(SIGINT, nullptr, &before);
  subprocess::Spec spec;
  spec.argv = {"/bin/sh", "-c", "grep -E '^SigIgn' /proc/$PPID/status"};
  spec.out = Stream::capture;
  spec.ignore_interrupts = true;
  auto r = subprocess::run(spec);
  // While the child ran, ecsh (its parent) ignored SIGINT and SIGQUIT.
  const auto ignored = status_mask(r.out, "SigIgn");
  EXPECT_NE(ignored & (1ull << (SIGINT - 1)), 0ull) << r.out;
  EXPECT_NE(ignored & (1ull << (SIGQUIT - 1)), 0ull) << r.out;
  struct sigaction after {};
  ::sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
}

TEST(Subprocess, TheEnvironmentIsTheOneGiven) {
  subprocess::Spec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = std::vector<std::string>{"ONLY=this", "AND=that"};
  spec.out = Stream::capture;
  EXPECT_EQ(subprocess::run(spec).out, "ONLY=this\nAND=that\n");

  ::setenv("ECSH_SUBPROCESS_TEST_KEEP", "kept", 1);
  ::setenv("ECSH_SUBPROCESS_TEST_DROP", "dropped", 1);
  spec.env = subprocess::environment_without(
      [](std::string_view name) { return name == "ECSH_SUBPROCESS_TEST_DROP"; });
  auto out = subprocess::run(spec).out;
  EXPECT_NE(out.find("ECSH_SUBPROCESS_TEST_KEEP=kept\n"), std::string::npos);
  EXPECT_EQ(out.find("ECSH_SUBPROCESS_TEST_DROP"), std::string::npos);
  spec.env.reset();  // this process's environment as it is
  EXPECT_NE(subprocess::run(spec).out.find("ECSH_SUBPROCESS_TEST_DROP=dropped\n"),
            std::string::npos);
  ::unsetenv("ECSH_SUBPROCESS_TEST_KEEP");
  ::unsetenv("ECSH_SUBPROCESS_TEST_DROP");
}

TEST(Subprocess, CapturedStreamsAreBoundedStdoutByItsHeadStderrByItsTail) {
  subprocess::Spec spec;
  // 200 KiB on each stream (more than a pipe holds: both must be drained as they come).
  spec.argv = {"/bin/sh", "-c",
               "echo first; head -c 204800 /dev/zero; echo first-err >&2; "
               "head -c 204800 /dev/zero >&2; echo the real reason >&2; exit 1"};
  spec.out = Stream::capture;
  spec.err = Stream::capture;
  spec.out_limit = 16;
  spec.err_limit = 32;
  auto r = subprocess::run(spec);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.size(), 16u);
  EXPECT_TRUE(r.out.starts_with("first\n"));
  EXPECT_EQ(r.err.size(), 32u);
  EXPECT_TRUE(r.err.ends_with("the real reason\n")) << r.err;
  EXPECT_TRUE(r.out_cut);
  EXPECT_TRUE(r.err_cut);
}

TEST(Subprocess, NullStreamsAndStderrAppendedToAFile) {
  auto dir =
      std::filesystem::temp_directory_path() / ("ecsh-subprocess-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto log = (dir / "child.log").string();
  std::ofstream(log) << "before\n";
  subprocess::Spec spec;
  spec.argv = {"/bin/sh", "-c", "cat; echo to-stdout; echo to-log >&2"};
  spec.in = Stream::null;
  spec.out = Stream::null;
  spec.err = Stream::append_file;
  spec.err_path = log;
  auto child = subprocess::spawn(spec);
  ASSERT_EQ(child.error, 0);
  EXPECT_EQ(child.out.fd, -1);
  EXPECT_EQ(subprocess::wait_for(child.pid), 0);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "before\nto-log\n");
  std::filesystem::remove_all(dir);
}

TEST(Subprocess, SpawnHandsOverTheCapturedStdout) {
  subprocess::Spec spec;
  spec.argv = {"/bin/echo", "listening on x"};
  spec.search_path = false;
  spec.out = Stream::capture;
  auto child = subprocess::spawn(spec);
  ASSERT_EQ(child.error, 0);
  char buf[64];
  ssize_t n = ::read(child.out.fd, buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "listening on x\n");
  EXPECT_EQ(subprocess::wait_for(child.pid), 0);
}
