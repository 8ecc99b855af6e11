#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/table.hpp"
#include "cli/target_options.hpp"
#include "ecsh/exec/remote_command.hpp"
#include "ecsh/fleet/runner.hpp"
#include "ecsh/term/tty.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <unistd.h>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace ecsh::cli {

namespace {

struct FleetRunOptions {
  std::string cluster;
  std::vector<std::string> services;
  std::string family;
  bool all_clusters = false;
  std::string container;
  int max_parallel = 32;
  double timeout_seconds = 0;
  bool group = false;
  std::string user;
  std::vector<std::string> command;
};

void write_emit(const fleet::Emit& e) {
  if (!e.out.empty()) term::write_all(STDOUT_FILENO, e.out);
  if (!e.err.empty()) term::write_all(STDERR_FILENO, e.err);
}

Awaitable<Result<int>> run_fleet_command(const GlobalOptions& global, const FleetRunOptions& o) {
  if (o.command.empty()) {
    Error e = Error::usage("nothing to run: give the command after --",
                           "For example: ecsh run -c CLUSTER -s SERVICE -- uname -a");
    co_return e;
  }
  if (o.all_clusters && !o.cluster.empty()) {
    Error e = Error::usage("-c/--cluster and --all-clusters cannot go together",
                           "Keep -c to run in one cluster, or --all-clusters for every cluster.");
    co_return e;
  }
  if (!o.user.empty()) {
    ECSH_CO_TRY(exec::check_user(o.user));
  }
  auto executor = co_await asio::this_coro::executor;
  ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
  auto& client = *ctx->client;
  const bool as_json = global.output == "json";

  fleet::Scope scope;
  scope.cluster = o.cluster;
  scope.all_clusters = o.all_clusters;
  scope.services = o.services;
  auto picker = terminal_picker();
  ECSH_CO_TRY(auto found, co_await fleet::find_tasks(client, scope, picker));
  fleet::Selection selection;
  selection.services = found.services;
  selection.family = o.family;
  selection.container = o.container;
  ECSH_CO_TRY(auto targets, fleet::plan(found.clusters, selection));

  std::vector<std::string> labels;
  for (const auto& t : targets) labels.push_back(t.label);
  fleet::OutputMux mux(o.group ? fleet::OutputMode::group : fleet::OutputMode::lines, labels);
  fleet::RunOptions run;
  run.max_parallel = o.max_parallel;
  run.timeout = std::chrono::milliseconds(std::llround(o.timeout_seconds * 1000));
  run.settings = exec_settings(*ctx, false);
  run.settings.user = o.user;
  run.keep_output = as_json;
  if (!as_json) {
    run.on_output = [&mux](std::size_t i, fleet::Stream s, std::string_view bytes) {
      write_emit(mux.feed(i, s, bytes));
    };
    run.on_finished = [&mux](std::size_t i, const fleet::TaskResult&) {
      write_emit(mux.finish(i));
    };
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto results = co_await fleet::run_all(client, targets, o.command, run);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (as_json) {
    fmt::print("{}\n", boost::json::serialize(fleet::to_json(o.command, targets, results, wall)));
  } else {
    fmt::print("\n");
    print_table(fleet::table_head(), fleet::table_rows(targets, results));
    fmt::print("{}\n", fleet::summary_line(results, wall));
  }
  std::fflush(stdout);
  co_return fleet::exit_status(results);
}

}  // namespace

void add_run_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static FleetRunOptions options;
  auto* cmd = app.add_subcommand(
      "run", "Run a command on every running task of a service or cluster at once");
  cmd->add_option("-c,--cluster", options.cluster, "Cluster name or ARN (or a unique prefix)");
  cmd->add_option("-s,--service", options.services,
                  "Service name or unique prefix (repeatable; default: every task of the cluster)");
  cmd->add_option("--family", options.family, "Only tasks of this task definition family");
  cmd->add_flag("--all-clusters", options.all_clusters, "Every cluster of the region");
  cmd->add_option("-n,--container", options.container,
                  "Container name (default: each task's application container)");
  cmd->add_option("--max-parallel", options.max_parallel, "Sessions at once")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--timeout", options.timeout_seconds,
                  "Seconds each task may take (0: no limit); a task past it is reported and closed")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("-u,--user", options.user,
                  "Run the command as this user (name or UID) in each container, not root");
  cmd->add_flag("--group", options.group,
                "Print each task's output all together when it finishes, not line by line");
  cmd->add_option("command", options.command, "The command and its arguments, after --");
  cmd->positionals_at_end();
  cmd->callback([&run, &global] {
    run = [&global]() -> Awaitable<Result<int>> {
      co_return co_await run_fleet_command(global, options);
    };
  });
}

}  // namespace ecsh::cli
