#include "cli/command.hpp"
#include "ecsh/common/log.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace {

constexpr int kUsageExit = 252;

void print_error(const ecsh::Error& e) {
  fmt::print(stderr, "ecsh: {}\n", ecsh::log::redact(e.describe()));
}

}  // namespace

namespace ecsh::cli {
int plugin_main(int argc, char** argv);
}

int main(int argc, char** argv) {
  using namespace ecsh;
  // Installed as (or linked to) session-manager-plugin: behave as the official plugin does.
  if (argc > 0) {
    std::string_view self = argv[0];
    if (auto slash = self.rfind('/'); slash != std::string_view::npos)
      self.remove_prefix(slash + 1);
    if (self == "session-manager-plugin") return cli::plugin_main(argc, argv);
  }
  cli::GlobalOptions global;
  CLI::App app{"ecsh: get into any running Amazon ECS container, or learn exactly why you can't."};
  app.name("ecsh");
  app.set_version_flag("--version", std::string("ecsh ") + ECSH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  app.add_option("--profile", global.profile,
                 "Use this named profile from the AWS config files (default: AWS_PROFILE)");
  app.add_option("--region", global.regions,
                 "AWS region (default: from the environment/profile); `ls` takes several "
                 "(repeat the option)");
  app.add_flag("--all-regions", global.all_regions,
               "ls: every region enabled for the account (EC2 DescribeRegions)");
  app.add_option("--endpoint-url", global.endpoint_url, "Send every API call to this URL");
  app.add_option("--output", global.output, "Output format")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--no-verify-ssl", global.no_verify_ssl,
               "Do not verify TLS certificates (explicit only; never the default)");
  app.add_option("--ca-bundle", global.ca_bundle,
                 "PEM file of the CAs to trust for TLS (default: AWS_CA_BUNDLE, ca_bundle)");
  app.add_flag("--debug", global.debug, "Log requests and responses (secrets redacted)");
  app.add_flag("--no-color", global.no_color, "No colours (also when NO_COLOR is set)");
  app.add_flag("--no-diagnose", global.no_diagnose,
               "When ECS Exec refuses a session, do not run doctor's checks for the target");
  app.add_flag("-y,--yes", global.yes, "Assume yes to every question");

  cli::CommandBody run;
  cli::add_whoami_command(app, global, run);
  cli::add_demo_command(app, global, run);
  cli::add_doctor_command(app, global, run);
  cli::add_enable_command(app, global, run);
  cli::add_exec_command(app, global, run);
  cli::add_forward_command(app, global, run);
  cli::add_cp_command(app, global, run);
  cli::add_run_command(app, global, run);
  cli::add_ls_command(app, global, run);
  cli::add_logs_command(app, global, run);
  cli::add_why_command(app, global, run);
  cli::add_docker_command(app, global, run);
  cli::add_completion_command(app, global, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "ecsh: {}\nRun 'ecsh --help' for the commands and options.\n", e.what());
    return kUsageExit;
  }
  if (std::getenv("NO_COLOR")) global.no_color = true;
  log::set_debug(global.debug);
  if (!run) return kUsageExit;

  asio::io_context io;
  int exit_code = 255;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        auto result = co_await run();
        if (result) {
          exit_code = result.value();
        } else {
          print_error(result.error());
          exit_code = exit_code_for(result.error());
        }
      },
      [&](std::exception_ptr ep) {
        if (!ep) return;
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          fmt::print(stderr, "ecsh: internal error: {}\n", log::redact(e.what()));
          exit_code = 255;
        }
      });
  io.run();
  return exit_code;
}
