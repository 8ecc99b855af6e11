#include "sandbox/ssm/data_channel_server.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/shlex.hpp"
#include "ecsh/common/tcp_or_tls_stream.hpp"
#include "ecsh/session/channel_timer.hpp"
#include "ecsh/session/data_channel.hpp"
#include "ecsh/session/ending.hpp"
#include "sandbox/core/time_format.hpp"
#include "sandbox/kms/kms_module.hpp"
#include "sandbox/logs/logs_module.hpp"
#include "sandbox/ssm/agent_output.hpp"
#include "sandbox/ssm/gateway_links.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <sys/ioctl.h>
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <vector>

namespace ecsh::sandbox::ssm {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
// A plain or TLS link, whichever the server accepted (ecsh/common/tcp_or_tls_stream.hpp).
using WsStream = websocket::stream<TcpOrTlsStream>;
using session::Actions;
using session::EventKind;
using session::PayloadType;

namespace {
session::TimePoint now() { return session::TimePoint::clock::now(); }
}  // namespace

struct Agent;

struct DataChannelServer::Impl : std::enable_shared_from_this<DataChannelServer::Impl> {
  asio::any_io_executor executor;
  SessionRegistry& sessions;
  ExecFn exec;
  const kms::KmsModule* kms;
  logs::LogsModule* logs;
  Options options;
  ChannelFaults faults;
  std::mt19937 rng{1};
  std::map<std::string, std::shared_ptr<Agent>> agents;
  AgentGateway* gateway = nullptr;
  bool stopped = false;

  Impl(asio::any_io_executor ex, SessionRegistry& s, ExecFn e, const kms::KmsModule* k,
       logs::LogsModule* l, Options o)
      : executor(ex), sessions(s), exec(std::move(e)), kms(k), logs(l), options(o) {}

  Awaitable<void> handle_upgrade(TcpOrTlsStream stream, BeastRequest request);
  double roll() { return std::uniform_real_distribution<double>(0, 1)(rng); }
};

// One session: the agent's data channel, the process in the container, the current link.
struct Agent : std::enable_shared_from_this<Agent> {
  Agent(std::shared_ptr<DataChannelServer::Impl> server_, SessionRecord record_)
      : server(std::move(server_)),
        record(std::move(record_)),
        channel(session::Role::agent, channel_options(server->options.realistic_pacing)),
        timer(server->executor),
        writer_wake(server->executor),
        writable(server->executor),
        input_wake(server->executor),
        orphan(server->executor),
        idle(server->executor),
        link_age(server->executor),
        lifetime(server->executor) {
    for (auto* t : {&writer_wake, &writable, &input_wake}) {
      t->expires_at(asio::steady_timer::time_point::max());
    }
  }

  // The SSM agent sends 1 KiB messages; without pacing (benchmarks) the sandbox sends what one
  // read of the pty gives, up to 64 KiB, so that the client's own speed is what is measured.
  static session::DataChannelOptions channel_options(bool realistic) {
    session::DataChannelOptions o;
    o.max_chunk = realistic ? 1024 : 65536;
    // At most 16 MiB in flight: what a client buffers out of order. More, and a lost frame
    // makes the client drop everything past its buffer, to be resent one by one.
    o.max_unacked = realistic ? 4096 : 256;
    o.check_digest = false;  // as the SSM agent: it never checks the client's digests
    return o;
  }

