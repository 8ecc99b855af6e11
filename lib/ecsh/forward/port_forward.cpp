#include "ecsh/forward/port_forward.hpp"

#include "ecsh/common/log.hpp"
#include "ecsh/common/version.hpp"
#include "ecsh/common/wakeup.hpp"
#include "ecsh/session/payloads.hpp"
#include "ecsh/session/smux.hpp"
#include "ecsh/term/input_reader.hpp"
#include "ecsh/term/tty.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <deque>
#include <map>
#include <optional>

namespace ecsh::forward {

using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;
using LocalSocket = asio::generic::stream_protocol::socket;
using session::PayloadType;
namespace smux = session::smux;

// ---------------------------------------------------------------------------------------------
// Listeners

struct Listener::Impl {
  ListenSpec spec;
  std::optional<tcp::acceptor> tcp_acceptor;
  std::optional<unix_socket::acceptor> unix_acceptor;
  std::uint16_t port = 0;
  std::string address;
  bool made_socket_file = false;
};

Listener::~Listener() {
  if (impl && impl->made_socket_file) ::unlink(impl->spec.unix_path.c_str());
}
const ListenSpec& Listener::spec() const { return impl->spec; }
std::string Listener::address() const { return impl->address; }
std::uint16_t Listener::port() const { return impl->port; }

namespace {

// The plugin sends TerminateSession to agents newer than this and does not wait for their
// channel_closed.
constexpr std::string_view kAgentTerminatesOnRequest = "2.3.722.0";

Error listen_error(const std::string& where, const boost::system::error_code& ec) {
  std::string hint = ec == asio::error::address_in_use
                         ? "Choose another local port, or 0 for a free one."
                     : ec == asio::error::access_denied
                         ? "Ports below 1024 need privileges: choose a port above 1023."
                         : "Check the address in -L.";
  return Error::usage("cannot listen on " + where + ": " + ec.message(), hint);
}

Result<std::shared_ptr<Listener>> bind_one(asio::any_io_executor executor, const ListenSpec& spec) {
  auto listener = std::make_shared<Listener>();
  listener->impl = std::make_unique<Listener::Impl>();
  auto& l = *listener->impl;
  l.spec = spec;
  boost::system::error_code ec;
  if (!spec.unix_path.empty()) {
    if (spec.unix_path.size() >= sizeof(sockaddr_un::sun_path)) {
      return Error::usage("cannot listen on " + spec.unix_path + ": the path is longer than " +
                              std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes",
                          "Choose a shorter path.");
    }
    struct stat st {};
    if (::lstat(spec.unix_path.c_str(), &st) == 0) {
      return Error::usage("cannot listen on " + spec.unix_path + ": the file exists",
                          "Remove it, or choose another path.");
    }
    l.unix_acceptor.emplace(executor);
    l.unix_acceptor->open(unix_socket(), ec);
    if (!ec) l.unix_acceptor->bind(unix_socket::endpoint(spec.unix_path), ec);
    if (ec) return listen_error(spec.unix_path, ec);
    l.made_socket_file = true;
    l.unix_acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return listen_error(spec.unix_path, ec);
    l.address = spec.unix_path;
    return listener;
  }
  std::string host = spec.bind_host == "localhost" ? "127.0.0.1" : spec.bind_host;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) {
    return Error::usage("cannot listen on " + spec.bind_host + ": not an IP address",
                        "Give the bind address as an IP address, e.g. 0.0.0.0 or [::].");
  }
  tcp::endpoint endpoint(ip, spec.local_port);
  std::string where = (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" +
                      std::to_string(spec.local_port);
  l.tcp_acceptor.emplace(executor);
  l.tcp_acceptor->open(endpoint.protocol(), ec);
  if (!ec) l.tcp_acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) l.tcp_acceptor->bind(endpoint, ec);
  if (!ec) l.tcp_acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return listen_error(where, ec);
  l.port = l.tcp_acceptor->local_endpoint().port();
  l.address =
      (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" + std::to_string(l.port);
  return listener;
}

std::string peer_of(const tcp::socket& s) {
  boost::system::error_code ec;
  auto e = s.remote_endpoint(ec);
  if (ec) return "?";
  auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

}  // namespace

Result<std::vector<std::shared_ptr<Listener>>> bind_listeners(
    asio::any_io_executor executor, const std::vector<ListenSpec>& specs) {
  std::vector<std::shared_ptr<Listener>> out;
  for (const auto& spec : specs) {
    ECSH_TRY(auto l, bind_one(executor, spec));
    out.push_back(std::move(l));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The forward

namespace {

// One local connection.
struct Connection {
  Connection(asio::any_io_executor executor, LocalSocket s)
      : socket(std::move(s)), wake(executor) {}
  LocalSocket socket;
  std::uint64_t number = 0;
  std::string peer;
  std::uint32_t stream = 0;          // mux
  std::deque<std::string> to_local;  // from the agent, not yet written
  Wakeup wake;
  bool got_data = false;
  bool remote_done = false;  // the agent's FIN
  bool local_done = false;   // end of file from the local side (our FIN is sent)
  bool closed = false;
};

// Local bytes read per call; the session cuts them into 1 KiB messages.
constexpr std::size_t kReadSize = 64 << 10;
// Bytes waiting to go up before local reads pause.
constexpr std::size_t kMaxPendingUp = 1 << 20;

}  // namespace

struct PortForward::Impl : std::enable_shared_from_this<PortForward::Impl> {
  Impl(asio::any_io_executor ex, aws::AwsClient& c, connect::SessionTarget s,
       std::vector<std::shared_ptr<Listener>> l, ForwardSettings st)
      : executor(ex),
        client(c),
        target(std::move(s)),
        listeners(std::move(l)),
        settings(std::move(st)),
        mux(smux::Side::client),
        state_change(ex),
        up_wake(ex),
        up_space(ex),
        basic_turn(ex),
        keepalive_tick(ex) {}

  asio::any_io_executor executor;
  aws::AwsClient& client;
  connect::SessionTarget target;
  std::vector<std::shared_ptr<Listener>> listeners;
  ForwardSettings settings;
  std::unique_ptr<connect::SessionTransport> transport;
  smux::Mux mux;
  PortMode mode = PortMode::mux;
  std::string agent_version;
  std::optional<PortProperties> properties;
  bool ready = false;
  bool ended = false;  // the session is over (any reason)
  bool stopping = false;
  std::optional<Result<connect::SessionEnd>> transport_result;
  std::optional<Error> fatal;
  Wakeup state_change;
  Wakeup up_wake, up_space;
  std::size_t pending_up = 0;
  std::map<std::uint32_t, std::shared_ptr<Connection>> streams;
  std::uint64_t connections = 0;
  int refused_pending = 0;  // ConnectToPortError flags not yet matched to a stream
  bool sent_since_keepalive = false;
  // Basic mode: one connection at a time.
  std::shared_ptr<Connection> basic;
  Wakeup basic_turn;
  asio::steady_timer keepalive_tick;

  void say(const std::string& line) {
    if (settings.say) settings.say(line);
  }

  // ---- incoming from the agent ----
  void on_output(std::string_view bytes) {
    if (mode == PortMode::basic) {
      if (basic && !basic->closed) {
        basic->to_local.emplace_back(bytes);
        basic->wake.notify();
      } else {
        log::debug("forward: {} bytes from the agent with no local connection, dropped",
                   bytes.size());
      }
      return;
    }
    auto events = mux.feed(bytes);
    if (!events) {
      fail(Error::protocol("the agent's multiplexed stream is corrupt: " + events.error().message));
      return;
    }
    for (auto& e : events.value()) {
      auto it = streams.find(e.stream);
      switch (e.kind) {
        case smux::Event::Kind::data:
          if (it == streams.end()) break;
          it->second->got_data = true;
          it->second->to_local.push_back(std::move(e.data));
          it->second->wake.notify();
          break;
        case smux::Event::Kind::fin:
          if (it == streams.end()) break;
          if (!it->second->got_data && refused_pending > 0) {
            --refused_pending;
            report_refused(*it->second);
          }
          it->second->remote_done = true;
          it->second->wake.notify();
          break;
        case smux::Event::Kind::opened:
          mux.forget(e.stream);  // the agent never opens streams
          break;
        case smux::Event::Kind::nop:
          break;
      }
    }
    if (mux.has_output()) up_wake.notify();
  }

  void report_refused(const Connection& c) {
    if (settings.exec.plugin_messages) {
      say("\nConnection to destination port failed, check SSM Agent logs.");
      return;
    }
    say("ecsh: connection refused by " + settings.destination + " inside the task (or " +
        "unreachable from it); closed the local connection from " + c.peer);
  }

  void on_flag(std::uint32_t flag) {
    if (flag == static_cast<std::uint32_t>(session::Flag::connect_to_port_error)) {
      log::debug("forward: the agent could not connect to {}", settings.destination);
      if (mode == PortMode::mux) {
        ++refused_pending;
      } else if (basic) {
        report_refused(*basic);
      }
    }
  }

  void fail(Error e) {
    if (!fatal) fatal = std::move(e);
    if (transport) transport->close();
    end_all();
  }

  void end_all() {
    ended = true;
    for (auto& [id, c] : streams) close_connection(*c);
    streams.clear();
    if (basic) close_connection(*basic);
    for (auto& l : listeners) {
      boost::system::error_code ec;
      if (l->impl->tcp_acceptor) l->impl->tcp_acceptor->close(ec);
      if (l->impl->unix_acceptor) l->impl->unix_acceptor->close(ec);
    }
    up_wake.notify();
    up_space.notify();
    basic_turn.notify();
    keepalive_tick.cancel();
    state_change.notify();
  }

  static void close_connection(Connection& c) {
    if (c.closed) return;
    c.closed = true;
    boost::system::error_code ec;
    c.socket.shutdown(asio::socket_base::shutdown_both, ec);
    c.socket.close(ec);
    c.to_local.clear();
    c.wake.notify();
  }

  // ---- mux ----
  // The one sender of the mux's bytes, so that they go out in order.
  Awaitable<void> uplink(std::shared_ptr<Impl> /*keep_alive*/) {
    while (!ended) {
      if (!mux.has_output()) {
        co_await up_wake.wait();
        continue;
      }
      std::string bytes = mux.take_output();
      pending_up = 0;
      up_space.notify();
      sent_since_keepalive = true;
      auto sent = co_await transport->send(PayloadType::output, std::move(bytes));
      if (!sent) break;
    }
  }

  void forget_stream(Connection& c) {
    close_connection(c);
    mux.forget(c.stream);
    streams.erase(c.stream);
    up_wake.notify();
  }

  Awaitable<void> serve_stream(std::shared_ptr<Impl> self, std::shared_ptr<Connection> c) {
    auto opened = mux.open();
    if (!opened) {
      say("ecsh: " + opened.error().message + "; closed the local connection from " + c->peer);
      close_connection(*c);
      co_return;
    }
    c->stream = opened.value();
    streams[c->stream] = c;
    up_wake.notify();
    log::debug("forward: connection {} from {} on stream {}", c->number, c->peer, c->stream);
    asio::co_spawn(executor, write_local(self, c), asio::detached);
    std::string buf(kReadSize, '\0');
    while (!c->closed && !ended) {
      while (pending_up > kMaxPendingUp && !ended && !c->closed) co_await up_space.wait();
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buf), use_awaitable_nothrow);
      if (c->closed || ended) break;
      if (ec == asio::error::eof) {
        // Half close: the agent gets our FIN; what it still sends is written until its FIN.
        c->local_done = true;
        mux.close(c->stream);
        up_wake.notify();
        log::debug("forward: connection {} closed by the local side", c->number);
        break;
      }
      if (ec) {
        log::debug("forward: connection {}: {}", c->number, ec.message());
        forget_stream(*c);
        break;
      }
      auto written = mux.write(c->stream, std::string_view(buf.data(), n));
      if (!written) {
        forget_stream(*c);
        break;
      }
      pending_up += n;
      up_wake.notify();
    }
  }

  // What the agent sent for one stream, written to its local connection.
  Awaitable<void> write_local(std::shared_ptr<Impl> /*keep_alive*/, std::shared_ptr<Connection> c) {
    while (!c->closed) {
      if (c->to_local.empty()) {
        if (c->remote_done || ended) break;
        co_await c->wake.wait();
        continue;
      }
      std::string data = std::move(c->to_local.front());
      c->to_local.pop_front();
      auto [ec, n] =
          co_await asio::async_write(c->socket, asio::buffer(data), use_awaitable_nothrow);
      if (ec) break;
    }
    if (mode == PortMode::mux) {
      if (!c->closed) log::debug("forward: connection {} closed", c->number);
      if (streams.count(c->stream)) forget_stream(*c);
    }
    close_connection(*c);
  }

  // ---- basic ----
  Awaitable<void> serve_basic(std::shared_ptr<Impl> self, std::shared_ptr<Connection> c) {
    while (basic && !ended) co_await basic_turn.wait();
    if (ended) {
      close_connection(*c);
      co_return;
    }
    basic = c;
    log::debug("forward: connection {} from {} (basic mode)", c->number, c->peer);
    asio::co_spawn(executor, write_local(self, c), asio::detached);
    std::string buf(kReadSize, '\0');
    while (!c->closed && !ended) {
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buf), use_awaitable_nothrow);
      if (c->closed || ended || ec) break;
      sent_since_keepalive = true;
      std::string data(buf.data(), n);
      auto sent = co_await transport->send(PayloadType::output, std::move(data));
      if (!sent) break;
    }
    close_connection(*c);
    if (!ended) {
      // The agent closes its connection to the destination and dials again on the next data.
      std::string flag = session::flag_payload(session::Flag::disconnect_to_port);
      auto sent = co_await transport->send(PayloadType::flag, std::move(flag));
      (void)sent;
    }
    basic.reset();
    basic_turn.notify();
  }

