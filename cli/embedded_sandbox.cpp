#include "cli/embedded_sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

extern char** environ;

namespace ecsh::cli {

std::string sandbox_executable() {
  if (const char* env = std::getenv("ECSH_SANDBOX"); env && *env) return env;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "ecsh-sandbox";
  return (self.parent_path() / "ecsh-sandbox").string();
}

EmbeddedSandbox::~EmbeddedSandbox() { stop(); }

Result<void> EmbeddedSandbox::start(const std::string& scenario_json, bool realistic_pacing) {
  std::string exe = sandbox_executable();
  if (::access(exe.c_str(), X_OK) != 0) {
    return Error::config("cannot find ecsh-sandbox at " + exe,
                         "Build it (cmake --build build) or set ECSH_SANDBOX to its path.");
  }
  char tmpl[] = "/tmp/ecsh-demo-XXXXXX";
  if (!::mkdtemp(tmpl)) return Error::internal(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = tmpl;
  std::string scenario = dir_ + "/scenario.json";
  std::ofstream(scenario) << scenario_json;
  std::string state = dir_ + "/state";
  std::string log = dir_ + "/sandbox.log";

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error::internal("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<std::string> args{exe,
                                "--listen",
                                "127.0.0.1:0",
                                "--state-dir",
                                state,
                                "--scenario",
                                scenario,
                                "--agent-pacing",
                                realistic_pacing ? "realistic" : "none",
                                "--exit-with-parent"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The sandbox needs none of the user's AWS settings, and secrets never reach a child process.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("AWS_")) continue;
    env_strings.emplace_back(kv);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int rc = ::posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    pid_ = -1;
    return Error::internal("cannot start " + exe + ": " + std::strerror(rc));
  }
  // The first line is "listening on http://127.0.0.1:PORT".
  std::string line;
  pollfd p{out[0], POLLIN, 0};
  for (int waited = 0; line.find('\n') == std::string::npos && waited < 200; ++waited) {
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  const std::string prefix = "listening on ";
  if (!line.starts_with(prefix) || line.find('\n') == std::string::npos) {
    std::ifstream in(log);
    std::string why((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    stop();
    return Error::internal("the sandbox did not start" + (why.empty() ? "" : ": " + why));
  }
  url_ = line.substr(prefix.size(), line.find('\n') - prefix.size());
  return ok();
}

void EmbeddedSandbox::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      ::usleep(50 * 1000);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

}  // namespace ecsh::cli