  std::shared_ptr<DataChannelServer::Impl> server;
  SessionRecord record;
  session::DataChannel channel;
  std::shared_ptr<WsStream> ws;
  std::uint64_t link = 0;
  session::ChannelTimer timer;
  asio::steady_timer writer_wake, writable, input_wake, orphan, idle;
  asio::steady_timer link_age;  // --connection-max-age: the current link's close 1000 "Bye"
  asio::steady_timer lifetime;  // --session-max-duration
  std::chrono::steady_clock::time_point last_input = std::chrono::steady_clock::now();
  std::deque<std::string> outbox;
  std::deque<std::string> input;
  std::shared_ptr<runtime::ExecProcess> process;
  std::unique_ptr<PortAgent> port;                          // Port sessions, after the handshake
  std::unique_ptr<asio::posix::stream_descriptor> pty;      // output (and input with a pty)
  std::unique_ptr<asio::posix::stream_descriptor> pipe_in;  // input, with --agent-io pipes
  bool started = false;
  bool ending = false;
  bool done = false;
  bool flushed = false;  // flush_and_close ran (the transcript is written once)
  bool backpressure = false;
  std::string kms_challenge;
  std::optional<session::TerminalSize> pending_size;  // a Size that came before the pty
  std::string transcript;
  AgentOutputFilter output_filter;  // the agent's UTF-8 pass over pty output
  CanonicalInput pipe_input;        // --agent-io pipes: the pty's line discipline on input
  // Fault state.
  int frames_sent = 0;
  int links_dropped = 0;
  bool stalled = false;
  bool said_bye = false;
  bool bye_due = false;  // the current link is as old as the service lets one be
  int silent_drops = 0;
  int forced_reconnects = 0;
  std::vector<int> silenced_fds;  // links dropped silently: held open, never read or written
  std::optional<std::string> held_for_reorder;

  void apply(Actions a) {
    for (auto& f : a.send) outbox.push_back(std::move(f));
    if (!outbox.empty()) writer_wake.cancel();
    for (auto& d : a.deliver) deliver(d);  // takes the bytes
    if (a.backpressure) backpressure = true;
    for (auto& e : a.events) on_event(e);
    timer.arm(a.wake_at);
  }

  void deliver(session::Delivery& d) {
    last_input = std::chrono::steady_clock::now();
    if (port) {
      if (d.payload_type == static_cast<std::uint32_t>(PayloadType::output)) {
        port->on_input(d.data);
      } else if (d.payload_type == static_cast<std::uint32_t>(PayloadType::flag)) {
        if (auto flag = session::parse_flag(d.data)) port->on_flag(flag.value());
      }
      return;
    }
    switch (static_cast<PayloadType>(d.payload_type)) {
      case PayloadType::output:
        input.push_back(std::move(d.data));
        input_wake.cancel();
        break;
      case PayloadType::size:
        // The pty master belongs to this agent (released from the ExecProcess): resize it here;
        // the kernel signals the foreground process group.
        if (auto size = session::parse_size(d.data); size && pty && pty->is_open()) {
          struct winsize ws {};
          ws.ws_col = static_cast<unsigned short>(size.value().cols);
          ws.ws_row = static_cast<unsigned short>(size.value().rows);
          ::ioctl(pty->native_handle(), TIOCSWINSZ, &ws);
        } else if (size) {
          pending_size = size.value();
        }
        break;
      case PayloadType::flag:
        if (auto flag = session::parse_flag(d.data);
            flag && flag.value() == static_cast<std::uint32_t>(session::Flag::terminate_session) &&
            process) {
          process->kill(SIGKILL);
        }
        break;
      default:
        break;
    }
  }

  void on_event(const session::Event& e) {
    switch (e.kind) {
      case EventKind::handshake_response: {
        auto self = shared_from_this();
        if (e.handshake_response && record.port) {
          start_port(*e.handshake_response);
          break;
        }
        if (!e.handshake_response || !record.kms_key_arn.size()) break;
        const auto& resp = *e.handshake_response;
        bool ok = std::all_of(resp.actions.begin(), resp.actions.end(), [](const auto& a) {
          return a.status == session::ActionStatus::success;
        });
        std::optional<std::string> key;
        if (ok && resp.kms_ciphertext_key && server->kms) {
          std::map<std::string, std::string> context{{"aws:ssm:SessionId", record.session_id},
                                                     {"aws:ssm:TargetId", record.target}};
          key = server->kms->decrypt_blob(*resp.kms_ciphertext_key, context);
        }
        if (!key || !channel.enable_encryption(*key)) {
          end_with(
              "Failed to process handshake: encryption could not be set up (KMS data key "
              "missing or not decryptable with the cluster's key).");
          break;
        }
        auto challenge = channel.send_challenge(now());
        if (challenge) apply(std::move(challenge).value());
        break;
      }
      case EventKind::challenge_verified:
        apply(channel.complete_handshake("This session is encrypted using AWS KMS.", now()));
        start_process();
        break;
      case EventKind::writable:
        backpressure = false;
        writable.cancel();
        break;
      case EventKind::channel_closed:
        if (process) process->kill(SIGKILL);
        break;
      default:
        break;
    }
  }

