#include "ecsh/fleet/runner.hpp"

#include "ecsh/aws/adaptive.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/strings.hpp"
#include "ecsh/doctor/checks.hpp"
#include "ecsh/doctor/gather.hpp"
#include "ecsh/ecs/target.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <tuple>

namespace ecsh::fleet {
namespace {

constexpr int kMaxListAttempts = 8;    // a throttled List/Describe call, on top of the client's
constexpr int kMaxStartAttempts = 12;  // a throttled ExecuteCommand, each paced by the limiter
constexpr std::size_t kMaxDiagnoses = 4;

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

Awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(use_awaitable_nothrow);
}

std::chrono::milliseconds jittered_backoff(int attempt) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  return aws::retry::backoff(attempt, dist(rng));
}

// `call` again while it is throttled, with full-jitter backoff: a fleet command makes many calls
// at once, and the AwsClient's own attempts are not always enough.
template <class T, class F>
Awaitable<Result<T>> patiently(F call) {
  for (int attempt = 1;; ++attempt) {
    Result<T> r = co_await call();
    if (r || !retry_start(r.error(), attempt, kMaxListAttempts)) co_return r;
    log::debug("throttled; listing again (attempt {} of {})", attempt + 1, kMaxListAttempts);
    co_await sleep_for(jittered_backoff(attempt - 1));
  }
}

}  // namespace

Awaitable<Result<Found>> find_tasks(aws::AwsClient& client, const Scope& scope,
                                    const ecs::Picker& picker) {
  Found found;
  std::vector<std::string> cluster_arns;
  if (scope.all_clusters) {
    auto list = [&] { return ecs::list_cluster_arns(client); };
    ECSH_CO_TRY(cluster_arns, co_await patiently<std::vector<std::string>>(list));
    if (cluster_arns.empty()) {
      Error e = Error::usage("no cluster in region " + client.settings().region,
                             "Check --region and --profile.");
      co_return e;
    }
  } else {
    auto resolve = [&] { return ecs::resolve_cluster(client, scope.cluster, picker); };
    ECSH_CO_TRY(auto arn, co_await patiently<std::string>(resolve));
    cluster_arns.push_back(arn);
  }

  std::set<std::string> service_names;
  for (const auto& cluster : cluster_arns) {
    ClusterTasks ct;
    ct.cluster_arn = cluster;
    ct.cluster_name = ecs::arn_name(cluster);
    std::vector<std::string> services;  // "" stands for every task of the cluster
    if (scope.services.empty()) {
      services.emplace_back();
    } else {
      auto list = [&] { return ecs::list_service_arns(client, cluster); };
      ECSH_CO_TRY(auto arns, co_await patiently<std::vector<std::string>>(list));
      for (const auto& given : scope.services) {
        if (scope.all_clusters) {
          // Exact names only: a service of that name may exist in some clusters and not others.
          for (const auto& a : arns) {
            if (ecs::arn_name(a) == given || a == given) services.push_back(ecs::arn_name(a));
          }
          continue;
        }
        ecs::SelectRequest req;
        req.kind = "service";
        req.flag = "-s/--service";
        req.given = given;
        req.scope = "in cluster " + ct.cluster_name;
        ECSH_CO_TRY(auto arn, ecs::select_arn(req, arns, nullptr));
        services.push_back(ecs::arn_name(arn));
      }
    }
    std::vector<std::string> task_arns;
    for (const auto& service : services) {
      if (!service.empty()) service_names.insert(service);
      auto list = [&] {
        return ecs::list_task_arns(client, cluster, service, ecs::TaskStatus::running);
      };
      ECSH_CO_TRY(auto arns, co_await patiently<std::vector<std::string>>(list));
      for (auto& a : arns) {
        if (std::find(task_arns.begin(), task_arns.end(), a) == task_arns.end()) {
          task_arns.push_back(std::move(a));
        }
      }
    }
    if (!task_arns.empty()) {
      auto describe = [&] { return ecs::describe_tasks(client, cluster, task_arns); };
      ECSH_CO_TRY(ct.tasks, co_await patiently<std::vector<ecs::TaskView>>(describe));
    }
    found.clusters.push_back(std::move(ct));
  }
  if (!scope.services.empty() && service_names.empty()) {
    Error e =
        Error::usage("no service named " + str::join(scope.services, ", ") + " in any cluster",
                     scope.all_clusters ? "With --all-clusters, -s takes exact names; list them "
                                          "with: ecsh ls services"
                                        : "List them with: ecsh ls services");
    co_return e;
  }
  found.services.assign(service_names.begin(), service_names.end());
  co_return found;
}

