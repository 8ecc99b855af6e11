#include "ecsh/docker/engine.hpp"

#include "ecsh/common/json_fields.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/strings.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace ecsh::docker {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using UnixSocket = asio::local::stream_protocol::socket;

constexpr std::uint64_t kMaxBodyBytes = 64ull * 1024 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;
constexpr std::string_view kDockerHostHint =
    "Set DOCKER_HOST=unix:///path/to/docker.sock (ecsh docker talks to the engine on this "
    "machine)";

std::optional<std::pair<int, int>> parse_version(std::string_view v) {
  auto dot = v.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size()) return std::nullopt;
  int major = 0, minor = 0;
  auto a = std::from_chars(v.data(), v.data() + dot, major);
  auto b = std::from_chars(v.data() + dot + 1, v.data() + v.size(), minor);
  if (a.ec != std::errc() || a.ptr != v.data() + dot || b.ec != std::errc() ||
      b.ptr != v.data() + v.size()) {
    return std::nullopt;
  }
  return std::make_pair(major, minor);
}

Error stream_error(const Endpoint& ep, const std::string& what,
                   const boost::system::error_code& ec) {
  return Error::connection("the Docker Engine at " + ep.host + " " + what + ": " + ec.message(), {},
                           false);
}

Awaitable<Result<UnixSocket>> open_socket(asio::any_io_executor ex, const Endpoint& ep) {
  if (ep.socket_path.empty() || ep.socket_path.size() > kMaxSocketPath) {
    co_return unreachable_error(ep, "not a usable unix socket path");
  }
  UnixSocket socket(ex);
  asio::local::stream_protocol::endpoint where(ep.socket_path);
  auto [ec] = co_await socket.async_connect(where, use_awaitable_nothrow);
  if (ec) co_return unreachable_error(ep, ec.message());
  co_return std::move(socket);
}

http::request<http::string_body> make_request(http::verb verb, const std::string& target,
                                              const std::string& body) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "docker");
  req.set(http::field::user_agent, "ecsh");
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  return req;
}

using Response = http::response<http::string_body>;

// Writes `req` on a fresh connection and reads the whole response; the connection is closed.
Awaitable<Result<Response>> round_trip(asio::any_io_executor ex, const Endpoint& ep,
                                       http::request<http::string_body>& req) {
  ECSH_CO_TRY(auto socket, co_await open_socket(ex, ep));
  req.keep_alive(false);
  log::debug("docker: {} {}", std::string(req.method_string()), std::string(req.target()));
  auto [wec, wn] = co_await http::async_write(socket, req, use_awaitable_nothrow);
  (void)wn;
  if (wec) co_return stream_error(ep, "did not take the request", wec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  auto [rec, rn] = co_await http::async_read(socket, buffer, parser, use_awaitable_nothrow);
  (void)rn;
  if (rec) co_return stream_error(ep, "sent no complete response", rec);
  Response resp = parser.release();
  log::debug("docker: -> {} ({} bytes)", resp.result_int(), resp.body().size());
  co_return resp;
}

}  // namespace

// ---- pure parts -------------------------------------------------------------------------------

Result<Endpoint> parse_docker_host(std::string_view value) {
  std::string host(str::trim(value));
  if (host.empty()) host = std::string(kDefaultDockerHost);
  auto sep = host.find("://");
  if (sep == std::string::npos) {
    return Error::config("DOCKER_HOST=" + host + " is not an address ecsh understands",
                         std::string(kDockerHostHint));
  }
  const std::string scheme = str::to_lower(host.substr(0, sep));
  if (scheme != "unix") {
    return Error::config(
        "DOCKER_HOST=" + host + ": " + scheme + ":// engines are not supported, only a unix socket",
        std::string(kDockerHostHint));
  }
  Endpoint ep;
  ep.host = host;
  ep.socket_path = host.substr(sep + 3);
  if (ep.socket_path.empty()) {
    return Error::config("DOCKER_HOST=" + host + " names no socket", std::string(kDockerHostHint));
  }
  if (ep.socket_path.size() > kMaxSocketPath) {
    return Error::config("DOCKER_HOST=" + host + ": the socket path is longer than " +
                         std::to_string(kMaxSocketPath) + " bytes");
  }
  return ep;
}

Result<Endpoint> endpoint_from_environment() {
  const char* v = std::getenv("DOCKER_HOST");
  return parse_docker_host(v ? std::string_view(v) : std::string_view());
}

