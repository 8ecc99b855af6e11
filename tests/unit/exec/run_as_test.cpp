// --user: the wrapper's user switch, run for real by the local /bin/sh with a PATH of fake tools
// (id, setpriv, runuser, su, busybox, chroot) that log how they were called and then run the
// command as the real ones would (without changing users); and the markers it prints, read back.

#include "ecsh/common/shlex.hpp"
#include "ecsh/exec/instance_command.hpp"
#include "ecsh/exec/remote_command.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace ecsh;
using namespace ecsh::exec;
namespace fs = std::filesystem;

namespace {

const std::string kNonce = "0123456789abcdef0123456789abcdef";

// What each fake does after logging its arguments: run the command it was given, or fail as a
// tool that cannot switch users does (busybox's setpriv has no --reuid).
const std::map<std::string, std::string> kFakes = {
    // `id USER`: the user app is UID 1234 (also found as "1234").
    {"id",
     "case \"$1\" in app|1234) echo 'uid=1234(app) gid=1235(appgroup) groups=1235(appgroup)';; "
     "*) echo \"id: '$1': no such user\" >&2; exit 1;; esac"},
    {"setpriv", "while [ \"$1\" != -- ]; do shift; done; shift; exec \"$@\""},
    {"runuser", "shift 2; [ \"$1\" = -- ] && shift; exec \"$@\""},
    // su -s SHELL -c CMD -- USER ARGS...: the shell runs CMD with ARGS as $0, $1...
    {"su", "sh=$2; c=$4; shift 6; exec \"$sh\" -c \"$c\" \"$@\""},
    {"busybox", "[ \"$1\" = su ] || exit 1; sh=$3; c=$5; shift 7; exec \"$sh\" -c \"$c\" \"$@\""},
    {"chroot", "shift 3; exec \"$@\""},
};

class RunAs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("ecsh-run-as-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir / "bin");
    // What the rest of the wrapper uses; nothing else from the system is on PATH.
    for (const char* tool : {"cat", "rm", "stty", "printf", "sh", "env"}) {
      for (const char* d : {"/usr/bin/", "/bin/"}) {
        if (fs::exists(std::string(d) + tool)) {
          fs::create_symlink(std::string(d) + tool, dir / "bin" / tool);
          break;
        }
      }
    }
  }
  void TearDown() override { fs::remove_all(dir); }

  // A fake tool; `fail_when` is a shell condition on its arguments ("$*") that makes it fail.
  void fake(const std::string& name, const std::string& fail_when = "false") {
    std::ofstream f(dir / "bin" / name);
    f << "#!/bin/sh\n";
    f << "echo \"" << name << " $*\" >>'" << (dir / "log").string() << "'\n";
    f << "if " << fail_when << "; then echo '" << name << ": cannot' >&2; exit 1; fi\n";
    f << kFakes.at(name) << "\n";
    f.close();
    fs::permissions(dir / "bin" / name, fs::perms::owner_all);
  }

  std::string log() {
    std::ifstream f(dir / "log");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  // The command as the agent splits it, run by /bin/sh with the fakes' PATH.
  std::string run(const std::string& command) {
    auto words = shlex::split(command);
    EXPECT_TRUE(words);
    EXPECT_EQ(words.value().size(), 3u);
    std::string out;
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(p[1], 1);
      ::dup2(p[1], 2);
      ::close(p[0]);
      int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      std::string path = "PATH=" + (dir / "bin").string();
      std::string tmp = "TMPDIR=" + dir.string();
      std::string home = "HOME=/root";
      char* env[] = {path.data(), tmp.data(), home.data(), nullptr};
      ::execle("/bin/sh", "sh", "-c", words.value()[2].c_str(), nullptr, env);
      ::_exit(127);
    }
    ::close(p[1]);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(p[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return out;
  }

  struct Outcome {
    std::string out, err;
    std::optional<int> status;
    std::optional<RunAsFailure> failure;
  };
  Outcome one_shot(const std::vector<std::string>& words, const std::string& user) {
    auto rc = wrap_one_shot(words, StdinMode::none, kNonce, user);
    OutputDemux demux(kNonce);
    auto c = demux.feed(run(rc.command));
    Outcome o;
    o.out = c.stdout_bytes;
    o.err = c.stderr_bytes;
    o.status = demux.exit_status();
    o.failure = demux.run_as_failure();
    return o;
  }

  void fake_all() {
    for (const auto& [name, body] : kFakes) fake(name);
  }

  fs::path dir;
};

const std::vector<std::string> kEnvWords = {"sh", "-c",
                                            "printf '%s %s %s' \"$HOME\" \"$USER\" \"$LOGNAME\""};

}  // namespace

TEST_F(RunAs, SetprivComesFirstWithTheUsersGroups) {
  fake_all();
  auto o = one_shot(kEnvWords, "app");
  EXPECT_EQ(o.status, 0) << o.out << o.err;
  // Not in /etc/passwd: HOME is "/", as docker exec -u does.
  EXPECT_EQ(o.out, "/ app app");
  EXPECT_EQ(log(),
            "id app\n"
            "setpriv --reuid=1234 --regid=1235 --init-groups -- /bin/sh -c :\n"
            "setpriv --reuid=1234 --regid=1235 --init-groups -- " +
                kEnvWords[0] + " " + kEnvWords[1] + " " + kEnvWords[2] + "\n");
}

TEST_F(RunAs, SetprivWithoutInitGroupsClearsThem) {
  fake_all();
  fake("setpriv", "case \"$*\" in *--init-groups*) true;; *) false;; esac");
  auto o = one_shot({"printf", "ran"}, "app");
  EXPECT_EQ(o.out, "ran");
  EXPECT_NE(log().find("setpriv --reuid=1234 --regid=1235 --clear-groups -- printf ran\n"),
            std::string::npos)
      << log();
}

TEST_F(RunAs, ASetprivThatCannotSwitchUsersFallsThroughToRunuser) {
  fake_all();
  fake("setpriv", "true");  // busybox's setpriv: no --reuid
  auto o = one_shot({"printf", "%s|", "-l", "two words", "it's"}, "1234");
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.out, "-l|two words|it's|");
  // The name from `id 1234`: runuser takes names.
  EXPECT_NE(log().find("runuser -u app -- printf %s| -l two words it's\n"), std::string::npos)
      << log();
}

