#include "sandbox/ssm/port_agent.hpp"

#include "ecsh/common/wakeup.hpp"
#include "ecsh/session/payloads.hpp"
#include "ecsh/session/smux.hpp"
#include "sandbox/runtime/task_runtime.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <charconv>
#include <deque>
#include <vector>

namespace ecsh::sandbox::ssm {

using tcp = asio::ip::tcp;
using session::PayloadType;
namespace smux = session::smux;

namespace {

std::vector<unsigned long> version_parts(std::string_view v) {
  std::vector<unsigned long> parts;
  while (!v.empty()) {
    auto dot = v.find('.');
    std::string_view part = v.substr(0, dot);
    unsigned long n = 0;
    std::from_chars(part.data(), part.data() + part.size(), n);
    parts.push_back(n);
    if (dot == std::string_view::npos) break;
    v.remove_prefix(dot + 1);
  }
  return parts;
}

bool is_loopback_name(const std::string& host) {
  if (host == "localhost" || host == "localhost.localdomain") return true;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  return !ec && ip.is_loopback();
}

// What the agent refuses to forward to (agent `port.go`: the instance metadata service).
bool is_forbidden(const asio::ip::address& ip) {
  if (ip.is_v4()) return ip.to_string() == "169.254.169.254";
  return ip.to_string() == "fd00:ec2::254";
}

Awaitable<Result<tcp::socket>> dial_from_task(
    asio::any_io_executor executor, runtime::TaskRuntime* runtime,
    std::shared_ptr<const std::map<std::string, std::string>> vpc_hosts, std::string task_id,
    bool on_instance, std::string host, std::string port) {
  unsigned short port_number = 0;
  std::from_chars(port.data(), port.data() + port.size(), port_number);
  std::string address = host;
  bool in_task = false;
  if (auto it = vpc_hosts->find(host); it != vpc_hosts->end()) {
    address = it->second;
  } else if (is_loopback_name(host)) {
    in_task = !on_instance;  // an instance's agent dials the instance's own loopback
    if (host.starts_with("localhost")) address = "127.0.0.1";
  }
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) {
    tcp::resolver resolver(executor);
    auto [rec, found] = co_await resolver.async_resolve(address, port, use_awaitable_nothrow);
    if (rec || found.empty()) {
      Error e = Error::connection("dial tcp: lookup " + host + ": no such host");
      co_return e;
    }
    ip = found.begin()->endpoint().address();
  }
  if (is_forbidden(ip)) {
    Error e = Error::connection("Forwarding to IP address " + ip.to_string() + " is forbidden.");
    co_return e;
  }
  tcp::endpoint endpoint(ip, port_number);
  tcp::socket socket(executor);
  if (in_task) {
    auto fd = runtime->open_task_socket(task_id, ip.is_v6() ? AF_INET6 : AF_INET);
    if (!fd) co_return fd.error();
    socket.assign(ip.is_v6() ? tcp::v6() : tcp::v4(), fd.value());
  }
  auto [cec] = co_await socket.async_connect(endpoint, use_awaitable_nothrow);
  if (cec) {
    // Go's wording, which the agent logs: "dial tcp 127.0.0.1:5432: connect: connection refused".
    std::string where = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
    Error e = Error::connection("dial tcp " + where + ":" + port + ": connect: " + cec.message());
    co_return e;
  }
  boost::system::error_code nodelay_ec;
  socket.set_option(tcp::no_delay(true), nodelay_ec);
  co_return std::move(socket);
}

}  // namespace

PortMode choose_port_mode(const PortProperties& properties, std::string_view client_version) {
  if (properties.type != "LocalPortForwarding") return PortMode::basic;
  auto have = version_parts(client_version);
  const std::vector<unsigned long> need{1, 1, 70};
  for (std::size_t i = 0; i < std::max(have.size(), need.size()); ++i) {
    unsigned long a = i < have.size() ? have[i] : 0;
    unsigned long b = i < need.size() ? need[i] : 0;
    if (a != b) return a > b ? PortMode::mux : PortMode::basic;
  }
  return PortMode::mux;
}

DialFn make_task_dialer(asio::any_io_executor executor, runtime::TaskRuntime& runtime,
                        std::map<std::string, std::string> vpc_hosts) {
  auto hosts = std::make_shared<const std::map<std::string, std::string>>(std::move(vpc_hosts));
  runtime::TaskRuntime* rt = &runtime;
  return [executor, rt, hosts](const SessionRecord& s, std::string host, std::string port) {
    return dial_from_task(executor, rt, hosts, s.task_id, s.host, std::move(host), std::move(port));
  };
}