std::string negotiate_api_version(std::string_view engine_version,
                                  std::string_view client_version) {
  auto engine = parse_version(engine_version);
  auto client = parse_version(client_version);
  if (!engine) return {};
  if (client && *client < *engine) return std::string(client_version);
  return std::string(engine_version);
}

Result<Filters> parse_filter_args(const std::vector<std::string>& args) {
  Filters filters;
  for (const auto& arg : args) {
    auto eq = arg.find('=');
    std::string key = eq == std::string::npos
                          ? std::string()
                          : str::to_lower(str::trim(std::string_view(arg).substr(0, eq)));
    if (key.empty()) {
      return Error::usage("bad filter '" + arg + "': expected KEY=VALUE",
                          "e.g. --filter label=com.amazonaws.ecs.container-name=web");
    }
    filters[key].emplace_back(str::trim(std::string_view(arg).substr(eq + 1)));
  }
  return filters;
}

std::string encode_filters(const Filters& filters) {
  json::object o;
  for (const auto& [key, values] : filters) {
    json::array a;
    for (const auto& v : values) a.emplace_back(v);
    o[key] = std::move(a);
  }
  return json::serialize(o);
}

std::string ContainerSummary::ecs_task_id() const {
  auto it = labels.find(std::string(kEcsTaskArnLabel));
  if (it == labels.end()) return {};
  auto slash = it->second.rfind('/');
  return slash == std::string::npos ? it->second : it->second.substr(slash + 1);
}

std::string ContainerSummary::ecs_container_name() const {
  auto it = labels.find(std::string(kEcsContainerNameLabel));
  return it == labels.end() ? std::string() : it->second;
}

Result<std::vector<ContainerSummary>> parse_container_list(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_array()) {
    return Error::protocol("the Docker Engine's container list is not a JSON array");
  }
  ECSH_TRY(auto items, json_objects(v.as_array(), "the Docker Engine's container list"));
  std::vector<ContainerSummary> out;
  for (const auto& o : items) {
    ContainerSummary c;
    ECSH_TRY(c.id, o.string_or("Id"));
    ECSH_TRY(c.image, o.string_or("Image"));
    ECSH_TRY(c.state, o.string_or("State"));
    ECSH_TRY(c.status, o.string_or("Status"));
    ECSH_TRY(auto names, o.strings("Names"));
    for (std::string_view name : names) {
      if (name.starts_with('/')) name.remove_prefix(1);
      // Legacy link aliases ("/other/alias") are not names of this container.
      if (name.empty() || name.find('/') != std::string_view::npos) continue;
      c.names.emplace_back(name);
    }
    ECSH_TRY(auto labels, o.string_map("Labels"));
    c.labels.insert(labels.begin(), labels.end());
    out.push_back(std::move(c));
  }
  return out;
}

Error engine_error(int http_status, std::string_view body) {
  std::string message;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    // Best effort: an error body of another shape falls back to the status line below.
    auto m = JsonFields(v.as_object(), "the Docker Engine's error").string_or("message");
    if (m) message = std::move(m.value());
  }
  if (message.empty()) {
    std::string text(str::trim(body.substr(0, std::min<std::size_t>(body.size(), 300))));
    message = "the Docker Engine answered HTTP " + std::to_string(http_status) +
              (text.empty() ? std::string() : ": " + text);
  }
  // One line, as every ecsh error.
  std::replace(message.begin(), message.end(), '\n', ' ');
  if (http_status == 404 && message.starts_with("No such container")) {
    return Error::usage(message, "List the containers with: ecsh docker ps -a");
  }
  Error e;
  e.kind = ErrorKind::service;
  e.message = message;
  e.http_status = http_status;
  return e;
}

Error unreachable_error(const Endpoint& endpoint, const std::string& why) {
  return Error::connection("cannot connect to the Docker Engine at " + endpoint.host + ": " + why +
                               ". Is Docker running? Set DOCKER_HOST=unix:///path or run as a "
                               "user in the docker group",
                           {}, false);
}

std::string exec_create_body(const ExecConfig& config, bool with_console_size) {
  json::object o;
  o["AttachStdin"] = config.attach_stdin;
  o["AttachStdout"] = true;
  o["AttachStderr"] = true;
  o["Tty"] = config.tty;
  json::array cmd;
  for (const auto& w : config.cmd) cmd.emplace_back(w);
  o["Cmd"] = std::move(cmd);
  if (!config.env.empty()) {
    json::array env;
    for (const auto& e : config.env) env.emplace_back(e);
    o["Env"] = std::move(env);
  }
  if (!config.user.empty()) o["User"] = config.user;
  if (!config.working_dir.empty()) o["WorkingDir"] = config.working_dir;
  if (with_console_size && config.tty && config.console_size) {
    o["ConsoleSize"] = json::array{config.console_size->first, config.console_size->second};
  }
  return json::serialize(o);
}

