// The client against a fake engine on a temporary unix socket (a thread with plain sockets): the
// HTTP exchanges, version negotiation, errors, and the hijacked exec stream, without Docker.
#include "ecsh/docker/engine.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ecsh::docker {
namespace {

struct FakeRequest {
  std::string method;
  std::string target;
  std::string headers;
  std::string body;
};

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string http_response(int status, const std::string& body,
                          const std::string& extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Serves each connection with `handler(request, fd)`, which writes the answer itself.
class FakeEngine {
 public:
  using Handler = std::function<void(const FakeRequest&, int fd)>;

  explicit FakeEngine(Handler handler) : handler_(std::move(handler)) {
    char tmpl[] = "/tmp/ecsh-fake-dk-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/docker.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      std::abort();
    }
    thread_ = std::thread([this] { serve(); });
  }

  ~FakeEngine() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    // Wake accept() with a connection of our own.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::close(fd);
    thread_.join();
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  Endpoint endpoint() const {
    Endpoint ep;
    ep.host = "unix://" + path_;
    ep.socket_path = path_;
    return ep;
  }

  std::vector<FakeRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void serve() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0 || stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      FakeRequest req;
      if (read_request(fd, req)) {
        {
          std::lock_guard lock(mu_);
          requests_.push_back(req);
        }
        handler_(req, fd);
      }
      ::close(fd);
    }
  }

  static bool read_request(int fd, FakeRequest& req) {
    std::string data;
    char buf[4096];
    std::size_t head_end = std::string::npos;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<std::size_t>(n));
    }
    std::string head = data.substr(0, head_end);
    std::string rest = data.substr(head_end + 4);
    auto sp1 = head.find(' ');
    auto sp2 = head.find(' ', sp1 + 1);
    req.method = head.substr(0, sp1);
    req.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    req.headers = head;
    std::size_t length = 0;
    for (const char* name : {"Content-Length: ", "content-length: "}) {
      if (auto p = head.find(name); p != std::string::npos) {
        length = std::stoul(head.substr(p + std::strlen(name)));
      }
    }
    while (rest.size() < length) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return false;
      rest.append(buf, static_cast<std::size_t>(n));
    }
    req.body = rest;
    return true;
  }

  Handler handler_;
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<FakeRequest> requests_;
};

// Runs a coroutine to completion on a fresh io_context.
template <class T>
T run(std::function<Awaitable<T>()> body) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(
      io, [&]() -> Awaitable<void> { out.emplace(co_await body()); },
      [](std::exception_ptr ep) {
        if (ep) std::rethrow_exception(ep);
      });
  io.run();
  return std::move(*out);
}

void ping_ok(const FakeRequest& req, int fd, const std::string& version = "1.41") {
  (void)req;
  send_all(fd, "HTTP/1.1 200 OK\r\nApi-Version: " + version +
                   "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK");
}

TEST(EngineFake, PingSettlesTheVersionAndPathsCarryIt) {
  FakeEngine fake([](const FakeRequest& req, int fd) {
    if (req.target == "/_ping") return ping_ok(req, fd);
    send_all(fd, http_response(200, R"([{"Id":"abc","Names":["/web"],"Image":"i",)"
                                    R"("State":"running","Status":"Up","Labels":{}}])"));
  });
  auto ep = fake.endpoint();
  auto list = run<Result<std::vector<ContainerSummary>>>(
      [&]() -> Awaitable<Result<std::vector<ContainerSummary>>> {
        auto ex = co_await asio::this_coro::executor;
        ECSH_CO_TRY(auto engine, co_await Engine::connect(ex, ep));
        EXPECT_EQ(engine.api_version(), "1.41");
        Filters f{{"label", {"com.amazonaws.ecs.container-name=web"}}};
        co_return co_await engine.list_containers(f, true);
      });
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list.value().size(), 1u);
  EXPECT_EQ(list.value()[0].names, std::vector<std::string>{"web"});
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/_ping");
  EXPECT_EQ(reqs[1].target,
            "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.amazonaws.ecs."
            "container-name%3Dweb%22%5D%7D");
}

