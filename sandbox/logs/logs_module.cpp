#include "sandbox/logs/logs_module.hpp"

#include "sandbox/core/json_members.hpp"
#include "sandbox/core/time_format.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

namespace ecsh::sandbox::logs {
namespace {

namespace json = boost::json;

std::int64_t millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

ApiError invalid(std::string message) {
  return ApiError::client("InvalidParameterException", std::move(message));
}

struct Event {
  std::int64_t timestamp = 0;
  std::int64_t ingestion = 0;
  std::string message;
};
struct Stream {
  std::int64_t created = 0;
  int number = 0;  // order of creation in its group: part of event IDs and filter tokens
  std::vector<Event> events;
};
struct Group {
  std::int64_t created = 0;
  std::string kms_key;
  int next_stream = 0;
  std::map<std::string, Stream> streams;
};

// CloudWatch Logs filter patterns for unstructured events: terms that must all appear,
// "quoted phrases", ?terms of which one must appear, -terms that must not. Case-sensitive.
struct FilterPattern {
  std::vector<std::string> all, any, none;
  bool matches(std::string_view message) const {
    auto has = [message](const std::string& t) { return message.find(t) != std::string::npos; };
    if (std::any_of(none.begin(), none.end(), has)) return false;
    if (!any.empty() && !std::any_of(any.begin(), any.end(), has)) return false;
    return std::all_of(all.begin(), all.end(), has);
  }
};

ApiResult<FilterPattern> parse_pattern(std::string_view text) {
  FilterPattern p;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    if (text[i] == '{' || text[i] == '[') {
      return invalid(
          "JSON and space-delimited filter patterns are not evaluated by this sandbox; use terms "
          "and \"quoted phrases\"");
    }
    char kind = 0;
    if (text[i] == '?' || text[i] == '-') kind = text[i++];
    std::string term;
    if (i < text.size() && text[i] == '"') {
      auto end = text.find('"', i + 1);
      if (end == std::string_view::npos) return invalid("Invalid filter pattern: unclosed quote");
      term = std::string(text.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      auto end = text.find_first_of(" \t", i);
      if (end == std::string_view::npos) end = text.size();
      term = std::string(text.substr(i, end - i));
      i = end;
    }
    if (term.empty()) continue;
    (kind == '?' ? p.any : kind == '-' ? p.none : p.all).push_back(std::move(term));
  }
  return p;
}

// AWS's sequence tokens are long digit strings behind "f/" and "b/".
std::string position_token(char direction, std::size_t position) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%c/%056zu", direction, position);
  return buf;
}

std::optional<std::pair<char, std::size_t>> parse_position_token(const std::string& token) {
  if (token.size() < 3 || (token[0] != 'f' && token[0] != 'b') || token[1] != '/')
    return std::nullopt;
  std::size_t value = 0;
  for (std::size_t i = 2; i < token.size(); ++i) {
    if (token[i] < '0' || token[i] > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(token[i] - '0');
  }
  return std::make_pair(token[0], value);
}

// An event of a FilterLogEvents answer, ordered by time, then stream, then position.
using FilterKey = std::tuple<std::int64_t, int, std::size_t>;

std::string filter_token(const FilterKey& k) {
  return "ecsh-sbx-" + std::to_string(std::get<0>(k)) + "-" + std::to_string(std::get<1>(k)) + "-" +
         std::to_string(std::get<2>(k));
}

std::optional<FilterKey> parse_filter_token(const std::string& token) {
  long long ts = 0;
  int stream = 0;
  unsigned long long pos = 0;
  if (std::sscanf(token.c_str(), "ecsh-sbx-%lld-%d-%llu", &ts, &stream, &pos) != 3)
    return std::nullopt;
  return FilterKey{ts, stream, static_cast<std::size_t>(pos)};
}

std::string event_id(const FilterKey& k) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%020lld%06d%012zu", static_cast<long long>(std::get<0>(k)),
                std::get<1>(k), std::get<2>(k));
  return buf;
}

class Logs final : public LogsModule {
 public:
  std::string name() const override { return "logs"; }
  void attach(const ModuleEnvironment& env) override {
    clock_ = env.clock;
    state_changed_ = env.state_changed;
  }

  bool group_exists(std::string_view g) const override { return groups_.count(std::string(g)) > 0; }

  bool create_group(std::string_view g) override {
    if (g.empty()) return false;
    auto [it, inserted] = groups_.try_emplace(std::string(g));
    if (inserted) {
      it->second.created = millis(now());
      if (state_changed_) state_changed_();
    }
    return true;
  }

  bool create_stream(std::string_view group, std::string_view stream) override {
    auto it = groups_.find(std::string(group));
    if (it == groups_.end()) return false;
    stream_of(it->second, stream);
    if (state_changed_) state_changed_();
    return true;
  }