// ---- the hijacked stream ----------------------------------------------------------------------

struct ExecStream::Impl {
  explicit Impl(UnixSocket s) : socket(std::move(s)) {}
  UnixSocket socket;
  std::string pending;  // bytes read with the response header
};

ExecStream::ExecStream() = default;
ExecStream::ExecStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ExecStream::ExecStream(ExecStream&&) noexcept = default;
ExecStream& ExecStream::operator=(ExecStream&&) noexcept = default;
ExecStream::~ExecStream() = default;

Awaitable<Result<std::string>> ExecStream::read() {
  if (!impl_) co_return std::string();
  if (!impl_->pending.empty()) {
    std::string out = std::move(impl_->pending);
    impl_->pending.clear();
    co_return out;
  }
  std::string buf(kReadChunk, '\0');
  auto [ec, n] = co_await impl_->socket.async_read_some(asio::buffer(buf), use_awaitable_nothrow);
  if (ec == asio::error::eof) co_return std::string();
  if (ec) {
    Error e = Error::connection("the exec stream from the Docker Engine broke: " + ec.message(), {},
                                false);
    co_return e;
  }
  buf.resize(n);
  co_return buf;
}

Awaitable<Result<void>> ExecStream::write(std::string_view data) {
  if (!impl_) co_return Error::internal("write on a closed exec stream");
  auto [ec, n] = co_await asio::async_write(impl_->socket, asio::buffer(data.data(), data.size()),
                                            use_awaitable_nothrow);
  (void)n;
  if (ec) {
    Error e =
        Error::connection("the exec stream to the Docker Engine broke: " + ec.message(), {}, false);
    co_return e;
  }
  co_return ok();
}

Result<void> ExecStream::close_write() {
  if (!impl_) return ok();
  boost::system::error_code ec;
  impl_->socket.shutdown(UnixSocket::shutdown_send, ec);
  if (ec && ec != asio::error::not_connected) {
    return Error::connection("cannot end the exec's input: " + ec.message(), {}, false);
  }
  return ok();
}

void ExecStream::close() {
  if (!impl_) return;
  boost::system::error_code ec;
  impl_->socket.close(ec);
}

// ---- the engine -------------------------------------------------------------------------------

std::string Engine::path(std::string_view p) const {
  if (api_version_.empty()) return std::string(p);
  return "/v" + api_version_ + std::string(p);
}

Awaitable<Result<Engine::Response>> Engine::request(Method method, const std::string& target,
                                                    const std::string& body) {
  auto req = make_request(method == Method::get ? http::verb::get : http::verb::post, target, body);
  ECSH_CO_TRY(auto resp, co_await round_trip(executor_, endpoint_, req));
  Response r;
  r.status = static_cast<int>(resp.result_int());
  r.body = std::move(resp.body());
  co_return r;
}

Awaitable<Result<Engine>> Engine::connect(asio::any_io_executor executor, Endpoint endpoint) {
  Engine engine;
  engine.executor_ = executor;
  engine.endpoint_ = std::move(endpoint);
  const std::string target = "/_ping";
  const std::string no_body;
  auto req = make_request(http::verb::get, target, no_body);
  ECSH_CO_TRY(auto resp, co_await round_trip(executor, engine.endpoint_, req));
  if (resp.result_int() != 200) {
    co_return engine_error(static_cast<int>(resp.result_int()), resp.body());
  }
  std::string server_version;
  if (auto it = resp.find("Api-Version"); it != resp.end()) server_version = it->value();
  engine.api_version_ = negotiate_api_version(server_version);
  log::debug("docker: engine API {}, using {}", server_version,
             engine.api_version_.empty() ? "unversioned paths" : engine.api_version_);
  co_return engine;
}

Awaitable<Result<std::vector<ContainerSummary>>> Engine::list_containers(const Filters& filters,
                                                                         bool all) {
  std::string target = path("/containers/json") + "?all=" + (all ? "1" : "0");
  if (!filters.empty()) target += "&filters=" + str::uri_encode(encode_filters(filters));
  const std::string no_body;
  ECSH_CO_TRY(auto resp, co_await request(Method::get, target, no_body));
  if (resp.status != 200) co_return engine_error(resp.status, resp.body);
  co_return parse_container_list(resp.body);
}

