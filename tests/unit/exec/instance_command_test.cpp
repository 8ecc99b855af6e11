// Method 2's remote shell text: parsed as an instance's pty delivers it, and run for real by the
// local /bin/sh against a fake `docker` that answers as the docker CLI does.

#include "ecsh/exec/instance_command.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace ecsh::exec;
namespace fs = std::filesystem;

namespace {

const char* kTask = "arn:aws:ecs:us-east-1:000000000000:task/prod/0123456789abcdef";

// A fake docker CLI: `ps -q` succeeds (or fails: no permission); `ps --filter label=…` prints
// the labelled container when both labels match; `ps --filter ancestor=…` prints two
// containers; `exec …` prints its arguments one per line.
class FakeDocker : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("ecsh-fake-docker-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  void write_docker(bool permitted, bool labelled, bool others_labelled = false) {
    std::ofstream f(dir / "docker");
    f << "#!/bin/sh\n";
    f << "if [ \"$1\" = exec ]; then shift; for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done; "
         "exit 0; fi\n";
    f << (permitted ? "" : "echo 'permission denied while trying to connect' >&2; exit 1\n");
    f << "if [ \"$2\" = -q ]; then "
      << (others_labelled ? "[ \"$3\" = --filter ] && echo other1; " : "") << "exit 0; fi\n";
    f << "fmt=''; labels=''; anc=''\n"
         "while [ $# -gt 0 ]; do case \"$1\" in\n"
         "  --format) fmt=$2; shift;;\n"
         "  --filter) case \"$2\" in label=*) labels=\"$labels ${2#label=}\";; "
         "ancestor=*) anc=${2#ancestor=};; esac; shift;;\n"
         "esac; shift; done\n"
         "line() { printf '%s\\n' \"$fmt\" | sed -e \"s/{{.ID}}/$1/\" -e \"s/{{.Names}}/$2/\" "
         "-e \"s/{{.Status}}/Up 5 minutes/\"; }\n";
    if (labelled) {
      f << "if [ -n \"$labels\" ]; then case \"$labels\" in *'" << kTask
        << "'*'container-name=app'*) line aaaa1111 ecs-api-1-app-x;; esac; exit 0; fi\n";
    } else {
      f << "[ -n \"$labels\" ] && exit 0\n";
    }
    f << "[ \"$anc\" = 'ecsh-test/busybox:1' ] && { line bbbb2222 one; line cccc3333 two; }\n";
    f << "exit 0\n";
    f.close();
    fs::permissions(dir / "docker", fs::perms::owner_all);
  }

  std::string run_sh(const std::string& script) {
    std::string out;
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(p[1], 1);
      ::close(p[0]);
      std::string path = "PATH=" + dir.string() + ":/usr/bin:/bin";
      char* env[] = {path.data(), nullptr};
      ::execle("/bin/sh", "sh", "-c", script.c_str(), nullptr, env);
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

  fs::path dir;
};

InstanceContainerQuery query() { return {kTask, "app", "ecsh-test/busybox:1"}; }

}  // namespace

TEST(ParseLookup, ToleratesAPtysCarriageReturnsAndBanners) {
  auto r = parse_lookup(
      "Last login: yesterday\r\nECSH-DOCKER sudo\r\nECSH-LABEL abc123\tecs-web-1-app-9\tUp 2 "
      "hours\r\nECSH-END\r\n");
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.docker_usable);
  EXPECT_TRUE(r.needs_sudo);
  ASSERT_EQ(r.candidates.size(), 1u);
  EXPECT_FALSE(r.by_image);
  EXPECT_EQ(r.candidates[0].id, "abc123");
  EXPECT_EQ(r.candidates[0].name, "ecs-web-1-app-9");
  EXPECT_EQ(r.candidates[0].status, "Up 2 hours");
}

TEST(ParseLookup, AnUnfinishedLookupIsNotComplete) {
  auto r = parse_lookup("ECSH-DOCKER plain\nECSH-LABEL abc\tn\tUp\n");
  EXPECT_FALSE(r.complete);
}

TEST_F(FakeDocker, LabelsPickTheTasksContainerEvenWhenTheImageIsShared) {
  write_docker(true, true);
  auto r = parse_lookup(run_sh(lookup_script(query())));
  ASSERT_TRUE(r.complete);
  EXPECT_TRUE(r.docker_usable);
  EXPECT_FALSE(r.needs_sudo);
  ASSERT_EQ(r.candidates.size(), 1u);
  EXPECT_EQ(r.candidates[0].id, "aaaa1111");
  EXPECT_FALSE(r.by_image);
}

TEST_F(FakeDocker, WithoutLabelsTheImageFilterGivesEveryCandidate) {
  write_docker(true, false);
  auto r = parse_lookup(run_sh(lookup_script(query())));
  ASSERT_TRUE(r.complete);
  EXPECT_TRUE(r.by_image);
  ASSERT_EQ(r.candidates.size(), 2u);
  EXPECT_EQ(r.candidates[0].id, "bbbb2222");
  EXPECT_EQ(r.candidates[1].name, "two");
}

TEST_F(FakeDocker, ADockerThatRefusesIsReportedWithItsMessage) {
  write_docker(false, true);
  auto r = parse_lookup(run_sh(lookup_script(query())));
  ASSERT_TRUE(r.complete);
  EXPECT_FALSE(r.docker_usable);
  EXPECT_NE(r.docker_problem.find("permission denied"), std::string::npos) << r.docker_problem;
  EXPECT_TRUE(r.candidates.empty());
}

TEST_F(FakeDocker, ExecKeepsEveryArgumentIntact) {
  write_docker(true, true);
  InstanceExec e;
  e.container_id = "aaaa1111";
  e.mode = InstanceExecMode::plain_command;
  e.words = {"printf", "%s|", "two words", "it's", "$HOME", ""};
  EXPECT_EQ(run_sh(exec_script(e)),
            "[aaaa1111]\n[printf]\n[%s|]\n[two words]\n[it's]\n[$HOME]\n[]\n");
  e.forward_stdin = true;
  EXPECT_EQ(run_sh(exec_script(e)).substr(0, 5), "[-i]\n");
}

TEST_F(FakeDocker, InteractiveAsksForATtyAndAShell) {
  write_docker(true, true);
  InstanceExec e;
  e.container_id = "aaaa1111";
  e.mode = InstanceExecMode::interactive;
  auto out = run_sh(exec_script(e));
  EXPECT_EQ(out.substr(0, 20), "[-it]\n[aaaa1111]\n[/b") << out;
  EXPECT_NE(out.find("exec bash"), std::string::npos);
}

TEST_F(FakeDocker, WhenOtherTasksAreLabelledTheImageIsNotAFallback) {
  write_docker(true, false, true);
  auto r = parse_lookup(run_sh(lookup_script(query())));
  ASSERT_TRUE(r.complete);
  EXPECT_TRUE(r.docker_usable);
  EXPECT_TRUE(r.candidates.empty());
}