  void attach(std::shared_ptr<WsStream> stream) {
    ws = std::move(stream);
    ++link;
    orphan.cancel();
    bye_due = false;
    auto self = shared_from_this();
    asio::co_spawn(server->executor, reader(self, ws, link), asio::detached);
    if (server->options.connection_max_age.count() > 0) {
      link_age.expires_after(server->options.connection_max_age);
      link_age.async_wait([self, my_link = link](boost::system::error_code ec) {
        if (ec || self->done || self->link != my_link || !self->ws) return;
        self->bye_due = true;  // the writer says it between two frames
        self->writer_wake.cancel();
      });
    }
    if (!started) {
      started = true;
      asio::co_spawn(server->executor, writer(self), asio::detached);
      asio::co_spawn(server->executor, timers(self), asio::detached);
      asio::co_spawn(server->executor, idle_watch(self), asio::detached);
      if (server->options.max_session_duration.count() > 0) {
        lifetime.expires_after(server->options.max_session_duration);
        lifetime.async_wait([self](boost::system::error_code ec) {
          if (ec || self->done) return;
          if (self->process) self->process->kill(SIGKILL);
          self->end_with(std::string(session::kMaxSessionDurationOutput));
        });
      }
      begin();
    } else {
      apply(channel.resume(now()));
    }
    writer_wake.cancel();
  }

  // The SessionType action's Properties: the document's properties with its parameters filled
  // in (Go marshals the map with its keys sorted).
  static std::string port_properties_json(const PortProperties& p) {
    boost::json::object o;
    if (!p.host.empty()) o["host"] = p.host;
    if (!p.local_port_number.empty()) o["localPortNumber"] = p.local_port_number;
    o["portNumber"] = p.port_number;
    if (!p.type.empty()) o["type"] = p.type;
    return boost::json::serialize(o);
  }

  // Port sessions always have a handshake, without KMS (docs/protocol.md §9).
  void begin_port() {
    session::HandshakeRequest req;
    req.agent_version = std::string(kBuiltInAgentVersion);
    session::SessionTypeAction st;
    st.session_type = std::string(session::session_type::port);
    st.properties_json = port_properties_json(*record.port);
    req.session_type = st;
    apply(channel.start_handshake(req, now()));
  }

  void start_port(const session::HandshakeResponse& response) {
    bool accepted =
        std::all_of(response.actions.begin(), response.actions.end(),
                    [](const auto& a) { return a.status == session::ActionStatus::success; });
    if (!accepted || !server->options.dial) {
      end_with(accepted ? "Port sessions are not available in this sandbox."
                        : "Failed to process handshake: the client did not accept the session.");
      return;
    }
    PortMode mode = choose_port_mode(*record.port, response.client_version);
    std::weak_ptr<Agent> weak = shared_from_this();
    PortAgentIo io;
    io.send = [weak](PayloadType type, std::string bytes) {
      return send_session_data(weak.lock(), type, std::move(bytes));
    };
    io.set_input_ready = [weak](bool ready) {
      if (auto self = weak.lock()) self->apply(self->channel.set_application_ready(ready, now()));
    };
    io.end = [weak](std::string output) {
      auto self = weak.lock();
      if (!self) return;
      if (output.empty()) {
        asio::co_spawn(self->server->executor, self->drain_and_close(self), asio::detached);
      } else {
        self->end_with(output);
      }
    };
    io.dial = server->options.dial;
    apply(channel.complete_handshake("", now()));
    port = std::make_unique<PortAgent>(server->executor, record, mode, std::move(io),
                                       server->options.realistic_pacing);
    port->start();
  }

  // Session data from the port plugin: waits while the window is full; false once the session
  // is over.
  static Awaitable<bool> send_session_data(std::shared_ptr<Agent> self, PayloadType type,
                                           std::string bytes) {
    if (!self) co_return false;
    while (self->backpressure && !self->done && !self->ending) {
      co_await self->writable.async_wait(use_awaitable_nothrow);
      self->writable.expires_at(asio::steady_timer::time_point::max());
    }
    if (self->done || self->ending) co_return false;
    auto sent = self->channel.send_data(type, bytes, now());
    if (!sent) co_return false;
    self->apply(std::move(sent).value());
    co_return true;
  }

