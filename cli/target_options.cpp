#include "cli/target_options.hpp"

#include "ecsh/term/picker.hpp"
#include "ecsh/term/tty.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>
#include <cstdio>
#include <iostream>
#include <string>

namespace ecsh::cli {

void add_target_options(CLI::App& cmd, ecs::TargetSpec& spec) {
  cmd.add_option("-c,--cluster", spec.cluster, "Cluster name or ARN (or a unique prefix)");
  cmd.add_option("-s,--service", spec.service, "Service name (or a unique prefix)");
  cmd.add_option("-t,--task", spec.task, "Task ID or ARN (or a unique prefix)");
  cmd.add_option("-n,--container", spec.container, "Container name (or a unique prefix)");
}

ecs::Picker terminal_picker() {
  if (!term::is_tty(STDIN_FILENO) || !term::is_tty(STDERR_FILENO)) return nullptr;
  return [](const std::string& title,
            const std::vector<std::string>& items) -> Result<std::optional<std::size_t>> {
    term::PickerOptions options;
    options.color = term::color_allowed(true);
    return term::pick(title, items, options);
  };
}

bool confirm(const std::string& question) {
  if (!term::is_tty(STDIN_FILENO)) return false;
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace ecsh::cli
