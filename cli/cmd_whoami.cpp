#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "ecsh/aws/query_replies.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>

namespace ecsh::cli {
namespace {

Awaitable<Result<int>> whoami(const GlobalOptions& global) {
  auto executor = co_await asio::this_coro::executor;
  ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
  ECSH_CO_TRY(auto creds, co_await ctx->credentials->credentials());
  ECSH_CO_TRY(auto identity, co_await aws::caller_identity(*ctx->client));
  const auto& [account, arn, user_id] = identity;
  const std::string& region = ctx->settings.region;
  if (global.output == "json") {
    // snake_case with a schema, as every ecsh document (docs/CODING.md).
    boost::json::object o;
    o["schema"] = "ecsh.whoami/1";
    o["account"] = account;
    o["arn"] = arn;
    o["user_id"] = user_id;
    o["profile"] = ctx->settings.profile;
    o["credentials_source"] = creds.source;
    o["region"] = region;
    fmt::print("{}\n", boost::json::serialize(o));
  } else {
    fmt::print(
        "Account:      {}\nArn:          {}\nUserId:       {}\nCredentials:  {}\nRegion:       "
        "{}\n",
        account, arn, user_id, creds.source, region.empty() ? "(not set)" : region);
  }
  co_return 0;
}

}  // namespace

void add_whoami_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  auto* cmd =
      app.add_subcommand("whoami", "Show the caller identity and where the credentials came from");
  cmd->callback([&run, &global] { run = [&global]() { return whoami(global); }; });
}

}  // namespace ecsh::cli