  void begin() {
    if (record.port) {
      begin_port();
      return;
    }
    if (!record.kms_key_arn.empty()) {
      session::HandshakeRequest req;
      req.agent_version = std::string(kBuiltInAgentVersion);
      session::SessionTypeAction st;
      st.session_type = std::string(session::session_type::interactive_commands);
      req.session_type = st;
      session::KmsEncryptionAction kmsa;
      kmsa.kms_key_id = record.kms_key_arn;
      kmsa.challenge = crypto::base64_encode(crypto::random_bytes(16));
      req.kms_encryption = kmsa;
      apply(channel.start_handshake(req, now()));
      return;
    }
    start_process();
  }

  void start_process() {
    auto words = shlex::split(record.command);
    if (!words || words.value().empty()) {
      end_with("Commands cannot be empty for session type InteractiveCommands");
      return;
    }
    runtime::ExecOptions opts;
    opts.tty = !server->options.pipes;
    std::vector<std::string> argv = std::move(words).value();
    if (!opts.tty) argv.insert(argv.begin(), {"/bin/sh", "-c", "exec \"$@\" 2>&1", "sh"});
    auto proc = server->exec(record, argv, opts);
    if (!proc) {
      end_with("Unable to start command: " + proc.error().message);
      return;
    }
    process = proc.value();
    int fd = opts.tty ? process->release_master_fd() : process->release_stdout_fd();
    pty = std::make_unique<asio::posix::stream_descriptor>(server->executor, fd);
    if (!opts.tty) {
      pipe_in = std::make_unique<asio::posix::stream_descriptor>(server->executor,
                                                                 process->release_stdin_fd());
    }
    if (pending_size) {
      struct winsize ws {};
      ws.ws_col = static_cast<unsigned short>(pending_size->cols);
      ws.ws_row = static_cast<unsigned short>(pending_size->rows);
      ::ioctl(fd, TIOCSWINSZ, &ws);
    }
    auto self = shared_from_this();
    asio::co_spawn(server->executor, pump_output(self), asio::detached);
    asio::co_spawn(server->executor, pump_input(self), asio::detached);
  }

  Awaitable<void> pump_output(std::shared_ptr<Agent> self) {
    asio::steady_timer pace(server->executor);
    const std::size_t chunk = server->options.realistic_pacing ? 1024 : 65536;
    std::string buf(chunk, '\0');
    while (!done) {
      while (backpressure && !done) {
        co_await writable.async_wait(use_awaitable_nothrow);
        writable.expires_at(asio::steady_timer::time_point::max());
      }
      auto [ec, n] = co_await pty->async_read_some(asio::buffer(buf), use_awaitable_nothrow);
      if (ec || n == 0) break;  // EIO once the last holder of the pty's slave is gone
      // The agent's pass over the bytes (agent_output.hpp): a U+FFFD loses two bytes.
      std::string data = output_filter.feed(std::string_view(buf.data(), n));
      if (data.empty()) continue;
      if (!record.log_group.empty() && transcript.size() < (1 << 20)) transcript.append(data);
      auto sent = channel.send_data(PayloadType::output, data, now());
      if (!sent) break;
      apply(std::move(sent).value());
      if (server->options.realistic_pacing) {
        pace.expires_after(std::chrono::milliseconds(1));
        co_await pace.async_wait(use_awaitable_nothrow);
      }
    }
    if (process) co_await process->wait();
    co_await drain_and_close(self);
  }