  bool append(std::string_view group, std::string_view stream, std::string_view message) override {
    if (!append_quietly(group, stream, message, millis(now()))) return false;
    if (state_changed_) state_changed_();
    return true;
  }

  bool append_quietly(std::string_view group, std::string_view stream, std::string_view message,
                      std::int64_t timestamp_ms) override {
    auto it = groups_.find(std::string(group));
    if (it == groups_.end()) return false;
    Event e;
    e.timestamp = timestamp_ms;
    e.ingestion = millis(now());
    e.message = std::string(message);
    stream_of(it->second, stream).events.push_back(std::move(e));
    return true;
  }

  void register_routes(Router& router) override;

  json::value save() const override {
    json::object groups;
    for (const auto& [name, g] : groups_) {
      json::object streams;
      for (const auto& [s, st] : g.streams) {
        json::array a;
        for (const auto& e : st.events)
          a.push_back(json::object{{"t", e.timestamp}, {"i", e.ingestion}, {"m", e.message}});
        streams[s] = json::object{{"created", st.created}, {"number", st.number}, {"events", a}};
      }
      groups[name] = json::object{{"created", g.created},
                                  {"kms_key", g.kms_key},
                                  {"next_stream", g.next_stream},
                                  {"streams", streams}};
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
      const auto& go = gv.as_object();
      Group g;
      g.created = get_integer(go, "created").value_or(0);
      g.kms_key = get(go, "kms_key");
      g.next_stream = static_cast<int>(get_integer(go, "next_stream").value_or(0));
      if (auto* ss = go.if_contains("streams"); ss && ss->is_object()) {
        for (const auto& [s, sv] : ss->as_object()) {
          Stream st;
          const json::array* evs = nullptr;
          if (sv.is_array()) {  // the earlier layout: the events only
            evs = &sv.as_array();
            st.number = g.next_stream++;
          } else if (sv.is_object()) {
            st.created = get_integer(sv.as_object(), "created").value_or(0);
            st.number = static_cast<int>(get_integer(sv.as_object(), "number").value_or(0));
            if (auto* e = sv.as_object().if_contains("events"); e && e->is_array())
              evs = &e->as_array();
          }
          if (evs) {
            for (const auto& e : *evs) {
              if (!e.is_object()) continue;
              Event ev;
              ev.timestamp = get_integer(e.as_object(), "t").value_or(0);
              ev.ingestion = get_integer(e.as_object(), "i").value_or(ev.timestamp);
              ev.message = get(e.as_object(), "m");
              st.events.push_back(std::move(ev));
            }
          }
          g.streams[std::string(s)] = std::move(st);
        }
      }
      groups_[std::string(name)] = std::move(g);
    }
  }

