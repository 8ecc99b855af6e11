#include "cli/command.hpp"

#include <CLI/CLI.hpp>

namespace ecsh::cli {

void add_whoami_command(CLI::App& app, const GlobalOptions&, CommandBody& run) {
  auto* cmd =
      app.add_subcommand("whoami", "Show the caller identity and where the credentials came from");
  cmd->callback([&run] {
    run = []() -> Task<Result<int>> {
      co_return Error::internal("whoami is not wired to the AWS client yet");
    };
  });
}

}  // namespace ecsh::cli