  // ---- accepting ----
  Awaitable<void> pause_after_accept_error() {
    asio::steady_timer pause(executor);
    pause.expires_after(std::chrono::milliseconds(200));
    co_await pause.async_wait(use_awaitable_nothrow);
  }

  Awaitable<void> accept_loop(std::shared_ptr<Impl> self, std::shared_ptr<Listener> listener) {
    auto& l = *listener->impl;
    while (!ended) {
      std::optional<LocalSocket> socket;
      std::string peer;
      if (l.tcp_acceptor) {
        auto [ec, s] = co_await l.tcp_acceptor->async_accept(use_awaitable_nothrow);
        if (ended) break;
        if (ec) {
          if (ec == asio::error::operation_aborted) break;
          log::debug("forward: accept on {}: {}", l.address, ec.message());
          co_await pause_after_accept_error();  // e.g. out of file descriptors: no busy loop
          continue;
        }
        boost::system::error_code opt_ec;
        s.set_option(tcp::no_delay(true), opt_ec);
        peer = peer_of(s);
        int family = s.local_endpoint(opt_ec).address().is_v6() ? AF_INET6 : AF_INET;
        socket.emplace(executor);
        socket->assign(asio::generic::stream_protocol(family, IPPROTO_TCP), s.release(), opt_ec);
      } else {
        auto [ec, s] = co_await l.unix_acceptor->async_accept(use_awaitable_nothrow);
        if (ended) break;
        if (ec) {
          if (ec == asio::error::operation_aborted) break;
          co_await pause_after_accept_error();
          continue;
        }
        boost::system::error_code opt_ec;
        peer = "unix socket " + l.address;
        socket.emplace(executor);
        socket->assign(asio::generic::stream_protocol(AF_UNIX, 0), s.release(), opt_ec);
      }
      auto c = std::make_shared<Connection>(executor, std::move(*socket));
      c->number = ++connections;
      c->peer = peer;
      if (settings.exec.plugin_messages) {
        say("\nConnection accepted for session [" + target.session_id + "]");
      }
      if (mode == PortMode::mux) {
        asio::co_spawn(executor, serve_stream(self, c), asio::detached);
      } else {
        asio::co_spawn(executor, serve_basic(self, c), asio::detached);
      }
    }
  }