namespace {

// What every task of one run shares. Lives in run_all's frame, which outlives every task
// coroutine (run_all waits for them all, timed-out ones included).
struct Fleet {
  aws::AwsClient& client;
  const std::vector<Target>& targets;
  const std::vector<std::string>& words;
  const RunOptions& options;
  aws::ClientRateLimiter limiter{now_seconds()};
  std::vector<TaskResult> results;
  std::vector<bool> reported;  // the task's result is final (finished, or timed out)
  std::vector<std::string> out, err;
  std::vector<std::size_t> queue;  // the tasks to try, in order
  std::size_t next = 0;
  int workers = 0;      // worker coroutines still running
  int outstanding = 0;  // task coroutines still running (a timed-out one may outlive its slot)
  std::unique_ptr<asio::steady_timer> all_done;

  Fleet(aws::AwsClient& c, const std::vector<Target>& t, const std::vector<std::string>& w,
        const RunOptions& o)
      : client(c), targets(t), words(w), options(o) {}

  void deliver(std::size_t i, Stream s, std::string_view bytes) {
    if (reported[i]) return;
    if (options.keep_output) (s == Stream::out ? out[i] : err[i]).append(bytes);
    if (options.on_output) options.on_output(i, s, bytes);
  }

  void report(std::size_t i, TaskResult r) {
    if (reported[i]) return;
    reported[i] = true;
    r.stdout_bytes = std::move(out[i]);
    r.stderr_bytes = std::move(err[i]);
    results[i] = std::move(r);
    if (options.on_finished) options.on_finished(i, results[i]);
  }