Awaitable<Result<std::string>> Engine::create_exec(const std::string& container,
                                                   const ExecConfig& config) {
  if (container.empty()) co_return Error::usage("no container given");
  if (config.cmd.empty()) co_return Error::usage("no command given");
  const std::string target = path("/containers/" + str::uri_encode(container) + "/exec");
  const bool console_size =
      !api_version_.empty() && negotiate_api_version(api_version_, "1.42") == "1.42";
  const std::string body = exec_create_body(config, console_size);
  ECSH_CO_TRY(auto resp, co_await request(Method::post, target, body));
  if (resp.status != 201 && resp.status != 200) co_return engine_error(resp.status, resp.body);
  ECSH_CO_TRY(auto created, parse_json_object(resp.body, "the Docker Engine's new exec"));
  ECSH_CO_TRY(auto id, JsonFields(created, "the Docker Engine's new exec").string_or("Id"));
  if (id.empty()) co_return Error::protocol("the Docker Engine created an exec with no ID");
  co_return id;
}

Awaitable<Result<ExecStream>> Engine::start_exec(const std::string& exec_id, bool tty) {
  ECSH_CO_TRY(auto socket, co_await open_socket(executor_, endpoint_));
  const std::string target = path("/exec/" + str::uri_encode(exec_id) + "/start");
  json::object body{{"Detach", false}, {"Tty", tty}};
  const std::string body_text = json::serialize(body);
  auto req = make_request(http::verb::post, target, body_text);
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "tcp");
  log::debug("docker: POST {} (hijack)", target);
  auto [wec, wn] = co_await http::async_write(socket, req, use_awaitable_nothrow);
  (void)wn;
  if (wec) co_return stream_error(endpoint_, "did not take the request", wec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  auto [hec, hn] = co_await http::async_read_header(socket, buffer, parser, use_awaitable_nothrow);
  (void)hn;
  if (hec) co_return stream_error(endpoint_, "sent no response to the exec start", hec);
  const int status = static_cast<int>(parser.get().result_int());
  log::debug("docker: -> {}", status);
  if (status == 101 || status == 200) {
    auto impl = std::make_unique<ExecStream::Impl>(std::move(socket));
    impl->pending = beast::buffers_to_string(buffer.data());
    co_return ExecStream(std::move(impl));
  }
  auto [bec, bn] = co_await http::async_read(socket, buffer, parser, use_awaitable_nothrow);
  (void)bn;
  if (bec) co_return engine_error(status, "");
  co_return engine_error(status, parser.get().body());
}

Awaitable<Result<void>> Engine::resize_exec(const std::string& exec_id, unsigned rows,
                                            unsigned cols) {
  const std::string target = path("/exec/" + str::uri_encode(exec_id) + "/resize") +
                             "?h=" + std::to_string(rows) + "&w=" + std::to_string(cols);
  const std::string no_body;
  ECSH_CO_TRY(auto resp, co_await request(Method::post, target, no_body));
  if (resp.status < 200 || resp.status > 299) co_return engine_error(resp.status, resp.body);
  co_return ok();
}

Awaitable<Result<ExecState>> Engine::inspect_exec(const std::string& exec_id) {
  const std::string target = path("/exec/" + str::uri_encode(exec_id) + "/json");
  const std::string no_body;
  ECSH_CO_TRY(auto resp, co_await request(Method::get, target, no_body));
  if (resp.status != 200) co_return engine_error(resp.status, resp.body);
  auto v = parse_json_object(resp.body, "the Docker Engine's exec state");
  if (!v) co_return Error::protocol("the Docker Engine's exec state is not JSON");
  JsonFields o(v.value(), "the Docker Engine's exec state");
  ExecState s;
  ECSH_CO_TRY(s.running, o.bool_or("Running", false));
  ECSH_CO_TRY(auto exit_code, o.optional_int("ExitCode"));
  if (exit_code) s.exit_code = static_cast<int>(*exit_code);
  co_return s;
}

Awaitable<Result<int>> Engine::wait_exec_exit(const std::string& exec_id,
                                              std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto pause = std::chrono::milliseconds(5);
  asio::steady_timer timer(executor_);
  for (;;) {
    ECSH_CO_TRY(auto state, co_await inspect_exec(exec_id));
    if (!state.running && state.exit_code) co_return *state.exit_code;
    if (std::chrono::steady_clock::now() >= deadline) break;
    timer.expires_after(pause);
    auto [ec] = co_await timer.async_wait(use_awaitable_nothrow);
    if (ec) break;
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
  Error e = Error::connection("the Docker Engine reported no exit code for the command within " +
                                  std::to_string(limit.count() / 1000) + " s",
                              {}, false);
  co_return e;
}

}  // namespace ecsh::docker
