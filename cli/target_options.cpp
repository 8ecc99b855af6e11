#include "cli/target_options.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

namespace ecsh::cli {

void add_target_options(CLI::App& cmd, ecs::TargetSpec& spec) {
  cmd.add_option("-c,--cluster", spec.cluster, "Cluster name or ARN (or a unique prefix)");
  cmd.add_option("-s,--service", spec.service, "Service name (or a unique prefix)");
  cmd.add_option("-t,--task", spec.task, "Task ID or ARN (or a unique prefix)");
  cmd.add_option("-n,--container", spec.container, "Container name (or a unique prefix)");
}

exec::Picker terminal_picker() {
  // The interactive picker comes with the terminal layer; until then, several candidates are
  // listed and the user names one.
  return nullptr;
}

}  // namespace ecsh::cli
