#include "sandbox/ssm/agent_gateway.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/log.hpp"
#include "sandbox/core/time_format.hpp"
#include "sandbox/ssm/gateway_links.hpp"
#include "sandbox/ssm/message_gateway.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>

namespace ecsh::sandbox::ssm {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
namespace fs = std::filesystem;
using WsStream = GatewayWsStream;

namespace {

constexpr const char* kBinaries[] = {"amazon-ssm-agent", "ssm-agent-worker", "ssm-session-worker"};

gateway::SessionRelay::Stamp stamp() {
  auto now = std::chrono::system_clock::now();
  gateway::SessionRelay::Stamp s;
  s.created_date = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  s.message_id = crypto::uuid4();
  s.created_iso8601 = iso8601(now);
  return s;
}

// One WebSocket with a single writer: frames queue in `out`.
struct Link {
  Link(std::shared_ptr<WsStream> w, asio::any_io_executor ex) : ws(std::move(w)), wake(ex) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  std::shared_ptr<WsStream> ws;
  std::deque<std::string> out;
  asio::steady_timer wake;
  bool closing = false;
  bool closed = false;

  void send(std::string frame) {
    if (closing || closed) return;
    out.push_back(std::move(frame));
    wake.cancel();
  }
  void close() {
    closing = true;
    wake.cancel();
  }
  void abort() {
    closed = true;
    boost::system::error_code ec;
    beast::get_lowest_layer(*ws).socket().close(ec);
    wake.cancel();
  }
};

Awaitable<void> write_loop(std::shared_ptr<Link> l) {
  while (!l->closed) {
    if (l->out.empty()) {
      if (l->closing) break;
      l->wake.expires_at(asio::steady_timer::time_point::max());
      auto [wec] = co_await l->wake.async_wait(use_awaitable_nothrow);
      (void)wec;
      continue;
    }
    std::string frame = std::move(l->out.front());
    l->out.pop_front();
    l->ws->binary(true);
    auto [ec, n] = co_await l->ws->async_write(asio::buffer(frame), use_awaitable_nothrow);
    (void)n;
    if (ec) {
      l->closed = true;
      co_return;
    }
  }
  if (!l->closed) {
    websocket::close_reason reason(websocket::close_code::normal);
    auto [cec] = co_await l->ws->async_close(reason, use_awaitable_nothrow);
    (void)cec;
    l->closed = true;
  }
}

aws::HttpResponse text_response(int status, std::string body,
                                std::string type = "application/json") {
  aws::HttpResponse r;
  r.status = status;
  r.headers.push_back({"Content-Type", std::move(type)});
  r.body = std::move(body);
  return r;
}

// A TCP socket bound to 127.0.0.1:0 inside the task's network namespace.
Result<int> loopback_socket_in_task(runtime::TaskRuntime& runtime, const std::string& task_id) {
  ECSH_TRY(int fd, runtime.open_task_socket(task_id, AF_INET));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    return Error::internal(std::string("binding in the task's network: ") + std::strerror(err));
  }
  return fd;
}

}  // namespace

struct AgentGateway::Impl : std::enable_shared_from_this<AgentGateway::Impl> {
  struct Host {
    ExternalAgentTarget target;
    std::unique_ptr<HttpServer> mgs, meta;
    std::uint16_t mgs_port = 0, meta_port = 0;
    std::string credentials_path, credentials_auth;  // the auth value is a secret
    std::string control_token;                       // secret
    std::shared_ptr<Link> control;
    std::shared_ptr<runtime::ExecProcess> process;
    std::vector<std::string> pending;  // sessions to announce once the control channel opens
  };
  struct Relay {
    explicit Relay(std::string id) : relay(std::move(id)) {}
    gateway::SessionRelay relay;
    gateway::SessionAnnouncement announcement;
    std::string target;
    std::string agent_token;  // secret
    std::shared_ptr<Link> client, agent;
    std::unique_ptr<asio::steady_timer> end_timer;
  };

  Impl(asio::any_io_executor ex, SessionRegistry& s, runtime::TaskRuntime& r, Options o)
      : executor(ex), sessions(s), runtime(r), options(std::move(o)) {}

