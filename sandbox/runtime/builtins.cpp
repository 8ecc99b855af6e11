#include "sandbox/runtime/builtins.hpp"

#include "ecsh/common/strings.hpp"

#include <filesystem>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace ecsh::sandbox::runtime {

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

bool parse_port(const char* text, std::uint16_t* port) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text, &end, 10);
  if (errno != 0 || !end || *end != '\0' || v < 0 || v > 65535) return false;
  *port = static_cast<std::uint16_t>(v);
  return true;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void set_timeouts(int fd, int seconds) {
  struct timeval tv;
  tv.tv_sec = seconds;
  tv.tv_usec = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string default_page() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::string task = env_or("ECSH_SANDBOX_TASK_ID", "unknown");
  std::string container = env_or("ECSH_SANDBOX_CONTAINER", "unknown");
  return "<!doctype html>\n<html><head><title>ecsh sandbox</title></head><body>\n"
         "<h1>Hello from ecsh-sandbox</h1>\n<p>task <b>" +
         str::markup_escape(task) + "</b>, container <b>" + str::markup_escape(container) +
         "</b>, host <b>" + str::markup_escape(host) + "</b></p>\n</body></html>\n";
}

void serve_one(int fd, const std::string& body) {
  set_timeouts(fd, 5);
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos &&
         req.size() < 16384) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    req.append(buf, static_cast<std::size_t>(n));
  }
  auto line_end = req.find_first_of("\r\n");
  std::string line = req.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  std::string method = line.substr(0, sp1);
  std::string target = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (auto q = target.find('?'); q != std::string::npos) target.resize(q);

  int status = 200;
  const char* reason = "OK";
  std::string content = body;
  if (method.empty() || target.empty()) {
    status = 400;
    reason = "Bad Request";
  } else if (method != "GET" && method != "HEAD") {
    status = 405;
    reason = "Method Not Allowed";
  } else if (target != "/" && target != "/index.html") {
    status = 404;
    reason = "Not Found";
  }
  if (status != 200) content = std::to_string(status) + " " + reason + "\n";
  std::string head = "HTTP/1.0 " + std::to_string(status) + " " + reason +
                     "\r\nServer: ecsh-sandbox-httpd\r\nContent-Type: " +
                     (status == 200 ? "text/html; charset=utf-8" : "text/plain") +
                     "\r\nContent-Length: " + std::to_string(content.size()) +
                     "\r\nConnection: close\r\n\r\n";
  if (send_all(fd, head) && method != "HEAD") send_all(fd, content);
  std::printf("%s %s %d\n", method.c_str(), target.c_str(), status);
  std::fflush(stdout);
}

int httpd(int argc, char** argv) {
  std::uint16_t port = 80;
  std::string bind_addr = "0.0.0.0";
  std::optional<std::string> body;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      if (!parse_port(argv[++i], &port)) {
        std::fprintf(stderr, "sandbox-httpd: --port wants a number 0-65535\n");
        return 2;
      }
    } else if (a == "--bind" && i + 1 < argc) {
      bind_addr = argv[++i];
    } else if (a == "--body" && i + 1 < argc) {
      body = argv[++i];
    } else {
      std::fprintf(stderr, "usage: sandbox-httpd [--port N] [--bind ADDR] [--body TEXT]\n");
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::fprintf(stderr, "sandbox-httpd: socket: %s\n", std::strerror(errno));
    return 1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr;
  std::memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, bind_addr.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "sandbox-httpd: --bind wants an IPv4 address, got %s\n",
                 bind_addr.c_str());
    return 2;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
    std::fprintf(stderr, "sandbox-httpd: cannot listen on %s:%u: %s\n", bind_addr.c_str(),
                 unsigned(port), std::strerror(errno));
    return 1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("sandbox-httpd listening on %s:%u\n", bind_addr.c_str(),
              unsigned(ntohs(addr.sin_port)));
  std::fflush(stdout);
  const std::string page = body ? *body : default_page();
  for (;;) {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
      std::fprintf(stderr, "sandbox-httpd: accept: %s\n", std::strerror(errno));
      return 1;
    }
    serve_one(c, page);
    ::close(c);
  }
}