// A connection to the destination: what the client sent waits in `to_destination`.
struct Connection {
  explicit Connection(asio::any_io_executor executor) : socket(executor), wake(executor) {}
  tcp::socket socket;
  std::deque<std::string> to_destination;
  std::size_t queued = 0;
  bool client_done = false;  // mux: the client's FIN
  bool closed = false;
  Wakeup wake;
};

struct PortAgent::Impl : std::enable_shared_from_this<PortAgent::Impl> {
  // The client's data held for destinations before input stops being accepted (the agent's
  // smux receive buffer is 4 MiB; its writes then block the data channel's handler).
  static constexpr std::size_t kMaxToDestinations = 32 << 20;
  // The mux output not yet sent before destinations stop being read.
  static constexpr std::size_t kMaxToClient = 4 << 20;

  Impl(asio::any_io_executor ex, SessionRecord s, PortMode m, PortAgentIo i, bool pacing)
      : executor(ex),
        record(std::move(s)),
        mode(m),
        io(std::move(i)),
        realistic(pacing),
        mux(smux::Side::server),
        out_wake(ex),
        out_space(ex) {
    if (record.port) {
      host = record.port->host.empty() ? "localhost" : record.port->host;
      port = record.port->port_number;
    }
  }

  asio::any_io_executor executor;
  SessionRecord record;
  PortMode mode;
  PortAgentIo io;
  bool realistic;
  std::string host, port;
  smux::Mux mux;
  std::map<std::uint32_t, std::shared_ptr<Connection>> streams;
  struct Out {
    PayloadType type = PayloadType::output;
    std::string bytes;
  };
  std::deque<Out> out;
  std::size_t out_offset = 0;  // bytes of out.front() already sent
  std::size_t out_bytes = 0;
  Wakeup out_wake, out_space;
  std::size_t to_destinations = 0;
  bool input_paused = false;
  bool stopped = false;
  // An SSH session's connection ended: the session ends once what it sent has gone out.
  bool end_when_sent = false;
  // Basic mode.
  std::shared_ptr<Connection> basic;
  std::deque<std::string> before_dial;
  bool redial = false;
  bool dialing = false;

  // ---- to the client ----
  void queue_out(PayloadType type, std::string bytes) {
    if (bytes.empty() || stopped) return;
    out_bytes += bytes.size();
    if (type == PayloadType::output && !out.empty() && out.back().type == PayloadType::output) {
      out.back().bytes.append(bytes);
    } else {
      Out item;
      item.type = type;
      item.bytes = std::move(bytes);
      out.push_back(std::move(item));
    }
    out_wake.notify();
  }
  void flush_mux() {
    if (mux.has_output()) queue_out(PayloadType::output, mux.take_output());
  }

  // The agent reads the mux (or the basic connection) 1 KiB at a time and sleeps 1 ms after each
  // send; without pacing it sends what it has, up to 64 KiB a message.
  Awaitable<void> pump(std::shared_ptr<Impl> /*keep_alive*/) {
    asio::steady_timer pace(executor);
    const std::size_t chunk = realistic ? 1024 : 65536;
    while (!stopped) {
      if (out.empty()) {
        if (end_when_sent) {
          io.end("");
          stop();
          break;
        }
        co_await out_wake.wait();
        continue;
      }
      Out& front = out.front();
      PayloadType type = front.type;
      std::string piece;
      if (type == PayloadType::output && front.bytes.size() - out_offset > chunk) {
        piece.assign(front.bytes, out_offset, chunk);
        out_offset += chunk;
      } else {
        piece = out_offset ? front.bytes.substr(out_offset) : std::move(front.bytes);
        out.pop_front();
        out_offset = 0;
      }
      out_bytes -= piece.size();
      if (out_bytes < kMaxToClient) out_space.notify();
      bool sent = co_await io.send(type, std::move(piece));
      if (!sent) break;
      if (realistic) {
        pace.expires_after(std::chrono::milliseconds(1));
        co_await pace.async_wait(use_awaitable_nothrow);
      }
    }
  }

