#include "cli/aws_context.hpp"

#include "ecsh/common/clock.hpp"

namespace ecsh::cli {

Result<std::unique_ptr<AwsContext>> make_aws_context(asio::any_io_executor executor,
                                                     const GlobalOptions& global) {
  auto ctx = std::make_unique<AwsContext>();
  ctx->env = aws::Environment::from_process();
  aws::CommandLineSettings cli;
  cli.profile = global.profile;
  cli.region = global.region;
  cli.endpoint_url = global.endpoint_url;
  cli.no_verify_ssl = global.no_verify_ssl;
  ECSH_TRY(ctx->settings, aws::load_settings(cli, ctx->env));
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

}  // namespace ecsh::cli
