#include "ecsh/connect/session_transport.hpp"

#include "ecsh/connect/session_ending.hpp"
#include "ecsh/session/channel_timer.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/log.hpp"

#include <boost/json.hpp>

#include <deque>

namespace ecsh::connect {

using session::Actions;
using session::EventKind;

std::string open_data_channel_json(std::string_view token, std::string_view client_id) {
  // Keys in the plugin's order.
  return "{\"MessageSchemaVersion\":\"1.0\",\"RequestId\":\"" + crypto::uuid4() +
         "\",\"TokenValue\":" + boost::json::serialize(boost::json::string(token)) +
         ",\"ClientId\":\"" + std::string(client_id) + "\",\"ClientVersion\":\"" +
         std::string(session::kDefaultClientVersion) + "\"}";
}

namespace {
session::TimePoint now() { return session::TimePoint::clock::now(); }
}  // namespace

struct SessionTransport::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, SessionTarget t, TransportOptions o)
      : executor(ex),
        target(std::move(t)),
        options(std::move(o)),
        channel(session::Role::client, options.channel),
        timer(ex),
        writer_wake(ex),
        writable(ex) {
    writer_wake.expires_at(asio::steady_timer::time_point::max());
    writable.expires_at(asio::steady_timer::time_point::max());
  }

  asio::any_io_executor executor;
  SessionTarget target;
  TransportOptions options;
  session::DataChannel channel;
  std::unique_ptr<aws::WebSocketClient> ws;
  std::uint64_t link = 0;  // bumped on every reconnect
  session::ChannelTimer timer;
  asio::steady_timer writer_wake;
  asio::steady_timer writable;
  std::deque<std::string> outbox;
  bool writing = false;
  bool backpressure = false;
  bool finished = false;
  bool user_closed = false;
  bool delivered_output = false;
  SessionEnd end;
  session::TimePoint opened_at = now();
  session::TimePoint last_input = now();
  std::optional<Error> fatal;
  std::function<void(std::string_view)> output;
  std::function<void(std::string_view)> notice;
  std::function<void(const session::HandshakeRequest&)> handshake_seen;
  std::function<void()> ready;
  std::function<void(std::uint32_t)> flag;

  Awaitable<Result<void>> connect(const std::string& token) {
    aws::WebSocketOptions websocket = options.websocket;
    websocket.idle_timeout = options.dead_link_after;
    ECSH_CO_TRY(auto client,
                co_await aws::connect_websocket(executor, target.stream_url, websocket));
    std::string open_frame = open_data_channel_json(token, options.client_id);
    ECSH_CO_TRY(co_await client->write(true, open_frame));
    ws = std::move(client);
    ++link;
    log::debug("session: data channel opened (link {})", link);
    co_return ok();
  }

  void apply(Actions a) {
    for (auto& f : a.send) outbox.push_back(std::move(f));
    if (!outbox.empty()) writer_wake.cancel();
    for (auto& d : a.deliver) {
      if (flag && d.payload_type == static_cast<std::uint32_t>(session::PayloadType::flag)) {
        if (auto value = session::parse_flag(d.data)) flag(value.value());
        continue;
      }
      if (output && (d.payload_type == 1 || d.payload_type == 11 || d.payload_type == 12)) {
        if (!delivered_output) {
          delivered_output = true;
          log::debug("session: first output ({} bytes)", d.data.size());
        }
        output(d.data);
      }
    }
    if (a.backpressure) backpressure = true;
    for (auto& e : a.events) on_event(e);
    timer.arm(a.wake_at);
  }

  void on_event(const session::Event& e) {
    switch (e.kind) {
      case EventKind::handshake_request:
        log::debug("session: handshake request from the agent");
        if (e.handshake_request && handshake_seen) handshake_seen(*e.handshake_request);
        if (e.handshake_request) {
          asio::co_spawn(executor, handshake(*e.handshake_request, shared_from_this()),
                         asio::detached);
        }
        break;
      case EventKind::handshake_complete:
        log::debug("session: handshake complete");
        if (notice && !e.text.empty()) notice(e.text);
        break;
      case EventKind::channel_closed:
        log::debug("session: channel closed by the agent");
        end.channel_closed = true;
        end.output = e.text;
        finish();
        break;
      case EventKind::ready:
        if (ready) ready();
        break;
      case EventKind::writable:
        backpressure = false;
        writable.cancel();
        break;
      case EventKind::rejected:
        log::debug("session: frame rejected: {}", e.text);
        break;
      default:
        break;
    }
  }

  static Awaitable<void> handshake(session::HandshakeRequest request, std::shared_ptr<Impl> self) {
    std::optional<std::string> blob;
    std::string plaintext;
    if (request.kms_encryption && self->options.generate_data_key) {
      auto key = co_await self->options.generate_data_key(request.kms_encryption->kms_key_id);
      if (key) {
        blob = key.value().ciphertext_blob;
        plaintext = key.value().plaintext;
      } else {
        log::debug("session: kms:GenerateDataKey failed: {}", key.error().describe());
        self->fatal = key.error();
      }
    }
    auto answer = session::answer_handshake(request, blob);
    auto actions = self->channel.respond_handshake(answer, now());
    if (!actions) {
      self->fatal = actions.error();
      self->finish();
      co_return;
    }
    if (blob) {
      auto enabled = self->channel.enable_encryption(plaintext);
      if (!enabled) {
        self->fatal = enabled.error();
        self->finish();
        co_return;
      }
    }
    self->apply(std::move(actions).value());
  }

  void finish() {
    finished = true;
    timer.cancel();
    writer_wake.cancel();
    writable.cancel();
  }

  Awaitable<void> writer(std::shared_ptr<Impl> /*keep_alive*/) {
    while (!finished) {
      if (outbox.empty() || !ws) {
        co_await writer_wake.async_wait(use_awaitable_nothrow);
        writer_wake.expires_at(asio::steady_timer::time_point::max());
        continue;
      }
      std::string frame = std::move(outbox.front());
      outbox.pop_front();
      auto* current = ws.get();
      auto written = co_await current->write(false, std::move(frame));
      // A failed write is not retried here: the frame stays unacked in the data channel and is
      // resent after the reconnect.
      if (!written) log::debug("session: write failed: {}", written.error().message);
    }
  }

  Awaitable<void> timers(std::shared_ptr<Impl> /*keep_alive*/) {
    while (!finished) {
      bool due = co_await timer.wait_due();
      if (!due) break;
      apply(channel.on_timer(now()));
    }
  }

  Awaitable<Result<void>> reconnect() {
    if (!options.resume) {
      Error e = Error::connection("the session's connection was lost", "Run the command again.");
      co_return e;
    }
    std::uint32_t delay_ms = 100 + static_cast<std::uint8_t>(crypto::random_bytes(1)[0]) % 100;
    asio::steady_timer pause(executor);
    Error last = Error::connection("the session's connection was lost");
    for (int attempt = 0; attempt < options.max_reconnects && !user_closed; ++attempt) {
      // The first attempt goes at once, as the plugin's retryer makes it (the service's hourly
      // close is no failure to back off from); the pauses come between failed attempts.
      if (attempt > 0) {
        pause.expires_after(std::chrono::milliseconds(delay_ms));
        co_await pause.async_wait(use_awaitable_nothrow);
        delay_ms = delay_ms * 2 > 5000 ? 100 : delay_ms * 2;
      }
      auto token = co_await options.resume();
      if (!token) {
        last = resume_failure(token.error());
        if (token.error().kind == ErrorKind::service) break;  // e.g. the session is over
        continue;
      }
      if (token.value().empty()) co_return ended_while_reconnecting();
      log::add_secret(token.value());
      auto connected = co_await connect(token.value());
      if (!connected) {
        last = connected.error();
        continue;
      }
      ++end.reconnects;
      apply(channel.resume(now()));
      writer_wake.cancel();
      co_return ok();
    }
    co_return last;
  }
};

