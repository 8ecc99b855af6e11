#include "cli/aws_context.hpp"

#include "ecsh/common/clock.hpp"

#include <cstdio>

namespace ecsh::cli {

Result<std::unique_ptr<AwsContext>> make_aws_context(asio::any_io_executor executor,
                                                     const GlobalOptions& global) {
  if (global.regions.size() > 1 || global.all_regions) {
    return Error::usage("only `ecsh ls` spans several regions so far",
                        "Give one --region to this command.");
  }
  auto ctx = std::make_unique<AwsContext>();
  ctx->env = aws::Environment::from_process();
  aws::CommandLineSettings cli;
  cli.profile = global.profile;
  cli.region = global.region();
  cli.endpoint_url = global.endpoint_url;
  cli.no_verify_ssl = global.no_verify_ssl;
  cli.ca_bundle = global.ca_bundle;
  ECSH_TRY(ctx->settings, aws::load_settings(cli, ctx->env));
  if (!ctx->settings.verify_tls) {
    // Once per process, however many connections follow (the AWS CLI warns on every request).
    static bool warned = false;
    if (!warned) {
      warned = true;
      std::fputs(
          "ecsh: warning: TLS certificates are not verified (--no-verify-ssl): anyone on the "
          "network path can read and change this session.\n",
          stderr);
    }
  }
  auto http_options = aws::HttpOptions::from_environment();
  http_options.verify_tls = ctx->settings.verify_tls;
  http_options.ca_bundle = ctx->settings.ca_bundle;
  ctx->http = aws::make_http_client(executor, http_options);
  ctx->credentials = aws::make_default_credentials_chain(ctx->settings, ctx->env, *ctx->http,
                                                         SystemClock::instance());
  ctx->client = std::make_unique<aws::AwsClient>(ctx->settings, ctx->credentials, *ctx->http,
                                                 SystemClock::instance());
  return ctx;
}

connect::ExecSettings exec_settings(const AwsContext& ctx, bool escapes) {
  connect::ExecSettings s;
  s.http = aws::HttpOptions::from_environment();
  s.http.verify_tls = ctx.settings.verify_tls;
  s.http.ca_bundle = ctx.settings.ca_bundle;
  s.escapes = escapes;
  return s;
}

}  // namespace ecsh::cli
