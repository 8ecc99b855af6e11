#include "ecsh/connect/exec_session.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/json_fields.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/wakeup.hpp"
#include "ecsh/connect/session_ending.hpp"
#include "ecsh/exec/remote_command.hpp"
#include "ecsh/term/escape.hpp"
#include "ecsh/term/input_reader.hpp"
#include "ecsh/term/raw_mode.hpp"
#include "ecsh/term/tty.hpp"
#include "ecsh/term/winch.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/json.hpp>

#include <unistd.h>
#include <cerrno>
#include <optional>

namespace ecsh::connect {
namespace json = boost::json;

Awaitable<void> terminate_session(aws::AwsClient& client, const std::string& session_id) {
  json::object req{{"SessionId", session_id}};
  auto r = co_await client.json_call(aws::services::ssm(), "TerminateSession", req);
  if (!r) log::debug("TerminateSession: {}", r.error().message);
}

std::string container_description(const ecs::ResolvedTarget& target) {
  return "container " + target.container.name + " of task " + target.task.id;
}

std::string ecs_ssm_target(const ecs::ResolvedTarget& target) {
  return "ecs:" + target.cluster_name + "_" + target.task.id + "_" + target.container.runtime_id;
}

namespace {

// The session of an ExecuteCommand ({"session": {"sessionId"…}}) or StartSession ({"SessionId"…})
// response.
Result<SessionTarget> session_from(const json::object& resp, const char* operation) {
  SessionTarget s;
  JsonFields r(resp, std::string("the ") + operation + " response");
  ECSH_TRY(auto session, r.optional_object("session"));
  const JsonFields& o = session ? *session : r;
  auto str = [&o](const char* lower, const char* upper) {
    return o.has(lower) ? o.string(lower) : o.string_or(upper);
  };
  ECSH_TRY(s.session_id, str("sessionId", "SessionId"));
  ECSH_TRY(s.stream_url, str("streamUrl", "StreamUrl"));
  ECSH_TRY(s.token_value, str("tokenValue", "TokenValue"));
  if (s.session_id.empty() || s.stream_url.empty() || s.token_value.empty()) {
    return Error::protocol(std::string(operation) + " returned no session");
  }
  log::add_secret(s.token_value);
  return s;
}

}  // namespace

Awaitable<Result<SessionTarget>> start_ecs_session(aws::AwsClient& client,
                                                   const ecs::ResolvedTarget& target,
                                                   const std::string& command) {
  json::object req{{"cluster", target.cluster_arn},
                   {"task", target.task.arn},
                   {"container", target.container.name},
                   {"interactive", true},
                   {"command", command}};
  ECSH_CO_TRY(auto resp, co_await client.json_call(aws::services::ecs(), "ExecuteCommand", req));
  co_return session_from(resp, "ExecuteCommand");
}

Awaitable<Result<SessionTarget>> start_document_session(
    aws::AwsClient& client, const std::string& ssm_target, const std::string& document,
    const std::map<std::string, std::vector<std::string>>& parameters) {
  json::object params;
  for (const auto& [name, values] : parameters) {
    json::array list;
    for (const auto& v : values) list.emplace_back(v);
    params[name] = std::move(list);
  }
  json::object req{
      {"Target", ssm_target}, {"DocumentName", document}, {"Parameters", std::move(params)}};
  ECSH_CO_TRY(auto resp, co_await client.json_call(aws::services::ssm(), "StartSession", req));
  co_return session_from(resp, "StartSession");
}

Awaitable<Result<SessionTarget>> start_instance_session(aws::AwsClient& client,
                                                        const std::string& instance_id,
                                                        const std::string& command) {
  const std::string document = "AWS-StartInteractiveCommand";
  const std::map<std::string, std::vector<std::string>> parameters{{"command", {command}}};
  co_return co_await start_document_session(client, instance_id, document, parameters);
}

TransportOptions transport_options(aws::AwsClient& client, const SessionTarget& session,
                                   const std::string& ssm_target, const ExecSettings& settings) {
  TransportOptions o;
  o.websocket.http = settings.http;
  std::string id = session.session_id;
  o.resume = [&client, id]() -> Awaitable<Result<std::string>> {
    json::object req{{"SessionId", id}};
    ECSH_CO_TRY(auto resp, co_await client.json_call(aws::services::ssm(), "ResumeSession", req));
    JsonFields r(resp, "the ResumeSession response");
    co_return r.string_or("TokenValue");
  };
  o.generate_data_key = [&client, id,
                         ssm_target](std::string key_id) -> Awaitable<Result<KmsDataKey>> {
    json::object req{{"KeyId", key_id},
                     {"NumberOfBytes", 64},
                     {"EncryptionContext",
                      json::object{{"aws:ssm:SessionId", id}, {"aws:ssm:TargetId", ssm_target}}}};
    ECSH_CO_TRY(auto resp, co_await client.json_call(aws::services::kms(), "GenerateDataKey", req));
    JsonFields r(resp, "the GenerateDataKey response");
    ECSH_CO_TRY(auto blob_text, r.string_or("CiphertextBlob"));
    ECSH_CO_TRY(auto plain_text, r.string_or("Plaintext"));
    auto blob = crypto::base64_decode(blob_text);
    auto plain = crypto::base64_decode(plain_text);
    if (!blob || !plain || plain->size() != 64) {
      Error e = Error::protocol("kms:GenerateDataKey returned no usable 64-byte data key");
      co_return e;
    }
    log::add_secret(*plain);
    KmsDataKey k;
    k.ciphertext_blob = *blob;
    k.plaintext = *plain;
    co_return k;
  };
  return o;
}

Awaitable<Result<int>> run_one_shot(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                    const std::vector<std::string>& words, bool forward_stdin,
                                    const ExecSettings& settings) {
  OneShotStarter starter;
  starter.ssm_target = ecs_ssm_target(target);
  starter.where = container_description(target);
  // A coroutine lambda: `command` lives in its frame (start_ecs_session takes a reference).
  starter.start = [&client, &target](std::string command) -> Awaitable<Result<SessionTarget>> {
    co_return co_await start_ecs_session(client, target, command);
  };
  co_return co_await run_one_shot_with(client, starter, words, forward_stdin, settings);
}

namespace {

// The last non-empty line of `text`, without control characters, at most 300 bytes.
std::string last_line(std::string_view text) {
  std::string line;
  std::size_t end = text.size();
  while (end > 0) {
    std::size_t start = text.rfind('\n', end - 1);
    start = start == std::string_view::npos ? 0 : start + 1;
    line.clear();
    for (char c : text.substr(start, end - start)) {
      if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) line += c;
    }
    if (line.find_first_not_of(' ') != std::string::npos) break;
    line.clear();
    end = start == 0 ? 0 : start - 1;
  }
  if (line.size() > 300) line = line.substr(0, 300) + "…";
  return line;
}

}  // namespace

