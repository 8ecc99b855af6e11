#pragma once

// Everything a command needs to call AWS, built once from the global options and environment.

#include "cli/command.hpp"
#include "ecsh/aws/client.hpp"
#include "ecsh/aws/credentials.hpp"
#include "ecsh/aws/http_client.hpp"
#include "ecsh/aws/settings.hpp"
#include "ecsh/connect/exec_session.hpp"

#include <memory>

namespace ecsh::cli {

struct AwsContext {
  aws::Environment env;
  aws::AwsSettings settings;
  std::unique_ptr<aws::HttpClient> http;
  std::shared_ptr<aws::CredentialsProvider> credentials;
  std::unique_ptr<aws::AwsClient> client;
};

Result<std::unique_ptr<AwsContext>> make_aws_context(asio::any_io_executor executor,
                                                     const GlobalOptions& global);

// A session's settings from the context: TLS as the API calls have it; `escapes`: ~. and ~? in
// interactive sessions.
connect::ExecSettings exec_settings(const AwsContext& ctx, bool escapes);

}  // namespace ecsh::cli
