#pragma once

// One sandbox: the HTTP server, the dispatcher, IAM/STS, the service modules, the state on disk,
// the admin endpoint (/_sandbox/) and the 50 ms tick that drives time-based state.

#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"
#include "sandbox/api.hpp"

#include <boost/json/object.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ecsh::sandbox {

class HttpServer;
class Dispatcher;
namespace iam {
class IamModule;
}

struct SandboxOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::filesystem::path state_dir;
  std::filesystem::path scenario_file;  // optional
};

class Sandbox {
 public:
  Sandbox(asio::io_context& io, SandboxOptions options);
  ~Sandbox();

  // Add before start(). IAM/STS is always there.
  void add_module(std::unique_ptr<ServiceModule> module);
  // Loads the state (or applies the scenario to a new state dir), binds, serves. Returns the port.
  Result<std::uint16_t> start();
  // Stops accepting, shuts the modules down, saves the state.
  void stop();

  HttpServer& server();
  Dispatcher& dispatcher();
  iam::IamModule& iam();
  Result<void> apply_scenario_text(std::string_view json_text);
  // Called with the whole body of POST /_sandbox/faults (after the core took its "api" part).
  void on_faults(std::function<void(const boost::json::object&)> hook);
  void persist();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ecsh::sandbox
