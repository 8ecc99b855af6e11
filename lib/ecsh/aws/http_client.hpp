#pragma once

// The HTTP(S) transport every AWS call goes through. Beast stays in http_client.cpp; this header
// is cheap to include. Tests substitute their own HttpClient.

#include "ecsh/aws/http_types.hpp"
#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace ecsh::aws {

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{60'000};  // botocore default: 60 s
  std::chrono::milliseconds read_timeout{60'000};
  bool verify_tls = true;  // off only with an explicit --no-verify-ssl
  std::string ca_bundle;   // PEM file (AWS_CA_BUNDLE / ca_bundle); empty: system store
  // Proxies as the AWS CLI takes them from HTTPS_PROXY/HTTP_PROXY/NO_PROXY (and lower case).
  std::string https_proxy;
  std::string http_proxy;
  std::string no_proxy;

  // Fills the proxy fields from the process environment.
  static HttpOptions from_environment();
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends one request (keep-alive connections are reused per host). Connection, TLS and timeout
  // failures are Error{kind=connection}; any HTTP status is a successful HttpResponse.
  virtual Awaitable<Result<HttpResponse>> send(HttpRequest request) = 0;
};

std::unique_ptr<HttpClient> make_http_client(asio::any_io_executor executor, HttpOptions options);

}  // namespace ecsh::aws
