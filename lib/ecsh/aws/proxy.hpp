#pragma once

// Forward proxies as botocore uses them (HTTPS_PROXY / HTTP_PROXY / NO_PROXY), shared by the HTTP
// and WebSocket clients: which proxy a URL goes through, and a connection to a host, directly
// or through a CONNECT tunnel. Internal to lib/ecsh/aws (.cpp files only: it pulls in Beast).

#include "ecsh/aws/http_client.hpp"
#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace ecsh::aws {

struct Proxy {
  std::string host;  // IPv6 without brackets
  std::string port;
  std::string authorization;  // "Basic …" from the URL's user:password, or empty (a secret)
  std::string variable;       // the environment variable it came from, for messages
  // host:port, never the credentials.
  std::string display() const;
};

// http://[user:password@]host[:port][/]; the credentials are registered as secrets.
std::optional<Proxy> parse_proxy(const std::string& url);

// NO_PROXY as botocore reads it (Python's urllib proxy_bypass_environment): "*" alone bypasses
// everything; each comma-separated entry, leading dots ignored, matches the URL's host (with or
// without its port) exactly or as a domain suffix. IP addresses match exactly (no CIDR ranges).
// `netloc` is host[:port] as written in the URL.
bool bypasses_proxy(const std::string& no_proxy, const std::string& netloc);

// The proxy for a request to `netloc` over http or https (tls), or none.
Result<std::optional<Proxy>> proxy_for(const HttpOptions& options, bool tls,
                                       const std::string& netloc);

// "host:port" with IPv6 hosts bracketed, as a CONNECT request target.
std::string authority_of(const std::string& host, const std::string& port);

// Connects `stream` to host:port, directly or through `proxy` (resolving and connecting to the
// proxy, then CONNECT when `tunnel`), with Nagle off, within `timeout`. Errors through a proxy
// name the proxy; direct errors carry only the reason (callers add the endpoint).
Awaitable<Result<void>> dial(boost::beast::tcp_stream& stream, std::string host, std::string port,
                             std::optional<Proxy> proxy, bool tunnel,
                             std::chrono::milliseconds timeout);

}  // namespace ecsh::aws