int http_get(int argc, char** argv) {
  double wait_seconds = 0;
  const char* url_text = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--wait" && i + 1 < argc) {
      char* end = nullptr;
      wait_seconds = std::strtod(argv[++i], &end);
      if (!end || *end != '\0' || wait_seconds < 0 || wait_seconds > 3600) {
        std::fprintf(stderr, "sandbox-http-get: --wait wants seconds (0-3600)\n");
        return 2;
      }
    } else if (!url_text && !a.empty() && a[0] != '-') {
      url_text = argv[i];
    } else {
      std::fprintf(stderr, "usage: sandbox-http-get [--wait SECONDS] http://HOST[:PORT]/PATH\n");
      return 2;
    }
  }
  if (!url_text) {
    std::fprintf(stderr, "usage: sandbox-http-get [--wait SECONDS] http://HOST[:PORT]/PATH\n");
    return 2;
  }
  auto url = parse_http_url(url_text);
  if (!url) {
    std::fprintf(stderr, "sandbox-http-get: not an http:// URL: %s\n", url_text);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(url->port);
  if (int rc = ::getaddrinfo(url->host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    std::fprintf(stderr, "sandbox-http-get: cannot resolve %s: %s\n", url->host.c_str(),
                 ::gai_strerror(rc));
    return 6;
  }
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long long>(wait_seconds * 1000));
  int fd = -1;
  int last_err = 0;
  for (;;) {
    for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
      int s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (s < 0) continue;
      set_timeouts(s, 10);
      if (::connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
        fd = s;
      } else {
        last_err = errno;
        ::close(s);
      }
    }
    if (fd >= 0 || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::freeaddrinfo(res);
  if (fd < 0) {
    std::fprintf(stderr, "sandbox-http-get: cannot connect to %s:%u: %s\n", url->host.c_str(),
                 unsigned(url->port), std::strerror(last_err));
    return 7;
  }
  std::string host_header =
      url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host;
  if (url->port != 80) host_header += ":" + std::to_string(url->port);
  std::string req = "GET " + url->path + " HTTP/1.0\r\nHost: " + host_header +
                    "\r\nUser-Agent: sandbox-http-get\r\nAccept: */*\r\n\r\n";
  if (!send_all(fd, req)) {
    std::fprintf(stderr, "sandbox-http-get: sending the request failed: %s\n",
                 std::strerror(errno));
    ::close(fd);
    return 7;
  }
  std::string resp;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::fprintf(stderr, "sandbox-http-get: reading the response failed: %s\n",
                   std::strerror(errno));
      ::close(fd);
      return 56;
    }
    if (n == 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
    if (resp.size() > (64u << 20)) break;
  }
  ::close(fd);
  auto head_end = resp.find("\r\n\r\n");
  std::size_t body_at = head_end == std::string::npos ? std::string::npos : head_end + 4;
  if (head_end == std::string::npos) {
    head_end = resp.find("\n\n");
    body_at = head_end == std::string::npos ? std::string::npos : head_end + 2;
  }
  int status = 0;
  if (resp.compare(0, 5, "HTTP/") == 0) {
    auto sp = resp.find(' ');
    if (sp != std::string::npos) status = std::atoi(resp.c_str() + sp + 1);
  }
  if (status == 0 || body_at == std::string::npos) {
    std::fprintf(stderr, "sandbox-http-get: not an HTTP response from %s\n", url_text);
    return 8;
  }
  std::fwrite(resp.data() + body_at, 1, resp.size() - body_at, stdout);
  std::fflush(stdout);
  if (status < 200 || status > 299) {
    std::fprintf(stderr, "sandbox-http-get: the server answered HTTP %d\n", status);
    return 22;
  }
  return 0;
}

