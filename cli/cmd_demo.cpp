#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/doctor_run.hpp"
#include "cli/embedded_sandbox.hpp"
#include "ecsh/connect/exec_session.hpp"
#include "ecsh/term/tty.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdlib>

namespace ecsh::cli {

extern const char* const kDemoScenario;
namespace {

struct DemoOptions {
  bool interactive = false;
  bool realistic_pacing = true;
};

void step(int n, const std::string& title, const std::string& command) {
  fmt::print("\n\x1b[1mStep {}: {}\x1b[0m\n$ {}\n", n, title, command);
  std::fflush(stdout);
}

// Points every AWS call of this process at the sandbox, with its documented administrator key,
// whatever the user's own AWS configuration says.
void use_sandbox_environment() {
  for (const char* name :
       {"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE"}) {
    ::unsetenv(name);
  }
  ::setenv("AWS_ACCESS_KEY_ID", "AKIAECSHSANDBOXADMIN", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "ecsh-sandbox-secret", 1);
  ::setenv("AWS_CONFIG_FILE", "/dev/null", 1);
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
  ::setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
}

Awaitable<Result<int>> demo(const GlobalOptions& global, const DemoOptions& options) {
  auto executor = co_await asio::this_coro::executor;
  fmt::print("ecsh demo: the ECS Exec runbook, automated, against a local sandbox.\n");
  EmbeddedSandbox sandbox;
  ECSH_CO_TRY(sandbox.start(kDemoScenario, options.realistic_pacing));
  // Ctrl-C or a kill: stop the sandbox and remove its files before leaving.
  asio::signal_set signals(executor, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([&sandbox](boost::system::error_code ec, int signal) {
    if (ec) return;
    sandbox.stop();
    std::_Exit(128 + signal);
  });
  fmt::print(
      "Sandbox: {} (cluster demo, service web; exec disabled, task role without "
      "ssmmessages)\n",
      sandbox.url());
  use_sandbox_environment();
  GlobalOptions g = global;
  g.endpoint_url = sandbox.url();
  g.regions = {"us-east-1"};
  g.profile.clear();
  ECSH_CO_TRY(auto ctx, make_aws_context(executor, g));
  auto& client = *ctx->client;
  ecs::TargetSpec target;
  target.cluster = "demo";
  target.service = "web";

  // The sandbox starts the service's task; wait until it runs, as a real service would be.
  {
    asio::steady_timer pause(executor);
    for (int i = 0; i < 200; ++i) {
      std::vector<std::string> names{"web"};
      std::string cluster = "demo";
      auto services = co_await ecs::describe_services(client, cluster, names);
      if (services && !services.value().empty() && services.value().front().running_count >= 1)
        break;
      pause.expires_after(std::chrono::milliseconds(50));
      co_await pause.async_wait(use_awaitable_nothrow);
    }
  }

  step(1, "find out why ECS Exec does not work", "ecsh doctor -c demo -s web");
  ECSH_CO_TRY(auto before, co_await run_doctor(client, target));
  print_doctor_text(before);

  step(2, "fix it: task role policy, exec flag, redeploy, verify",
       "ecsh enable -c demo -s web --yes");
  auto plan = enable::plan_enable(before.scope.service, before.facts, before.checks);
  print_plan(plan, before.facts);
  const auto progress = stdout_progress();
  const std::chrono::seconds rollout_timeout(120);
  ECSH_CO_TRY(co_await enable::apply_enable(client, before.facts, plan, rollout_timeout, progress));

  step(3, "check again", "ecsh doctor -c demo -s web");
  ECSH_CO_TRY(auto after, co_await run_doctor(client, target));
  print_doctor_text(after);
  if (!doctor::exec_ready(after.checks)) {
    Error e = Error::internal("the demo world still blocks exec after enable");
    co_return e;
  }

  step(4, "run a command inside the new task",
       "ecsh exec -c demo -s web -- sandbox-http-get http://localhost/");
  ECSH_CO_TRY(auto resolved, co_await ecs::resolve_target(client, target, nullptr));
  std::vector<std::string> words{"sandbox-http-get", "http://localhost/"};
  auto settings = exec_settings(*ctx, true);
  ECSH_CO_TRY(auto status,
              co_await connect::run_one_shot(client, resolved, words, false, settings));
  fmt::print("(exit status {})\n", status);

  if (options.interactive) {
    if (!term::stdin_is_tty()) {
      fmt::print("\n--interactive needs a terminal; skipped.\n");
    } else {
      step(5, "an interactive shell in the container (~. to leave)", "ecsh exec -c demo -s web");
      ECSH_CO_TRY(co_await connect::run_interactive(client, resolved, settings));
    }
  }
  fmt::print("\nDone. The sandbox is stopped and its files removed.\n");
  co_return status == 0 ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static DemoOptions options;
  auto* cmd = app.add_subcommand(
      "demo", "Replay the ECS Exec runbook against an embedded sandbox (no AWS account needed)");
  cmd->add_flag("-i,--interactive", options.interactive,
                "End with an interactive shell in the container (needs a terminal)");
  cmd->add_flag("!--no-pacing", options.realistic_pacing,
                "Let the sandbox's agent send as fast as it can");
  cmd->callback([&run, &global] { run = [&global]() { return demo(global, options); }; });
}

}  // namespace ecsh::cli