TEST_F(RunAs, SuGetsTheCommandAsArgumentsNotAsShellText) {
  fake("id");
  fake("su");
  auto o = one_shot({"printf", "%s|", "-c", "$(echo no)", "it's", ""}, "app");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "-c|$(echo no)|it's||");
  EXPECT_NE(log().find("su -s /bin/sh -c exec \"$0\" \"$@\" -- app printf"), std::string::npos)
      << log();
}

TEST_F(RunAs, BusyboxSuWhenThereIsNoSu) {
  fake("id");
  fake("busybox");
  auto o = one_shot({"sh", "-c", "exit 9"}, "app");
  EXPECT_EQ(o.status, 9);
  EXPECT_NE(log().find("busybox su -s /bin/sh -c exec \"$0\" \"$@\" -- app sh -c exit 9\n"),
            std::string::npos)
      << log();
}

TEST_F(RunAs, ChrootLastWithTheUserspec) {
  fake("id");
  fake("runuser", "true");
  fake("chroot");
  auto o = one_shot({"printf", "ok"}, "app");
  EXPECT_EQ(o.out, "ok");
  EXPECT_NE(log().find("chroot --userspec=1234:1235 --skip-chdir / printf ok\n"), std::string::npos)
      << log();
}

TEST_F(RunAs, NoWayToSwitchRunsNothingAndSaysWhatFailed) {
  fake("id");
  fake("setpriv", "true");
  fake("su", "true");
  auto o = one_shot({"printf", "must not run"}, "app");
  ASSERT_TRUE(o.failure.has_value());
  EXPECT_EQ(o.failure->kind, RunAsFailure::Kind::no_tool);
  EXPECT_EQ(o.failure->failed_tools, "ps");
  EXPECT_FALSE(o.status.has_value());
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(log().find("must not run"), std::string::npos) << log();
  EXPECT_EQ(run_as_error(*o.failure, "app", "container app of task 1a2b").message,
            "cannot run as \"app\" in container app of task 1a2b: setpriv and su fail to switch "
            "to it, and the image has none of runuser, busybox su, chroot");

  fs::remove(dir / "bin" / "setpriv");
  fs::remove(dir / "bin" / "su");
  o = one_shot({"printf", "must not run"}, "app");
  ASSERT_TRUE(o.failure.has_value());
  EXPECT_EQ(o.failure->failed_tools, "");
  auto e = run_as_error(*o.failure, "app", "container app of task 1a2b");
  EXPECT_EQ(e.kind, ErrorKind::run_as);
  EXPECT_EQ(exit_code_for(e), 251);
  EXPECT_EQ(e.message,
            "cannot run as \"app\" in container app of task 1a2b: the image has none of setpriv, "
            "runuser, su, busybox su, chroot");
  EXPECT_TRUE(e.hint.empty());  // one line
}

TEST_F(RunAs, AnUnknownUserFailsBeforeAnyToolIsTried) {
  fake_all();
  auto o = one_shot({"printf", "must not run"}, "bob");
  ASSERT_TRUE(o.failure.has_value());
  EXPECT_EQ(o.failure->kind, RunAsFailure::Kind::unknown_user);
  EXPECT_EQ(log(), "id bob\n");
  auto e = run_as_error(*o.failure, "bob", "container app of task 1a2b");
  EXPECT_EQ(e.message,
            "user \"bob\" does not exist in container app of task 1a2b (id bob failed and "
            "/etc/passwd has no such user)");
  EXPECT_EQ(exit_code_for(e), 251);
}

