#include "cli/embedded_sandbox.hpp"

#include "ecsh/common/subprocess.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

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

  subprocess::Spec spec;
  spec.argv = {exe,
               "--listen",
               "127.0.0.1:0",
               "--state-dir",
               state,
               "--scenario",
               scenario,
               "--agent-pacing",
               realistic_pacing ? "realistic" : "none",
               "--exit-with-parent"};
  spec.search_path = false;
  spec.in = subprocess::Stream::null;
  spec.out = subprocess::Stream::capture;
  spec.err = subprocess::Stream::append_file;
  spec.err_path = log;
  // The sandbox needs none of the user's AWS settings, and secrets never reach a child process.
  spec.env = subprocess::environment_without(
      [](std::string_view name) { return name.starts_with("AWS_"); });
  auto child = subprocess::spawn(spec);
  if (child.error != 0) {
    pid_ = -1;
    return Error::internal("cannot start " + exe + ": " + std::strerror(child.error));
  }
  pid_ = child.pid;
  const int out = child.out.fd;
  // The first line is "listening on http://127.0.0.1:PORT".
  std::string line;
  pollfd p{out, POLLIN, 0};
  for (int waited = 0; line.find('\n') == std::string::npos && waited < 200; ++waited) {
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = ::read(out, buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  child.out.reset();
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