  Awaitable<void> pump_input(std::shared_ptr<Agent> /*keep_alive*/) {
    while (!done) {
      if (input.empty()) {
        co_await input_wake.async_wait(use_awaitable_nothrow);
        input_wake.expires_at(asio::steady_timer::time_point::max());
        continue;
      }
      // Let the reader take the frames that have already arrived before writing: every write
      // wakes the command's reader, and one per 1 KiB message cost a write and a context switch
      // each (strace: 36,416 writes for 32 MiB). A frame Beast holds completes its read a turn
      // or two of the event loop later (its completion is posted, and the acknowledgement's
      // write takes a turn): stop when three turns in a row brought nothing.
      for (std::size_t n = input.size(), quiet = 0, turns = 0; quiet < 3 && turns < 1024 && !done;
           ++turns) {
        co_await asio::post(server->executor, asio::use_awaitable);
        quiet = input.size() == n ? quiet + 1 : 0;
        n = input.size();
        if (n >= 256) break;
      }
      if (input.empty()) continue;
      // Everything queued goes in one write: one syscall for many messages (the agent writes
      // each message's payload to the pty on its own; the bytes and their order are the same).
      // Without a pty, what a canonical-mode terminal makes of the input (^V, ^D) is read from
      // each message straight into the write.
      std::string data;
      bool eof = false;
      if (pipe_in) {
        while (!input.empty() && data.size() < (256u << 10) && !eof) {
          eof = pipe_input.feed_into(input.front(), data);
          input.pop_front();
        }
      } else {
        data = std::move(input.front());
        input.pop_front();
        while (!input.empty() && data.size() < (256u << 10)) {
          data += input.front();
          input.pop_front();
        }
      }
      auto& sink = pipe_in ? *pipe_in : *pty;
      auto [ec, n] = co_await asio::async_write(sink, asio::buffer(data), use_awaitable_nothrow);
      if (ec) break;
      if (eof) {
        boost::system::error_code close_ec;
        pipe_in->close(close_ec);
        break;
      }
    }
  }

  // As the agent: wait (at most 2 s) until everything sent is acknowledged, then the service
  // tells the client the channel is closed.
  Awaitable<void> drain_and_close(std::shared_ptr<Agent> self) {
    if (ending) co_return;
    ending = true;
    // The SSM agent drains for at most 2 s; the sandbox waits for every acknowledgement (up to
    // 60 s), so that retransmissions under injected faults finish and tests stay deterministic.
    asio::steady_timer poll(server->executor);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((channel.unacked() > 0 || channel.waiting() > 0 || !outbox.empty()) && !flushed &&
           std::chrono::steady_clock::now() < give_up) {
      poll.expires_after(std::chrono::milliseconds(10));
      co_await poll.async_wait(use_awaitable_nothrow);
    }
    send_channel_closed("");
    co_await flush_and_close(self);
  }

  void send_channel_closed(const std::string& output) {
    session::ChannelClosed closed;
    closed.message_id = crypto::uuid4();
    closed.session_id = record.session_id;
    closed.destination_id = record.session_id;
    closed.output = output;
    std::string payload = session::to_json(closed, iso8601(std::chrono::system_clock::now()));
    outbox.push_back(channel.control_frame("channel_closed", payload));
    writer_wake.cancel();
  }

  // Whether `script` is on the container's PATH (a short exec, as the agent's lookup).
  Awaitable<bool> container_has_script() {
    if (record.host) co_return true;
    runtime::ExecOptions opts;
    opts.tty = false;
    auto probe = server->exec(record, {"/bin/sh", "-c", "command -v script >/dev/null 2>&1"}, opts);
    if (!probe) co_return false;
    auto proc = probe.value();
    proc->close_stdin();
    int code = co_await proc->wait();
    co_return code == 0;
  }

  void end_with(const std::string& output) {
    if (ending) return;
    ending = true;
    send_channel_closed(output);
    asio::co_spawn(server->executor, flush_and_close(shared_from_this()), asio::detached);
  }

