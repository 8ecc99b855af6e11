// ecsh as `session-manager-plugin`: the official plugin's command line, so that
// `aws ecs execute-command` and `aws ssm start-session` use ecsh's session client. Unlike the
// official plugin, a session that fails ends with a non-zero exit status.

#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/connect/exec_session.hpp"
#include "ecsh/connect/session_ending.hpp"
#include "ecsh/forward/port_forward.hpp"
#include "ecsh/plugin/plugin_args.hpp"

#include <boost/asio/signal_set.hpp>

#include <fmt/format.h>

#include <unistd.h>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

namespace ecsh::cli {

namespace {

// argv[6] is where the AWS CLI sent its API calls. A real AWS endpoint of another service (the
// ECS one, for execute-command) is not where SSM lives, so only a custom endpoint (a sandbox,
// a proxy) is reused for ResumeSession and TerminateSession.
bool is_custom_endpoint(const std::string& url) {
  return !url.empty() && url.find(".amazonaws.com") == std::string::npos &&
         url.find(".amazonaws.com.cn") == std::string::npos;
}

// The AWS CLI's command line (the plugin's parent), NUL-separated in /proc.
std::vector<std::string> parent_command_line() {
  std::ifstream in("/proc/" + std::to_string(::getppid()) + "/cmdline", std::ios::binary);
  std::vector<std::string> argv;
  std::string arg;
  while (std::getline(in, arg, '\0')) argv.push_back(arg);
  return argv;
}

// The documents whose sessions forward ports (session type Port with LocalPortForwarding).
bool is_port_forwarding_document(const std::string& name) {
  return name == "AWS-StartPortForwardingSession" ||
         name == "AWS-StartPortForwardingSessionToRemoteHost";
}

// A Port session as the plugin runs one: the listener comes from the handshake's properties
// (localPortNumber, 0 for a free port, or localUnixSocket), with the plugin's messages. Ctrl-C
// ends it with exit 0, as the plugin does.
Awaitable<Result<int>> run_plugin_port_session(aws::AwsClient& client,
                                               connect::SessionTarget target,
                                               std::string ssm_target, connect::ExecSettings exec) {
  auto executor = co_await asio::this_coro::executor;
  forward::ForwardSettings settings;
  settings.exec = exec;
  settings.ssm_target = ssm_target;
  settings.say = [](const std::string& line) {
    fmt::print("{}\n", line);
    std::fflush(stdout);
  };
  settings.announce = settings.say;
  settings.listeners_from_properties = [executor](const forward::PortProperties& p)
      -> Result<std::vector<std::shared_ptr<forward::Listener>>> {
    forward::ListenSpec spec;
    if (p.local_connection_type == "unix" && !p.local_unix_socket.empty()) {
      spec.unix_path = p.local_unix_socket;
    } else {
      unsigned long port = 0;
      const auto& text = p.local_port_number;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
      if (!text.empty() &&
          (ec != std::errc() || end != text.data() + text.size() || port > 65535)) {
        return Error::usage("localPortNumber " + text + " is not a port");
      }
      spec.local_port = static_cast<std::uint16_t>(port);
    }
    std::vector<forward::ListenSpec> specs{spec};
    return forward::bind_listeners(executor, specs);
  };
  std::vector<std::shared_ptr<forward::Listener>> none;
  ECSH_CO_TRY(auto pf, co_await forward::PortForward::open(client, target, none, settings));
  asio::signal_set signals(executor, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([pf](boost::system::error_code ec, int) {
    if (!ec) pf->stop();
  });
  auto end = co_await pf->run();
  signals.cancel();
  std::string id = target.session_id;
  co_await connect::terminate_session(client, id);
  ECSH_CO_TRY(auto e, std::move(end));
  if (e.stopped) {
    fmt::print("\n\nExiting session with sessionId: {}.\n\n", id);
    co_return 0;
  }
  // The remote side ended the forward (the task stopped, or the session was terminated).
  if (auto ended = connect::service_ending(e.session)) co_return *ended;
  std::string why = e.session.output.empty() ? "" : ": " + e.session.output;
  Error err = Error::connection("the session was closed by the service" + why);
  co_return err;
}

// AWS-StartSSHSession (ssh's ProxyCommand): stdin and stdout are the connection to the port.
// Nothing else may be printed on stdout, which is ssh's protocol stream.
Awaitable<Result<int>> run_plugin_stdio_session(aws::AwsClient& client,
                                                connect::SessionTarget target,
                                                std::string ssm_target,
                                                connect::ExecSettings exec) {
  forward::ForwardSettings settings;
  settings.exec = exec;
  settings.ssm_target = ssm_target;
  auto end = co_await forward::run_stdio_port_session(client, target, settings, STDIN_FILENO,
                                                      STDOUT_FILENO);
  std::string id = target.session_id;
  co_await connect::terminate_session(client, id);
  ECSH_CO_TRY(auto e, std::move(end));
  if (auto ended = connect::service_ending(e.session)) co_return *ended;
  if (!e.session.output.empty()) {
    Error err = Error::connection("the session was closed by the service: " + e.session.output);
    co_return err;
  }
  co_return 0;
}

Awaitable<Result<int>> run_plugin_session(plugin::PluginSession s) {
  auto executor = co_await asio::this_coro::executor;
  GlobalOptions global;
  global.profile = s.profile;
  if (!s.region.empty()) global.regions = {s.region};
  if (is_custom_endpoint(s.endpoint_url)) global.endpoint_url = s.endpoint_url;
  auto parent_tls = plugin::tls_flags_of_aws_cli(parent_command_line());
  global.ca_bundle = parent_tls.ca_bundle;
  global.no_verify_ssl = parent_tls.no_verify_ssl;
  ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
  connect::SessionTarget target;
  target.session_id = s.session_id;
  target.stream_url = s.stream_url;
  target.token_value = s.token_value;
  log::add_secret(s.token_value);
  auto settings = exec_settings(*ctx, false);
  settings.plugin_messages = true;
  if (s.document_name != "AWS-StartSSHSession") {
    // Not for SSH: stdout is ssh's protocol stream (the plugin prints nothing there either).
    fmt::print("\nStarting session with SessionId: {}\n", s.session_id);
    std::fflush(stdout);
  }
  if (s.document_name == "AWS-StartSSHSession") {
    co_return co_await run_plugin_stdio_session(*ctx->client, target, s.target, settings);
  }
  if (is_port_forwarding_document(s.document_name)) {
    co_return co_await run_plugin_port_session(*ctx->client, target, s.target, settings);
  }
  co_return co_await connect::run_terminal_session(*ctx->client, target, s.target, settings);
}

}  // namespace

int plugin_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto invocation = plugin::parse_plugin_args(args, env);
  if (!invocation) {
    fmt::print(stderr, "{}\n", log::redact(invocation.error().describe()));
    return exit_code_for(invocation.error());
  }
  switch (invocation.value().kind) {
    case plugin::PluginInvocation::Kind::banner:
      fmt::print("{}", plugin::kPluginInstalledBanner);
      return 0;
    case plugin::PluginInvocation::Kind::version:
      fmt::print("{}\n", plugin::kPluginCompatibleVersion);
      return 0;
    case plugin::PluginInvocation::Kind::session:
      break;
  }
  if (std::getenv("ECSH_DEBUG")) log::set_debug(true);
  asio::io_context io;
  int exit_code = 255;
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        auto r = co_await run_plugin_session(invocation.value().session);
        if (r) {
          exit_code = r.value();
        } else {
          fmt::print(stderr, "\necsh: {}\n", log::redact(r.error().describe()));
          exit_code = exit_code_for(r.error());
        }
      },
      [&](std::exception_ptr ep) {
        if (!ep) return;
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          fmt::print(stderr, "ecsh: internal error: {}\n", log::redact(e.what()));
        }
      });
  io.run();
  return exit_code;
}

}  // namespace ecsh::cli
