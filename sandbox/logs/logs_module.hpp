#pragma once

// CloudWatch Logs of the sandbox: log groups and streams, and the session transcripts the agent
// writes when the cluster's exec configuration asks for CloudWatch logging.

#include "sandbox/api.hpp"

#include <memory>
#include <string>

namespace ecsh::sandbox::logs {

class LogsModule : public ServiceModule {
 public:
  virtual bool group_exists(std::string_view group) const = 0;
  // Appends one event (creating the stream); false when the group does not exist.
  virtual bool append(std::string_view group, std::string_view stream,
                      std::string_view message) = 0;
};

std::unique_ptr<LogsModule> make_logs_module();

}  // namespace ecsh::sandbox::logs