  Awaitable<void> flush_and_close(std::shared_ptr<Agent> self) {
    if (flushed) co_return;
    flushed = true;
    asio::steady_timer poll(server->executor);
    // channel_closed goes out before the session is over for the service: through the current
    // link, or one a client resumes meanwhile (its link dropped or was closed with "Bye" just as
    // the session ended: without this the client would find the session gone and never learn
    // how it ended). A client that does not come back within 5 s is not waited for, nor one
    // whose session was terminated (it cannot resume).
    auto resumable = [this] {
      const auto* r = server->sessions.find(record.session_id);
      return r && r->status != "Terminated";
    };
    for (int i = 0; i < 1000 && !outbox.empty() && (ws || resumable()); ++i) {
      poll.expires_after(std::chrono::milliseconds(5));
      co_await poll.async_wait(use_awaitable_nothrow);
    }
    if (!record.log_group.empty() && server->logs && !transcript.empty()) {
      // The agent makes the transcript with `script` (util-linux) inside the container; without
      // it the session works but no transcript is written (aws/amazon-ssm-agent#653).
      const bool has_script = co_await container_has_script();
      if (has_script) {
        server->logs->append(record.log_group, record.session_id, transcript);
      } else {
        std::fprintf(stderr,
                     "ecsh-sandbox: [%s] unable to generate log data: Failed to generate "
                     "transcript with the following errors: exec: \"script\": executable file "
                     "not found in $PATH\n",
                     record.session_id.c_str());
      }
    }
    done = true;
    if (process && !process->exit_code()) process->kill(SIGKILL);
    if (ws) {
      auto stream = ws;
      websocket::close_reason reason(websocket::close_code::normal);
      co_await stream->async_close(reason, use_awaitable_nothrow);
    }
    finish();
    server->sessions.terminate(record.session_id);
    server->agents.erase(record.session_id);
    (void)self;
  }

  void finish() {
    done = true;
    if (port) port->stop();
    timer.cancel();
    for (auto* t : {&writer_wake, &writable, &input_wake, &orphan, &idle, &link_age, &lifetime}) {
      t->cancel();
    }
    for (int fd : silenced_fds) ::close(fd);
    silenced_fds.clear();
    for (auto* d : {&pty, &pipe_in}) {
      if (*d) {
        boost::system::error_code ec;
        (*d)->close(ec);
      }
    }
  }

  void drop_link() {
    if (!ws) return;
    boost::system::error_code ec;
    beast::get_lowest_layer(*ws).socket().close(ec);
    ws.reset();
    start_orphan_timer();
  }

  // The link goes quiet without closing: a duplicate of its socket keeps the connection open
  // (no FIN, no RST) while the stream itself is closed, so nothing is read (pings go unanswered)
  // and nothing is written any more.
  void silence_link() {
    if (!ws) return;
    auto& socket = beast::get_lowest_layer(*ws).socket();
    int held = ::dup(socket.native_handle());
    if (held >= 0) silenced_fds.push_back(held);
    boost::system::error_code ec;
    socket.close(ec);
    ws.reset();
    start_orphan_timer();
  }

  void start_orphan_timer() {
    // A session whose client never comes back ends after 5 minutes.
    orphan.expires_after(std::chrono::minutes(5));
    auto self = shared_from_this();
    orphan.async_wait([self](boost::system::error_code ec) {
      if (ec || self->ws || self->done) return;
      if (self->process) self->process->kill(SIGKILL);
    });
  }

  Awaitable<void> reader(std::shared_ptr<Agent> /*keep_alive*/, std::shared_ptr<WsStream> stream,
                         std::uint64_t my_link) {
    beast::flat_buffer buffer;
    while (!done) {
      auto [ec, n] = co_await stream->async_read(buffer, use_awaitable_nothrow);
      if (ec) break;
      // The flat buffer is contiguous: decode from it in place.
      std::string_view frame(static_cast<const char*>(buffer.data().data()), buffer.size());
      auto actions = channel.on_frame(frame, now());
      buffer.consume(buffer.size());
      apply(std::move(actions));
    }
    if (my_link == link && !done) {
      ws.reset();
      start_orphan_timer();
    }
  }

  // The service's close 1000 "Bye" (its forced reconnect, or a fault playing it): the client
  // resumes, and what it has not acknowledged is sent again on the new link.
  // Each is said on stderr with its time (bench/reconnect_bench.py measures from it).
  Awaitable<void> say_bye(std::shared_ptr<WsStream> stream) {
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    std::fprintf(stderr, "ecsh-sandbox: session %s: link %llu closed with 1000 \"Bye\" at %.6f\n",
                 record.session_id.c_str(), static_cast<unsigned long long>(link),
                 std::chrono::duration<double>(since_epoch).count());
    websocket::close_reason bye(websocket::close_code::normal, "Bye");
    co_await stream->async_close(bye, use_awaitable_nothrow);
    if (ws == stream) drop_link();
  }

