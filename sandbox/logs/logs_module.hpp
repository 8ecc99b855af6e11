#pragma once

// CloudWatch Logs of the sandbox: log groups and streams; the session transcripts the agent
// writes when the cluster's exec configuration asks for CloudWatch logging; and what the awslogs
// log driver sends for containers (the ECS module appends their stdout/stderr line by line).

#include "sandbox/api.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace ecsh::sandbox::logs {

class LogsModule : public ServiceModule {
 public:
  virtual bool group_exists(std::string_view group) const = 0;
  // Creates the group if it does not exist (awslogs-create-group); false if the name is empty.
  virtual bool create_group(std::string_view group) = 0;
  // Creates the stream if it does not exist; false when the group does not exist.
  virtual bool create_stream(std::string_view group, std::string_view stream) = 0;
  // Appends one event (creating the stream); false when the group does not exist.
  virtual bool append(std::string_view group, std::string_view stream,
                      std::string_view message) = 0;
  // Appends one event stamped `timestamp_ms` without asking the core to persist the state at
  // once (a log driver's stream: persisted with the next change), creating the stream.
  virtual bool append_quietly(std::string_view group, std::string_view stream,
                              std::string_view message, std::int64_t timestamp_ms) = 0;
};

std::unique_ptr<LogsModule> make_logs_module();

}  // namespace ecsh::sandbox::logs