TEST_F(RunAs, WithoutIdTheUserComesFromEtcPasswd) {
  std::ifstream passwd("/etc/passwd");
  std::string line, home;
  while (std::getline(passwd, line)) {
    if (line.rfind("nobody:", 0) == 0) {
      home = line.substr(line.rfind(':', line.rfind(':') - 1) + 1);
      home = home.substr(0, home.find(':'));
    }
  }
  if (home.empty()) GTEST_SKIP() << "no user nobody in /etc/passwd";
  fake("setpriv");
  auto o = one_shot(kEnvWords, "nobody");
  EXPECT_EQ(o.out, home + " nobody nobody") << o.err;
  EXPECT_NE(log().find("setpriv --reuid=65534 "), std::string::npos) << log();
  // A UID too, which busybox's id does not take.
  o = one_shot(kEnvWords, "65534");
  EXPECT_EQ(o.out, home + " nobody nobody") << o.err;
}

TEST_F(RunAs, TheInteractiveShellSaysTheSwitchWorkedThenBecomesTheShell) {
  fake_all();
  std::string out = run(interactive_shell_command("app", kNonce));
  EXPECT_EQ(out, kNonce + ":Uy:");
  // No bash on PATH: sh, in place of the wrapper.
  EXPECT_NE(log().find("setpriv --reuid=1234 --regid=1235 --init-groups -- sh\n"),
            std::string::npos)
      << log();
  RunAsGate gate(kNonce);
  EXPECT_EQ(gate.feed(out + "$ "), "$ ");
  EXPECT_TRUE(gate.open());

  out = run(interactive_shell_command("bob", kNonce));
  EXPECT_EQ(out, kNonce + ":Uu:");
}

TEST(RunAsUser, OnlyUserNamesAndUidsReachTheShell) {
  for (const char* good : {"app", "www-data", "_apt", "node", "Debian-exim", "john.doe", "machine$",
                           "0", "65534", "4294967294"}) {
    EXPECT_TRUE(check_user(good)) << good;
  }
  for (const char* bad :
       {"", "-l", ".x", "1abc", "a b", "a;b", "$(id)", "a'b", "a:b", "a/b", "\xc3\xa9t\xc3\xa9",
        "4294967295", "99999999999", "$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    auto r = check_user(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::usage);
  }
}

TEST(RunAsMarkers, TheDemuxStopsAtAFailureInAnyPieces) {
  std::string stream = "banner\r\n" + kNonce + ":Utpsc:";
  for (std::size_t piece : {1u, 2u, 5u, 100u}) {
    OutputDemux demux(kNonce);
    std::string out;
    for (std::size_t i = 0; i < stream.size(); i += piece) {
      out += demux.feed(stream.substr(i, piece)).stdout_bytes;
    }
    ASSERT_TRUE(demux.run_as_failure().has_value()) << piece;
    EXPECT_TRUE(demux.finished());
    EXPECT_FALSE(demux.started());
    EXPECT_EQ(demux.run_as_failure()->failed_tools, "psc");
    EXPECT_EQ(out, "");
  }
  // Not a failure: output that merely looks like one, once the command started.
  OutputDemux demux(kNonce);
  auto c = demux.feed(kNonce + ":S1b:" + "x" + kNonce + ":Uu:" + kNonce + ":X0:" + kNonce + ":E:");
  EXPECT_FALSE(demux.run_as_failure().has_value());
  EXPECT_EQ(demux.exit_status(), 0);
}

TEST(RunAsMarkers, TheGateHoldsOutputBackUntilTheMarker) {
  RunAsGate gate(kNonce);
  EXPECT_EQ(gate.feed("echoed" + kNonce.substr(0, 10)), "");
  EXPECT_EQ(gate.feed(kNonce.substr(10) + ":U"), "");
  EXPECT_EQ(gate.feed("y:prompt$ "), "echoedprompt$ ");
  EXPECT_EQ(gate.feed(kNonce + ":Uu:"), kNonce + ":Uu:");  // once open, all passes

  RunAsGate failed(kNonce);
  EXPECT_EQ(failed.feed(kNonce + ":Ut:"), "");
  ASSERT_TRUE(failed.failure().has_value());
  EXPECT_EQ(failed.failure()->kind, RunAsFailure::Kind::no_tool);

  RunAsGate ended(kNonce);
  EXPECT_EQ(ended.feed("sh: not found\r\n"), "");
  EXPECT_EQ(ended.flush(), "sh: not found\r\n");
}

TEST(RunAsInstance, OverSshDockerExecSwitchesUsers) {
  InstanceExec e;
  e.container_id = "aaaa1111";
  e.mode = InstanceExecMode::plain_command;
  e.words = {"id", "-u"};
  e.user = "app";
  EXPECT_EQ(exec_script(e), "exec docker exec -u 'app' 'aaaa1111' 'id' '-u' </dev/null");
  e.mode = InstanceExecMode::interactive;
  e.inner = "/bin/sh -c 'x'";
  e.user.clear();
  EXPECT_EQ(exec_script(e), "exec docker exec -it 'aaaa1111' /bin/sh -c 'x'");
}
