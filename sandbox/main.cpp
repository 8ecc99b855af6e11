// ecsh-sandbox: a local ECS/SSM/IAM world that real AWS clients accept (sandbox/README.md).

#include "sandbox/core/sandbox.hpp"
#include "sandbox/ec2/ec2_module.hpp"
#include "sandbox/kms/kms_module.hpp"
#include "sandbox/logs/logs_module.hpp"

#include "ecsh/common/asio.hpp"

#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"ecsh-sandbox: a local ECS/SSM/IAM world that real AWS clients accept"};
  std::string listen = "127.0.0.1:0";
  std::string state_dir;
  std::string scenario;
  std::string runtime = "process";
  std::string docker_host;
  std::string pacing = "realistic";
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0 picks a free port)");
  app.add_option("--state-dir", state_dir, "where the world is kept between runs")->required();
  app.add_option("--scenario", scenario, "JSON scenario applied when the state dir is new");
  app.add_option("--runtime", runtime, "how tasks run")
      ->check(CLI::IsMember({"process", "docker"}));
  app.add_option("--docker-host", docker_host, "Docker Engine socket for --runtime docker");
  app.add_option("--agent-pacing", pacing, "agent timing")
      ->check(CLI::IsMember({"realistic", "none"}));
  CLI11_PARSE(app, argc, argv);

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

  ecsh::asio::io_context io;
  ecsh::sandbox::Sandbox sandbox(io, options);
  sandbox.add_module(ecsh::sandbox::ec2::make_ec2_module());
  sandbox.add_module(ecsh::sandbox::kms::make_kms_module());
  sandbox.add_module(ecsh::sandbox::logs::make_logs_module());
  auto port = sandbox.start();
  if (!port) {
    std::fprintf(stderr, "ecsh-sandbox: %s\n", port.error().describe().c_str());
    return 1;
  }
  std::printf("listening on http://%s:%u\n", options.host.c_str(), unsigned(port.value()));
  std::fflush(stdout);

  ecsh::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    sandbox.stop();
    io.stop();
  });
  io.run();
  return 0;
}
