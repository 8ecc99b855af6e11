#include "ecsh/aws/http_client.hpp"

#include "ecsh/aws/proxy.hpp"
#include "ecsh/aws/tls_context.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/strings.hpp"
#include "ecsh/common/tcp_or_tls_stream.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>

#include <cstdlib>
#include <map>

namespace ecsh::aws {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr std::uint64_t kMaxBodyBytes = 256ull * 1024 * 1024;
constexpr std::size_t kMaxPooledPerHost = 8;

struct Connection {
  explicit Connection(TcpOrTlsStream s) : stream(std::move(s)) {}
  TcpOrTlsStream stream;
  beast::flat_buffer buffer;

  beast::tcp_stream& tcp() { return stream.tcp(); }
};

struct Target {
  std::string scheme;
  std::string host;  // for DNS and SNI (IPv6 without brackets)
  std::string port;
  std::string authority;  // host[:port] as in the Host header
  std::string key;        // pool key
  std::optional<Proxy> proxy;
};

Result<Target> target_of(const HttpRequest& r, const HttpOptions& options) {
  Target t;
  t.scheme = str::to_lower(r.scheme);
  if (t.scheme != "http" && t.scheme != "https") {
    return Error::usage("unsupported URL scheme '" + r.scheme + "' (http or https)");
  }
  std::string authority = r.host;
  t.port = t.scheme == "https" ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return Error::usage("bad host " + authority);
    t.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      t.port = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    t.host = authority.substr(0, colon);
    if (colon != std::string::npos) t.port = authority.substr(colon + 1);
  }
  if (t.host.empty()) return Error::usage("the URL has no host: " + r.url());
  t.authority = authority;
  t.key = t.scheme + "://" + authority;
  ECSH_TRY(t.proxy, proxy_for(options, t.scheme == "https", authority));
  if (t.proxy) t.key += " via " + t.proxy->display();
  return t;
}

std::string endpoint_url_of(const HttpRequest& r) { return r.scheme + "://" + r.host + r.path; }

Error connect_error(const HttpRequest& r, const std::string& detail) {
  return Error::connection("Could not connect to the endpoint URL: \"" + endpoint_url_of(r) + "\"",
                           detail);
}

Error speaks_tls_error(const HttpRequest& r) {
  return Error::connection(endpoint_url_of(r) + " speaks HTTPS, not plain HTTP",
                           "Use https:// in the endpoint URL.", false);
}

class BeastHttpClient final : public HttpClient {
 public:
  BeastHttpClient(asio::any_io_executor ex, HttpOptions options)
      : ex_(std::move(ex)), options_(std::move(options)) {}

