// ecsh logs: the containers' awslogs streams, merged in time order, optionally followed.
#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/target_options.hpp"
#include "ecsh/common/clock.hpp"
#include "ecsh/logs/fetch.hpp"
#include "ecsh/logs/log_view.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <map>

namespace ecsh::cli {
namespace {

namespace json = boost::json;

struct LogsOptions {
  ecs::TargetSpec target;
  bool follow = false;
  bool stopped = false;
  std::string since, until, grep;
};

std::int64_t logs_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Clients per region (awslogs-region may name another region than the tasks').
class RegionalClients {
 public:
  explicit RegionalClients(AwsContext& ctx) : ctx_(ctx) {}
  aws::AwsClient& get(const std::string& region) {
    if (region.empty() || region == ctx_.settings.region) return *ctx_.client;
    auto& c = clients_[region];
    if (!c) {
      aws::AwsSettings s = ctx_.settings;
      s.region = region;
      c = std::make_unique<aws::AwsClient>(s, ctx_.credentials, *ctx_.http,
                                           SystemClock::instance());
    }
    return *c;
  }

 private:
  AwsContext& ctx_;
  std::map<std::string, std::unique_ptr<aws::AwsClient>> clients_;
};

// The readable sources of the scope's tasks; unreadable ones are named on stderr once.
struct Sources {
  std::vector<logs::LogSource> all;
  std::set<std::string> warned;
};

Awaitable<Result<void>> add_sources(aws::AwsClient& client, logs::TaskDefinitions& defs,
                                    const std::vector<ecs::TaskView>& tasks,
                                    const std::string& container, Sources& sources) {
  for (const auto& t : tasks) {
    bool known = false;
    for (const auto& s : sources.all) known |= s.task_id == t.id;
    if (known) continue;
    ECSH_CO_TRY(auto def, co_await defs.get(client, t.task_definition_arn));
    for (auto& s : logs::sources_for_task(def, t, client.settings().region)) {
      if (!container.empty() && !s.container.starts_with(container)) continue;
      sources.all.push_back(std::move(s));
    }
  }
  logs::assign_labels(sources.all);
  co_return outcome::success();
}

struct Printer {
  bool as_json = false;
  std::size_t label_width = 0;
  void print(const logs::LogEvent& e, const logs::LogSource& s) const {
    if (as_json) {
      fmt::print("{}\n", json::serialize(logs::event_json(e, s)));
    } else {
      fmt::print("{}\n", logs::format_event(e, s, label_width));
    }
  }
};

// One FilterLogEvents pass over every readable source, events mapped to their sources.
Awaitable<Result<std::vector<logs::LogEvent>>> fetch_all(
    RegionalClients& clients, const std::vector<logs::LogSource>& sources,
    std::optional<std::int64_t> start, std::optional<std::int64_t> end,
    const std::string& pattern) {
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> by_group;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (sources[i].unreadable.empty()) by_group[{sources[i].region, sources[i].group}].push_back(i);
  }
  std::vector<logs::LogEvent> out;
  for (const auto& [key, indexes] : by_group) {
    logs::FilterQuery q;
    q.group = key.second;
    std::map<std::string, std::size_t> stream_source;
    for (auto i : indexes) {
      q.streams.push_back(sources[i].stream);
      stream_source[sources[i].stream] = i;
    }
    q.start_ms = start;
    q.end_ms = end;
    q.pattern = pattern;
    auto& client = clients.get(key.first);
    ECSH_CO_TRY(auto events, co_await logs::filter_events(client, q));
    for (auto& e : events) {
      auto it = stream_source.find(e.stream);
      if (it == stream_source.end()) continue;
      e.source = it->second;
      out.push_back(std::move(e));
    }
  }
  logs::sort_events(out);
  co_return out;
}

Awaitable<Result<int>> run_logs(const GlobalOptions& global, const LogsOptions& o) {
  auto executor = co_await asio::this_coro::executor;
  ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
  auto& client = *ctx->client;
  RegionalClients clients(*ctx);
  const std::int64_t started = logs_now_ms();
  std::optional<std::int64_t> since, until;
  if (!o.since.empty()) {
    ECSH_CO_TRY(auto t, logs::parse_time_spec(o.since, started));
    since = t;
  }
  if (!o.until.empty()) {
    if (o.follow) {
      Error e = Error::usage("--until and -f/--follow do not go together",
                             "Follow without --until, or read a time range without -f.");
      co_return e;
    }
    ECSH_CO_TRY(auto t, logs::parse_time_spec(o.until, started));
    until = t;
  }
  ecs::TargetSpec spec = o.target;
  spec.container.clear();
  const ecs::Picker picker = terminal_picker();
  const ecs::Picker no_picker;
  ECSH_CO_TRY(auto scope, co_await logs::resolve_tasks(client, spec, o.stopped, picker));
  if (scope.tasks.empty()) {
    std::string what =
        scope.service.empty() ? "cluster " + scope.cluster_name : "service " + scope.service;
    Error e = Error::usage(fmt::format("no running task in {}", what),
                           o.stopped ? "ECS keeps stopped tasks about an hour; none is left."
                                     : "Add --stopped for its recently stopped tasks, or see "
                                       "why with: ecsh why -c " +
                                           scope.cluster_name +
                                           (scope.service.empty() ? "" : " -s " + scope.service));
    co_return e;
  }
  logs::TaskDefinitions defs;
  Sources sources;
  ECSH_CO_TRY(co_await add_sources(client, defs, scope.tasks, o.target.container, sources));
  if (sources.all.empty()) {
    Error e = Error::usage(fmt::format("no container matches -n {}", o.target.container),
                           "List the containers with: ecsh ls containers -c " + scope.cluster_name);
    co_return e;
  }
  auto warn_unreadable = [&sources] {
    for (const auto& s : sources.all) {
      if (s.unreadable.empty() || !sources.warned.insert(s.task_id + "/" + s.container).second)
        continue;
      fmt::print(stderr, "ecsh: {}: {}\n", s.label, s.unreadable);
    }
    std::fflush(stderr);
  };
  warn_unreadable();
  auto readable = [&sources] {
    return std::any_of(sources.all.begin(), sources.all.end(),
                       [](const auto& s) { return s.unreadable.empty(); });
  };
  if (!readable()) {
    Error e = Error::usage(
        "none of the selected containers sends its output to CloudWatch Logs (awslogs)",
        "Give the containers a logConfiguration with the awslogs driver, or read the logs where "
        "their driver sends them.");
    co_return e;
  }
  Printer printer;
  printer.as_json = global.output == "json";
  auto widen = [&printer, &sources] {
    for (const auto& s : sources.all)
      printer.label_width = std::max(printer.label_width, s.label.size());
  };
  widen();

  std::string pattern = o.grep;
  // Literal text, unless it is written as a filter pattern ({…}, […], "…", ?term, -term).
  if (!pattern.empty() && std::string_view("{[\"?-").find(pattern.front()) == std::string::npos) {
    pattern = "\"" + pattern + "\"";
  }
  ECSH_CO_TRY(auto first, co_await fetch_all(clients, sources.all, since, until, pattern));
  logs::FollowWindow window(since.value_or(0));
  for (const auto& e : window.admit(std::move(first))) printer.print(e, sources.all[e.source]);
  std::fflush(stdout);
  if (!o.follow) co_return 0;

  int interrupted = 0;  // the signal that ended the follow
  asio::steady_timer pause(executor);
  asio::signal_set signals(executor, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    interrupted = signal;
    pause.cancel();
  });
  logs::PollBackoff backoff;
  bool got = true;
  auto last_refresh = std::chrono::steady_clock::now();
  const bool single_task = !o.target.task.empty();
  while (!interrupted) {
    pause.expires_after(backoff.next(got));
    co_await pause.async_wait(use_awaitable_nothrow);
    if (interrupted) break;
    // A service's new tasks (and a task's end) are seen every few seconds.
    bool task_over = false;
    if (std::chrono::steady_clock::now() - last_refresh > std::chrono::seconds(5)) {
      last_refresh = std::chrono::steady_clock::now();
      auto again = co_await logs::resolve_tasks(client, spec, o.stopped, no_picker);
      if (again) {
        std::vector<ecs::TaskView> tasks = again.value().tasks;
        auto added = co_await add_sources(client, defs, tasks, o.target.container, sources);
        if (added) {
          warn_unreadable();
          widen();
        }
        if (single_task && !tasks.empty())
          task_over = tasks.front().last_status == ecs::TaskStatus::stopped;
      }
    }
    const std::optional<std::int64_t> from = window.query_start();
    auto events = co_await fetch_all(clients, sources.all, from, until, pattern);
    if (!events) {
      // A throttled or failed poll is retried at the next interval (the client already retried).
      fmt::print(stderr, "ecsh: {}\n", events.error().describe());
      got = false;
      continue;
    }
    auto fresh = window.admit(std::move(events.value()));
    got = !fresh.empty();
    for (const auto& e : fresh) printer.print(e, sources.all[e.source]);
    std::fflush(stdout);
    if (task_over && !got) break;  // the task stopped and its last lines are out
  }
  signals.cancel();
  // Ended by Ctrl-C (or SIGTERM, SIGHUP): 128 + the signal, as every command (docs/CODING.md).
  co_return interrupted ? 128 + interrupted : 0;
}

}  // namespace

void add_logs_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static LogsOptions options;
  auto* cmd = app.add_subcommand(
      "logs", "Show the containers' CloudWatch logs (awslogs), merged in time order");
  add_target_options(*cmd, options.target);
  cmd->add_flag("-f,--follow", options.follow, "Keep printing new lines (Ctrl-C to stop)");
  cmd->add_option("--since", options.since,
                  "Only lines from this time on: 10m, 2h, 1d, or ISO 8601 (UTC without a zone)");
  cmd->add_option("--until", options.until, "Only lines up to this time (same forms as --since)");
  cmd->add_option("--grep", options.grep,
                  "Only lines with this text (a CloudWatch Logs filter pattern when it starts "
                  "with { [ \" ? or -)");
  cmd->add_flag("--stopped", options.stopped,
                "Include the service's recently stopped tasks (ECS keeps them about an hour)");
  cmd->callback([&run, &global] { run = [&global]() { return run_logs(global, options); }; });
}

}  // namespace ecsh::cli
