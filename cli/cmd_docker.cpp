// ecsh docker ps / ecsh docker exec: the Docker Engine on this machine (an ECS container
// instance) through its API socket, without the docker CLI (lib/ecsh/docker). No AWS credentials
// are needed.

#include "cli/command.hpp"
#include "cli/table.hpp"
#include "ecsh/common/strings.hpp"
#include "ecsh/docker/engine.hpp"
#include "ecsh/docker/stream_demux.hpp"
#include "ecsh/term/input_reader.hpp"
#include "ecsh/term/raw_mode.hpp"
#include "ecsh/term/tty.hpp"
#include "ecsh/term/winch.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>

namespace ecsh::cli {
namespace {

namespace json = boost::json;

struct PsOptions {
  bool all = false;
  std::vector<std::string> filters;
  std::string format;  // json | table; empty: table, or json with --output json
};

struct DockerExecOptions {
  bool interactive = false;
  bool tty = false;
  std::string user;
  std::string workdir;
  std::vector<std::string> env;
  std::string container;
  std::vector<std::string> command;
};

// ---- ps ---------------------------------------------------------------------------------------

Awaitable<Result<int>> docker_ps(const GlobalOptions& global, const PsOptions& o) {
  ECSH_CO_TRY(auto filters, docker::parse_filter_args(o.filters));
  ECSH_CO_TRY(auto endpoint, docker::endpoint_from_environment());
  auto executor = co_await asio::this_coro::executor;
  ECSH_CO_TRY(auto engine, co_await docker::Engine::connect(executor, endpoint));
  ECSH_CO_TRY(auto containers, co_await engine.list_containers(filters, o.all));

  const std::string format =
      !o.format.empty() ? o.format : (global.output == "json" ? "json" : "table");
  if (format == "json") {
    json::array out;
    for (const auto& c : containers) {
      json::array names;
      for (const auto& n : c.names) names.emplace_back(n);
      json::object labels;
      for (const auto& [k, v] : c.labels) labels[k] = v;
      out.push_back(json::object{{"id", c.id},
                                 {"names", std::move(names)},
                                 {"image", c.image},
                                 {"state", c.state},
                                 {"status", c.status},
                                 {"ecs_task", c.ecs_task_id()},
                                 {"ecs_container", c.ecs_container_name()},
                                 {"labels", std::move(labels)}});
    }
    fmt::print("{}\n", json::serialize(out));
    co_return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : containers) {
    auto or_dash = [](std::string s) { return s.empty() ? std::string("-") : s; };
    rows.push_back({c.id.substr(0, 12), c.image, c.status, str::join(c.names, ","),
                    or_dash(c.ecs_task_id()), or_dash(c.ecs_container_name())});
  }
  print_table({"CONTAINER ID", "IMAGE", "STATUS", "NAMES", "TASK", "CONTAINER"}, rows, 3);
  co_return 0;
}

// ---- exec -------------------------------------------------------------------------------------

// Waits until cancelled (by the || that runs it).
Awaitable<void> until_cancelled() {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, asio::steady_timer::time_point::max());
  auto [ec] = co_await timer.async_wait(use_awaitable_nothrow);
  (void)ec;
}

// "-e NAME" takes NAME's value here, as docker does (left out when it is not set).
std::vector<std::string> exec_env(const std::vector<std::string>& args) {
  std::vector<std::string> env;
  for (const auto& a : args) {
    if (a.find('=') != std::string::npos) {
      env.push_back(a);
    } else if (const char* v = std::getenv(a.c_str())) {
      env.push_back(a + "=" + v);
    }
  }
  return env;
}

Awaitable<Result<int>> docker_exec(const DockerExecOptions& o) {
  std::vector<std::string> cmd = o.command;
  if (!cmd.empty() && cmd.front() == "--") cmd.erase(cmd.begin());
  if (cmd.empty()) {
    Error e = Error::usage("ecsh docker exec needs a command to run",
                           "e.g. ecsh docker exec -it " + o.container + " sh");
    co_return e;
  }
  const bool stdin_tty = term::is_tty(STDIN_FILENO);
  if (o.interactive && o.tty && !stdin_tty) {
    Error e = Error::usage("the input device is not a TTY",
                           "Leave out -t to pipe input, or run this from a terminal");
    co_return e;
  }
  ECSH_CO_TRY(auto endpoint, docker::endpoint_from_environment());
  auto executor = co_await asio::this_coro::executor;
  ECSH_CO_TRY(auto engine, co_await docker::Engine::connect(executor, endpoint));

  docker::ExecConfig config;
  config.cmd = cmd;
  config.env = exec_env(o.env);
  config.user = o.user;
  config.working_dir = o.workdir;
  config.attach_stdin = o.interactive;
  config.tty = o.tty;
  const term::WindowSize start_size = term::terminal_size();
  if (o.tty) config.console_size = std::make_pair(start_size.rows, start_size.cols);
  ECSH_CO_TRY(auto exec_id, co_await engine.create_exec(o.container, config));

  // Raw mode only when keystrokes go to the container (-i -t), as docker does; the guard also
  // restores the terminal on every early return below and on signals.
  std::optional<term::RawModeGuard> raw;
  if (o.interactive && o.tty) {
    ECSH_CO_TRY(auto guard, term::RawModeGuard::enter(STDIN_FILENO));
    raw.emplace(std::move(guard));
  }
  ECSH_CO_TRY(auto stream, co_await engine.start_exec(exec_id, o.tty));

  std::optional<term::WinchWatcher> winch;
  if (o.tty) winch.emplace(executor);

  Result<void> outcome = ok();
  docker::StreamDemuxer demux;
  // With a TTY the engine detaches on Ctrl-P Ctrl-Q (its default detach keys): the stream ends
  // while the command goes on. Whether those were the last keys sent tells that case apart.
  std::string last_keys;
  auto pump_output = [&]() -> Awaitable<void> {
    for (;;) {
      auto chunk = co_await stream.read();
      if (!chunk) {
        outcome = chunk.error();
        co_return;
      }
      if (chunk.value().empty()) co_return;
      if (o.tty) {
        term::write_all(STDOUT_FILENO, chunk.value());
        continue;
      }
      auto segments = demux.feed(chunk.value());
      if (!segments) {
        outcome = segments.error();
        co_return;
      }
      for (const auto& s : segments.value()) {
        const bool to_stderr = s.stream == docker::StdStream::stderr_stream ||
                               s.stream == docker::StdStream::system_error;
        term::write_all(to_stderr ? STDERR_FILENO : STDOUT_FILENO, s.data);
      }
    }
  };
  auto pump_input = [&]() -> Awaitable<void> {
    if (o.interactive) {
      term::InputReader reader(executor, STDIN_FILENO);
      for (;;) {
        std::string chunk = co_await reader.read();
        if (chunk.empty()) break;
        auto sent = co_await stream.write(chunk);
        if (!sent) break;  // the exec ended; its output tells the rest
        if (o.tty) {
          last_keys += chunk;
          if (last_keys.size() > 2) last_keys.erase(0, last_keys.size() - 2);
        }
      }
      // End of input: the process's stdin ends, its output goes on.
      (void)stream.close_write();
    }
    co_await until_cancelled();
  };
  auto pump_sizes = [&]() -> Awaitable<void> {
    if (winch) {
      // An engine older than API 1.42 takes no size at creation: set it once the exec runs.
      asio::steady_timer pause(executor);
      term::WindowSize size = winch->current();
      for (int attempt = 1; attempt <= 10; ++attempt) {
        auto resized = co_await engine.resize_exec(exec_id, size.rows, size.cols);
        if (resized) break;
        pause.expires_after(std::chrono::milliseconds(10 * attempt));
        auto [ec] = co_await pause.async_wait(use_awaitable_nothrow);
        (void)ec;
      }
      for (;;) {
        auto changed = co_await winch->changed();
        if (!changed) break;
        size = changed.value();
        (void)co_await engine.resize_exec(exec_id, size.rows, size.cols);
      }
    }
    co_await until_cancelled();
  };
  {
    using namespace asio::experimental::awaitable_operators;
    // The exec ends when its output does; input and resizes are then cancelled.
    auto output = pump_output();
    auto input = pump_input();
    auto sizes = pump_sizes();
    auto rest = std::move(input) || std::move(sizes);
    auto ended = co_await (std::move(output) || std::move(rest));
    (void)ended;
  }
  stream.close();
  if (winch) winch->cancel();
  if (raw) raw->restore();
  if (!outcome) co_return outcome.error();
  const bool detached = last_keys == "\x10\x11";
  const auto limit = detached ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(10000);
  auto code = co_await engine.wait_exec_exit(exec_id, limit);
  if (!code && detached) {
    term::write_all(STDERR_FILENO,
                    "\necsh: detached (Ctrl-P Ctrl-Q); the command goes on in the container\n");
    co_return 0;
  }
  co_return code;
}

}  // namespace