  // An smux NOP while connections are open and nothing else went up: the service counts the
  // session as active (the agent's smux keepalive is off for this client version).
  Awaitable<void> keepalive(std::shared_ptr<Impl> /*keep_alive*/) {
    if (settings.keepalive.count() <= 0) co_return;
    while (!ended) {
      keepalive_tick.expires_after(settings.keepalive);
      co_await keepalive_tick.async_wait(use_awaitable_nothrow);
      if (ended) break;
      bool busy = mode == PortMode::mux ? !streams.empty() : static_cast<bool>(basic);
      if (busy && !sent_since_keepalive && mode == PortMode::mux) {
        mux.nop();
        up_wake.notify();
        log::debug("forward: keep-alive");
      }
      sent_since_keepalive = false;
    }
  }

  Awaitable<void> run_transport(std::shared_ptr<Impl> /*keep_alive*/) {
    auto r = co_await transport->run();
    transport_result.emplace(std::move(r));
    end_all();
  }

  void announce() {
    for (const auto& l : listeners) {
      if (settings.exec.plugin_messages) {
        if (settings.announce) {
          settings.announce("Port " + (l->port() ? std::to_string(l->port()) : l->address()) +
                            " opened for sessionId " + target.session_id + ".");
          settings.announce("Waiting for connections...");
        }
        continue;
      }
      if (settings.announce) {
        settings.announce("forwarding " + l->address() + " -> " + settings.destination + " via " +
                          settings.via);
      }
    }
  }
};