  Awaitable<void> writer(std::shared_ptr<Agent> /*keep_alive*/) {
    auto& f = server->faults;
    while (!done) {
      if ((outbox.empty() && !bye_due) || !ws) {
        co_await writer_wake.async_wait(use_awaitable_nothrow);
        writer_wake.expires_at(asio::steady_timer::time_point::max());
        continue;
      }
      if (bye_due) {  // --connection-max-age
        bye_due = false;
        auto stream = ws;
        co_await say_bye(stream);
        continue;
      }
      std::string frame = std::move(outbox.front());
      outbox.pop_front();
      auto stream = ws;
      ++frames_sent;
      // Faults, in the order a network would show them.
      if (f.stall_ms > 0 && !stalled && frames_sent > 8) {
        stalled = true;
        asio::steady_timer stall(server->executor);
        stall.expires_after(std::chrono::milliseconds(f.stall_ms));
        co_await stall.async_wait(use_awaitable_nothrow);
      }
      if (f.bye_after_first_output && !said_bye && frames_sent > 4) {
        said_bye = true;
        co_await say_bye(stream);
        continue;  // the frame stays unacked in the channel and is resent after the resume
      }
      if (f.force_reconnect_rate > 0 && forced_reconnects < f.max_forced_reconnects &&
          server->roll() < f.force_reconnect_rate) {
        ++forced_reconnects;
        co_await say_bye(stream);
        continue;  // as above
      }
      if (f.silent_drop_after_frames > 0 && silent_drops < f.max_silent_drops &&
          frames_sent % f.silent_drop_after_frames == 0) {
        ++silent_drops;
        silence_link();
        continue;  // unacked: resent after the client notices and resumes
      }
      if (f.drop_link_every_frames > 0 && links_dropped < f.max_link_drops &&
          frames_sent % f.drop_link_every_frames == 0) {
        ++links_dropped;
        drop_link();
        continue;  // the frame stays unacked in the channel and is resent after the resume
      }
      if (f.reorder_rate > 0 && !held_for_reorder && server->roll() < f.reorder_rate) {
        held_for_reorder = std::move(frame);
        continue;
      }
      if (f.corrupt_rate > 0 && frame.size() > 121 && server->roll() < f.corrupt_rate) {
        std::string bad = frame;
        bad[bad.size() - 1] = static_cast<char>(bad.back() ^ 0x5a);
        stream->binary(true);
        co_await stream->async_write(asio::buffer(bad), use_awaitable_nothrow);
      } else {
        stream->binary(true);
        auto [ec, n] = co_await stream->async_write(asio::buffer(frame), use_awaitable_nothrow);
        if (ec) continue;
        if (f.duplicate_rate > 0 && server->roll() < f.duplicate_rate) {
          co_await stream->async_write(asio::buffer(frame), use_awaitable_nothrow);
        }
      }
      if (held_for_reorder) {
        std::string late = std::move(*held_for_reorder);
        held_for_reorder.reset();
        co_await stream->async_write(asio::buffer(late), use_awaitable_nothrow);
      }
    }
  }

  // The service's idle session timeout: nothing from the client for that long ends the session.
  // The wording of the reason is inferred.
  Awaitable<void> idle_watch(std::shared_ptr<Agent> /*keep_alive*/) {
    const auto timeout = server->options.idle_timeout;
    last_input = std::chrono::steady_clock::now();
    while (!done && !ending) {
      idle.expires_at(last_input + timeout);
      co_await idle.async_wait(use_awaitable_nothrow);
      if (done || ending) break;
      if (std::chrono::steady_clock::now() >= last_input + timeout) {
        end_with(std::string(session::kIdleTimeoutOutput));
        break;
      }
    }
  }