namespace {

Error cancelled_error() {
  return Error::connection("the command was cancelled before it finished", {}, false);
}

// One one-shot session: output to `io`'s callbacks, stdin forwarded from settings.stdin_fd when
// `forward_stdin`.
Awaitable<Result<int>> one_shot(aws::AwsClient& client, const OneShotStarter& starter,
                                const std::vector<std::string>& words, bool forward_stdin,
                                const ExecSettings& settings, OneShotIo& io) {
  auto executor = co_await asio::this_coro::executor;
  std::string nonce = crypto::hex(crypto::random_bytes(16));
  auto remote =
      exec::wrap_one_shot(words, forward_stdin ? exec::StdinMode::forward : exec::StdinMode::none,
                          nonce, settings.user);
  auto phase = [&io](std::string_view name) {
    if (io.on_phase) io.on_phase(name);
  };
  ECSH_CO_TRY(auto session, co_await starter.start(remote.command));
  phase("ExecuteCommand");
  if (io.cancel && io.cancel->cancelled) {
    co_await terminate_session(client, session.session_id);
    co_return cancelled_error();
  }
  auto options = transport_options(client, session, starter.ssm_target, settings);
  ECSH_CO_TRY(auto transport,
              co_await SessionTransport::open(executor, session, std::move(options)));
  phase("WebSocket open");
  if (io.cancel && io.cancel->cancelled) {
    co_await terminate_session(client, session.session_id);
    co_return cancelled_error();
  }
  // Cleared on every way out, before the transport goes.
  struct CloseHook {
    std::shared_ptr<SessionCancel> cancel;
    ~CloseHook() {
      if (cancel) cancel->close = nullptr;
    }
  } close_hook{io.cancel};
  if (io.cancel) io.cancel->close = [t = transport.get()] { t->close(); };

  exec::OutputDemux demux(nonce);
  bool stdin_started = false;
  auto* t = transport.get();
  // Only when forwarding: `ecsh run` opens hundreds of sessions and reads no input.
  std::optional<term::InputReader> reader;
  if (forward_stdin) reader.emplace(executor, settings.stdin_fd);
  auto pump_stdin = [&]() -> Awaitable<void> {
    exec::StdinEncoder encoder(demux.decoder());
    for (;;) {
      std::string chunk = co_await reader->read();
      if (chunk.empty()) break;
      auto sent = co_await t->send(session::PayloadType::output, encoder.encode(chunk));
      if (!sent) co_return;
    }
    (void)co_await t->send(session::PayloadType::output, encoder.finish());
  };
  bool ready = false;
  bool first_output = false;
  transport->on_ready([&] {
    if (!ready) phase("handshake");
    ready = true;
  });
  transport->on_output([&](std::string_view bytes) {
    if (!ready) phase("handshake");  // no handshake (ECS Exec without KMS): the output is ready
    ready = true;
    if (!first_output) phase("first output");
    first_output = true;
    auto chunk = demux.feed(bytes);
    if (demux.started()) io.started = true;
    if (!chunk.stdout_bytes.empty()) io.on_stdout(chunk.stdout_bytes);
    if (!chunk.stderr_bytes.empty()) io.on_stderr(chunk.stderr_bytes);
    if (forward_stdin && demux.started() && !stdin_started) {
      stdin_started = true;
      asio::co_spawn(executor, pump_stdin(), asio::detached);
    }
    if (demux.finished()) {
      phase("exit status");
      t->close();
    }
  });
  auto end = co_await transport->run();
  if (reader) reader->cancel();
  co_await terminate_session(client, session.session_id);
  if (demux.exit_status()) co_return *demux.exit_status();
  if (demux.run_as_failure()) {
    co_return exec::run_as_error(*demux.run_as_failure(), settings.user, starter.where);
  }
  if (!end) co_return end.error();
  // The service ended it (idle timeout, maximum duration): said plainly, with its exit code.
  if (auto ended = service_ending(end.value())) co_return *ended;
  // Why, when it is known: the agent's closing message, else the last line printed before the
  // wrapper started (e.g. docker's "Error response from daemon: …" in Method 2).
  std::string why = end.value().output;
  if (why.empty()) why = last_line(demux.preamble());
  if (why.empty()) {
    // Nothing said: the task may have stopped, or the session was ended elsewhere; the CLI
    // asks the task (doctor::explain_ending).
    Error e =
        Error::session_ended(SessionEnding::unexplained,
                             "the session ended before the command finished", starter.ended_hint);
    co_return e;
  }
  Error e = Error::connection("the session ended before the command finished: " + why,
                              starter.ended_hint, false);
  co_return e;
}

}  // namespace