  asio::any_io_executor executor;
  SessionRegistry& sessions;
  runtime::TaskRuntime& runtime;
  Options options;
  WebSocketUpgradeHandler websocket;  // upgrades on the per-task ssmmessages listeners
  std::map<std::string, Host> hosts;  // by target
  std::map<std::string, Relay> relays;
  int drop_every = 0, max_drops = 0, drops = 0;
  std::uint64_t frames_to_clients = 0;
  bool stopped = false;

  Host* host(const std::string& target) {
    auto it = hosts.find(target);
    return it == hosts.end() ? nullptr : &it->second;
  }

  void apply(const std::string& id, gateway::SessionRelay::Actions a) {
    auto it = relays.find(id);
    if (it == relays.end()) return;
    Relay& r = it->second;
    for (auto& f : a.to_client) {
      if (!r.client) continue;
      r.client->send(std::move(f));
      if (drop_every > 0 && drops < max_drops && ++frames_to_clients % drop_every == 0) {
        ++drops;
        r.client->abort();  // the read loop reports the drop to the relay
        break;
      }
    }
    for (auto& f : a.to_agent) {
      if (r.agent) r.agent->send(std::move(f));
    }
    if (a.close_client && r.client) r.client->close();
    if (a.close_agent && r.agent) r.agent->close();
    if (a.finished) {
      if (r.end_timer) r.end_timer->cancel();
      // The session is over for the service (DescribeSessions, ResumeSession).
      asio::post(executor, [self = shared_from_this(), id] { self->sessions.terminate(id); });
    }
  }

  void announce(Host& h, const std::string& id) {
    auto it = relays.find(id);
    if (it == relays.end() || it->second.relay.finished()) return;
    if (!h.control || h.control->closed) {
      h.pending.push_back(id);
      return;
    }
    auto s = stamp();
    h.control->send(session::encode(
        gateway::interactive_shell_message(it->second.announcement, s.created_date, s.message_id)));
  }

  // ---- the agent's side ----

