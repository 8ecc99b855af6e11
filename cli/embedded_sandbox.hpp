#pragma once

// The sandbox behind `ecsh demo`: ecsh-sandbox (installed next to ecsh) started on a free
// loopback port with a temporary state directory, and stopped, with its directory removed,
// when this object goes away, whatever happened in between.

#include "ecsh/common/error.hpp"

#include <sys/types.h>
#include <string>

namespace ecsh::cli {

class EmbeddedSandbox {
 public:
  EmbeddedSandbox() = default;
  ~EmbeddedSandbox();
  EmbeddedSandbox(const EmbeddedSandbox&) = delete;
  EmbeddedSandbox& operator=(const EmbeddedSandbox&) = delete;

  // Starts the sandbox with `scenario_json` loaded; returns once it answers.
  Result<void> start(const std::string& scenario_json, bool realistic_pacing);
  const std::string& url() const { return url_; }
  void stop();

 private:
  pid_t pid_ = -1;
  std::string dir_;
  std::string url_;
};

// ecsh-sandbox next to this executable, or $ECSH_SANDBOX.
std::string sandbox_executable();

}  // namespace ecsh::cli
