#pragma once

// What every command file shares: the global options (named as in the AWS CLI) and the way a
// command hands main() the coroutine to run. Only cli/ knows CLI11 and exit codes.

#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ecsh::cli {

struct GlobalOptions {
  std::string profile;
  std::vector<std::string> regions;  // every --region given (ls spans them)
  bool all_regions = false;          // ls: every region enabled for the account
  std::string endpoint_url;
  std::string output = "text";  // text | json
  bool no_verify_ssl = false;
  std::string ca_bundle;
  bool debug = false;
  bool no_color = false;
  bool no_diagnose = false;  // no doctor findings under a refused session's error
  bool yes = false;

  // The region every command but `ls` uses: the first --region (empty: the environment's).
  std::string region() const { return regions.empty() ? std::string() : regions.front(); }
};

// A command's body: returns the process exit code, or an Error that main() prints and maps to
// the documented exit code.
using CommandBody = std::function<Awaitable<Result<int>>()>;

// Each command adds its subcommand to the app; when the user chose it, the command sets `run`.
void add_whoami_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_demo_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_doctor_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_enable_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_exec_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_forward_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_cp_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_run_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_ls_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_logs_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_why_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_docker_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);
void add_completion_command(CLI::App& app, const GlobalOptions& global, CommandBody& run);

}  // namespace ecsh::cli