  Result<void> start(const ExternalAgentTarget& t) {
    if (hosts.count(t.target)) return outcome::success();
    Host h;
    h.target = t;
    ECSH_TRY(int mgs_fd, loopback_socket_in_task(runtime, t.task_id));
    // Inside the task every peer is loopback, so the server's "admin for loopback only" rule
    // would let the task's processes read and rewrite the whole sandbox (every secret of
    // /_sandbox/state): here the admin endpoint does not exist.
    h.mgs = std::make_unique<HttpServer>(executor, [api = options.api](const aws::HttpRequest& r) {
      if (r.path.starts_with("/_sandbox/")) {
        aws::HttpResponse out;
        out.status = 404;
        return out;
      }
      return api(r);
    });
    h.mgs->enable_tls(options.tls);
    h.mgs->set_websocket_handler(websocket);
    ECSH_TRY(h.mgs_port, h.mgs->listen_on(mgs_fd));
    ECSH_TRY(int meta_fd, loopback_socket_in_task(runtime, t.task_id));
    h.credentials_path = "/v2/credentials/" + crypto::uuid4();
    h.credentials_auth = crypto::hex(crypto::random_bytes(24));
    log::add_secret(h.credentials_auth);
    std::weak_ptr<Impl> weak = shared_from_this();
    const std::string target = t.target;
    h.meta = std::make_unique<HttpServer>(executor, [weak, target](const aws::HttpRequest& r) {
      auto self = weak.lock();
      if (!self) return text_response(503, "{}");
      return self->metadata(target, r);
    });
    ECSH_TRY(h.meta_port, h.meta->listen_on(meta_fd));

    // The layout ECS makes: /ecs-execute-command-<uuid>/ with the binaries and configuration/.
    const fs::path base = fs::path(options.work_dir) / (t.task_id + "-" + t.container);
    const fs::path dir = base / ("ecs-execute-command-" + crypto::uuid4());
    std::error_code ec;
    for (const fs::path& d : {dir / "configuration", dir / "certs", base / "lib", base / "log"}) {
      fs::create_directories(d, ec);
      if (ec) return Error::internal("cannot make " + d.string() + ": " + ec.message());
    }
    for (const char* name : kBinaries) {
      fs::copy_file(fs::path(options.binaries_dir) / name, dir / name,
                    fs::copy_options::overwrite_existing, ec);
      if (ec) return Error::internal(std::string("cannot copy ") + name + ": " + ec.message());
      fs::permissions(dir / name, fs::perms(0755), ec);
      if (ec)
        return Error::internal(std::string("cannot make ") + name + " executable: " + ec.message());
    }
    // The CA the agent adds to its roots in container mode: root's, mode 0400 exactly
    // (agent/network/certreader/certreader_unix.go).
    const fs::path cert = dir / "certs" / "amazon-ssm-agent.crt";
    fs::copy_file(options.ca_pem, cert, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::permissions(cert, fs::perms::owner_read, ec);
    if (ec) return Error::internal("cannot install the agent's CA: " + ec.message());
    // A URL: the agent parses Mgs.Endpoint with url.Parse, and a bare "127.0.0.1:PORT" fails
    // to parse, which silently falls back to ssmmessages.<region>.amazonaws.com.
    const std::string endpoint = "127.0.0.1:" + std::to_string(h.mgs_port);
    json::object config{
        {"Agent", json::object{{"ContainerMode", true}, {"Region", t.region}}},
        {"Mgs", json::object{{"Region", t.region}, {"Endpoint", "https://" + endpoint}}},
        {"Kms", json::object{{"Endpoint", "https://" + endpoint}}}};
    {
      // Without it the agent would talk to AWS's own ssmmessages: a failed write is fatal.
      std::ofstream f(dir / "configuration" / "amazon-ssm-agent.json");
      f << json::serialize(config);
      f.close();
      if (!f) return Error::internal("cannot write the agent's configuration in " + dir.string());
    }

    const std::string meta = "http://127.0.0.1:" + std::to_string(h.meta_port);
    runtime::ExecOptions o;
    o.tty = false;
    o.env = {{"ECS_CONTAINER_METADATA_URI_V4", meta + "/v4/" + t.runtime_id},
             {"AWS_CONTAINER_CREDENTIALS_FULL_URI", meta + h.credentials_path},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN", h.credentials_auth}};
    std::vector<std::string> argv = {
        "sandbox-exec-agent",          "--data",
        (base / "lib").string(),       "--logs",
        (base / "log").string(),       "--output",
        (base / "agent.out").string(), (dir / "amazon-ssm-agent").string()};
    ECSH_TRY(h.process, runtime.exec(t.task_id, t.container, argv, o));
    hosts.emplace(t.target, std::move(h));
    return outcome::success();
  }

  aws::HttpResponse metadata(const std::string& target, const aws::HttpRequest& r) {
    Host* h = host(target);
    if (!h) return text_response(404, "{}");
    const auto& t = h->target;
    if (r.path == h->credentials_path) {
      auto auth = r.header("authorization");
      if (!auth || !crypto::equal_constant_time(std::string(*auth), h->credentials_auth))
        return text_response(401, R"({"message":"unauthorized"})");
      if (t.role_arn.empty() || !options.credentials)
        return text_response(400, R"({"message":"no task role"})");
      auto c = options.credentials(t.role_arn, "ecs-" + t.task_id);
      if (!c)
        return text_response(400, json::serialize(json::object{{"message", c.error().message}}));
      json::object o{{"RoleArn", t.role_arn},
                     {"AccessKeyId", c.value().access_key_id},
                     {"SecretAccessKey", c.value().secret_access_key},
                     {"Token", c.value().session_token},
                     {"Expiration", iso8601(c.value().expiration)}};
      return text_response(200, json::serialize(o));
    }
    const std::string container_path = "/v4/" + t.runtime_id;
    if (r.path == container_path) {
      json::object o{{"DockerId", t.runtime_id},
                     {"Name", t.container},
                     {"DockerName", "ecs-" + t.family + "-" + t.revision + "-" + t.container},
                     {"Image", t.image},
                     {"ImageID", ""},
                     {"Labels", json::object{{"com.amazonaws.ecs.cluster", t.cluster_arn},
                                             {"com.amazonaws.ecs.container-name", t.container},
                                             {"com.amazonaws.ecs.task-arn", t.task_arn}}},
                     {"DesiredStatus", "RUNNING"},
                     {"KnownStatus", "RUNNING"},
                     {"Limits", json::object{{"CPU", 0}}},
                     {"Type", "NORMAL"}};
      return text_response(200, json::serialize(o));
    }
    if (r.path == container_path + "/task") {
      json::object o{{"Cluster", t.cluster_arn},
                     {"TaskARN", t.task_arn},
                     {"Family", t.family},
                     {"Revision", t.revision},
                     {"DesiredStatus", "RUNNING"},
                     {"KnownStatus", "RUNNING"},
                     {"AvailabilityZone", t.availability_zone}};
      return text_response(200, json::serialize(o));
    }
    return text_response(404, R"({"message":"not found"})");
  }

  aws::HttpResponse create_channel(const aws::HttpRequest& r) {
    auto path = gateway::parse_channel_path(r.path);
    if (!path || r.method != "POST") return text_response(404, "<NotFound/>", "text/xml");
    auto body = gateway::parse_create_channel_request(path->kind, r.body);
    if (!body) {
      return text_response(
          400, "<ValidationException>" + body.error().message + "</ValidationException>",
          "text/xml");
    }
    std::string token = new_stream_token();
    log::add_secret(token);
    if (path->kind == gateway::ChannelKind::control) {
      Host* h = host(path->id);
      if (!h) return text_response(400, "<InvalidTarget/>", "text/xml");
      h->control_token = token;
    } else {
      auto it = relays.find(path->id);
      if (it == relays.end() || it->second.relay.finished()) {
        return text_response(400, "<BadRequest>Session is already terminated</BadRequest>",
                             "text/xml");
      }
      it->second.agent_token = token;
    }
    return text_response(201, gateway::create_channel_response_xml(path->kind, token), "text/xml");
  }

  Awaitable<void> control_channel(TcpOrTlsStream stream, BeastRequest request) {
    auto self = shared_from_this();
    auto ws = std::make_shared<WsStream>(std::move(stream));
    ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    auto [aec] = co_await ws->async_accept(request, use_awaitable_nothrow);
    if (aec) co_return;
    auto path = gateway::parse_channel_path(request.target());
    beast::flat_buffer buffer;
    auto [rec, rn] = co_await ws->async_read(buffer, use_awaitable_nothrow);
    (void)rn;
    if (rec || !path) co_return;
    auto open = gateway::parse_open_channel(beast::buffers_to_string(buffer.data()));
    Host* h = host(path->id);
    if (!open || !h || h->control_token.empty() ||
        !crypto::equal_constant_time(open.value().token, h->control_token)) {
      websocket::close_reason reason(websocket::close_code::policy_error,
                                     "Channel " + path->id + ": invalid token.");
      auto [cec] = co_await ws->async_close(reason, use_awaitable_nothrow);
      (void)cec;
      co_return;
    }
    const std::string target = path->id;
    auto link = std::make_shared<Link>(ws, executor);
    if (h->control) h->control->abort();
    h->control = link;
    asio::co_spawn(executor, write_loop(link), asio::detached);
    auto pending = std::move(h->pending);
    h->pending.clear();
    for (const auto& id : pending) announce(*h, id);

    for (;;) {
      buffer.clear();
      auto [ec, n] = co_await ws->async_read(buffer, use_awaitable_nothrow);
      (void)n;
      if (ec || stopped) break;
      auto m = session::try_decode(beast::buffers_to_string(buffer.data()));
      if (!m) continue;
      if (m.value().message_type != "agent_task_complete") continue;
      auto done = gateway::parse_task_complete(m.value());
      if (!done) continue;
      auto s = stamp();
      link->send(session::encode(
          gateway::task_acknowledge_message(done.value(), s.created_date, s.message_id)));
      auto it = relays.find(done.value().session_id);
      if (it != relays.end()) {
        apply(done.value().session_id, it->second.relay.task_completed(done.value().output, s));
      }
    }
    link->closed = true;
    link->wake.cancel();
    if (Host* still = host(target); still && still->control == link) still->control.reset();
  }

  // ---- the data channels ----

  Awaitable<void> read_loop(std::string id, std::shared_ptr<Link> link, bool agent) {
    auto self = shared_from_this();
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      auto [ec, n] = co_await link->ws->async_read(buffer, use_awaitable_nothrow);
      (void)n;
      if (ec || stopped) break;
      auto it = relays.find(id);
      if (it == relays.end()) break;
      Relay& r = it->second;
      if ((agent ? r.agent : r.client) != link) break;
      std::string frame = beast::buffers_to_string(buffer.data());
      apply(id,
            agent ? r.relay.agent_frame(std::move(frame)) : r.relay.client_frame(std::move(frame)));
    }
    link->closed = true;
    link->wake.cancel();
    auto it = relays.find(id);
    if (it == relays.end()) co_return;
    Relay& r = it->second;
    if (agent && r.agent == link) {
      r.agent.reset();
      apply(id, r.relay.agent_disconnected());
      if (r.relay.agent_terminating() && !r.relay.finished()) {
        // agent_task_complete normally follows at once; do not wait for it forever.
        r.end_timer = std::make_unique<asio::steady_timer>(executor, std::chrono::seconds(3));
        r.end_timer->async_wait([self, id](boost::system::error_code ec) {
          if (ec) return;
          auto it2 = self->relays.find(id);
          if (it2 != self->relays.end())
            self->apply(id, it2->second.relay.task_completed("", stamp()));
        });
      }
    } else if (!agent && r.client == link) {
      r.client.reset();
      apply(id, r.relay.client_disconnected(stamp()));
    }
  }

  bool take_agent(std::shared_ptr<WsStream> ws, const std::string& id, const std::string& token) {
    auto it = relays.find(id);
    if (it == relays.end() || it->second.agent_token.empty() ||
        !crypto::equal_constant_time(token, it->second.agent_token)) {
      return false;
    }
    Relay& r = it->second;
    attach(id, r.agent, std::move(ws), true);
    apply(id, r.relay.agent_connected(stamp()));
    return true;
  }

  bool take_client(std::shared_ptr<WsStream> ws, const std::string& id) {
    auto it = relays.find(id);
    if (it == relays.end()) return false;
    Relay& r = it->second;
    attach(id, r.client, std::move(ws), false);
    apply(id, r.relay.client_connected(stamp()));
    return true;
  }

  // A new WebSocket in the relay's agent or client slot: an older link there is dropped, and
  // the new one's write and read loops start.
  void attach(const std::string& id, std::shared_ptr<Link>& slot, std::shared_ptr<WsStream> ws,
              bool agent) {
    auto link = std::make_shared<Link>(std::move(ws), executor);
    if (slot) slot->abort();
    slot = link;
    asio::co_spawn(executor, write_loop(link), asio::detached);
    asio::co_spawn(executor, read_loop(id, link, agent), asio::detached);
  }
};

AgentGateway::AgentGateway(asio::any_io_executor executor, SessionRegistry& sessions,
                           runtime::TaskRuntime& runtime, Options options)
    : impl_(std::make_shared<Impl>(executor, sessions, runtime, std::move(options))) {}

AgentGateway::~AgentGateway() { shutdown(); }

Result<void> AgentGateway::check_binaries(const std::string& dir) {
  for (const char* name : kBinaries) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::path(dir) / name, ec)) {
      return Error::usage("--agent-binaries " + dir + ": no " + name + " there",
                          "Build the agent as docs/real-agent.md says.");
    }
  }
  return outcome::success();
}

