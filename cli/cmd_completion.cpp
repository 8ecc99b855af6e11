// `ecsh completion bash|zsh|fish` prints the shell's completion script (the Debian package installs
// the same bytes: both come from cli/completion/), and the hidden `ecsh __complete KIND` gives
// those scripts cluster, service, task and container names from the API.
//
// __complete is called at every <Tab>, so it must never get in the user's way: it prints one
// name per line on stdout or nothing at all, never a message, always exits 0, and gives up after
// kBudget (no retries). Answers are cached for kFreshness under $XDG_CACHE_HOME/ecsh (else
// ~/.cache/ecsh), keyed by everything that changes the answer: profile, region, ECS endpoint,
// access key, the kind asked for and the -c/-s/-t already typed.

#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "ecsh/common/clock.hpp"
#include "ecsh/ecs/target.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

namespace ecsh::cli {

extern const char* const kBashCompletion;
extern const char* const kZshCompletion;
extern const char* const kFishCompletion;

namespace {

namespace fs = std::filesystem;

// The whole lookup, credentials and every API call included; past it __complete exits silently.
constexpr auto kBudget = std::chrono::milliseconds(600);
// How long a cached answer is used without asking again.
constexpr auto kFreshness = std::chrono::seconds(30);
// Cached answers older than this are removed when a new one is written.
constexpr auto kKeep = std::chrono::minutes(10);
// Without -c, services, tasks and containers are looked up in at most this many clusters.
constexpr std::size_t kMaxClusters = 10;

struct CompletionOptions {
  std::string shell;
};

struct LookupOptions {
  std::string kind;  // clusters | services | tasks | containers
  ecs::TargetSpec target;
};

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

fs::path cache_dir() {
  std::string xdg = env_or_empty("XDG_CACHE_HOME");
  if (!xdg.empty() && xdg.front() == '/') return fs::path(xdg) / "ecsh";
  std::string home = env_or_empty("HOME");
  if (home.empty()) return {};
  return fs::path(home) / ".cache" / "ecsh";
}

// FNV-1a: stable across runs and builds, which std::hash does not promise.
std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::optional<std::string> read_fresh(const fs::path& file) {
  std::error_code ec;
  auto written = fs::last_write_time(file, ec);
  if (ec) return std::nullopt;
  auto age = fs::file_time_type::clock::now() - written;
  if (age < std::chrono::seconds(-5) || age > kFreshness) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Written whole or not at all (a temporary file renamed), readable only by the user.
void write_cache(const fs::path& file, const std::string& text) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) return;
  ::chmod(file.parent_path().c_str(), 0700);
  fs::path tmp = file;
  tmp += fmt::format(".{}.tmp", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;
    ::chmod(tmp.c_str(), 0600);
    out << text;
    if (!out.flush()) {
      fs::remove(tmp, ec);
      return;
    }
  }
  fs::rename(tmp, file, ec);
  if (ec) fs::remove(tmp, ec);

