#include "sandbox/core/sandbox.hpp"

#include "sandbox/core/dispatcher.hpp"
#include "sandbox/core/server.hpp"
#include "sandbox/core/state_store.hpp"
#include "sandbox/iam/iam_module.hpp"

#include "ecsh/common/crypto.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace ecsh::sandbox {
namespace json = boost::json;

struct Sandbox::Impl {
  Impl(asio::io_context& io_, SandboxOptions o)
      : io(io_),
        options(std::move(o)),
        store(options.state_dir),
        iam(std::make_unique<iam::IamModule>(clock)),
        dispatcher(*iam, *iam, clock),
        server(io.get_executor(),
               [this](const aws::HttpRequest& r) { return dispatcher.handle(r); }),
        ticker(io) {}

  asio::io_context& io;
  SandboxOptions options;
  StateStore store;
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
  std::unique_ptr<iam::IamModule> iam;
  std::vector<std::unique_ptr<ServiceModule>> modules;
  Dispatcher dispatcher;
  HttpServer server;
  asio::steady_timer ticker;
  bool stopped = false;
  bool dirty = false;
  std::function<void(const json::object&)> faults_hook;

  std::vector<ServiceModule*> all_modules() {
    std::vector<ServiceModule*> out{iam.get()};
    for (auto& m : modules) out.push_back(m.get());
    return out;
  }

  void persist() {
    json::object mods;
    for (auto* m : all_modules()) mods[m->name()] = m->save();
    json::object doc{{"version", 1}, {"modules", std::move(mods)}};
    auto saved = store.save(doc);
    if (!saved) std::fprintf(stderr, "ecsh-sandbox: %s\n", saved.error().describe().c_str());
    dirty = false;
  }

  Result<void> apply_scenario(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return Error::usage("the scenario is not a JSON object");
    for (auto* m : all_modules()) {
      auto r = m->apply_scenario(v.as_object());
      if (!r) {
        return Error::usage("scenario rejected by " + m->name() + ": " + r.error().code + ": " +
                            r.error().message);
      }
    }
    persist();
    return ok();
  }

  static aws::HttpResponse admin_json(int status, const json::value& body) {
    return json_response(status, body, crypto::uuid4());
  }

  aws::HttpResponse admin(const aws::HttpRequest& r) {
    if (r.path == "/_sandbox/health") return admin_json(200, json::object{{"status", "ok"}});
    if (r.path == "/_sandbox/state" && r.method == "GET") {
      json::object mods;
      for (auto* m : all_modules()) mods[m->name()] = m->save();
      return admin_json(200, json::object{{"version", 1}, {"modules", std::move(mods)}});
    }
    if (r.path == "/_sandbox/tls" && r.method == "GET") {
      // What TLS clients sent: the server name (SNI) of each connection, and whether it became a
      // session's WebSocket.
      json::array connections;
      for (const auto& c : server.tls_connections()) {
        connections.push_back(
            json::object{{"server_name", c.server_name}, {"websocket", c.websocket}});
      }
      return admin_json(
          200, json::object{{"tls", server.tls()}, {"connections", std::move(connections)}});
    }
    if (r.path == "/_sandbox/scenario" && r.method == "POST") {
      auto applied = apply_scenario(r.body);
      if (!applied) return admin_json(400, json::object{{"message", applied.error().message}});
      return admin_json(200, json::object{{"status", "applied"}});
    }
    if (r.path == "/_sandbox/faults" && r.method == "POST") {
      boost::system::error_code ec;
      auto v = json::parse(r.body, ec);
      if (ec || !v.is_object()) return admin_json(400, json::object{{"message", "not JSON"}});
      ApiFaults faults;
      if (auto* api = v.as_object().if_contains("api"); api && api->is_object()) {
        const auto& a = api->as_object();
        if (auto* x = a.if_contains("throttle_rate"); x && x->is_number()) {
          faults.throttle_rate = x->to_number<double>();
        }
        if (auto* x = a.if_contains("error_rate"); x && x->is_number()) {
          faults.error_rate = x->to_number<double>();
        }
        if (auto* x = a.if_contains("seed"); x && x->is_number()) {
          faults.seed = x->to_number<std::uint32_t>();
        }
        if (auto* ops = a.if_contains("operations"); ops && ops->is_array()) {
          for (const auto& o : ops->as_array()) {
            if (o.is_string()) faults.operations.emplace_back(o.as_string());
          }
        }
      }
      dispatcher.set_faults(faults);
      if (faults_hook) faults_hook(v.as_object());
      return admin_json(200, json::object{{"status", "set"}});
    }
    return admin_json(404, json::object{{"message", "unknown admin path " + r.path}});
  }

  void schedule_tick() {
    ticker.expires_after(std::chrono::milliseconds(50));
    ticker.async_wait([this](boost::system::error_code ec) {
      if (ec || stopped) return;
      auto now = clock();
      for (auto* m : all_modules()) m->tick(now);
      if (dirty) persist();
      schedule_tick();
    });
  }
};

Sandbox::Sandbox(asio::io_context& io, SandboxOptions options)
    : impl_(std::make_unique<Impl>(io, std::move(options))) {}

Sandbox::~Sandbox() = default;

void Sandbox::add_module(std::unique_ptr<ServiceModule> module) {
  impl_->modules.push_back(std::move(module));
}

Result<std::uint16_t> Sandbox::start() {
  auto& s = *impl_;
  ModuleEnvironment env;
  env.iam = s.iam.get();
  env.identities = s.iam.get();
  env.clock = s.clock;
  env.state_changed = [&s] { s.dirty = true; };
  for (auto* m : s.all_modules()) {
    m->attach(env);
    m->register_routes(s.dispatcher);
  }
  s.dispatcher.set_admin_handler([&s](const aws::HttpRequest& r) { return s.admin(r); });
  s.dispatcher.set_after_mutation([&s] { s.persist(); });

  ECSH_TRY(auto state, s.store.load());
  if (state.is_object()) {
    const auto* mods = state.as_object().if_contains("modules");
    for (auto* m : s.all_modules()) {
      if (mods && mods->is_object()) {
        if (const auto* v = mods->as_object().if_contains(m->name())) m->load(*v);
      }
    }
  } else if (!s.options.scenario_file.empty()) {
    std::ifstream in(s.options.scenario_file);
    if (!in) return Error::usage("cannot read the scenario " + s.options.scenario_file.string());
    std::stringstream ss;
    ss << in.rdbuf();
    ECSH_TRY(s.apply_scenario(ss.str()));
  }
  ECSH_TRY(auto port, s.server.listen(s.options.host, s.options.port));
  s.schedule_tick();
  return port;
}

void Sandbox::stop() {
  auto& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.ticker.cancel();
  s.server.close();
  for (auto* m : s.all_modules()) m->shutdown();
  s.persist();
}

HttpServer& Sandbox::server() { return impl_->server; }
Dispatcher& Sandbox::dispatcher() { return impl_->dispatcher; }
iam::IamModule& Sandbox::iam() { return *impl_->iam; }
Result<void> Sandbox::apply_scenario_text(std::string_view text) {
  return impl_->apply_scenario(text);
}
void Sandbox::persist() { impl_->persist(); }
void Sandbox::on_faults(std::function<void(const json::object&)> hook) {
  impl_->faults_hook = std::move(hook);
}

}  // namespace ecsh::sandbox