TEST(EngineFake, NewerEngineIsSpokenToAtTheClientVersion) {
  FakeEngine fake([](const FakeRequest& req, int fd) {
    if (req.target == "/_ping") return ping_ok(req, fd, "1.47");
    send_all(fd, http_response(200, "[]"));
  });
  auto ep = fake.endpoint();
  auto list = run<Result<std::vector<ContainerSummary>>>(
      [&]() -> Awaitable<Result<std::vector<ContainerSummary>>> {
        auto ex = co_await asio::this_coro::executor;
        ECSH_CO_TRY(auto engine, co_await Engine::connect(ex, ep));
        Filters none;
        co_return co_await engine.list_containers(none, false);
      });
  ASSERT_TRUE(list);
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].target, "/v" + std::string(kClientApiVersion) + "/containers/json?all=0");
}

TEST(EngineFake, NoVersionHeaderMeansPlainPaths) {
  FakeEngine fake([](const FakeRequest& req, int fd) {
    if (req.target == "/_ping") {
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK");
      return;
    }
    send_all(fd, http_response(200, "[]"));
  });
  auto ep = fake.endpoint();
  auto list = run<Result<std::vector<ContainerSummary>>>(
      [&]() -> Awaitable<Result<std::vector<ContainerSummary>>> {
        auto ex = co_await asio::this_coro::executor;
        ECSH_CO_TRY(auto engine, co_await Engine::connect(ex, ep));
        Filters none;
        co_return co_await engine.list_containers(none, false);
      });
  ASSERT_TRUE(list);
  EXPECT_EQ(fake.requests().at(1).target, "/containers/json?all=0");
}

TEST(EngineFake, MissingSocketSaysWhatToDo) {
  Endpoint ep;
  ep.host = "unix:///tmp/ecsh-no-such-dir/docker.sock";
  ep.socket_path = "/tmp/ecsh-no-such-dir/docker.sock";
  auto engine = run<Result<Engine>>([&]() -> Awaitable<Result<Engine>> {
    auto ex = co_await asio::this_coro::executor;
    co_return co_await Engine::connect(ex, ep);
  });
  ASSERT_FALSE(engine);
  EXPECT_EQ(engine.error().kind, ErrorKind::connection);
  EXPECT_NE(engine.error().message.find("unix:///tmp/ecsh-no-such-dir/docker.sock"),
            std::string::npos);
  EXPECT_NE(engine.error().message.find("No such file or directory"), std::string::npos);
  EXPECT_NE(engine.error().message.find("Is Docker running?"), std::string::npos);
}

TEST(EngineFake, ExecCreateSendsTheConfigAndMapsNoSuchContainer) {
  FakeEngine fake([](const FakeRequest& req, int fd) {
    if (req.target == "/_ping") return ping_ok(req, fd);
    if (req.target.find("/containers/web/exec") != std::string::npos) {
      send_all(fd, http_response(201, R"({"Id":"exec123"})"));
    } else {
      send_all(fd, http_response(404, R"({"message":"No such container: nosuch"})"));
    }
  });
  auto ep = fake.endpoint();
  auto ids = run<std::pair<Result<std::string>, Result<std::string>>>(
      [&]() -> Awaitable<std::pair<Result<std::string>, Result<std::string>>> {
        auto ex = co_await asio::this_coro::executor;
        auto engine = co_await Engine::connect(ex, ep);
        EXPECT_TRUE(engine);
        ExecConfig c;
        c.cmd = {"ls", "-l"};
        c.attach_stdin = true;
        const std::string web = "web";
        const std::string nosuch = "nosuch";
        auto a = co_await engine.value().create_exec(web, c);
        auto b = co_await engine.value().create_exec(nosuch, c);
        co_return std::make_pair(std::move(a), std::move(b));
      });
  ASSERT_TRUE(ids.first);
  EXPECT_EQ(ids.first.value(), "exec123");
  ASSERT_FALSE(ids.second);
  EXPECT_EQ(ids.second.error().kind, ErrorKind::usage);
  EXPECT_EQ(ids.second.error().message, "No such container: nosuch");
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[1].target, "/v1.41/containers/web/exec");
  EXPECT_NE(reqs[1].body.find(R"("Cmd":["ls","-l"])"), std::string::npos);
  EXPECT_NE(reqs[1].body.find(R"("AttachStdin":true)"), std::string::npos);
  EXPECT_NE(reqs[1].headers.find("application/json"), std::string::npos);
}