PortForward::PortForward(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
PortForward::~PortForward() {
  if (impl_) impl_->end_all();
}

Awaitable<Result<std::shared_ptr<PortForward>>> PortForward::open(
    aws::AwsClient& client, connect::SessionTarget session,
    std::vector<std::shared_ptr<Listener>> listeners, ForwardSettings settings) {
  auto executor = co_await asio::this_coro::executor;
  auto options = connect::transport_options(client, session, settings.ssm_target, settings.exec);
  auto impl =
      std::make_shared<Impl>(executor, client, session, std::move(listeners), std::move(settings));
  ECSH_CO_TRY(impl->transport,
              co_await connect::SessionTransport::open(executor, session, std::move(options)));
  std::weak_ptr<Impl> weak = impl;
  impl->transport->on_handshake([weak](const session::HandshakeRequest& request) {
    auto self = weak.lock();
    if (!self) return;
    self->agent_version = request.agent_version;
    if (request.session_type) {
      auto props = parse_port_properties(request.session_type->properties_json);
      if (props) self->properties = props.value();
    }
  });
  impl->transport->on_ready([weak] {
    if (auto self = weak.lock()) {
      self->ready = true;
      self->state_change.notify();
    }
  });
  impl->transport->on_output([weak](std::string_view bytes) {
    if (auto self = weak.lock()) self->on_output(bytes);
  });
  impl->transport->on_flag([weak](std::uint32_t flag) {
    if (auto self = weak.lock()) self->on_flag(flag);
  });
  co_return std::shared_ptr<PortForward>(new PortForward(impl));
}

Awaitable<Result<ForwardEnd>> PortForward::run() {
  auto self = impl_;
  asio::co_spawn(self->executor, self->run_transport(self), asio::detached);
  // The handshake: the agent's version and the session's properties decide the mode.
  asio::steady_timer deadline(self->executor);
  deadline.expires_after(self->settings.handshake_timeout);
  bool timed_out = false;
  deadline.async_wait([weak = std::weak_ptr<Impl>(self), &timed_out](boost::system::error_code ec) {
    auto s = weak.lock();
    if (ec || !s) return;
    timed_out = true;
    s->state_change.notify();
  });
  while (!self->ready && !self->ended && !timed_out) co_await self->state_change.wait();
  deadline.cancel();
  if (!self->ready && !self->ended) {
    Error e = Error::connection("the agent did not complete the session's handshake within " +
                                std::to_string(self->settings.handshake_timeout.count()) + " s");
    self->fail(e);
  }
  if (self->ready && !self->ended) {
    if (!self->properties) {
      self->fail(
          Error::protocol("the agent did not start a Port session (no port properties in "
                          "its handshake)"));
    } else {
      self->mode = client_port_mode(self->properties->type, self->agent_version);
      log::debug("forward: agent {}, {} mode", self->agent_version,
                 self->mode == PortMode::mux ? "smux" : "basic");
      if (self->listeners.empty() && self->settings.listeners_from_properties) {
        auto made = self->settings.listeners_from_properties(*self->properties);
        if (made) {
          self->listeners = std::move(made).value();
        } else {
          self->fail(made.error());
        }
      }
    }
  }
  if (!self->ended) {
    self->announce();
    if (self->mode == PortMode::mux) {
      asio::co_spawn(self->executor, self->uplink(self), asio::detached);
    }
    asio::co_spawn(self->executor, self->keepalive(self), asio::detached);
    for (auto& l : self->listeners) {
      asio::co_spawn(self->executor, self->accept_loop(self, l), asio::detached);
    }
  }
  while (!self->transport_result) co_await self->state_change.wait();
  if (self->fatal) co_return *self->fatal;
  auto& r = *self->transport_result;
  ForwardEnd end;
  end.stopped = self->stopping;
  end.connections = self->connections;
  if (!r) {
    if (self->stopping) co_return end;
    co_return r.error();
  }
  end.session = r.value();
  co_return end;
}

void PortForward::stop() {
  auto self = impl_;
  if (self->stopping || self->ended) return;
  self->stopping = true;
  asio::co_spawn(
      self->executor,
      [self]() -> Awaitable<void> {
        // The plugin sends TerminateSession to agents newer than 2.3.722.0 and does not wait
        // for the acknowledgement; a short wait lets the frame leave.
        if (self->ready && plugin_version_newer(self->agent_version, kAgentTerminatesOnRequest)) {
          // The flag waits for room in the send window; a dropped link must not hold Ctrl-C.
          asio::co_spawn(
              self->executor,
              [self]() -> Awaitable<void> {
                std::string flag = session::flag_payload(session::Flag::terminate_session);
                auto sent = co_await self->transport->send(PayloadType::flag, std::move(flag));
                (void)sent;
              },
              asio::detached);
          asio::steady_timer wait(self->executor);
          wait.expires_after(std::chrono::milliseconds(100));
          co_await wait.async_wait(use_awaitable_nothrow);
        }
        self->transport->close();
        self->end_all();
      },
      asio::detached);
}

PortMode PortForward::mode() const { return impl_->mode; }
const std::string& PortForward::session_id() const { return impl_->target.session_id; }
void PortForward::drop_link_for_testing() {
  if (impl_->transport) impl_->transport->drop_link_for_testing();
}

Awaitable<Result<ForwardEnd>> run_stdio_port_session(aws::AwsClient& client,
                                                     connect::SessionTarget session,
                                                     ForwardSettings settings, int in_fd,
                                                     int out_fd) {
  auto executor = co_await asio::this_coro::executor;
  auto options = connect::transport_options(client, session, settings.ssm_target, settings.exec);
  ECSH_CO_TRY(auto transport,
              co_await connect::SessionTransport::open(executor, session, std::move(options)));
  auto* t = transport.get();
  std::string agent_version;
  bool ready = false;
  Wakeup ready_wake(executor);
  t->on_handshake([&](const session::HandshakeRequest& r) { agent_version = r.agent_version; });
  t->on_ready([&] {
    ready = true;
    ready_wake.notify();
  });
  bool output_failed = false;
  t->on_output([&](std::string_view bytes) {
    if (!term::write_all(out_fd, bytes) && !output_failed) {
      output_failed = true;  // the reader (ssh) went away: end the session
      t->close();
    }
  });
  term::InputReader reader(executor, in_fd);
  bool input_ended = false;
  bool session_over = false;
  bool pump_done = false;
  Wakeup pump_finished(executor);
  // Refers to this frame's locals: the frame waits for it to finish before it returns.
  auto pump_body = [&]() -> Awaitable<void> {
    while (!ready && !session_over) co_await ready_wake.wait();
    if (session_over) co_return;
    for (;;) {
      std::string chunk = co_await reader.read();
      if (chunk.empty()) break;
      auto sent = co_await t->send(session::PayloadType::output, std::move(chunk));
      if (!sent) co_return;
    }
    if (session_over) co_return;  // the reader was cancelled: not an end of input
    input_ended = true;
    if (plugin_version_newer(agent_version, kAgentTerminatesOnRequest)) {
      std::string flag = session::flag_payload(session::Flag::terminate_session);
      auto sent = co_await t->send(session::PayloadType::flag, std::move(flag));
      (void)sent;
      asio::steady_timer wait(executor);
      wait.expires_after(std::chrono::milliseconds(50));
      co_await wait.async_wait(use_awaitable_nothrow);
    }
    t->close();
  };
  auto pump = [&]() -> Awaitable<void> {
    co_await pump_body();
    pump_done = true;
    pump_finished.notify();
  };
  asio::co_spawn(executor, pump(), asio::detached);
  auto end = co_await t->run();
  session_over = true;
  reader.cancel();
  ready_wake.notify();
  while (!pump_done) co_await pump_finished.wait();
  ForwardEnd out;
  out.stopped = input_ended || output_failed;
  if (!end) {
    if (out.stopped) co_return out;
    co_return end.error();
  }
  out.session = end.value();
  co_return out;
}

}  // namespace ecsh::forward