// exec-agent --data DIR --logs DIR --output FILE AGENT: what ECS's `docker exec -u 0 …
// /ecs-execute-command-<uuid>/amazon-ssm-agent` needs around it in the sandbox. Run inside the
// container (its mount namespace), it gives the agent its own /var/lib/amazon/ssm and
// /var/log/amazon/ssm (bind mounts of DIRs; without a private mount namespace the host's are
// used), sends its console output to FILE, and executes AGENT with no arguments.
int exec_agent(int argc, char** argv) {
  std::string data, logs, output, agent;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if ((a == "--data" || a == "--logs" || a == "--output") && i + 1 < argc) {
      (a == "--data" ? data : a == "--logs" ? logs : output) = argv[++i];
    } else if (agent.empty() && !a.starts_with("--")) {
      agent = argv[i];
    } else {
      std::fprintf(stderr, "exec-agent: unexpected argument %s\n", argv[i]);
      return 2;
    }
  }
  if (agent.empty()) {
    std::fprintf(stderr, "usage: exec-agent --data DIR --logs DIR --output FILE AGENT\n");
    return 2;
  }
  if (!output.empty()) {
    int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
  }
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, 0);
    ::close(null);
  }
  const std::pair<std::string, const char*> binds[] = {{data, "/var/lib/amazon/ssm"},
                                                       {logs, "/var/log/amazon/ssm"}};
  for (const auto& [from, to] : binds) {
    if (from.empty()) continue;
    std::error_code ec;
    std::filesystem::create_directories(to, ec);
    if (::mount(from.c_str(), to, nullptr, MS_BIND, nullptr) != 0) {
      std::fprintf(stderr, "exec-agent: bind %s on %s: %s (using the host's)\n", from.c_str(), to,
                   std::strerror(errno));
    }
  }
  char* args[] = {agent.data(), nullptr};
  ::execv(agent.c_str(), args);
  std::fprintf(stderr, "exec-agent: %s: %s\n", agent.c_str(), std::strerror(errno));
  return 127;
}

}  // namespace

std::optional<HttpUrl> parse_http_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.size() < scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(url[i])) != scheme[i]) return std::nullopt;
  url.remove_prefix(scheme.size());
  HttpUrl out;
  auto slash = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view rest = url.substr(slash);
    if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    out.path = rest.empty() ? "/" : std::string(rest);
    if (out.path[0] != '/') out.path = "/" + out.path;
  }
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // no credentials
  std::string_view host = authority, port;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  for (char c : host)
    if (static_cast<unsigned char>(c) <= ' ' || c == '/') return std::nullopt;
  out.host = std::string(host);
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    unsigned v = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(v);
  }
  for (char c : out.path)
    if (static_cast<unsigned char>(c) <= ' ') return std::nullopt;
  return out;
}

int run_builtin(int argc, char** argv) {
  if (argc < 1 || !argv[0]) {
    std::fprintf(stderr, "ecsh-sandbox builtin: name one of: httpd, http-get\n");
    return 2;
  }
  std::string_view name = argv[0];
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  if (name.substr(0, 8) == "sandbox-") name.remove_prefix(8);
  if (name == "httpd") return httpd(argc, argv);
  if (name == "http-get") return http_get(argc, argv);
  if (name == "exec-agent") return exec_agent(argc, argv);
  std::fprintf(stderr, "ecsh-sandbox builtin: unknown built-in %.*s (httpd, http-get)\n",
               int(name.size()), name.data());
  return 2;
}

std::optional<int> dispatch_builtin(int argc, char** argv) {
  if (argc >= 1 && argv[0]) {
    std::string_view self = argv[0];
    if (auto slash = self.rfind('/'); slash != std::string_view::npos)
      self.remove_prefix(slash + 1);
    if (self == "sandbox-httpd" || self == "sandbox-http-get") return run_builtin(argc, argv);
  }
  if (argc >= 2 && argv[1] && std::string_view(argv[1]) == "builtin")
    return run_builtin(argc - 2, argv + 2);
  return std::nullopt;
}

}  // namespace ecsh::sandbox::runtime

namespace ecsh::sandbox::runtime {

std::string install_builtin_links(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (const char* name : {"sandbox-httpd", "sandbox-http-get"}) {
    auto link = std::filesystem::path(dir) / name;
    std::filesystem::remove(link, ec);
    std::filesystem::create_symlink(self, link, ec);
    if (ec) return {};
  }
  return dir;
}

}  // namespace ecsh::sandbox::runtime