  // ---- to the destinations ----
  void count_to_destinations(std::ptrdiff_t delta) {
    to_destinations =
        static_cast<std::size_t>(static_cast<std::ptrdiff_t>(to_destinations) + delta);
    if (!input_paused && to_destinations > kMaxToDestinations) {
      input_paused = true;
      io.set_input_ready(false);
    } else if (input_paused && to_destinations < kMaxToDestinations / 4) {
      input_paused = false;
      io.set_input_ready(true);
    }
  }

  void queue_to(Connection& c, std::string data) {
    if (c.closed || data.empty()) return;
    c.queued += data.size();
    count_to_destinations(static_cast<std::ptrdiff_t>(data.size()));
    c.to_destination.push_back(std::move(data));
    c.wake.notify();
  }

  // Writes what the client sent; `ended` runs when the client is done (mux FIN) or on an error.
  Awaitable<void> writer(std::shared_ptr<Impl> /*keep_alive*/, std::shared_ptr<Connection> c,
                         std::function<void()> ended) {
    while (!c->closed && !stopped) {
      if (c->to_destination.empty()) {
        if (c->client_done) break;
        co_await c->wake.wait();
        continue;
      }
      std::string data = std::move(c->to_destination.front());
      c->to_destination.pop_front();
      c->queued -= data.size();
      count_to_destinations(-static_cast<std::ptrdiff_t>(data.size()));
      auto [ec, n] =
          co_await asio::async_write(c->socket, asio::buffer(data), use_awaitable_nothrow);
      if (ec) break;
    }
    if (!c->closed && !stopped) ended();
  }

  void close_connection(Connection& c) {
    if (c.closed) return;
    c.closed = true;
    boost::system::error_code ec;
    c.socket.close(ec);
    count_to_destinations(-static_cast<std::ptrdiff_t>(c.queued));
    c.queued = 0;
    c.to_destination.clear();
    c.wake.notify();
  }

  // ---- mux ----
  void on_mux_input(std::string_view bytes) {
    auto events = mux.feed(bytes);
    if (!events) {
      // xtaci/smux closes the session on a protocol error; the agent's pump then fails.
      io.end("Unable to read from the multiplexed session: " + events.error().message);
      stop();
      return;
    }
    for (auto& e : events.value()) {
      switch (e.kind) {
        case smux::Event::Kind::opened: {
          auto c = std::make_shared<Connection>(executor);
          streams[e.stream] = c;
          asio::co_spawn(executor, dial_stream(shared_from_this(), e.stream, c), asio::detached);
          break;
        }
        case smux::Event::Kind::data:
          if (auto it = streams.find(e.stream); it != streams.end()) {
            queue_to(*it->second, std::move(e.data));
          }
          break;
        case smux::Event::Kind::fin:
          if (auto it = streams.find(e.stream); it != streams.end()) {
            it->second->client_done = true;
            it->second->wake.notify();
          }
          break;
        case smux::Event::Kind::nop:
          break;
      }
    }
    flush_mux();
  }

  // Either side's end closes both, as the agent's two io.Copy loops do: the stream's FIN goes
  // after what was read from the destination.
  void end_stream(std::uint32_t id) {
    auto it = streams.find(id);
    if (it == streams.end()) return;
    auto c = it->second;
    streams.erase(it);
    close_connection(*c);
    mux.forget(id);
    flush_mux();
  }

  Awaitable<void> dial_stream(std::shared_ptr<Impl> self, std::uint32_t id,
                              std::shared_ptr<Connection> c) {
    std::string dial_host = host;
    std::string dial_port = port;
    auto dialed = co_await io.dial(record, dial_host, dial_port);
    if (stopped || c->closed) co_return;
    if (!dialed) {
      queue_out(PayloadType::flag, session::flag_payload(session::Flag::connect_to_port_error));
      end_stream(id);
      co_return;
    }
    c->socket = std::move(dialed).value();
    std::function<void()> ended = [this, id] { end_stream(id); };
    asio::co_spawn(executor, writer(self, c, ended), asio::detached);
    asio::co_spawn(executor, read_stream(self, id, c), asio::detached);
  }