  // "log_groups": ["name", …]
  ApiResult<void> apply_scenario(const json::object& scenario) override {
    if (auto* a = scenario.if_contains("log_groups"); a && a->is_array()) {
      for (const auto& x : a->as_array()) {
        if (x.is_string()) create_group(x.as_string());
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
  Stream& stream_of(Group& g, std::string_view name) {
    auto [it, inserted] = g.streams.try_emplace(std::string(name));
    if (inserted) {
      it->second.created = millis(now());
      it->second.number = g.next_stream++;
    }
    return it->second;
  }
  // logGroupName, or logGroupIdentifier (a name or an ARN).
  static std::string group_name(const json::object& req) {
    std::string g = get(req, "logGroupName");
    if (!g.empty()) return g;
    g = get(req, "logGroupIdentifier");
    if (auto pos = g.find(":log-group:"); pos != std::string::npos) {
      g = g.substr(pos + 11);
      if (g.ends_with(":*")) g.resize(g.size() - 2);
    }
    return g;
  }
  ApiResult<Group*> find(const std::string& g) {
    auto it = groups_.find(g);
    if (it == groups_.end()) {
      return ApiError::client("ResourceNotFoundException",
                              "The specified log group does not exist.");
    }
    return &it->second;
  }
  ApiResult<json::value> get_log_events(RequestContext& ctx, const json::object& req);
  ApiResult<json::value> filter_log_events(RequestContext& ctx, const json::object& req);
  ApiResult<json::value> describe_log_streams(RequestContext& ctx, const json::object& req);

  std::map<std::string, Group> groups_;
  std::function<std::chrono::system_clock::time_point()> clock_;
  std::function<void()> state_changed_;
};

ApiResult<json::value> Logs::get_log_events(RequestContext& ctx, const json::object& req) {
  std::string g = group_name(req);
  BOOST_OUTCOME_TRY(ctx.authorize("logs:GetLogEvents", arn(ctx, g)));
  BOOST_OUTCOME_TRY(auto* grp, find(g));
  auto s = grp->streams.find(get(req, "logStreamName"));
  if (s == grp->streams.end()) {
    return ApiError::client("ResourceNotFoundException",
                            "The specified log stream does not exist.");
  }
  const auto& events = s->second.events;
  auto limit = get_integer(req, "limit").value_or(10000);
  if (limit < 1 || limit > 10000) return invalid("limit must be between 1 and 10000");
  auto start = get_integer(req, "startTime");
  auto end = get_integer(req, "endTime");
  auto in_range = [&](const Event& e) {
    return (!start || e.timestamp >= *start) && (!end || e.timestamp <= *end);
  };
  // Where to read from, and which way: forward from a position, or backward from one.
  std::string token = get(req, "nextToken");
  bool forward = get_bool(req, "startFromHead", false);
  std::size_t position = forward ? 0 : events.size();
  if (!token.empty()) {
    auto parsed = parse_position_token(token);
    if (!parsed) return invalid("The specified nextToken is invalid.");
    forward = parsed->first == 'f';
    position = std::min(parsed->second, events.size());
  }
  std::vector<std::size_t> picked;
  if (forward) {
    for (std::size_t i = position;
         i < events.size() && picked.size() < static_cast<std::size_t>(limit); ++i) {
      if (in_range(events[i])) picked.push_back(i);
    }
  } else {
    for (std::size_t i = position; i > 0 && picked.size() < static_cast<std::size_t>(limit); --i) {
      if (in_range(events[i - 1])) picked.push_back(i - 1);
    }
    std::reverse(picked.begin(), picked.end());
  }
  json::array out;
  for (auto i : picked) {
    out.push_back(json::object{{"timestamp", events[i].timestamp},
                               {"message", events[i].message},
                               {"ingestionTime", events[i].ingestion}});
  }
  // At the end of the stream the token that came in goes back out.
  std::size_t next_forward = picked.empty() ? position : picked.back() + 1;
  std::size_t next_backward = picked.empty() ? position : picked.front();
  return json::object{{"events", out},
                      {"nextForwardToken", position_token('f', next_forward)},
                      {"nextBackwardToken", position_token('b', next_backward)}};
}

ApiResult<json::value> Logs::filter_log_events(RequestContext& ctx, const json::object& req) {
  std::string g = group_name(req);
  BOOST_OUTCOME_TRY(ctx.authorize("logs:FilterLogEvents", arn(ctx, g)));
  BOOST_OUTCOME_TRY(auto* grp, find(g));
  BOOST_OUTCOME_TRY(auto pattern, parse_pattern(get(req, "filterPattern")));
  std::vector<std::string> names;
  if (auto* a = req.if_contains("logStreamNames"); a && a->is_array()) {
    for (const auto& n : a->as_array()) {
      if (n.is_string()) names.emplace_back(n.as_string());
    }
  }
  std::string name_prefix = get(req, "logStreamNamePrefix");
  if (!names.empty() && !name_prefix.empty()) {
    return invalid("logStreamNames and logStreamNamePrefix are mutually exclusive");
  }
  if (names.size() > 100) return invalid("logStreamNames may name at most 100 streams");
  auto limit = get_integer(req, "limit").value_or(10000);
  if (limit < 1 || limit > 10000) return invalid("limit must be between 1 and 10000");
  auto start = get_integer(req, "startTime");
  auto end = get_integer(req, "endTime");
  std::optional<FilterKey> from;
  if (std::string token = get(req, "nextToken"); !token.empty()) {
    from = parse_filter_token(token);
    if (!from) return invalid("The specified nextToken is invalid.");
  }
  struct Hit {
    FilterKey key;
    const std::string* stream;
    const Event* event;
  };
  std::vector<Hit> hits;
  json::array searched;
  for (const auto& [stream, st] : grp->streams) {
    if (!names.empty() && std::find(names.begin(), names.end(), stream) == names.end()) continue;
    if (!stream.starts_with(name_prefix)) continue;
    searched.push_back(json::object{{"logStreamName", stream}, {"searchedCompletely", true}});
    for (std::size_t i = 0; i < st.events.size(); ++i) {
      const auto& e = st.events[i];
      if ((start && e.timestamp < *start) || (end && e.timestamp > *end)) continue;
      FilterKey key{e.timestamp, st.number, i};
      if (from && key < *from) continue;
      if (!pattern.matches(e.message)) continue;
      hits.push_back(Hit{key, &stream, &e});
    }
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.key < b.key; });
  json::array events;
  std::size_t n = std::min(hits.size(), static_cast<std::size_t>(limit));
  for (std::size_t i = 0; i < n; ++i) {
    events.push_back(json::object{{"logStreamName", *hits[i].stream},
                                  {"timestamp", hits[i].event->timestamp},
                                  {"message", hits[i].event->message},
                                  {"ingestionTime", hits[i].event->ingestion},
                                  {"eventId", event_id(hits[i].key)}});
  }
  json::object out{{"events", events}, {"searchedLogStreams", searched}};
  if (hits.size() > n) out["nextToken"] = filter_token(hits[n].key);
  return out;
}

ApiResult<json::value> Logs::describe_log_streams(RequestContext& ctx, const json::object& req) {
  std::string g = group_name(req);
  BOOST_OUTCOME_TRY(ctx.authorize("logs:DescribeLogStreams", arn(ctx, g)));
  BOOST_OUTCOME_TRY(auto* grp, find(g));
  std::string prefix = get(req, "logStreamNamePrefix");
  std::string order = get(req, "orderBy");
  if (order.empty()) order = "LogStreamName";
  if (order != "LogStreamName" && order != "LastEventTime") {
    return invalid("orderBy must be LogStreamName or LastEventTime");
  }
  if (order == "LastEventTime" && !prefix.empty()) {
    return invalid("Cannot order by LastEventTime with a logStreamNamePrefix.");
  }
  auto limit = get_integer(req, "limit").value_or(50);
  if (limit < 1 || limit > 50) return invalid("limit must be between 1 and 50");
  std::vector<std::pair<const std::string*, const Stream*>> list;
  for (const auto& [name, st] : grp->streams) {
    if (name.starts_with(prefix)) list.emplace_back(&name, &st);
  }
  auto last_time = [](const Stream* s) {
    return s->events.empty() ? s->created : s->events.back().timestamp;
  };
  if (order == "LastEventTime") {
    std::stable_sort(list.begin(), list.end(), [&](const auto& a, const auto& b) {
      return last_time(a.second) < last_time(b.second);
    });
  }
  if (get_bool(req, "descending", false)) std::reverse(list.begin(), list.end());
  std::size_t offset = 0;
  if (std::string token = get(req, "nextToken"); !token.empty()) {
    auto parsed = parse_position_token(token);
    if (!parsed || parsed->first != 'f') return invalid("The specified nextToken is invalid.");
    offset = std::min(parsed->second, list.size());
  }
  json::array out;
  std::size_t i = offset;
  for (; i < list.size() && out.size() < static_cast<std::size_t>(limit); ++i) {
    const auto& [name, st] = list[i];
    json::object o{{"logStreamName", *name},
                   {"creationTime", st->created},
                   {"arn", arn(ctx, g) + ":log-stream:" + *name},
                   {"storedBytes", 0}};
    if (!st->events.empty()) {
      o["firstEventTimestamp"] = st->events.front().timestamp;
      o["lastEventTimestamp"] = st->events.back().timestamp;
      o["lastIngestionTime"] = st->events.back().ingestion;
    }
    out.push_back(std::move(o));
  }
  json::object resp{{"logStreams", out}};
  if (i < list.size()) resp["nextToken"] = position_token('f', i);
  return resp;
}

void Logs::register_routes(Router& router) {
  auto add = [&router](std::string op, JsonHandler h) {
    router.add_json("logs", "Logs_20140328", std::move(op), std::move(h));
  };
  add("CreateLogGroup",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        std::string g = get(req, "logGroupName");
        BOOST_OUTCOME_TRY(ctx.authorize("logs:CreateLogGroup", arn(ctx, g)));
        if (g.empty()) return invalid("logGroupName is required");
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
        std::string s = get(req, "logStreamName");
        if (s.empty()) return invalid("logStreamName is required");
        if (grp->streams.count(s)) {
          return ApiError::client("ResourceAlreadyExistsException",
                                  "The specified log stream already exists");
        }
        stream_of(*grp, s);
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
            ev.timestamp = get_integer(e.as_object(), "timestamp").value_or(0);
            ev.ingestion = millis(now());
            ev.message = get(e.as_object(), "message");
            s->second.events.push_back(std::move(ev));
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
  add("DescribeLogStreams", [this](RequestContext& ctx, const json::object& req) {
    return describe_log_streams(ctx, req);
  });
  add("GetLogEvents",
      [this](RequestContext& ctx, const json::object& req) { return get_log_events(ctx, req); });
  add("FilterLogEvents",
      [this](RequestContext& ctx, const json::object& req) { return filter_log_events(ctx, req); });
}

}  // namespace

std::unique_ptr<LogsModule> make_logs_module() { return std::make_unique<Logs>(); }

}  // namespace ecsh::sandbox::logs
