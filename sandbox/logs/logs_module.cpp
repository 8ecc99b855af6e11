#include "sandbox/logs/logs_module.hpp"

#include "sandbox/core/time_format.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <map>

namespace ecsh::sandbox::logs {
namespace {

namespace json = boost::json;

std::string get(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct Event {
  std::int64_t timestamp = 0;
  std::string message;
};
struct Group {
  std::int64_t created = 0;
  std::string kms_key;
  std::map<std::string, std::vector<Event>> streams;
};

class Logs final : public LogsModule {
 public:
  std::string name() const override { return "logs"; }
  void attach(const ModuleEnvironment& env) override {
    clock_ = env.clock;
    state_changed_ = env.state_changed;
  }

  bool group_exists(std::string_view g) const override { return groups_.count(std::string(g)) > 0; }

  bool append(std::string_view group, std::string_view stream, std::string_view message) override {
    auto it = groups_.find(std::string(group));
    if (it == groups_.end()) return false;
    Event e;
    e.timestamp = millis(now());
    e.message = std::string(message);
    it->second.streams[std::string(stream)].push_back(std::move(e));
    if (state_changed_) state_changed_();
    return true;
  }

  void register_routes(Router& router) override {
    auto add = [&router](std::string op, JsonHandler h) {
      router.add_json("logs", "Logs_20140328", std::move(op), std::move(h));
    };
    add("CreateLogGroup",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          std::string g = get(req, "logGroupName");
          BOOST_OUTCOME_TRY(ctx.authorize("logs:CreateLogGroup", arn(ctx, g)));
          if (g.empty())
            return ApiError::client("InvalidParameterException", "logGroupName is required");
          if (groups_.count(g)) {
            return ApiError::client("ResourceAlreadyExistsException",
                                    "The specified log group already exists");
          }
          Group grp;
          grp.created = millis(now());
          grp.kms_key = get(req, "kmsKeyId");
          groups_[g] = grp;
          ctx.mutated = true;
          return json::object{};
        });
    add("CreateLogStream",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          std::string g = get(req, "logGroupName");
          BOOST_OUTCOME_TRY(ctx.authorize("logs:CreateLogStream", arn(ctx, g)));
          BOOST_OUTCOME_TRY(auto* grp, find(g));
          grp->streams[get(req, "logStreamName")];
          ctx.mutated = true;
          return json::object{};
        });
    add("PutLogEvents",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          std::string g = get(req, "logGroupName");
          BOOST_OUTCOME_TRY(ctx.authorize("logs:PutLogEvents", arn(ctx, g)));
          BOOST_OUTCOME_TRY(auto* grp, find(g));
          auto s = grp->streams.find(get(req, "logStreamName"));
          if (s == grp->streams.end()) {
            return ApiError::client("ResourceNotFoundException",
                                    "The specified log stream does not exist.");
          }
          if (auto* evs = req.if_contains("logEvents"); evs && evs->is_array()) {
            for (const auto& e : evs->as_array()) {
              if (!e.is_object()) continue;
              Event ev;
              if (auto* t = e.as_object().if_contains("timestamp"); t && t->is_int64())
                ev.timestamp = t->as_int64();
              ev.message = get(e.as_object(), "message");
              s->second.push_back(std::move(ev));
            }
          }
          ctx.mutated = true;
          return json::object{};
        });
    add("DescribeLogGroups",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          BOOST_OUTCOME_TRY(ctx.authorize("logs:DescribeLogGroups", "*"));
          std::string prefix = get(req, "logGroupNamePrefix");
          json::array out;
          for (const auto& [name, g] : groups_) {
            if (!name.starts_with(prefix)) continue;
            json::object o{{"logGroupName", name},
                           {"creationTime", g.created},
                           {"metricFilterCount", 0},
                           {"arn", arn(ctx, name) + ":*"},
                           {"storedBytes", 0}};
            if (!g.kms_key.empty()) o["kmsKeyId"] = g.kms_key;
            out.push_back(std::move(o));
          }
          return json::object{{"logGroups", out}};
        });
    add("GetLogEvents",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          std::string g = get(req, "logGroupName");
          BOOST_OUTCOME_TRY(ctx.authorize("logs:GetLogEvents", arn(ctx, g)));
          BOOST_OUTCOME_TRY(auto* grp, find(g));
          auto s = grp->streams.find(get(req, "logStreamName"));
          if (s == grp->streams.end()) {
            return ApiError::client("ResourceNotFoundException",
                                    "The specified log stream does not exist.");
          }
          json::array events;
          for (const auto& e : s->second) {
            events.push_back(json::object{{"timestamp", e.timestamp},
                                          {"message", e.message},
                                          {"ingestionTime", e.timestamp}});
          }
          std::string token = "f/" + std::to_string(s->second.size());
          return json::object{
              {"events", events}, {"nextForwardToken", token}, {"nextBackwardToken", "b/0"}};
        });
    add("FilterLogEvents",
        [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
          std::string g = get(req, "logGroupName");
          BOOST_OUTCOME_TRY(ctx.authorize("logs:FilterLogEvents", arn(ctx, g)));
          BOOST_OUTCOME_TRY(auto* grp, find(g));
          std::string pattern = get(req, "filterPattern");
          if (pattern.size() >= 2 && pattern.front() == '"' && pattern.back() == '"') {
            pattern = pattern.substr(1, pattern.size() - 2);
          }
          std::vector<std::string> names;
          if (auto* a = req.if_contains("logStreamNames"); a && a->is_array()) {
            for (const auto& n : a->as_array()) {
              if (n.is_string()) names.emplace_back(n.as_string());
            }
          }
          std::string name_prefix = get(req, "logStreamNamePrefix");
          json::array events, searched;
          int id = 0;
          for (const auto& [stream, evs] : grp->streams) {
            if (!names.empty() && std::find(names.begin(), names.end(), stream) == names.end())
              continue;
            if (!stream.starts_with(name_prefix)) continue;
            searched.push_back(
                json::object{{"logStreamName", stream}, {"searchedCompletely", true}});
            for (const auto& e : evs) {
              ++id;
              if (!pattern.empty() && e.message.find(pattern) == std::string::npos) continue;
              events.push_back(json::object{{"logStreamName", stream},
                                            {"timestamp", e.timestamp},
                                            {"message", e.message},
                                            {"ingestionTime", e.timestamp},
                                            {"eventId", std::to_string(id)}});
            }
          }
          return json::object{{"events", events}, {"searchedLogStreams", searched}};
        });
  }

  json::value save() const override {
    json::object groups;
    for (const auto& [name, g] : groups_) {
      json::object streams;
      for (const auto& [s, evs] : g.streams) {
        json::array a;
        for (const auto& e : evs) a.push_back(json::object{{"t", e.timestamp}, {"m", e.message}});
        streams[s] = std::move(a);
      }
      groups[name] =
          json::object{{"created", g.created}, {"kms_key", g.kms_key}, {"streams", streams}};
    }
    return json::object{{"groups", groups}};
  }

  void load(const json::value& v) override {
    groups_.clear();
    if (!v.is_object()) return;
    auto* gs = v.as_object().if_contains("groups");
    if (!gs || !gs->is_object()) return;
    for (const auto& [name, gv] : gs->as_object()) {
      if (!gv.is_object()) continue;
      Group g;
      if (auto* c = gv.as_object().if_contains("created"); c && c->is_int64())
        g.created = c->as_int64();
      g.kms_key = get(gv.as_object(), "kms_key");
      if (auto* ss = gv.as_object().if_contains("streams"); ss && ss->is_object()) {
        for (const auto& [s, evs] : ss->as_object()) {
          auto& out = g.streams[std::string(s)];
          if (!evs.is_array()) continue;
          for (const auto& e : evs.as_array()) {
            if (!e.is_object()) continue;
            Event ev;
            if (auto* t = e.as_object().if_contains("t"); t && t->is_int64())
              ev.timestamp = t->as_int64();
            ev.message = get(e.as_object(), "m");
            out.push_back(std::move(ev));
          }
        }
      }
      groups_[std::string(name)] = std::move(g);
    }
  }

  // "log_groups": ["name", …]
  ApiResult<void> apply_scenario(const json::object& scenario) override {
    if (auto* a = scenario.if_contains("log_groups"); a && a->is_array()) {
      for (const auto& x : a->as_array()) {
        if (x.is_string()) groups_[std::string(x.as_string())].created = millis(now());
      }
    }
    return outcome::success();
  }

 private:
  std::chrono::system_clock::time_point now() const {
    return clock_ ? clock_() : std::chrono::system_clock::now();
  }
  static std::string arn(const RequestContext& ctx, const std::string& g) {
    return "arn:aws:logs:" + ctx.region + ":000000000000:log-group:" + g;
  }
  ApiResult<Group*> find(const std::string& g) {
    auto it = groups_.find(g);
    if (it == groups_.end()) {
      return ApiError::client("ResourceNotFoundException",
                              "The specified log group does not exist.");
    }
    return &it->second;
  }

  std::map<std::string, Group> groups_;
  std::function<std::chrono::system_clock::time_point()> clock_;
  std::function<void()> state_changed_;
};

}  // namespace

std::unique_ptr<LogsModule> make_logs_module() { return std::make_unique<Logs>(); }

}  // namespace ecsh::sandbox::logs
