#include "ecsh/aws/proxy.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/socket_options.hpp"
#include "ecsh/common/strings.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

namespace ecsh::aws {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Python's str.strip(): ASCII whitespace.
std::string py_strip(std::string_view s) {
  const char* ws = " \t\n\r\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}
}  // namespace

std::string Proxy::display() const { return authority_of(host, port); }

std::string authority_of(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
  return host + ":" + port;
}

std::optional<Proxy> parse_proxy(const std::string& url) {
  if (url.empty()) return std::nullopt;
  std::string rest = url;
  if (auto p = rest.find("://"); p != std::string::npos) rest = rest.substr(p + 3);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  Proxy proxy;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string userinfo = rest.substr(0, at);
    std::string decoded = str::uri_decode(userinfo);
    proxy.authorization = "Basic " + crypto::base64_encode(decoded);
    log::add_secret(proxy.authorization.substr(6));
    // The password as written and as decoded, so that no message or --debug line shows it.
    if (auto colon = userinfo.find(':');
        colon != std::string::npos && colon + 1 < userinfo.size()) {
      log::add_secret(userinfo.substr(colon + 1));
      log::add_secret(str::uri_decode(userinfo.substr(colon + 1)));
    }
    rest = rest.substr(at + 1);
  }
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return std::nullopt;
    proxy.host = rest.substr(1, close - 1);
    proxy.port = close + 2 < rest.size() && rest[close + 1] == ':' ? rest.substr(close + 2) : "80";
  } else {
    auto colon = rest.rfind(':');
    proxy.host = rest.substr(0, colon);
    proxy.port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  }
  if (proxy.host.empty() || proxy.port.empty()) return std::nullopt;
  return proxy;
}

bool bypasses_proxy(const std::string& no_proxy, const std::string& netloc) {
  if (no_proxy.empty()) return false;
  if (no_proxy == "*") return true;
  std::string host = str::to_lower(netloc);
  std::string hostonly = host;
  // urllib's _splitport: "(.*):([0-9]*)" with a non-empty port.
  if (auto colon = host.rfind(':');
      colon != std::string::npos && colon + 1 < host.size() &&
      host.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    hostonly = host.substr(0, colon);
  }
  for (auto raw : str::split(no_proxy, ',')) {
    std::string name = py_strip(raw);
    if (name.empty()) continue;
    name.erase(0, name.find_first_not_of('.'));
    name = str::to_lower(name);
    if (hostonly == name || host == name) return true;
    name = "." + name;
    if (hostonly.ends_with(name) || host.ends_with(name)) return true;
  }
  return false;
}

Result<std::optional<Proxy>> proxy_for(const HttpOptions& options, bool tls,
                                       const std::string& netloc) {
  const std::string& url = tls ? options.https_proxy : options.http_proxy;
  if (url.empty() || bypasses_proxy(options.no_proxy, netloc)) return std::optional<Proxy>{};
  auto proxy = parse_proxy(url);
  if (!proxy) {
    return Error::config(std::string("cannot use the proxy URL in ") +
                             (tls ? "HTTPS_PROXY" : "HTTP_PROXY") + ": " + log::redact(url),
                         "Write it as http://[user:password@]host:port.");
  }
  proxy->variable = tls ? "HTTPS_PROXY" : "HTTP_PROXY";
  return std::optional<Proxy>(std::move(*proxy));
}

Awaitable<Result<void>> dial(beast::tcp_stream& stream, std::string host, std::string port,
                             std::optional<Proxy> proxy, bool tunnel,
                             std::chrono::milliseconds timeout) {
  const std::string& dial_host = proxy ? proxy->host : host;
  const std::string& dial_port = proxy ? proxy->port : port;
  std::string via = proxy ? "the proxy " + proxy->display() + " (" + proxy->variable + ")" : "";
  std::string fix =
      proxy ? "Check " + proxy->variable + ", or add " + host + " to NO_PROXY." : std::string();
  if (proxy) log::debug("connecting to {} through {}", authority_of(host, port), via);
  tcp::resolver resolver(stream.get_executor());
  auto [rec, endpoints] =
      co_await resolver.async_resolve(dial_host, dial_port, use_awaitable_nothrow);
  if (rec) {
    if (proxy) co_return Error::connection("cannot resolve " + via + ": " + rec.message(), fix);
    co_return Error::connection("cannot resolve " + dial_host + ": " + rec.message());
  }
  stream.expires_after(timeout);
  auto [cec, ep] = co_await stream.async_connect(endpoints, use_awaitable_nothrow);
  (void)ep;
  if (cec) {
    if (proxy) co_return Error::connection("cannot connect to " + via + ": " + cec.message(), fix);
    co_return Error::connection(cec.message());
  }
  set_low_latency(stream.socket());
  if (!proxy || !tunnel) co_return ok();

  // A CONNECT tunnel through the proxy; TLS and the WebSocket then run end to end inside it.
  std::string target = authority_of(host, port);
  http::request<http::empty_body> req{http::verb::connect, target, 11};
  req.set(http::field::host, target);
  if (!proxy->authorization.empty())
    req.set(http::field::proxy_authorization, proxy->authorization);
  auto [wec, wn] = co_await http::async_write(stream, req, use_awaitable_nothrow);
  (void)wn;
  if (wec) co_return Error::connection(via + " failed during CONNECT: " + wec.message(), fix);
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // a CONNECT response has no body
  auto [pec, pn] = co_await http::async_read_header(stream, buffer, parser, use_awaitable_nothrow);
  (void)pn;
  if (pec) {
    std::string why = pec == beast::error::timeout
                          ? "no answer within " + std::to_string(timeout.count() / 1000) + " s"
                          : pec.message();
    co_return Error::connection(via + " did not answer CONNECT " + target + ": " + why, fix);
  }
  int status = static_cast<int>(parser.get().result_int());
  if (status / 100 != 2) {
    std::string line = "HTTP " + std::to_string(status) + " " + std::string(parser.get().reason());
    if (status == 407) {
      co_return Error::connection(
          via + " wants credentials for CONNECT " + target + " (" + line + ")",
          proxy->authorization.empty()
              ? "Put them in the proxy URL: http://user:password@host:port."
              : "Check the user name and password in " + proxy->variable + ".");
    }
    if (status == 502 || status == 503 || status == 504) {
      co_return Error::connection(
          via + " could not reach " + target + " (" + line + ")",
          "Check that " + host + " is reachable from the proxy, or add " + host + " to NO_PROXY.");
    }
    co_return Error::connection(
        via + " refused CONNECT " + target + " (" + line + ")",
        "Check the proxy's rules for " + target + ", or add " + host + " to NO_PROXY.");
  }
  // The timer stays armed: the caller's TLS or WebSocket handshake runs under it.
  co_return ok();
}

}  // namespace ecsh::aws