  Awaitable<Result<HttpResponse>> send(HttpRequest request) override {
    ECSH_CO_TRY(auto target, target_of(request, options_));
    // A pooled connection may have been closed by the server meanwhile: one fresh retry.
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::unique_ptr<Connection> conn = take_pooled(target.key);
      bool reused = conn != nullptr;
      if (!conn) {
        auto fresh = co_await connect(request, target);
        if (!fresh) co_return fresh.error();
        conn = std::move(fresh).value();
      }
      bool wrote_nothing_back = false;
      auto response = co_await exchange(*conn, request, target, wrote_nothing_back);
      if (!response) {
        if (reused && wrote_nothing_back) continue;
        co_return response.error();
      }
      if (response.value().second) put_pooled(target.key, std::move(conn));
      co_return std::move(response.value().first);
    }
    co_return connect_error(request, "the connection was closed before a response arrived");
  }

 private:
  std::unique_ptr<Connection> take_pooled(const std::string& key) {
    auto it = pool_.find(key);
    if (it == pool_.end() || it->second.empty()) return nullptr;
    auto c = std::move(it->second.back());
    it->second.pop_back();
    return c;
  }

  void put_pooled(const std::string& key, std::unique_ptr<Connection> c) {
    auto& v = pool_[key];
    if (v.size() < kMaxPooledPerHost) v.push_back(std::move(c));
  }

  Result<ssl::context*> tls_context() {
    if (!ssl_ctx_) {
      ECSH_TRY(ssl_ctx_, make_tls_client_context(options_));
    }
    return ssl_ctx_.get();
  }

  Awaitable<Result<std::unique_ptr<Connection>>> connect(const HttpRequest& request,
                                                         const Target& t) {
    std::unique_ptr<Connection> conn;
    if (t.scheme == "http") {
      conn = std::make_unique<Connection>(
          TcpOrTlsStream(std::make_unique<TcpOrTlsStream::Plain>(ex_)));
    } else {
      ECSH_CO_TRY(auto* ctx, tls_context());
      conn = std::make_unique<Connection>(
          TcpOrTlsStream(std::make_unique<TcpOrTlsStream::Tls>(ex_, *ctx)));
    }
    std::string host = t.host;
    std::string port = t.port;
    std::optional<Proxy> proxy = t.proxy;
    // Plain http through a proxy sends absolute-form requests; https tunnels with CONNECT.
    const bool tunnel = t.scheme == "https";
    auto dialed = co_await dial(conn->tcp(), host, port, proxy, tunnel, options_.connect_timeout);
    if (!dialed) {
      if (t.proxy) co_return dialed.error();
      co_return connect_error(request, dialed.error().message);
    }
    if (auto* tls = conn->stream.tls()) {
      auto& s = *tls;
      ECSH_CO_TRY(prepare_tls_client(s.native_handle(), t.host, options_.verify_tls));
      auto [hec] = co_await s.async_handshake(ssl::stream_base::client, use_awaitable_nothrow);
      if (hec) {
        Error e = tls_handshake_error(s.native_handle(), t.host, endpoint_url_of(request), hec);
        co_return e;
      }
    }
    co_return conn;
  }

  // The response, and whether the connection can be reused. `nothing_back` tells the caller that
  // the failure happened before any response byte arrived (safe to retry on a fresh connection).
  Awaitable<Result<std::pair<HttpResponse, bool>>> exchange(Connection& conn, const HttpRequest& r,
                                                            const Target& t, bool& nothing_back) {
    http::request<http::string_body> req;
    req.method_string(r.method);
    std::string origin_form =
        r.path.empty() ? "/" : (r.query.empty() ? r.path : r.path + "?" + r.query);
    bool absolute = t.proxy && t.scheme == "http";
    req.target(absolute ? "http://" + t.authority + origin_form : origin_form);
    if (absolute && !t.proxy->authorization.empty()) {
      req.set(http::field::proxy_authorization, t.proxy->authorization);
    }
    req.version(11);
    for (const auto& h : r.headers) req.insert(h.name, h.value);
    if (!r.header("Host")) req.set(http::field::host, r.host);
    if (!r.header("User-Agent")) req.set(http::field::user_agent, "ecsh");
    req.body() = r.body;
    req.prepare_payload();
    if (log::debug_enabled()) {
      std::string headers;
      for (const auto& h : r.headers) headers += "\n  " + h.name + ": " + h.value;
      log::debug("HTTP {} {}{}\n{}", r.method, r.url(), headers, r.body);
    }

    conn.tcp().expires_after(options_.read_timeout);
    boost::system::error_code wec;
    std::tie(wec, std::ignore) =
        co_await http::async_write(conn.stream, req, use_awaitable_nothrow);
    if (wec) {
      nothing_back = true;
      co_return connect_error(r, wec.message());
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    boost::system::error_code rec;
    std::tie(rec, std::ignore) =
        co_await http::async_read(conn.stream, conn.buffer, parser, use_awaitable_nothrow);
    if (rec) {
      nothing_back = !parser.got_some();
      if (t.scheme == "http" && conn.buffer.size() > 0 &&
          (static_cast<const unsigned char*>(conn.buffer.data().data())[0] == 0x15 ||
           static_cast<const unsigned char*>(conn.buffer.data().data())[0] == 0x16)) {
        co_return speaks_tls_error(r);
      }
      if (rec == beast::error::timeout) {
        Error e = Error::connection("Read timeout on endpoint URL: \"" + endpoint_url_of(r) + "\"");
        co_return e;
      }
      co_return connect_error(r, rec.message());
    }
    conn.tcp().expires_never();
    auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res)
      out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    out.body = std::move(res.body());
    // nginx, ELB and the sandbox answer a plain request on their TLS port with this 400.
    if (t.scheme == "http" && out.status == 400 &&
        out.body.find("plain HTTP request was sent to HTTPS port") != std::string::npos) {
      co_return speaks_tls_error(r);
    }
    if (log::debug_enabled()) {
      std::string headers;
      for (const auto& h : out.headers) headers += "\n  " + h.name + ": " + h.value;
      log::debug("HTTP {} from {}{}\n{}", out.status, r.url(), headers, out.body);
    }
    co_return std::make_pair(std::move(out), res.keep_alive());
  }

  asio::any_io_executor ex_;
  HttpOptions options_;
  std::shared_ptr<ssl::context> ssl_ctx_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> pool_;
};

// Python's urllib (so botocore) prefers the lower-case variable when both are set.
std::string env_value(const char* upper, const char* lower) {
  if (const char* v = std::getenv(lower); v && *v) return v;
  if (const char* v = std::getenv(upper); v && *v) return v;
  return {};
}

}  // namespace

HttpOptions HttpOptions::from_environment() {
  HttpOptions o;
  o.https_proxy = env_value("HTTPS_PROXY", "https_proxy");
  o.http_proxy = env_value("HTTP_PROXY", "http_proxy");
  o.no_proxy = env_value("NO_PROXY", "no_proxy");
  return o;
}

std::unique_ptr<HttpClient> make_http_client(asio::any_io_executor executor, HttpOptions options) {
  return std::make_unique<BeastHttpClient>(std::move(executor), std::move(options));
}

}  // namespace ecsh::aws
