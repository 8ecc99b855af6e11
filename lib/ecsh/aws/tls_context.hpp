#pragma once

// The TLS client context shared by the HTTP and WebSocket clients: peer verification on unless
// asked otherwise, against the system store or a PEM bundle. Internal to lib/ecsh/aws (.cpp files
// only: it pulls in Asio's SSL headers).

#include "ecsh/aws/http_client.hpp"
#include "ecsh/common/error.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace ecsh::aws {

Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_client_context(
    const HttpOptions& options);

}  // namespace ecsh::aws
