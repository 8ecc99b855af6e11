#include "sandbox/ssm/ssm_module.hpp"

#include "sandbox/core/json_members.hpp"
#include "sandbox/core/time_format.hpp"

#include "ecsh/common/shlex.hpp"

#include <boost/json.hpp>

namespace ecsh::sandbox::ssm {
namespace {

namespace json = boost::json;

// The first value of a StartSession parameter (values are lists of strings), or "".
std::string parameter(const json::object& req, std::string_view name) {
  auto* params = req.if_contains("Parameters");
  if (!params || !params->is_object()) return {};
  auto* v = params->as_object().if_contains(name);
  if (!v || !v->is_array() || v->as_array().empty() || !v->as_array()[0].is_string()) return {};
  return std::string(v->as_array()[0].as_string());
}

bool is_port(std::string_view text, bool zero_allowed) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535 && (zero_allowed || value > 0) && !(text.size() > 1 && text[0] == '0');
}

// The port-forwarding documents' properties, their parameters' defaults and patterns as AWS
// publishes the documents (AWS-StartPortForwardingSession: portNumber "80", localPortNumber
// "0"; ...ToRemoteHost: the same and a required host; AWS-StartSSHSession: portNumber "22").
// The error wording for a bad parameter is inferred.
ApiResult<std::optional<PortProperties>> port_properties(const std::string& document,
                                                         const json::object& req) {
  const bool to_port = document == "AWS-StartPortForwardingSession";
  const bool to_remote = document == "AWS-StartPortForwardingSessionToRemoteHost";
  const bool ssh = document == "AWS-StartSSHSession";
  if (!to_port && !to_remote && !ssh) return std::optional<PortProperties>();
  PortProperties p;
  p.port_number = parameter(req, "portNumber");
  if (p.port_number.empty()) p.port_number = ssh ? "22" : "80";
  if (!is_port(p.port_number, false)) {
    return ApiError::client("InvalidParameters", "Parameter \"portNumber\" \"" + p.port_number +
                                                     "\" does not match the allowed pattern.");
  }
  if (!ssh) {
    p.type = "LocalPortForwarding";
    p.local_port_number = parameter(req, "localPortNumber");
    if (p.local_port_number.empty()) p.local_port_number = "0";
    if (!is_port(p.local_port_number, true)) {
      return ApiError::client("InvalidParameters", "Parameter \"localPortNumber\" \"" +
                                                       p.local_port_number +
                                                       "\" does not match the allowed pattern.");
    }
  }
  if (to_remote) {
    p.host = parameter(req, "host");
    if (p.host.empty()) {
      return ApiError::client("InvalidParameters", "Parameter \"host\" is required.");
    }
  }
  return std::optional<PortProperties>(std::move(p));
}

std::string session_arn(const RequestContext& ctx, const std::string& id) {
  return "arn:aws:ssm:" + ctx.region + ":000000000000:session/" + id;
}

class SsmModule final : public ServiceModule {
 public:
  SsmModule(SessionRegistry& s, TargetResolver r, InstanceLister i, SessionPreferences p)
      : sessions_(s), resolve_(std::move(r)), instances_(std::move(i)), preferences_(p) {}

  bool preferences_saved() const {
    return preferences_.idle_timeout != std::chrono::minutes(20) ||
           preferences_.max_session_duration.count() > 0;
  }

  // The document as the console saves it (Standard_Stream, the inputs as strings of minutes).
  std::string preferences_content() const {
    auto minutes = [](std::chrono::seconds s) { return std::to_string((s.count() + 59) / 60); };
    json::object inputs{{"s3BucketName", ""},
                        {"s3KeyPrefix", ""},
                        {"s3EncryptionEnabled", true},
                        {"cloudWatchLogGroupName", ""},
                        {"cloudWatchEncryptionEnabled", true},
                        {"cloudWatchStreamingEnabled", false},
                        {"idleSessionTimeout", minutes(preferences_.idle_timeout)},
                        {"maxSessionDuration", preferences_.max_session_duration.count() > 0
                                                   ? minutes(preferences_.max_session_duration)
                                                   : std::string()},
                        {"kmsKeyId", ""},
                        {"runAsEnabled", false},
                        {"runAsDefaultUser", ""},
                        {"shellProfile", json::object{{"windows", ""}, {"linux", ""}}}};
    json::object doc{{"schemaVersion", "1.0"},
                     {"description", "Document to hold regional settings for Session Manager"},
                     {"sessionType", "Standard_Stream"},
                     {"inputs", std::move(inputs)}};
    return json::serialize(doc);
  }

  std::string name() const override { return "ssm"; }
  void attach(const ModuleEnvironment& env) override { clock_ = env.clock; }

  json::value stream(const RequestContext& ctx, const SessionRecord& s) const {
    return json::object{{"SessionId", s.session_id},
                        {"TokenValue", s.token},
                        {"StreamUrl", ctx.stream_url(s.session_id)}};
  }

