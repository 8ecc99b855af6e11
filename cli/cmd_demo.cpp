#include "cli/command.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace ecsh::cli {

void add_demo_command(CLI::App& app, const GlobalOptions&, CommandBody& run) {
  auto* cmd = app.add_subcommand(
      "demo", "Replay the ECS Exec runbook against an embedded sandbox (no AWS account needed)");
  cmd->callback([&run] {
    run = []() -> Task<Result<int>> {
      // The embedded sandbox (issue 3) and doctor/enable/exec (issues 4, 5) are not built yet.
      // Say what the demo will do rather than pretending to do it.
      fmt::print(
          "ecsh demo is not available in this build yet. When it is, it will:\n"
          "  1. start an embedded ECS/SSM/IAM sandbox on a free loopback port;\n"
          "  2. load the demo world: cluster 'demo', service 'web', exec disabled,\n"
          "     task role without the ssmmessages permissions;\n"
          "  3. run 'ecsh doctor' to show what blocks ECS Exec;\n"
          "  4. run 'ecsh enable' to attach the policy, enable exec and redeploy;\n"
          "  5. run 'ecsh exec -- curl http://localhost/' inside the new task.\n");
      co_return 0;
    };
  });
}

}  // namespace ecsh::cli
