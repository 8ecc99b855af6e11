#pragma once

// A client of the Docker Engine API over its unix socket (no docker CLI): the version ping,
// listing containers with filters, and exec (create, start with a hijacked stream, resize,
// inspect for the exit code). HTTP/1.1 with Beast, which stays in engine.cpp.
//
// Every request but the exec stream uses a connection of its own, closed after the response:
// the hijacked stream holds one connection for the whole exec while resizes and the final
// inspect go over others.

#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::docker {

inline constexpr std::string_view kDefaultDockerHost = "unix:///var/run/docker.sock";
// The newest API version this client speaks; an older engine's own version is used instead.
inline constexpr std::string_view kClientApiVersion = "1.43";

struct Endpoint {
  std::string host;         // as given, e.g. "unix:///var/run/docker.sock" (for messages)
  std::string socket_path;  // "/var/run/docker.sock"
};

// DOCKER_HOST's value: empty means the default socket; only unix:// is supported (tcp://,
// ssh://, fd:// and npipe:// are an Error{config} that says so).
Result<Endpoint> parse_docker_host(std::string_view value);
// The same, from the environment.
Result<Endpoint> endpoint_from_environment();

// min(client, engine) of two "MAJOR.MINOR" versions; empty when the engine's is not one (then
// the paths carry no version).
std::string negotiate_api_version(std::string_view engine_version,
                                  std::string_view client_version = kClientApiVersion);

// Filters as the Engine takes them: {"label":["a=b","c"],"status":["running"]}. Keys are
// sorted, values keep their order.
using Filters = std::map<std::string, std::vector<std::string>>;
// "KEY=VALUE" arguments (docker ps --filter): the key is up to the first '='.
Result<Filters> parse_filter_args(const std::vector<std::string>& args);
// JSON text for the ?filters= query parameter ("{}" when empty).
std::string encode_filters(const Filters& filters);

// The ECS agent's container labels.
inline constexpr std::string_view kEcsTaskArnLabel = "com.amazonaws.ecs.task-arn";
inline constexpr std::string_view kEcsContainerNameLabel = "com.amazonaws.ecs.container-name";

struct ContainerSummary {
  std::string id;
  std::vector<std::string> names;  // without the leading '/'
  std::string image;
  std::string state;   // running, exited, …
  std::string status;  // "Up 5 minutes", …
  std::map<std::string, std::string> labels;

  // The ECS task ID (last part of the task ARN label) and container name, or empty.
  std::string ecs_task_id() const;
  std::string ecs_container_name() const;
};

// The body of GET /containers/json.
Result<std::vector<ContainerSummary>> parse_container_list(std::string_view body);

// An engine error response as an Error: the engine's own {"message": …} shown as is; "No such
// container" is Error{usage} (the target cannot be resolved), anything else Error{service}.
Error engine_error(int http_status, std::string_view body);

// The engine's socket could not be reached: what to do about it.
Error unreachable_error(const Endpoint& endpoint, const std::string& why);

struct ExecConfig {
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "K=V"
  std::string user;              // empty: the container's
  std::string working_dir;       // empty: the container's
  bool attach_stdin = false;
  bool tty = false;
  // With a TTY, the initial size (engines from API 1.42 take it at creation).
  std::optional<std::pair<unsigned, unsigned>> console_size;  // rows, cols
};

// The body of POST /containers/{id}/exec.
std::string exec_create_body(const ExecConfig& config, bool with_console_size);

struct ExecState {
  bool running = false;
  std::optional<int> exit_code;
};

// A hijacked exec connection: raw bytes both ways (with a TTY, the terminal's bytes; without,
// the multiplexed stream of stream_demux.hpp coming back and plain stdin going out).
class ExecStream {
 public:
  ExecStream();
  ExecStream(ExecStream&&) noexcept;
  ExecStream& operator=(ExecStream&&) noexcept;
  ~ExecStream();

  // The next bytes from the engine; empty at the end of the stream.
  Awaitable<Result<std::string>> read();
  // Sends all of `data` (which must stay valid until this completes).
  Awaitable<Result<void>> write(std::string_view data);
  // Half-closes the connection (shutdown SHUT_WR): the process's stdin ends.
  Result<void> close_write();
  void close();

  struct Impl;
  explicit ExecStream(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

class Engine {
 public:
  // Pings the engine (GET /_ping) and settles the API version. Error{connection} with what to
  // do when the socket is missing or not accessible.
  static Awaitable<Result<Engine>> connect(asio::any_io_executor executor, Endpoint endpoint);

  const Endpoint& endpoint() const { return endpoint_; }
  // Empty when the engine gave none (paths are then unversioned).
  const std::string& api_version() const { return api_version_; }

  // GET /containers/json?all=&filters=
  Awaitable<Result<std::vector<ContainerSummary>>> list_containers(const Filters& filters,
                                                                   bool all);

  // POST /containers/{container}/exec: the exec ID. `container` is an ID, ID prefix or name.
  Awaitable<Result<std::string>> create_exec(const std::string& container,
                                             const ExecConfig& config);
  // POST /exec/{id}/start with Connection: Upgrade; the connection becomes the stream.
  Awaitable<Result<ExecStream>> start_exec(const std::string& exec_id, bool tty);
  // POST /exec/{id}/resize?h=&w=
  Awaitable<Result<void>> resize_exec(const std::string& exec_id, unsigned rows, unsigned cols);
  // GET /exec/{id}/json
  Awaitable<Result<ExecState>> inspect_exec(const std::string& exec_id);
  // Inspects until the exec is no longer running (its stream may end a moment before), for at
  // most `limit`; then its exit code.
  Awaitable<Result<int>> wait_exec_exit(const std::string& exec_id,
                                        std::chrono::milliseconds limit = std::chrono::seconds(10));

 private:
  Engine() = default;
  struct Response {
    int status = 0;
    std::string body;
  };
  enum class Method { get, post };
  std::string path(std::string_view p) const;
  // One request on a fresh connection. Callers pass named strings (docs/CODING.md).
  Awaitable<Result<Response>> request(Method method, const std::string& target,
                                      const std::string& body);

  asio::any_io_executor executor_;
  Endpoint endpoint_;
  std::string api_version_;
};

}  // namespace ecsh::docker
