#include "ecsh/common/log.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <regex>
#include <vector>

namespace ecsh::log {
namespace {

std::atomic<bool> g_debug{false};

// The reference for the timestamp of every debug line: ecsh's start, as near as static
// initialisation gets to it.
const std::chrono::steady_clock::time_point g_started = std::chrono::steady_clock::now();

struct State {
  std::mutex mu;
  std::vector<std::string> secrets;
  std::function<void(std::string_view)> sink;
};

State& state() {
  static State s;
  return s;
}

// Field-shaped secrets, for values that were never registered (e.g. a token in a response body
// that is logged before the code that parses it runs).
const std::vector<std::pair<std::regex, std::string>>& patterns() {
  static const std::vector<std::pair<std::regex, std::string>> p = [] {
    std::vector<std::pair<std::regex, std::string>> v;
    auto add = [&](const char* re, const char* repl) {
      v.emplace_back(std::regex(re, std::regex::icase | std::regex::ECMAScript), repl);
    };
    add(R"((Signature=)[0-9a-f]+)", "$1<redacted>");
    add(R"((X-Amz-Signature=)[0-9a-f]+)", "$1<redacted>");
    add(R"((X-Amz-Security-Token[=:]\s*)[^\s&]+)", "$1<redacted>");
    add(R"re(("(?:tokenValue|sessionToken|secretAccessKey|accessToken|token|clientSecret|refreshToken|plaintext)"\s*:\s*")[^"]*")re",
        "$1<redacted>\"");
    add(R"((<(SecretAccessKey|SessionToken)>)[^<]*)", "$1<redacted>");
    add(R"((aws_secret_access_key|aws_session_token)(\s*=\s*)\S+)", "$1$2<redacted>");
    // A task definition's environment entry with AWS keys (DescribeTaskDefinition bodies), in
    // either member order.
    add(R"re(("name"\s*:\s*"(?:AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)"\s*,\s*"value"\s*:\s*")[^"]*")re",
        "$1<redacted>\"");
    add(R"re(("value"\s*:\s*")[^"]*("\s*,\s*"name"\s*:\s*"(?:AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)"))re",
        "$1<redacted>$2");
    return v;
  }();
  return p;
}

}  // namespace

void set_debug(bool on) { g_debug.store(on); }
bool debug_enabled() { return g_debug.load(std::memory_order_relaxed); }

void set_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(state().mu);
  state().sink = std::move(sink);
}

void add_secret(std::string_view secret) {
  if (secret.size() < 4) return;
  std::lock_guard lock(state().mu);
  auto& s = state().secrets;
  if (std::find(s.begin(), s.end(), secret) == s.end()) s.emplace_back(secret);
}

std::string redact(std::string_view text) {
  std::string out(text);
  {
    std::lock_guard lock(state().mu);
    for (const auto& secret : state().secrets) {
      for (auto pos = out.find(secret); pos != std::string::npos;
           pos = out.find(secret, pos + 10)) {
        out.replace(pos, secret.size(), "<redacted>");
      }
    }
  }
  for (const auto& [re, repl] : patterns()) out = std::regex_replace(out, re, repl);
  return out;
}

std::chrono::steady_clock::duration since_start() {
  return std::chrono::steady_clock::now() - g_started;
}

void debug_line(std::string_view line) {
  double ms = std::chrono::duration<double, std::milli>(since_start()).count();
  auto clean = fmt::format("[+{:.3f} ms] {}", ms, redact(line));
  std::function<void(std::string_view)> sink;
  {
    std::lock_guard lock(state().mu);
    sink = state().sink;
  }
  if (sink) {
    sink(clean);
  } else {
    clean += '\n';
    std::fwrite(clean.data(), 1, clean.size(), stderr);
  }
}

}  // namespace ecsh::log
