// `ecsh forward`: local ports (or unix sockets) to a port of the container, or to a host the
// task reaches, through SSM Port sessions (lib/ecsh/forward).

#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/doctor_run.hpp"
#include "cli/target_options.hpp"
#include "ecsh/common/wakeup.hpp"
#include "ecsh/connect/exec_session.hpp"
#include "ecsh/connect/session_ending.hpp"
#include "ecsh/ecs/ecs_view.hpp"
#include "ecsh/forward/port_forward.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace ecsh::cli {

namespace {

struct ForwardOptions {
  ecs::TargetSpec target;
  std::vector<std::string> listen;
  int keepalive = 60;
};

connect::EndingAdvice forward_advice() {
  connect::EndingAdvice a;
  a.idle_timeout =
      "Run it again; --keepalive SECONDS (60 unless set to 0) keeps a session alive while a "
      "connection is open.";
  return a;
}

std::string short_id(const std::string& id) { return id.size() > 12 ? id.substr(0, 12) + "…" : id; }

// Why the service closed the session: its idle timeout or maximum duration, the task stopping,
// or the session ended elsewhere.
Awaitable<Error> session_over(aws::AwsClient& client, const GlobalOptions& global,
                              const ecs::ResolvedTarget& target, const connect::SessionEnd& end) {
  if (auto ended = connect::service_ending(end, forward_advice())) co_return *ended;
  Error e =
      end.output.empty()
          ? Error::session_ended(SessionEnding::unexplained,
                                 "the session was closed by the service; the forward is over")
          : Error::connection("the session was closed by the service: " + end.output,
                              "Run the command again; `ecsh doctor` says why it cannot work.");
  co_return co_await explain_session_error(client, global, target, std::move(e));
}

}  // namespace

void add_forward_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static ForwardOptions options;
  auto* cmd = app.add_subcommand(
      "forward", "Forward local ports to a port of a container, or to a host the task reaches");
  add_target_options(*cmd, options.target);
  cmd->add_option("-L,--local", options.listen,
                  "[BIND:]LOCAL:PORT (a port of the container), [BIND:]LOCAL:HOST:PORT (a host "
                  "the task reaches), or /path.sock:PORT; LOCAL 0 picks a free port; repeatable")
      ->required();
  cmd->add_option("--keepalive", options.keepalive,
                  "Seconds between keep-alives while a connection is open and idle, so that the "
                  "session outlives Session Manager's idle timeout (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->footer(
      "Each listener prints one line (\"forwarding 127.0.0.1:15432 -> db.internal:5432 via task "
      "…\") once its session is ready. Ctrl-C ends every session; exit 255 when the task stops.");
  cmd->callback([&run, &global] {
    run = [&global]() -> Awaitable<Result<int>> {
      auto executor = co_await asio::this_coro::executor;
      std::vector<forward::ListenSpec> specs;
      for (const auto& text : options.listen) {
        ECSH_CO_TRY(auto spec, forward::parse_listen_spec(text));
        specs.push_back(std::move(spec));
      }
      // Bound before anything else, so that a busy port fails at once.
      ECSH_CO_TRY(auto listeners, forward::bind_listeners(executor, specs));
      for (const auto& l : listeners) {
        if (forward::binds_beyond_loopback(l->spec())) {
          fmt::print(stderr,
                     "ecsh: warning: {} accepts connections from other machines, and each one "
                     "reaches {} from inside the task\n",
                     l->address(), forward::destination_of(l->spec()));
        }
      }
      ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
      auto picker = terminal_picker();
      ECSH_CO_TRY(auto target, co_await ecs::resolve_target(*ctx->client, options.target, picker));
      const std::string ssm_target = connect::ecs_ssm_target(target);
      const std::string via = "task " + short_id(target.task.id) + "/" + target.container.name;

      std::vector<std::shared_ptr<forward::PortForward>> forwards;
      // Sessions started so far end for the service too when a later one cannot start.
      std::vector<std::string> started;
      std::optional<Error> start_error;
      for (const auto& group : forward::group_by_destination(specs)) {
        const auto& first = specs[group.front()];
        auto document = forward::port_document(first);
        std::vector<std::shared_ptr<forward::Listener>> mine;
        for (auto i : group) mine.push_back(listeners[i]);
        auto started_session = co_await connect::start_document_session(
            *ctx->client, ssm_target, document.name, document.parameters);
        if (!started_session) {
          start_error = started_session.error();
          break;
        }
        auto session = std::move(started_session).value();
        started.push_back(session.session_id);
        forward::ForwardSettings settings;
        settings.exec = exec_settings(*ctx, false);
        settings.ssm_target = ssm_target;
        settings.destination = forward::destination_of(first);
        settings.via = via;
        settings.keepalive = std::chrono::seconds(options.keepalive);
        settings.say = [](const std::string& line) {
          fmt::print(stderr, "{}\n", line);
          std::fflush(stderr);
        };
        settings.announce = [](const std::string& line) {
          fmt::print("{}\n", line);
          std::fflush(stdout);
        };
        auto opened =
            co_await forward::PortForward::open(*ctx->client, session, std::move(mine), settings);
        if (!opened) {
          start_error = opened.error();
          break;
        }
        forwards.push_back(std::move(opened).value());
      }
      if (start_error) {
        forwards.clear();
        for (const auto& id : started) co_await connect::terminate_session(*ctx->client, id);
        co_return co_await explain_session_error(*ctx->client, global, target, *start_error);
      }

      int interrupted = 0;  // the signal that ended the forward
      asio::signal_set signals(executor, SIGINT, SIGTERM, SIGHUP);
      signals.async_wait([&](boost::system::error_code ec, int signal) {
        if (ec) return;
        interrupted = signal;
        for (auto& f : forwards) f->stop();
        // A second Ctrl-C ends ecsh at once, as usual.
        signals.async_wait([](boost::system::error_code ec2, int signal) {
          if (!ec2) std::_Exit(128 + signal);
        });
      });
      std::optional<Error> first_error;
      std::optional<forward::ForwardEnd> closed_end;
      // Each session runs on its own; the first to end for a reason other than Ctrl-C ends the
      // others (they share the task).
      std::size_t remaining = forwards.size();
      Wakeup all_done(executor);
      for (auto& f : forwards) {
        asio::co_spawn(
            executor,
            [&, f]() -> Awaitable<void> {
              auto end = co_await f->run();
              if (!end && !first_error) first_error = end.error();
              if (end && end.value().session.channel_closed && !end.value().stopped &&
                  !closed_end) {
                closed_end = end.value();
              }
              if (!interrupted) {
                for (auto& other : forwards) {
                  if (other != f) other->stop();
                }
              }
              if (--remaining == 0) all_done.notify();
            },
            asio::detached);
      }
      co_await all_done.wait();
      signals.cancel();
      // Every session ends for the service too.
      for (auto& f : forwards) {
        std::string id = f->session_id();
        co_await connect::terminate_session(*ctx->client, id);
      }
      if (interrupted && !first_error) {
        fmt::print(stderr, "ecsh: forward ended.\n");
        co_return 128 + interrupted;  // 130 for Ctrl-C, as every command (docs/CODING.md)
      }
      if (first_error) {
        co_return co_await explain_session_error(*ctx->client, global, target, *first_error);
      }
      connect::SessionEnd end = closed_end ? closed_end->session : connect::SessionEnd{};
      co_return co_await session_over(*ctx->client, global, target, end);
    };
  });
}

}  // namespace ecsh::cli
