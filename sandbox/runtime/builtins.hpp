#pragma once

// Tools built into ecsh-sandbox, because a task's image is the host filesystem and the demo must
// need no third-party binary. A container or exec command whose argv[0] is "sandbox-httpd" or
// "sandbox-http-get" runs them (ProcessRuntime executes `EXE builtin NAME ARGS...`).
//
//   httpd [--port N] [--bind ADDR] [--body TEXT]   HTTP/1.0 server; GET / answers a small HTML
//                                                 page naming the task and container (or TEXT)
//   http-get [--wait SECONDS] URL                 prints the body of http://HOST[:PORT]/PATH;
//                                                 retries a refused connection for SECONDS

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ecsh::sandbox::runtime {

// argv[0] names the built-in: "httpd" or "http-get" (a "sandbox-" prefix is accepted).
// Returns the process exit code: 0 on success, 2 for bad arguments.
int run_builtin(int argc, char** argv);

// For main(): handles `EXE builtin NAME ARGS...` and a program called (argv[0] basename)
// "sandbox-httpd" or "sandbox-http-get". nullopt: not a built-in invocation.
std::optional<int> dispatch_builtin(int argc, char** argv);

// Makes `dir` hold sandbox-httpd and sandbox-http-get, links to this executable, so that a shell
// inside a container finds them on PATH. Returns `dir`, or "" when the links cannot be made.
std::string install_builtin_links(const std::string& dir);

struct HttpUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string path = "/";
};
// http://HOST[:PORT][/PATH]; HOST may be a bracketed IPv6 literal. nullopt if malformed.
std::optional<HttpUrl> parse_http_url(std::string_view url);

}  // namespace ecsh::sandbox::runtime