  Awaitable<void> read_stream(std::shared_ptr<Impl> /*keep_alive*/, std::uint32_t id,
                              std::shared_ptr<Connection> c) {
    std::string buf(32 << 10, '\0');
    while (!c->closed && !stopped) {
      while (out_bytes > kMaxToClient && !stopped && !c->closed) co_await out_space.wait();
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buf), use_awaitable_nothrow);
      if (c->closed || stopped) break;
      if (ec || n == 0) {
        end_stream(id);
        break;
      }
      auto written = mux.write(id, std::string_view(buf.data(), n));
      if (!written) {
        end_stream(id);
        break;
      }
      flush_mux();
    }
  }

  // ---- basic ----
  Awaitable<void> dial_basic(std::shared_ptr<Impl> self) {
    dialing = true;
    std::string dial_host = host;
    std::string dial_port = port;
    auto dialed = co_await io.dial(record, dial_host, dial_port);
    dialing = false;
    if (stopped) co_return;
    if (!dialed) {
      io.end("Unable to connect to specified port: " + dialed.error().message);
      stop();
      co_return;
    }
    redial = false;
    basic = std::make_shared<Connection>(executor);
    basic->socket = std::move(dialed).value();
    auto c = basic;
    while (!before_dial.empty()) {
      queue_to(*c, std::move(before_dial.front()));
      before_dial.pop_front();
    }
    std::function<void()> ended = [this, c] { drop_basic(c); };
    asio::co_spawn(executor, writer(self, c, ended), asio::detached);
    asio::co_spawn(executor, read_basic(self, c), asio::detached);
  }

  // The connection is gone: dial again when the client sends more (LocalPortForwarding).
  void drop_basic(const std::shared_ptr<Connection>& c) {
    close_connection(*c);
    if (basic == c) {
      basic.reset();
      redial = true;
    }
  }

  Awaitable<void> read_basic(std::shared_ptr<Impl> /*keep_alive*/, std::shared_ptr<Connection> c) {
    std::string buf(realistic ? 1024 : 65536, '\0');
    while (!c->closed && !stopped) {
      while (out_bytes > kMaxToClient && !stopped && !c->closed) co_await out_space.wait();
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buf), use_awaitable_nothrow);
      if (c->closed || stopped) break;
      if (ec || n == 0) {
        if (!record.port || record.port->type != "LocalPortForwarding") {
          // SSH sessions end with their connection (agent `port_basic.go` handleSSHDPortError),
          // after what it sent: the agent sends each read as it comes, so nothing it read is
          // lost (this queue would otherwise drop up to kMaxToClient bytes).
          end_when_sent = true;
          out_wake.notify();
        } else {
          drop_basic(c);
        }
        break;
      }
      queue_out(PayloadType::output, std::string(buf.data(), n));
    }
  }

  void on_basic_input(std::string_view bytes) {
    if (basic && !basic->closed) {
      queue_to(*basic, std::string(bytes));
      return;
    }
    before_dial.emplace_back(bytes);
    if (!dialing && redial)
      asio::co_spawn(executor, dial_basic(shared_from_this()), asio::detached);
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    for (auto& [id, c] : streams) close_connection(*c);
    streams.clear();
    if (basic) close_connection(*basic);
    out_wake.notify();
    out_space.notify();
  }
};

PortAgent::PortAgent(asio::any_io_executor executor, SessionRecord session, PortMode mode,
                     PortAgentIo io, bool realistic_pacing)
    : impl_(std::make_shared<Impl>(executor, std::move(session), mode, std::move(io),
                                   realistic_pacing)) {}

PortAgent::~PortAgent() { impl_->stop(); }

void PortAgent::start() {
  asio::co_spawn(impl_->executor, impl_->pump(impl_), asio::detached);
  if (impl_->mode == PortMode::basic) {
    asio::co_spawn(impl_->executor, impl_->dial_basic(impl_), asio::detached);
  }
}

void PortAgent::on_input(std::string_view bytes) {
  if (impl_->stopped) return;
  if (impl_->mode == PortMode::mux) {
    impl_->on_mux_input(bytes);
  } else {
    impl_->on_basic_input(bytes);
  }
}

void PortAgent::on_flag(std::uint32_t flag) {
  if (impl_->stopped) return;
  if (flag == static_cast<std::uint32_t>(session::Flag::terminate_session)) {
    impl_->io.end("");
    impl_->stop();
  } else if (flag == static_cast<std::uint32_t>(session::Flag::disconnect_to_port) &&
             impl_->mode == PortMode::basic && impl_->basic) {
    impl_->drop_basic(impl_->basic);
  }
}

void PortAgent::stop() { impl_->stop(); }

PortMode PortAgent::mode() const { return impl_->mode; }

}  // namespace ecsh::sandbox::ssm