  Awaitable<void> timers(std::shared_ptr<Agent> /*keep_alive*/) {
    while (!done) {
      bool due = co_await timer.wait_due();
      if (!due) break;
      apply(channel.on_timer(now()));
    }
  }
};

Awaitable<void> DataChannelServer::Impl::handle_upgrade(TcpOrTlsStream stream,
                                                        BeastRequest request) {
  auto self = shared_from_this();
  auto ws = std::make_shared<WsStream>(std::move(stream));
  ws->next_layer().batch_frames();  // many frames per socket write and read
  ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  auto [aec] = co_await ws->async_accept(request, use_awaitable_nothrow);
  if (aec) co_return;
  std::string target(request.target());
  std::string id = target.substr(std::string("/v1/data-channel/").size());
  id = id.substr(0, id.find('?'));

  beast::flat_buffer buffer;
  auto [rec, n] = co_await ws->async_read(buffer, use_awaitable_nothrow);
  if (rec) co_return;
  std::string first = beast::buffers_to_string(buffer.data());
  boost::system::error_code jec;
  auto open = boost::json::parse(first, jec);
  std::string token;
  if (!jec && open.is_object()) {
    if (auto* t = open.as_object().if_contains("TokenValue"); t && t->is_string()) {
      token = std::string(t->as_string());
    }
  }
  auto refuse = [&](std::string why) -> Awaitable<void> {
    websocket::close_reason reason(websocket::close_code::bad_payload, why);
    co_await ws->async_close(reason, use_awaitable_nothrow);
  };
  if (token.empty()) {
    std::string why = "Channel " + id + ": request to open data channel does not contain token.";
    co_await refuse(why);
    co_return;
  }
  // A real agent's data channel carries the token CreateDataChannel gave it.
  if (gateway && gateway_take_agent_data_channel(*gateway, ws, id, token)) co_return;
  auto* record = sessions.find(id);
  if (!record || record->status == "Terminated" ||
      !crypto::equal_constant_time(record->token, token)) {
    std::string why = "Channel " + id + ": invalid token or session.";
    co_await refuse(why);
    co_return;
  }
  if (stopped) co_return;
  if (record->relayed) {
    if (!gateway || !gateway_take_client_data_channel(*gateway, ws, id)) {
      std::string why = "Channel " + id + ": invalid token or session.";
      co_await refuse(why);
    }
    co_return;
  }
  auto it = agents.find(id);
  std::shared_ptr<Agent> agent;
  if (it == agents.end()) {
    agent = std::make_shared<Agent>(self, *record);
    agents[id] = agent;
  } else {
    agent = it->second;
  }
  agent->attach(ws);
}

DataChannelServer::DataChannelServer(asio::any_io_executor executor, SessionRegistry& sessions,
                                     ExecFn exec, const kms::KmsModule* kms, logs::LogsModule* logs,
                                     Options options)
    : impl_(std::make_shared<Impl>(executor, sessions, std::move(exec), kms, logs, options)) {}

DataChannelServer::~DataChannelServer() { shutdown(); }

void DataChannelServer::accept(TcpOrTlsStream stream, BeastRequest request) {
  asio::co_spawn(impl_->executor, impl_->handle_upgrade(std::move(stream), std::move(request)),
                 asio::detached);
}

void DataChannelServer::set_gateway(AgentGateway* gateway) { impl_->gateway = gateway; }

void DataChannelServer::set_faults(const ChannelFaults& faults) {
  impl_->faults = faults;
  impl_->rng.seed(faults.seed);
}

void DataChannelServer::terminate(const std::string& session_id) {
  auto it = impl_->agents.find(session_id);
  if (it == impl_->agents.end()) return;
  auto agent = it->second;
  if (agent->process) agent->process->kill(SIGKILL);
  // The session is over for the service: the agent writes its transcript and ends now, not
  // after waiting for a client that will not resume. A client still connected is told with
  // channel_closed, as the service does on TerminateSession.
  if (agent->started) {
    if (!agent->ending && agent->ws) agent->send_channel_closed("");
    agent->ending = true;
    asio::co_spawn(impl_->executor, agent->flush_and_close(agent), asio::detached);
  }
}

void DataChannelServer::shutdown() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  auto agents = impl_->agents;
  for (auto& [id, a] : agents) {
    if (a->process) a->process->kill(SIGKILL);
    if (a->ws) {
      boost::system::error_code ec;
      beast::get_lowest_layer(*a->ws).socket().close(ec);
    }
    a->finish();
  }
  impl_->agents.clear();
}

std::size_t DataChannelServer::active_sessions() const { return impl_->agents.size(); }

}  // namespace ecsh::sandbox::ssm