  void register_routes(Router& router) override {
    auto add = [&router](std::string op, JsonHandler h) {
      router.add_json("ssm", "AmazonSSM", std::move(op), std::move(h));
    };
    add("StartSession",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          std::string target = get(req, "Target");
          std::string document = get(req, "DocumentName");
          BOOST_OUTCOME_TRY(ctx.authorize(
              "ssm:StartSession", target.starts_with("i-") ? "arn:aws:ec2:" + ctx.region +
                                                                 ":000000000000:instance/" + target
                                                           : target));
          auto info = resolve_ ? resolve_(target) : std::nullopt;
          if (!info) {
            return ApiError::client("TargetNotConnected", target + " is not connected.");
          }
          if (!info->agent_connected) {
            return ApiError::client("TargetNotConnected", target + " is not connected.");
          }
          SessionRecord r;
          r.target = target;
          r.owner_arn = ctx.caller.arn;
          r.region = ctx.region;
          r.task_id = info->task_id;
          r.container = info->container;
          r.document = document.empty() ? "SSM-SessionManagerRunShell" : document;
          r.kms_key_arn = info->kms_key_arn;
          r.log_group = info->log_group;
          r.host = info->host;
          BOOST_OUTCOME_TRY(r.port, port_properties(r.document, req));
          r.command = "/bin/sh";
          if (auto* params = req.if_contains("Parameters"); params && params->is_object()) {
            if (auto* cmd = params->as_object().if_contains("command");
                cmd && cmd->is_array() && !cmd->as_array().empty() &&
                cmd->as_array()[0].is_string()) {
              r.command = std::string(cmd->as_array()[0].as_string());
              // On an instance the agent runs the commands with `sh -c` (ECS splits them).
              if (r.host) r.command = "sh -c " + shlex::quote(r.command);
            }
          }
          r.created = clock_ ? clock_() : std::chrono::system_clock::now();
          // "<user or role session>-<hex>", "root-<hex>" for the account's root.
          std::string who = ctx.caller.arn.substr(ctx.caller.arn.find_last_of("/:") + 1);
          auto& s = sessions_.create(std::move(r), who + "-");
          return stream(ctx, s);
        });
    add("ResumeSession",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          std::string id = get(req, "SessionId");
          BOOST_OUTCOME_TRY(ctx.authorize("ssm:ResumeSession", session_arn(ctx, id)));
          auto* s = sessions_.find(id);
          if (!s) {
            return ApiError::client("DoesNotExistException",
                                    "Session with id " + id + " does not exist.");
          }
          auto token = sessions_.resume(id);
          if (!token) {
            // A session that has ended gets no token (the plugin then says "timed out");
            // ResumeSession's only error for a known ID is an internal one.
            return json::object{{"SessionId", id}};
          }
          return stream(ctx, *s);
        });
    add("TerminateSession",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          std::string id = get(req, "SessionId");
          BOOST_OUTCOME_TRY(ctx.authorize("ssm:TerminateSession", session_arn(ctx, id)));
          sessions_.terminate(id);
          return json::object{{"SessionId", id}};
        });
    add("DescribeSessions",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          BOOST_OUTCOME_TRY(ctx.authorize("ssm:DescribeSessions", "*"));
          std::string state = get(req, "State");
          json::array out;
          for (const auto* s : sessions_.all()) {
            bool active = s->status != "Terminated";
            if ((state == "Active") != active) continue;
            out.push_back(json::object{{"SessionId", s->session_id},
                                       {"Target", s->target},
                                       {"Status", s->status},
                                       {"StartDate", epoch_seconds(s->created)},
                                       {"DocumentName", s->document},
                                       {"Owner", s->owner_arn}});
          }
          return json::object{{"Sessions", out}};
        });
    add("GetDocument",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          std::string name = get(req, "Name");
          BOOST_OUTCOME_TRY(ctx.authorize(
              "ssm:GetDocument", "arn:aws:ssm:" + ctx.region + ":000000000000:document/" + name));
          if (name != "SSM-SessionManagerRunShell" || !preferences_saved()) {
            return ApiError::client("InvalidDocument",
                                    "Document with name " + name + " does not exist.");
          }
          return json::object{{"Name", name},
                              {"DocumentVersion", "1"},
                              {"Status", "Active"},
                              {"Content", preferences_content()},
                              {"DocumentType", "Session"},
                              {"DocumentFormat", "JSON"}};
        });
    add("DescribeInstanceInformation",
        [this](RequestContext& ctx, const json::object&) -> ApiResult<json::value> {
          BOOST_OUTCOME_TRY(ctx.authorize("ssm:DescribeInstanceInformation", "*"));
          json::array out;
          if (instances_) {
            for (const auto& i : instances_()) {
              out.push_back(json::object{{"InstanceId", i.instance_id},
                                         {"PingStatus", "Online"},
                                         {"AgentVersion", i.agent_version},
                                         {"IsLatestVersion", true},
                                         {"PlatformType", "Linux"},
                                         {"PlatformName", "Amazon Linux"},
                                         {"ResourceType", "EC2Instance"},
                                         {"IPAddress", i.ip_address}});
            }
          }
          return json::object{{"InstanceInformationList", out}};
        });
  }

  json::value save() const override { return json::object{}; }
  void load(const json::value&) override {}

 private:
  SessionRegistry& sessions_;
  TargetResolver resolve_;
  InstanceLister instances_;
  SessionPreferences preferences_;
  std::function<std::chrono::system_clock::time_point()> clock_;
};

}  // namespace

std::unique_ptr<ServiceModule> make_ssm_module(SessionRegistry& sessions, TargetResolver resolve,
                                               InstanceLister instances,
                                               SessionPreferences preferences) {
  return std::make_unique<SsmModule>(sessions, std::move(resolve), std::move(instances),
                                     preferences);
}

}  // namespace ecsh::sandbox::ssm