TEST(EngineFake, HijackedStreamKeepsEarlyBytesAndHalfCloses) {
  FakeEngine fake([](const FakeRequest& req, int fd) {
    if (req.target == "/_ping") return ping_ok(req, fd);
    if (req.target != "/v1.41/exec/e1/start") return;
    EXPECT_NE(req.headers.find("Upgrade: tcp"), std::string::npos);
    EXPECT_NE(req.headers.find("Connection: Upgrade"), std::string::npos);
    EXPECT_EQ(req.body, R"({"Detach":false,"Tty":true})");
    // The header and the first output in one write: the client must not lose the output.
    send_all(fd,
             "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
             "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly bytes|");
    std::string in;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
    send_all(fd, "got:" + in);
  });
  auto ep = fake.endpoint();
  auto out = run<Result<std::string>>([&]() -> Awaitable<Result<std::string>> {
    auto ex = co_await asio::this_coro::executor;
    ECSH_CO_TRY(auto engine, co_await Engine::connect(ex, ep));
    const std::string id = "e1";
    ECSH_CO_TRY(auto stream, co_await engine.start_exec(id, true));
    const std::string input(100000, 'z');
    ECSH_CO_TRY(co_await stream.write(input));
    ECSH_CO_TRY(stream.close_write());
    std::string all;
    for (;;) {
      ECSH_CO_TRY(auto chunk, co_await stream.read());
      if (chunk.empty()) break;
      all += chunk;
    }
    co_return all;
  });
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out.value(), "early bytes|got:" + std::string(100000, 'z'));
}

TEST(EngineFake, ExecStartErrorIsTheEngineMessage) {
  FakeEngine fake([](const FakeRequest& req, int fd) {
    if (req.target == "/_ping") return ping_ok(req, fd);
    send_all(fd, http_response(409, R"({"message":"Container abc is not running"})"));
  });
  auto ep = fake.endpoint();
  auto r = run<Result<ExecStream>>([&]() -> Awaitable<Result<ExecStream>> {
    auto ex = co_await asio::this_coro::executor;
    ECSH_CO_TRY(auto engine, co_await Engine::connect(ex, ep));
    const std::string id = "e1";
    co_return co_await engine.start_exec(id, false);
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Container abc is not running");
  EXPECT_EQ(r.error().http_status, 409);
}

TEST(EngineFake, ExitCodeIsPolledUntilTheExecStops) {
  std::atomic<int> inspections{0};
  FakeEngine fake([&inspections](const FakeRequest& req, int fd) {
    if (req.target == "/_ping") return ping_ok(req, fd);
    if (req.target == "/v1.41/exec/e1/resize?h=40&w=120") {
      send_all(fd, http_response(201, ""));
      return;
    }
    int n = ++inspections;
    send_all(fd, http_response(200, n < 3 ? R"({"Running":true,"ExitCode":null})"
                                          : R"({"Running":false,"ExitCode":7})"));
  });
  auto ep = fake.endpoint();
  auto code = run<Result<int>>([&]() -> Awaitable<Result<int>> {
    auto ex = co_await asio::this_coro::executor;
    ECSH_CO_TRY(auto engine, co_await Engine::connect(ex, ep));
    const std::string id = "e1";
    ECSH_CO_TRY(co_await engine.resize_exec(id, 40, 120));
    co_return co_await engine.wait_exec_exit(id);
  });
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(code.value(), 7);
  EXPECT_EQ(inspections.load(), 3);
}

TEST(EngineFake, ExitCodeWaitIsBounded) {
  FakeEngine fake([](const FakeRequest& req, int fd) {
    if (req.target == "/_ping") return ping_ok(req, fd);
    send_all(fd, http_response(200, R"({"Running":true,"ExitCode":0})"));
  });
  auto ep = fake.endpoint();
  auto start = std::chrono::steady_clock::now();
  auto code = run<Result<int>>([&]() -> Awaitable<Result<int>> {
    auto ex = co_await asio::this_coro::executor;
    ECSH_CO_TRY(auto engine, co_await Engine::connect(ex, ep));
    const std::string id = "e1";
    co_return co_await engine.wait_exec_exit(id, std::chrono::milliseconds(300));
  });
  ASSERT_FALSE(code);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace ecsh::docker