void AgentGateway::set_websocket_handler(WebSocketUpgradeHandler handler) {
  impl_->websocket = std::move(handler);
}

void AgentGateway::start_agent(const ExternalAgentTarget& target) {
  if (impl_->stopped) return;
  if (auto ok = impl_->start(target); !ok) {
    std::fprintf(stderr, "ecsh-sandbox: cannot start the SSM agent in %s/%s: %s\n",
                 target.task_id.c_str(), target.container.c_str(), ok.error().message.c_str());
  }
}

void AgentGateway::stop_task(const std::string& task_id) {
  for (auto it = impl_->hosts.begin(); it != impl_->hosts.end();) {
    if (it->second.target.task_id != task_id) {
      ++it;
      continue;
    }
    auto& h = it->second;
    if (h.control) h.control->abort();
    if (h.mgs) h.mgs->close();
    if (h.meta) h.meta->close();
    // The agent leads its own process group (exec starts a new session): its workers and their
    // shells go with it, also where the task has no PID namespace to end them.
    if (h.process) {
      if (h.process->pid() > 0) ::kill(-h.process->pid(), SIGKILL);
      h.process->kill(SIGKILL);
    }
    it = impl_->hosts.erase(it);
  }
}

bool AgentGateway::hosts(const std::string& target) const { return impl_->hosts.count(target) > 0; }