  // One file per key: drop the old ones, so that the folder does not grow.
  const auto now = fs::file_time_type::clock::now();
  fs::directory_iterator it(file.parent_path(), ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code ignored;
    if (!it->path().filename().string().starts_with("names-")) continue;
    auto written = fs::last_write_time(it->path(), ignored);
    if (!ignored && now - written > kKeep) fs::remove(it->path(), ignored);
  }
}

void print_names(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

Awaitable<Result<std::vector<std::string>>> cluster_arns(aws::AwsClient& client,
                                                         const std::string& given) {
  if (!given.empty()) {
    ecs::Picker no_picker;  // never ask: no terminal is ours while completing
    ECSH_CO_TRY(auto arn, co_await ecs::resolve_cluster(client, given, no_picker));
    co_return std::vector<std::string>{arn};
  }
  ECSH_CO_TRY(auto arns, co_await ecs::list_cluster_arns(client));
  if (arns.size() > kMaxClusters) arns.resize(kMaxClusters);
  co_return arns;
}

// The services of a cluster that -s names: the exact name if there is one, else every service
// whose name starts with it; every service when -s is empty.
Awaitable<Result<std::vector<std::string>>> services_named(aws::AwsClient& client,
                                                           const std::string& cluster,
                                                           const std::string& given) {
  ECSH_CO_TRY(auto arns, co_await ecs::list_service_arns(client, cluster));
  std::vector<std::string> names;
  for (const auto& arn : arns) {
    std::string name = ecs::arn_name(arn);
    if (!given.empty() && name == ecs::arn_name(given)) co_return std::vector<std::string>{name};
    if (name.starts_with(ecs::arn_name(given))) names.push_back(name);
  }
  co_return names;
}

// The running tasks of a cluster, of the services -s names when given.
Awaitable<Result<std::vector<std::string>>> task_arns(aws::AwsClient& client,
                                                      const std::string& cluster,
                                                      const std::string& service) {
  const auto running = ecs::TaskStatus::running;
  if (service.empty()) {
    std::string any;
    co_return co_await ecs::list_task_arns(client, cluster, any, running);
  }
  ECSH_CO_TRY(auto services, co_await services_named(client, cluster, service));
  std::vector<std::string> out;
  for (const auto& name : services) {
    ECSH_CO_TRY(auto arns, co_await ecs::list_task_arns(client, cluster, name, running));
    out.insert(out.end(), arns.begin(), arns.end());
  }
  co_return out;
}

Awaitable<Result<std::set<std::string>>> lookup(aws::AwsClient& client, const LookupOptions& o) {
  std::set<std::string> names;
  ECSH_CO_TRY(auto clusters, co_await cluster_arns(client, o.target.cluster));
  if (o.kind == "clusters") {
    for (const auto& arn : clusters) names.insert(ecs::arn_name(arn));
    co_return names;
  }
  for (const auto& cluster : clusters) {
    if (o.kind == "services") {
      std::string all;
      ECSH_CO_TRY(auto services, co_await services_named(client, cluster, all));
      names.insert(services.begin(), services.end());
      continue;
    }
    ECSH_CO_TRY(auto arns, co_await task_arns(client, cluster, o.target.service));
    if (o.kind == "tasks") {
      for (const auto& arn : arns) names.insert(ecs::arn_name(arn));
      continue;
    }
    const std::string task_prefix = ecs::arn_name(o.target.task);
    std::erase_if(
        arns, [&](const std::string& arn) { return !ecs::arn_name(arn).starts_with(task_prefix); });
    if (arns.empty()) continue;
    ECSH_CO_TRY(auto tasks, co_await ecs::describe_tasks(client, cluster, arns));
    for (const auto& t : tasks) {
      for (const auto& c : t.containers) names.insert(c.name);
    }
  }
  co_return names;
}

Awaitable<Result<int>> complete_names(const GlobalOptions& global, const LookupOptions& o) {
  auto executor = co_await asio::this_coro::executor;
  // Past the budget, leave at once: nothing has been printed yet, and the cache is only ever
  // replaced whole, so there is nothing to tidy.
  auto deadline = std::make_shared<asio::steady_timer>(executor, kBudget);
  deadline->async_wait([](boost::system::error_code ec) {
    if (!ec) std::_Exit(0);
  });

  auto made = make_aws_context(executor, global);
  if (!made) co_return 0;
  auto& ctx = *made.value();
  // One attempt per call: a retry's back-off would not fit in the budget anyway.
  ctx.settings.max_attempts = 1;
  ctx.client = std::make_unique<aws::AwsClient>(ctx.settings, ctx.credentials, *ctx.http,
                                                SystemClock::instance());
  auto endpoint = aws::resolve_endpoint(ctx.settings, aws::services::ecs().id);
  if (!endpoint) co_return 0;

  const std::string key = fmt::format(
      "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}", o.kind, ctx.settings.profile, ctx.settings.region,
      endpoint.value().endpoint.url(), env_or_empty("AWS_ACCESS_KEY_ID"), o.target.cluster,
      o.target.service, o.target.task);
  fs::path dir = cache_dir();
  fs::path file = dir.empty() ? fs::path() : dir / fmt::format("names-{:016x}", fnv1a(key));
  if (!file.empty()) {
    if (auto cached = read_fresh(file)) {
      deadline->cancel();
      print_names(*cached);
      co_return 0;
    }
  }

  auto names = co_await lookup(*ctx.client, o);
  deadline->cancel();
  if (!names) co_return 0;
  std::string text;
  for (const auto& n : names.value()) text += n + "\n";
  if (!file.empty()) write_cache(file, text);
  print_names(text);
  co_return 0;
}

Awaitable<Result<int>> print_script(const CompletionOptions& o) {
  const char* script = o.shell == "bash"  ? kBashCompletion
                       : o.shell == "zsh" ? kZshCompletion
                                          : kFishCompletion;
  std::fputs(script, stdout);
  co_return 0;
}

Awaitable<Result<int>> complete_entry(const GlobalOptions& global, const LookupOptions& o) {
  const auto& k = o.kind;
  if (k != "clusters" && k != "services" && k != "tasks" && k != "containers") co_return 0;
  co_return co_await complete_names(global, o);
}

// No controlling terminal from here on: nothing the lookup runs (an MFA prompt of a profile,
// a credential_process) may write on, or wait for, the terminal the user is typing in. A
// process-group leader cannot start a session, so then a child does the work.
void leave_terminal() {
  if (::setsid() >= 0) return;
  pid_t child = ::fork();
  if (child < 0) std::_Exit(0);
  if (child == 0) {
    ::setsid();
    return;
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::_Exit(0);
}

}  // namespace

void add_completion_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static CompletionOptions options;
  auto* cmd = app.add_subcommand("completion", "Print the completion script for bash, zsh or fish");
  cmd->add_option("shell", options.shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->footer(
      "Set-up: bash: source <(ecsh completion bash) in ~/.bashrc;  zsh: ecsh completion zsh > "
      "\"${fpath[1]}/_ecsh\";  fish: ecsh completion fish > "
      "~/.config/fish/completions/ecsh.fish. The Debian package installs all three.");
  cmd->callback([&run] { run = []() { return print_script(options); }; });

  static LookupOptions lookup_options;
  auto* hidden = app.add_subcommand("__complete", "");
  hidden->group("");  // not listed in --help: only the completion scripts call it
  hidden->add_option("kind", lookup_options.kind)->required();
  hidden->add_option("-c,--cluster", lookup_options.target.cluster);
  hidden->add_option("-s,--service", lookup_options.target.service);
  hidden->add_option("-t,--task", lookup_options.target.task);
  hidden->add_option("-n,--container", lookup_options.target.container);
  hidden->allow_extras();  // a half-typed command line is no error here
  hidden->callback([&run, &global] {
    leave_terminal();
    run = [&global]() { return complete_entry(global, lookup_options); };
  });
}

}  // namespace ecsh::cli