void add_docker_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static PsOptions ps_options;
  static DockerExecOptions exec_options;
  auto* docker = app.add_subcommand(
      "docker",
      "The Docker Engine on this machine (e.g. an ECS container instance), no docker CLI needed");
  docker->require_subcommand(1);

  auto* ps = docker->add_subcommand("ps", "List containers (running ones unless -a)");
  ps->add_flag("-a,--all", ps_options.all, "All containers, not only running ones");
  ps->add_option("-f,--filter", ps_options.filters,
                 "KEY=VALUE, as docker ps takes it (repeatable), e.g. "
                 "label=com.amazonaws.ecs.container-name=web")
      ->allow_extra_args(false);
  ps->add_option("--format", ps_options.format, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  ps->callback([&run, &global] { run = [&global]() { return docker_ps(global, ps_options); }; });

  auto* exec = docker->add_subcommand(
      "exec", "Run a command in a running container; ecsh exits with the command's exit code");
  exec->add_flag("-i,--interactive", exec_options.interactive, "Forward stdin to the command");
  exec->add_flag("-t,--tty", exec_options.tty, "Give the command a terminal");
  exec->add_option("-u,--user", exec_options.user, "USER[:GROUP] or UID[:GID] to run as");
  exec->add_option("-w,--workdir", exec_options.workdir, "Working directory in the container");
  exec->add_option("-e,--env", exec_options.env, "K=V to set (repeatable); K alone: its value here")
      ->allow_extra_args(false);
  exec->add_option("container", exec_options.container, "Container ID, ID prefix or name")
      ->required();
  exec->add_option("command", exec_options.command, "The command and its arguments");
  // Like docker: everything after the container belongs to the command (ls -l, sh -c …).
  exec->positionals_at_end();
  exec->callback([&run] { run = []() { return docker_exec(exec_options); }; });
}

}  // namespace ecsh::cli