bool AgentGateway::connected(const std::string& target) const {
  auto it = impl_->hosts.find(target);
  return it != impl_->hosts.end() && it->second.control && !it->second.control->closed;
}

void AgentGateway::on_session_created(SessionRecord& record) {
  if (record.host || impl_->stopped) return;
  Impl::Host* h = impl_->host(record.target);
  if (!h) return;
  record.relayed = true;
  auto [it, added] = impl_->relays.try_emplace(record.session_id, record.session_id);
  auto& r = it->second;
  r.target = record.target;
  auto& a = r.announcement;
  a.session_id = record.session_id;
  a.document_name = record.document;
  a.session_owner = record.owner_arn;
  a.kms_key_id = record.kms_key_arn;
  if (record.port) {
    a.session_type = "Port";
    a.port_number = record.port->port_number;
    a.port_type = record.port->type;
    a.port_host = record.port->host;
  } else {
    a.session_type = "InteractiveCommands";
    a.command = record.command;
  }
  impl_->announce(*h, record.session_id);
}

void AgentGateway::terminate(const std::string& session_id) {
  auto it = impl_->relays.find(session_id);
  if (it == impl_->relays.end() || it->second.relay.finished()) return;
  auto s = stamp();
  if (Impl::Host* h = impl_->host(it->second.target); h && h->control) {
    h->control->send(session::encode(gateway::control_channel_closed_message(
        session_id, it->second.target, s.created_iso8601, s.created_date, crypto::uuid4())));
  }
  impl_->apply(session_id, it->second.relay.terminate("", s));
}