  void maybe_done() {
    if (workers == 0 && outstanding == 0 && all_done) all_done->cancel();
  }
};

// ExecuteCommand, paced by the fleet's adaptive rate limiter and started again while throttled.
Awaitable<Result<connect::SessionTarget>> paced_start(
    Fleet& f, const ecs::ResolvedTarget& target, const std::string& command,
    std::shared_ptr<connect::SessionCancel> cancel) {
  for (int attempt = 1;; ++attempt) {
    double wait = f.limiter.before_send(now_seconds());
    if (wait > 0) {
      co_await sleep_for(std::chrono::milliseconds(static_cast<long long>(wait * 1000)));
    }
    if (cancel->cancelled) {
      Error e = Error::connection("cancelled before ExecuteCommand", {}, false);
      co_return e;
    }
    auto r = co_await connect::start_ecs_session(f.client, target, command);
    const bool throttled =
        !r && r.error().kind == ErrorKind::service && aws::retry::is_throttling(r.error().code);
    f.limiter.after_response(throttled, now_seconds());
    if (r || !retry_start(r.error(), attempt, kMaxStartAttempts)) co_return r;
    log::debug("ExecuteCommand for task {} throttled; again (attempt {} of {}, rate {:.1f}/s)",
               target.task.id, attempt + 1, kMaxStartAttempts, f.limiter.max_rate());
    co_await sleep_for(jittered_backoff(std::min(attempt - 1, 3)));
  }
}

Awaitable<void> run_task(Fleet& f, std::size_t i, std::shared_ptr<connect::SessionCancel> cancel) {
  const Target& target = f.targets[i];
  ecs::ResolvedTarget resolved;
  resolved.cluster_arn = target.cluster_arn;
  resolved.cluster_name = target.cluster_name;
  resolved.task = target.task;
  resolved.container = target.container;
  const auto t0 = std::chrono::steady_clock::now();
  TaskResult result;
  for (;;) {
    connect::OneShotIo io;
    io.cancel = cancel;
    io.on_stdout = [&f, i](std::string_view b) { f.deliver(i, Stream::out, b); };
    io.on_stderr = [&f, i](std::string_view b) { f.deliver(i, Stream::err, b); };
    connect::OneShotStarter starter;
    starter.ssm_target = connect::ecs_ssm_target(resolved);
    starter.start = [&f, &resolved,
                     cancel](std::string command) -> Awaitable<Result<connect::SessionTarget>> {
      co_return co_await paced_start(f, resolved, command, cancel);
    };
    starter.ended_hint = "The task may have stopped; check it with: ecsh doctor -c " +
                         target.cluster_name + " -t " + target.task.id;
    starter.where = connect::container_description(resolved);
    ++result.sessions;
    auto r = co_await connect::run_one_shot_io(f.client, starter, f.words, f.options.settings, io);
    if (r) {
      result.exit_code = r.value();
      break;
    }
    const Error& e = r.error();
    if (!cancel->cancelled && retry_session(e, io.started, result.sessions)) {
      log::debug("task {}: the session failed before the command started ({}); once more",
                 target.task.id, e.message);
      continue;
    }
    if (is_refusal(e)) {
      auto u = refusal(target, e);
      result.error = u.reason;
      result.fix = u.fix;
    } else {
      result.error = e.message;
      result.fix = e.hint;
    }
    result.error_code = e.kind == ErrorKind::run_as ? "user" : e.code.empty() ? "session" : e.code;
    break;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  f.report(i, std::move(result));
}

struct Slot {
  explicit Slot(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  bool done = false;
};

Awaitable<void> run_task_then_signal(Fleet* f, std::size_t i, std::shared_ptr<Slot> slot,
                                     std::shared_ptr<connect::SessionCancel> cancel) {
  co_await run_task(*f, i, cancel);
  slot->done = true;
  slot->timer.cancel();
  --f->outstanding;
  f->maybe_done();
}

// One task, given at most options.timeout: past it the task is reported as timed out and its
// session closed, and the slot moves on while the session winds down.
Awaitable<void> run_with_deadline(Fleet& f, std::size_t i) {
  auto executor = co_await asio::this_coro::executor;
  auto slot = std::make_shared<Slot>(executor);
  auto cancel = std::make_shared<connect::SessionCancel>();
  const auto started = std::chrono::steady_clock::now();
  const bool bounded = f.options.timeout.count() > 0;
  if (bounded) {
    slot->timer.expires_at(started + f.options.timeout);
  } else {
    slot->timer.expires_at(asio::steady_timer::time_point::max());
  }
  ++f.outstanding;
  asio::co_spawn(executor, run_task_then_signal(&f, i, slot, cancel), asio::detached);
  while (!slot->done) {
    co_await slot->timer.async_wait(use_awaitable_nothrow);
    if (slot->done) break;
    if (bounded && std::chrono::steady_clock::now() >= started + f.options.timeout) {
      cancel->cancel();
      TaskResult r;
      r.timed_out = true;
      r.seconds = std::chrono::duration<double>(f.options.timeout).count();
      r.error = "timed out after " + format_seconds(r.seconds);
      r.fix = "Give it longer with --timeout, or see what it waits for.";
      r.error_code = "timeout";
      r.sessions = 1;
      f.report(i, std::move(r));
      break;
    }
  }
}

Awaitable<void> worker(Fleet* f) {
  while (f->next < f->queue.size()) {
    std::size_t i = f->queue[f->next++];
    co_await run_with_deadline(*f, i);
  }
  --f->workers;
  f->maybe_done();
}

// Doctor on one task of each group of tasks that ECS Exec refused without saying why, and its
// first failing check as their reason.
Awaitable<void> diagnose(Fleet& f) {
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < f.results.size(); ++i) {
    if (f.results[i].error_code != "TargetNotConnectedException") continue;
    const auto& t = f.targets[i];
    groups[{t.cluster_arn, t.task.task_definition_arn, t.container.name}].push_back(i);
  }
  std::size_t asked = 0;
  for (const auto& [key, members] : groups) {
    if (asked++ >= kMaxDiagnoses) break;
    const Target& t = f.targets[members.front()];
    doctor::Scope scope;
    scope.cluster_arn = t.cluster_arn;
    scope.cluster_name = t.cluster_name;
    scope.service = t.task.service_name();
    scope.task = t.task;
    auto facts = co_await doctor::gather(f.client, scope);
    if (!facts) {
      log::debug("doctor for task {}: {}", t.task.id, facts.error().message);
      continue;
    }
    auto reason = doctor_reason(doctor::evaluate(facts.value()));
    if (!reason) continue;
    for (auto i : members) {
      f.results[i].error = reason->reason;
      f.results[i].fix = reason->fix;
    }
  }
}

}  // namespace

Awaitable<std::vector<TaskResult>> run_all(aws::AwsClient& client,
                                           const std::vector<Target>& targets,
                                           const std::vector<std::string>& words,
                                           const RunOptions& options) {
  auto executor = co_await asio::this_coro::executor;
  Fleet f(client, targets, words, options);
  const std::size_t n = targets.size();
  f.results.resize(n);
  f.reported.assign(n, false);
  f.out.resize(n);
  f.err.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (targets[i].unreachable) {
      f.report(i, unreachable_result(*targets[i].unreachable));
    } else {
      f.queue.push_back(i);
    }
  }
  f.all_done = std::make_unique<asio::steady_timer>(executor);
  f.workers = static_cast<int>(std::min<std::size_t>(
      f.queue.size(), static_cast<std::size_t>(std::max(1, options.max_parallel))));
  for (int w = 0, count = f.workers; w < count; ++w) {
    asio::co_spawn(executor, worker(&f), asio::detached);
  }
  while (f.workers > 0 || f.outstanding > 0) {
    f.all_done->expires_at(asio::steady_timer::time_point::max());
    co_await f.all_done->async_wait(use_awaitable_nothrow);
  }
  if (options.diagnose) co_await diagnose(f);
  co_return std::move(f.results);
}

}  // namespace ecsh::fleet
