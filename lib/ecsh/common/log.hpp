#pragma once

// Debug logging with secret redaction. Every line passes through redact() before it is written,
// so a secret registered with add_secret() (secret keys, session tokens, stream tokens) never
// reaches stderr, whatever code logged it.

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace ecsh::log {

void set_debug(bool on);
bool debug_enabled();

// Where debug lines go (stderr by default). Tests capture them here.
void set_sink(std::function<void(std::string_view)> sink);

// Register a value that must never be printed. Values shorter than 4 bytes are ignored.
void add_secret(std::string_view secret);

// Replaces registered secrets and well-known secret fields (Authorization signatures,
// X-Amz-Security-Token, JSON/XML token and secret-key fields) with "<redacted>".
std::string redact(std::string_view text);

// Time since ecsh started. Every debug line begins with it, "[+12.345 ms] ", so that --debug
// shows where a command's time goes (against real AWS too).
std::chrono::steady_clock::duration since_start();

void debug_line(std::string_view line);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (debug_enabled()) debug_line(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ecsh::log
