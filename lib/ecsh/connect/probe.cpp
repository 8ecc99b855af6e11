#include "ecsh/connect/probe.hpp"

#include <chrono>

namespace ecsh::connect {

const std::vector<std::string>& probe_phase_names() {
  static const std::vector<std::string> names{"ExecuteCommand", "WebSocket open", "handshake",
                                              "first output", "exit status"};
  return names;
}

Awaitable<ProbeReport> probe_exec(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                  const ExecSettings& settings) {
  ProbeReport report;
  OneShotStarter starter;
  starter.ssm_target = ecs_ssm_target(target);
  starter.where = container_description(target);
  starter.start = [&client, &target](std::string command) -> Awaitable<Result<SessionTarget>> {
    co_return co_await start_ecs_session(client, target, command);
  };
  auto last = std::chrono::steady_clock::now();
  OneShotIo io;
  io.on_stdout = [](std::string_view) {};
  io.on_stderr = [](std::string_view) {};
  io.on_phase = [&](std::string_view name) {
    auto now = std::chrono::steady_clock::now();
    report.phases.push_back(
        {std::string(name), std::chrono::duration<double, std::milli>(now - last).count()});
    last = now;
  };
  const std::vector<std::string> words{"true"};
  auto result = co_await run_one_shot_io(client, starter, words, settings, io);
  const auto& names = probe_phase_names();
  if (report.phases.size() < names.size()) report.failed_phase = names[report.phases.size()];
  if (!result) {
    report.error = result.error();
    if (report.failed_phase.empty()) report.failed_phase = "exit status";
    co_return report;
  }
  report.exit_status = result.value();
  report.ok = result.value() == 0 && report.failed_phase.empty();
  if (!report.ok && report.failed_phase.empty()) report.failed_phase = "exit status";
  if (!report.ok && !report.error) {
    report.error = Error::connection("`true` exited " + std::to_string(result.value()) + " in " +
                                     container_description(target));
  }
  co_return report;
}

}  // namespace ecsh::connect