SessionTransport::SessionTransport(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
SessionTransport::~SessionTransport() {
  if (impl_) impl_->finish();
}

Awaitable<Result<std::unique_ptr<SessionTransport>>> SessionTransport::open(
    asio::any_io_executor executor, SessionTarget target, TransportOptions options) {
  log::add_secret(target.token_value);
  if (options.client_id.empty()) options.client_id = crypto::uuid4();
  auto impl = std::make_shared<Impl>(executor, std::move(target), std::move(options));
  std::string token = impl->target.token_value;
  ECSH_CO_TRY(co_await impl->connect(token));
  co_return std::unique_ptr<SessionTransport>(new SessionTransport(impl));
}

void SessionTransport::on_output(std::function<void(std::string_view)> sink) {
  impl_->output = std::move(sink);
}
void SessionTransport::on_notice(std::function<void(std::string_view)> sink) {
  impl_->notice = std::move(sink);
}
void SessionTransport::on_handshake(std::function<void(const session::HandshakeRequest&)> sink) {
  impl_->handshake_seen = std::move(sink);
}
void SessionTransport::on_ready(std::function<void()> sink) { impl_->ready = std::move(sink); }
void SessionTransport::on_flag(std::function<void(std::uint32_t)> sink) {
  impl_->flag = std::move(sink);
}

Awaitable<Result<void>> SessionTransport::send(session::PayloadType type, std::string bytes) {
  auto impl = impl_;
  while (impl->backpressure && !impl->finished) {
    co_await impl->writable.async_wait(use_awaitable_nothrow);
    impl->writable.expires_at(asio::steady_timer::time_point::max());
  }
  if (impl->finished) {
    Error e = Error::connection("the session has ended");
    co_return e;
  }
  ECSH_CO_TRY(auto actions, impl->channel.send_data(type, bytes, now()));
  impl->last_input = now();
  impl->apply(std::move(actions));
  co_return ok();
}

Awaitable<Result<SessionEnd>> SessionTransport::run() {
  auto impl = impl_;
  asio::co_spawn(impl->executor, impl->writer(impl), asio::detached);
  asio::co_spawn(impl->executor, impl->timers(impl), asio::detached);
  while (!impl->finished) {
    auto* current = impl->ws.get();
    std::uint64_t link = impl->link;
    auto message = co_await current->read();
    if (impl->finished) break;
    if (!message) {
      if (impl->user_closed) break;
      if (link != impl->link) continue;  // a reconnect already replaced this link
      log::debug("session: link lost: {}", message.error().message);
      auto restored = co_await impl->reconnect();
      if (!restored) {
        impl->finish();
        co_return restored.error();
      }
      continue;
    }
    impl->apply(impl->channel.on_frame(message.value().data, now()));
  }
  if (impl->ws) {
    if (impl->user_closed) {
      co_await impl->ws->close();
    } else {
      impl->ws->abort();
    }
  }
  if (impl->fatal) co_return *impl->fatal;
  impl->end.lasted = now() - impl->opened_at;
  impl->end.since_input = now() - impl->last_input;
  co_return impl->end;
}

void SessionTransport::close() {
  impl_->user_closed = true;
  impl_->finish();
  if (impl_->ws) impl_->ws->abort();
}

void SessionTransport::drop_link_for_testing() {
  if (impl_->ws) impl_->ws->abort();
}

}  // namespace ecsh::connect
