// ecsh-sandbox: a local ECS/SSM/IAM world that real AWS clients accept (sandbox/README.md).

#include "ecsh/common/tcp_or_tls_stream.hpp"
#include "sandbox/core/dispatcher.hpp"
#include "sandbox/core/sandbox.hpp"
#include "sandbox/core/server.hpp"
#include "sandbox/core/tls.hpp"
#include "sandbox/ec2/ec2_module.hpp"
#include "sandbox/ecs/ecs_module.hpp"
#include "sandbox/iam/iam_module.hpp"
#include "sandbox/kms/kms_module.hpp"
#include "sandbox/logs/logs_module.hpp"
#include "sandbox/runtime/builtins.hpp"
#include "sandbox/runtime/docker_runtime.hpp"
#include "sandbox/runtime/process_runtime.hpp"
#include "sandbox/ssm/agent_gateway.hpp"
#include "sandbox/ssm/data_channel_server.hpp"
#include "sandbox/ssm/ssm_module.hpp"

#include "ecsh/common/asio.hpp"

#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>

#include <sys/prctl.h>
#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

namespace {
constexpr const char* kDefaultContainerPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}  // namespace

int main(int argc, char** argv) {
  if (auto rc = ecsh::sandbox::runtime::dispatch_builtin(argc, argv)) return *rc;
  CLI::App app{"ecsh-sandbox: a local ECS/SSM/IAM world that real AWS clients accept"};
  std::string listen = "127.0.0.1:0";
  std::string state_dir;
  std::string scenario;
  std::string runtime = "process";
  std::string docker_host;
  std::string pacing = "realistic";
  bool exit_with_parent = false;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0 picks a free port)");
  app.add_option("--state-dir", state_dir, "where the world is kept between runs")->required();
  app.add_option("--scenario", scenario, "JSON scenario applied when the state dir is new");
  app.add_option("--runtime", runtime, "how tasks run")
      ->check(CLI::IsMember({"process", "docker"}));
  app.add_option("--docker-host", docker_host, "Docker Engine socket for --runtime docker");
  app.add_option("--agent-pacing", pacing, "agent timing")
      ->check(CLI::IsMember({"realistic", "none"}));
  std::string agent_io = "pty";
  app.add_option("--agent-io", agent_io,
                 "pty (as ECS Exec), or pipes to benchmark a client without a pty in the way")
      ->check(CLI::IsMember({"pty", "pipes"}));
  int idle_timeout_s = 20 * 60;
  app.add_option("--session-idle-timeout", idle_timeout_s,
                 "Seconds without input after which a session ends (Session Manager's idle "
                 "session timeout)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  double connection_max_age_s = 0;
  app.add_option("--connection-max-age", connection_max_age_s,
                 "Seconds after which the service closes a data channel's WebSocket with close "
                 "1000 \"Bye\", as AWS does about hourly; the client must resume (0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  int api_latency_ms = 0;
  app.add_option("--api-latency", api_latency_ms,
                 "Milliseconds every API answer is delayed, as a distant region's are (for "
                 "benchmarks; 0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  double max_session_duration_s = 0;
  app.add_option("--session-max-duration", max_session_duration_s,
                 "Seconds after which every session ends, as Session Manager's maximum session "
                 "duration preference (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  std::vector<std::string> vpc_hosts;
  app.add_option("--vpc-host", vpc_hosts,
                 "NAME=ADDRESS: a host of the tasks' VPC, which port forwarding to a remote host "
                 "reaches at ADDRESS from the sandbox's network (repeatable)");
  bool explain_exec_failures = false;
  app.add_flag("--explain-exec-failures", explain_exec_failures,
               "Kinder than AWS (for ecsh demo): a stopped exec agent with the reason, instead of "
               "AWS's RUNNING agent and opaque TargetNotConnectedException");
  bool tls = false;
  std::string tls_cert;
  std::string tls_key;
  auto* tls_flag = app.add_flag(
      "--tls", tls,
      "Serve HTTPS and wss:// with a CA and certificate made into the state dir (for localhost, "
      "127.0.0.1 and ::1); the CA's path is the second line of stdout");
  auto* cert_opt = app.add_option("--tls-cert", tls_cert,
                                  "Serve HTTPS with this PEM certificate chain (with --tls-key)");
  auto* key_opt = app.add_option("--tls-key", tls_key, "The PEM private key of --tls-cert");
  cert_opt->needs(key_opt)->excludes(tls_flag);
  key_opt->needs(cert_opt)->excludes(tls_flag);
  std::string agent_binaries;
  app.add_option("--agent-binaries", agent_binaries,
                 "Run the real SSM agent built from its source (amazon-ssm-agent, "
                 "ssm-agent-worker, ssm-session-worker in DIR) in exec-enabled containers, "
                 "instead of the built-in one (docs/real-agent.md)");
  app.add_flag("--exit-with-parent", exit_with_parent,
               "Stop when the process that started the sandbox dies (used by ecsh demo)");
  CLI11_PARSE(app, argc, argv);
  if (exit_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() == 1) return 0;  // the parent is already gone
  }

  ecsh::sandbox::SandboxOptions options;
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "ecsh-sandbox: --listen wants HOST:PORT, e.g. 127.0.0.1:0\n");
    return 2;
  }
  options.host = listen.substr(0, colon);
  try {
    options.port = static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)));
  } catch (const std::exception&) {
    std::fprintf(stderr, "ecsh-sandbox: --listen wants HOST:PORT, e.g. 127.0.0.1:0\n");
    return 2;
  }
  options.state_dir = state_dir;
  options.scenario_file = scenario;

  namespace sb = ecsh::sandbox;
  ecsh::asio::io_context io;
  sb::Sandbox sandbox(io, options);
  sb::runtime::ProcessRuntime process_runtime(io.get_executor());
  std::unique_ptr<sb::runtime::DockerRuntime> docker_runtime;
  sb::runtime::TaskRuntime* task_runtime = &process_runtime;
  if (runtime == "docker") {
    sb::runtime::DockerRuntimeOptions docker_options;
    docker_options.docker_host = docker_host;
    if (docker_options.docker_host.empty()) {
      const char* env = std::getenv("DOCKER_HOST");
      docker_options.docker_host = env && *env ? env : "unix:///var/run/docker.sock";
    }
    docker_runtime = std::make_unique<sb::runtime::DockerRuntime>(process_runtime, docker_options);
    if (auto ok = docker_runtime->check_engine(); !ok) {
      std::fprintf(stderr,
                   "ecsh-sandbox: --runtime docker: %s\nStart a Docker Engine, or give its "
                   "socket with --docker-host unix:///path/docker.sock.\n",
                   ok.error().message.c_str());
      return 1;
    }
    task_runtime = docker_runtime.get();
  }
  sb::ssm::SessionRegistry sessions;
  // The built-in tools on the containers' PATH (the image is the host filesystem).
  const std::string tools_path = sb::runtime::install_builtin_links(state_dir + "/bin");
  const std::string container_path = tools_path.empty() ? std::string(kDefaultContainerPath)
                                                        : tools_path + ":" + kDefaultContainerPath;

  auto kms = sb::kms::make_kms_module();
  auto logs = sb::logs::make_logs_module();
  auto* logs_view = logs.get();
  sb::ssm::DataChannelServer::Options channel_options;
  channel_options.realistic_pacing = pacing == "realistic";
  channel_options.pipes = agent_io == "pipes";
  channel_options.idle_timeout = std::chrono::seconds(idle_timeout_s);
  auto millis = [](double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  };
  channel_options.connection_max_age = millis(connection_max_age_s);
  channel_options.max_session_duration = millis(max_session_duration_s);
  std::map<std::string, std::string> vpc_host_table;
  for (const auto& entry : vpc_hosts) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
      std::fprintf(stderr,
                   "ecsh-sandbox: --vpc-host wants NAME=ADDRESS, e.g. db.internal=127.0.0.1\n");
      return 2;
    }
    vpc_host_table[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  channel_options.dial =
      sb::ssm::make_task_dialer(io.get_executor(), *task_runtime, std::move(vpc_host_table));
  sb::ssm::DataChannelServer data_channel(
      io.get_executor(), sessions,
      [&process_runtime, task_runtime, &docker_runtime](const sb::ssm::SessionRecord& s,
                                                        const std::vector<std::string>& argv,
                                                        const sb::runtime::ExecOptions& o) {
        sb::runtime::ExecOptions with_path = o;
        if (s.host) {
          // The instance's shell: the host, with the engine's CLI and socket when there is one.
          with_path.env = docker_runtime ? docker_runtime->cli_environment()
                                         : sb::runtime::EnvList{{"PATH", kDefaultContainerPath}};
          if (const char* home = std::getenv("HOME")) with_path.env.emplace_back("HOME", home);
          return process_runtime.exec_host(argv, with_path);
        }
        // The container's own environment (PATH included) is the session's, as the agent in
        // the container has it.
        return task_runtime->exec(s.task_id, s.container, argv, with_path);
      },
      kms.get(), logs.get(), channel_options);
  // --agent-binaries: the real agent in each exec-enabled container, the sandbox its gateway.
  std::unique_ptr<sb::ssm::AgentGateway> gateway;
  if (!agent_binaries.empty()) {
    if (runtime == "docker") {
      std::fprintf(stderr, "ecsh-sandbox: --agent-binaries works with --runtime process only\n");
      return 2;
    }
    if (auto ok = sb::ssm::AgentGateway::check_binaries(agent_binaries); !ok) {
      std::fprintf(stderr, "ecsh-sandbox: %s\n", ok.error().describe().c_str());
      return 2;
    }
    // The agent speaks https/wss only: it trusts the sandbox's CA (made here even without --tls).
    auto agent_tls = sb::ensure_tls_files(std::filesystem::path(state_dir) / "tls");
    if (!agent_tls) {
      std::fprintf(stderr, "ecsh-sandbox: %s\n", agent_tls.error().describe().c_str());
      return 1;
    }
    auto agent_context = sb::make_tls_server_context(agent_tls.value());
    if (!agent_context) {
      std::fprintf(stderr, "ecsh-sandbox: %s\n", agent_context.error().describe().c_str());
      return 1;
    }
    sb::ssm::AgentGateway::Options g;
    g.binaries_dir = std::filesystem::absolute(agent_binaries).string();
    g.work_dir = std::filesystem::absolute(std::filesystem::path(state_dir) / "exec-agents");
    g.ca_pem = agent_tls.value().ca.string();
    g.tls = agent_context.value();
    g.api = [&sandbox](const ecsh::aws::HttpRequest& r) { return sandbox.dispatcher().handle(r); };
    g.credentials = [&sandbox](const std::string& role,
                               const std::string& name) -> ecsh::Result<sb::ssm::AgentCredentials> {
      auto c = sandbox.iam().issue_role_session(role, name, std::chrono::hours(6));
      if (!c) return ecsh::Error::internal(c.error().message);
      sb::ssm::AgentCredentials out;
      out.access_key_id = c.value().access_key_id;
      out.secret_access_key = c.value().secret_access_key;
      out.session_token = c.value().session_token;
      out.expiration = c.value().expiration;
      return out;
    };
    gateway = std::make_unique<sb::ssm::AgentGateway>(io.get_executor(), sessions, *task_runtime,
                                                      std::move(g));
    data_channel.set_gateway(gateway.get());
    sessions.on_create([&gateway](sb::ssm::SessionRecord& r) { gateway->on_session_created(r); });
    sandbox.dispatcher().set_channel_handler(
        [&gateway](const ecsh::aws::HttpRequest& r, const sb::RequestContext& ctx) {
          const bool control = r.path.starts_with("/v1/control-channel/");
          auto allowed = ctx.authorize(
              control ? "ssmmessages:CreateControlChannel" : "ssmmessages:CreateDataChannel", "*");
          if (!allowed) {
            ecsh::aws::HttpResponse denied;
            denied.status = 403;
            denied.body = "<AccessDeniedException><Message>" + allowed.error().message +
                          "</Message></AccessDeniedException>";
            return denied;
          }
          return gateway->create_channel(r);
        });
  }
  sessions.on_terminate([&data_channel, &gateway](const std::string& id) {
    data_channel.terminate(id);
    if (gateway) gateway->terminate(id);
  });
  auto upgrade = [&data_channel, &gateway](ecsh::TcpOrTlsStream stream, sb::BeastRequest request) {
    if (gateway && std::string_view(request.target()).starts_with("/v1/control-channel/")) {
      gateway->accept_control_channel(std::move(stream), std::move(request));
    } else {
      data_channel.accept(std::move(stream), std::move(request));
    }
  };
  sandbox.server().set_websocket_handler(upgrade);
  sandbox.server().set_response_delay(std::chrono::milliseconds(api_latency_ms));
  if (gateway) gateway->set_websocket_handler(upgrade);
  sandbox.on_faults([&data_channel, &gateway](const boost::json::object& body) {
    sb::ssm::ChannelFaults f;
    if (auto* dc = body.if_contains("data_channel"); dc && dc->is_object()) {
      const auto& o = dc->as_object();
      auto num = [&o](const char* key, double fallback) {
        auto* v = o.if_contains(key);
        return v && v->is_number() ? v->to_number<double>() : fallback;
      };
      f.drop_link_every_frames = static_cast<int>(num("drop_link_every_frames", 0));
      f.max_link_drops = static_cast<int>(num("max_link_drops", 0));
      f.duplicate_rate = num("duplicate_rate", 0);
      f.corrupt_rate = num("corrupt_rate", 0);
      f.reorder_rate = num("reorder_rate", 0);
      f.stall_ms = static_cast<int>(num("stall_ms", 0));
      f.seed = static_cast<std::uint32_t>(num("seed", 1));
      f.silent_drop_after_frames = static_cast<int>(num("silent_drop_after_frames", 0));
      f.max_silent_drops = static_cast<int>(num("max_silent_drops", 1));
      f.force_reconnect_rate = num("force_reconnect_rate", 0);
      f.max_forced_reconnects = static_cast<int>(num("max_forced_reconnects", 16));
      if (auto* bye = o.if_contains("bye_after_first_output"); bye && bye->is_bool()) {
        f.bye_after_first_output = bye->as_bool();
      }
    }
    data_channel.set_faults(f);
    if (gateway) gateway->set_link_drops(f.drop_link_every_frames, f.max_link_drops);
  });

  sandbox.add_module(sb::ec2::make_ec2_module());
  sandbox.add_module(std::move(kms));
  sandbox.add_module(std::move(logs));
  sb::ecs::EcsOptions ecs_options;
  ecs_options.container_path = container_path;
  ecs_options.log_dir = state_dir + "/logs";
  ecs_options.explain_exec_failures = explain_exec_failures;
  ecs_options.logs = logs_view;
  if (gateway) {
    auto* g = gateway.get();
    ecs_options.external_agents.start = [g](const sb::ssm::ExternalAgentTarget& t) {
      g->start_agent(t);
    };
    ecs_options.external_agents.stop = [g](const std::string& task_id) { g->stop_task(task_id); };
    ecs_options.external_agents.connected = [g](const std::string& target) {
      return g->connected(target);
    };
  }
  std::filesystem::create_directories(ecs_options.log_dir);
  auto ecs = sb::ecs::make_ecs_module(*task_runtime, sessions, ecs_options);
  auto* ecs_view = ecs.get();
  sandbox.add_module(std::move(ecs));
  sandbox.add_module(sb::ssm::make_ssm_module(
      sessions, [ecs_view](const std::string& t) { return ecs_view->resolve_target(t); },
      [ecs_view] { return ecs_view->managed_instances(); },
      sb::ssm::SessionPreferences{
          std::chrono::seconds(idle_timeout_s),
          std::chrono::seconds(static_cast<long long>(std::ceil(max_session_duration_s)))}));
  sb::TlsFiles tls_files;
  if (tls || !tls_cert.empty()) {
    if (tls) {
      auto made = sb::ensure_tls_files(std::filesystem::path(state_dir) / "tls");
      if (!made) {
        std::fprintf(stderr, "ecsh-sandbox: %s\n", made.error().describe().c_str());
        return 1;
      }
      tls_files = made.value();
    } else {
      tls_files.cert = tls_cert;
      tls_files.key = tls_key;
    }
    auto context = sb::make_tls_server_context(tls_files);
    if (!context) {
      std::fprintf(stderr, "ecsh-sandbox: %s\n", context.error().describe().c_str());
      return 1;
    }
    sandbox.server().enable_tls(context.value());
  }
  auto port = sandbox.start();
  if (!port) {
    std::fprintf(stderr, "ecsh-sandbox: %s\n", port.error().describe().c_str());
    return 1;
  }
  const bool https = sandbox.server().tls();
  std::string shown_host =
      options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  std::printf("listening on %s://%s:%u\n", https ? "https" : "http", shown_host.c_str(),
              unsigned(port.value()));
  if (!tls_files.ca.empty()) {
    std::printf("ca bundle %s\n", std::filesystem::absolute(tls_files.ca).c_str());
  }
  std::fflush(stdout);

  ecsh::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    if (gateway) gateway->shutdown();
    data_channel.shutdown();
    sandbox.stop();
    if (docker_runtime) docker_runtime->shutdown();
    process_runtime.shutdown();
    io.stop();
  });
  io.run();
  return 0;
}