Awaitable<Result<int>> run_one_shot_with(aws::AwsClient& client, const OneShotStarter& starter,
                                         const std::vector<std::string>& words, bool forward_stdin,
                                         const ExecSettings& settings) {
  OneShotIo io;
  io.on_stdout = [fd = settings.stdout_fd](std::string_view b) { term::write_all(fd, b); };
  io.on_stderr = [fd = settings.stderr_fd](std::string_view b) { term::write_all(fd, b); };
  co_return co_await one_shot(client, starter, words, forward_stdin, settings, io);
}

Awaitable<Result<int>> run_one_shot_io(aws::AwsClient& client, const OneShotStarter& starter,
                                       const std::vector<std::string>& words,
                                       const ExecSettings& settings, OneShotIo& io) {
  co_return co_await one_shot(client, starter, words, false, settings, io);
}

Awaitable<Result<int>> run_interactive(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                       const ExecSettings& settings) {
  RunAsMarkers markers;
  markers.nonce = crypto::hex(crypto::random_bytes(16));
  markers.where = container_description(target);
  const std::string command = exec::interactive_shell_command(settings.user, markers.nonce);
  ECSH_CO_TRY(auto session, co_await start_ecs_session(client, target, command));
  const RunAsMarkers* run_as = settings.user.empty() ? nullptr : &markers;
  co_return co_await run_terminal_session(client, session, ecs_ssm_target(target), settings,
                                          run_as);
}