aws::HttpResponse AgentGateway::create_channel(const aws::HttpRequest& request) {
  return impl_->create_channel(request);
}

void AgentGateway::accept_control_channel(TcpOrTlsStream stream, BeastRequest request) {
  asio::co_spawn(impl_->executor, impl_->control_channel(std::move(stream), std::move(request)),
                 asio::detached);
}

void AgentGateway::set_link_drops(int every_frames, int max_drops) {
  impl_->drop_every = every_frames;
  impl_->max_drops = max_drops;
  impl_->drops = 0;
  impl_->frames_to_clients = 0;
}

void AgentGateway::shutdown() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  for (auto& [id, r] : impl_->relays) {
    if (r.client) r.client->abort();
    if (r.agent) r.agent->abort();
  }
  for (auto& [target, h] : impl_->hosts) {
    if (h.control) h.control->abort();
    if (h.mgs) h.mgs->close();
    if (h.meta) h.meta->close();
    // The agent leads its own process group (exec starts a new session): its workers and their
    // shells go with it, also where the task has no PID namespace to end them.
    if (h.process) {
      if (h.process->pid() > 0) ::kill(-h.process->pid(), SIGKILL);
      h.process->kill(SIGKILL);
    }
  }
  impl_->hosts.clear();
}

bool gateway_take_agent_data_channel(AgentGateway& gateway, std::shared_ptr<GatewayWsStream> ws,
                                     const std::string& session_id, const std::string& token) {
  return gateway.impl()->take_agent(std::move(ws), session_id, token);
}

bool gateway_take_client_data_channel(AgentGateway& gateway, std::shared_ptr<GatewayWsStream> ws,
                                      const std::string& session_id) {
  return gateway.impl()->take_client(std::move(ws), session_id);
}

}  // namespace ecsh::sandbox::ssm