Awaitable<Result<int>> run_terminal_session(aws::AwsClient& client, const SessionTarget& session,
                                            const std::string& ssm_target,
                                            const ExecSettings& settings,
                                            const RunAsMarkers* run_as) {
  auto executor = co_await asio::this_coro::executor;
  auto options = transport_options(client, session, ssm_target, settings);
  ECSH_CO_TRY(auto transport,
              co_await SessionTransport::open(executor, session, std::move(options)));
  auto* t = transport.get();

  std::optional<term::RawModeGuard> raw;
  if (term::is_tty(settings.stdin_fd)) {
    auto guard = term::RawModeGuard::enter(settings.stdin_fd);
    if (guard) raw.emplace(std::move(guard).value());
  }
  // --user: nothing is shown until the wrapper says the switch worked; when it could not, the
  // session ends with the error.
  std::optional<exec::RunAsGate> gate;
  if (run_as) gate.emplace(run_as->nonce);
  transport->on_output([&](std::string_view bytes) {
    if (!gate || gate->open()) {
      term::write_all(settings.stdout_fd, bytes);
      return;
    }
    std::string shown = gate->feed(bytes);
    if (!shown.empty()) term::write_all(settings.stdout_fd, shown);
    if (gate->failure()) t->close();
  });
  transport->on_notice([&](std::string_view text) {
    term::write_all(settings.stderr_fd, std::string(text) + "\r\n");
  });

  auto size_payload = [](term::WindowSize s) {
    session::TerminalSize ts;
    ts.cols = s.cols;
    ts.rows = s.rows;
    return session::size_json(ts);
  };
  term::WinchWatcher winch(executor);
  (void)co_await t->send(session::PayloadType::size, size_payload(winch.current()));

  bool disconnected = false;
  term::InputReader reader(executor, settings.stdin_fd);
  auto pump_keys = [&]() -> Awaitable<void> {
    term::EscapeFilter escapes(settings.escapes);
    for (;;) {
      std::string chunk = co_await reader.read();
      if (chunk.empty()) break;
      auto out = escapes.feed(chunk);
      if (!out.send.empty()) {
        auto sent = co_await t->send(session::PayloadType::output, out.send);
        if (!sent) co_return;
      }
      for (auto action : out.actions) {
        if (action == term::EscapeAction::help) {
          term::write_all(settings.stderr_fd, term::escape_help_text());
        } else {
          disconnected = true;
          t->close();
          co_return;
        }
      }
    }
  };
  auto pump_sizes = [&]() -> Awaitable<void> {
    for (;;) {
      auto size = co_await winch.changed();
      if (!size) co_return;
      std::string payload = size_payload(size.value());
      auto sent = co_await t->send(session::PayloadType::size, payload);
      if (!sent) co_return;
    }
  };
  // A known maximum session duration (the account's Session Manager preferences) is warned of a
  // minute before it ends the session. Best effort: without ssm:GetDocument, or without saved
  // preferences (InvalidDocument), nothing is said. Not in plugin mode, as the plugin.
  const auto opened = std::chrono::steady_clock::now();
  asio::steady_timer warn_at(executor);
  bool session_over = false;
  bool warner_done = settings.plugin_messages;
  Wakeup warner_finished(executor);
  auto warn_before_max_duration = [&]() -> Awaitable<void> {
    json::object req{{"Name", "SSM-SessionManagerRunShell"}};
    auto doc = co_await client.json_call(aws::services::ssm(), "GetDocument", req);
    std::optional<std::chrono::minutes> limit;
    if (doc) {
      if (auto* content = doc.value().if_contains("Content"); content && content->is_string()) {
        limit = max_session_duration_of(content->as_string());
      }
    } else {
      log::debug("session preferences: {}", doc.error().message);
    }
    if (limit && !session_over) {
      warn_at.expires_at(opened + *limit - std::chrono::minutes(1));
      auto [ec] = co_await warn_at.async_wait(use_awaitable_nothrow);
      if (!ec && !session_over) {
        auto left = opened + *limit - std::chrono::steady_clock::now();
        term::write_all(settings.stderr_fd, "\r\n" + max_duration_warning(*limit, left) + "\r\n");
      }
    }
    warner_done = true;
    warner_finished.notify();
  };
  asio::co_spawn(executor, pump_keys(), asio::detached);
  asio::co_spawn(executor, pump_sizes(), asio::detached);
  if (!warner_done) asio::co_spawn(executor, warn_before_max_duration(), asio::detached);
  auto end = co_await transport->run();
  session_over = true;
  warn_at.cancel();
  while (!warner_done) co_await warner_finished.wait();
  reader.cancel();
  winch.cancel();
  if (raw) raw->restore();
  co_await terminate_session(client, session.session_id);
  if (gate && gate->failure()) {
    co_return exec::run_as_error(*gate->failure(), settings.user, run_as->where);
  }
  if (gate && !gate->open()) term::write_all(settings.stdout_fd, gate->flush());
  if (disconnected) {
    term::write_all(settings.stderr_fd, "\necsh: disconnected (~.)\n");
    co_return 0;
  }
  if (!end) co_return end.error();
  if (auto ended = service_ending(end.value())) co_return *ended;
  if (!end.value().output.empty()) {
    term::write_all(settings.stderr_fd, "\necsh: " + end.value().output + "\n");
    co_return 255;
  }
  if (settings.plugin_messages) {
    term::write_all(settings.stdout_fd,
                    "\n\nExiting session with sessionId: " + session.session_id + ".\n\n");
  } else {
    term::write_all(settings.stderr_fd, "\necsh: session " + session.session_id + " ended\n");
  }
  co_return 0;
}

}  // namespace ecsh::connect
