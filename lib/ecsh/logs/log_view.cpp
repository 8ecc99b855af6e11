#include "ecsh/logs/log_view.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace ecsh::logs {
namespace json = boost::json;

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month, day, hour, minute, second, milli;
};

Civil civil_from_ms(std::int64_t ms) {
  std::int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  auto milli = static_cast<unsigned>(ms - secs * 1000);
  std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  auto rem = static_cast<unsigned>(secs - days * 86400);
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  Civil c{static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2),
          m,
          d,
          rem / 3600,
          rem % 3600 / 60,
          rem % 60,
          milli};
  return c;
}

Error bad_time(std::string_view text) {
  return Error::usage(fmt::format("cannot read the time '{}'", text),
                      "Give a duration before now (30s, 10m, 2h, 1d) or an ISO 8601 time such as "
                      "2024-05-01T10:00:00Z.");
}

// Reads exactly `n` digits at `pos`.
std::optional<unsigned> digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  unsigned v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  return v;
}

std::optional<std::int64_t> parse_iso(std::string_view s) {
  std::size_t p = 0;
  auto y = digits(s, p, 4);
  if (!y || p >= s.size() || s[p++] != '-') return std::nullopt;
  auto mo = digits(s, p, 2);
  if (!mo || p >= s.size() || s[p++] != '-') return std::nullopt;
  auto d = digits(s, p, 2);
  if (!d || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return std::nullopt;
  unsigned h = 0, mi = 0, sec = 0, milli = 0;
  if (p < s.size() && (s[p] == 'T' || s[p] == 't' || s[p] == ' ')) {
    ++p;
    auto hh = digits(s, p, 2);
    if (!hh || p >= s.size() || s[p++] != ':') return std::nullopt;
    auto mm = digits(s, p, 2);
    if (!mm) return std::nullopt;
    h = *hh;
    mi = *mm;
    if (p < s.size() && s[p] == ':') {
      ++p;
      auto ss = digits(s, p, 2);
      if (!ss) return std::nullopt;
      sec = *ss;
      if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
        ++p;
        unsigned scale = 100;
        std::size_t n = 0;
        while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) {
          milli += static_cast<unsigned>(s[p] - '0') * scale;
          scale /= 10;
          ++p;
          ++n;
        }
        if (n == 0) return std::nullopt;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (p < s.size()) {
    if (s[p] == 'Z' || s[p] == 'z') {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      int sign = s[p++] == '-' ? -1 : 1;
      auto oh = digits(s, p, 2);
      if (!oh) return std::nullopt;
      if (p < s.size() && s[p] == ':') ++p;
      auto om = digits(s, p, 2);
      if (!om) return std::nullopt;
      offset_min = sign * static_cast<std::int64_t>(*oh * 60 + *om);
    }
  }
  if (p != s.size()) return std::nullopt;
  std::int64_t secs = days_from_civil(*y, *mo, *d) * 86400 + h * 3600 + mi * 60 + sec;
  secs -= offset_min * 60;
  return secs * 1000 + milli;
}

}  // namespace

Result<TaskDefinition> parse_task_definition(const JsonFields& task_definition) {
  TaskDefinition out;
  ECSH_TRY(auto containers, task_definition.objects("containerDefinitions"));
  for (const auto& c : containers) {
    ContainerDefinition d;
    ECSH_TRY(d.name, c.string("name"));
    ECSH_TRY(d.essential, c.bool_or("essential", true));
    ECSH_TRY(auto lc, c.optional_object("logConfiguration"));
    if (lc) {
      d.has_log_configuration = true;
      ECSH_TRY(d.log_driver, lc->string_or("logDriver"));
      ECSH_TRY(d.log_options, lc->string_map("options"));
    }
    out.containers.push_back(std::move(d));
  }
  return out;
}

std::vector<LogSource> sources_for_task(const TaskDefinition& task_definition,
                                        const ecs::TaskView& task,
                                        std::string_view default_region) {
  std::vector<LogSource> out;
  for (const auto& c : task.containers) {
    LogSource s;
    s.task_id = task.id;
    s.container = c.name;
    const ContainerDefinition* def = nullptr;
    for (const auto& d : task_definition.containers) {
      if (d.name == c.name) def = &d;
    }
    const bool lc = def && def->has_log_configuration;
    if (!lc) {
      s.unreadable = task.launch_type == "FARGATE"
                         ? "no logConfiguration: its output is not kept"
                         : "no logConfiguration: its output is in Docker's json-file log on the "
                           "instance (try ecsh exec --via ec2 with docker logs)";
      out.push_back(std::move(s));
      continue;
    }
    s.driver = def->log_driver;
    auto option = [def](const char* name) {
      auto it = def->log_options.find(name);
      return it == def->log_options.end() ? std::string() : it->second;
    };
    if (s.driver != "awslogs") {
      std::string name = s.driver == "awsfirelens" ? "firelens" : s.driver;
      s.unreadable = name + ": not readable here";
      out.push_back(std::move(s));
      continue;
    }
    s.group = option("awslogs-group");
    s.region = option("awslogs-region");
    if (s.region.empty()) s.region = std::string(default_region);
    std::string prefix = option("awslogs-stream-prefix");
    if (!prefix.empty()) {
      s.stream = prefix + "/" + c.name + "/" + task.id;
    } else if (!c.runtime_id.empty()) {
      s.stream = c.runtime_id;  // the awslogs driver's default: the container ID
    } else {
      s.unreadable =
          "awslogs without awslogs-stream-prefix: the stream is named after the "
          "container ID, which the container does not have yet";
    }
    if (s.group.empty()) s.unreadable = "awslogs without awslogs-group";
    out.push_back(std::move(s));
  }
  return out;
}

void assign_labels(std::vector<LogSource>& sources) {
  std::set<std::string> tasks, containers;
  for (const auto& s : sources) {
    tasks.insert(s.task_id);
    containers.insert(s.container);
  }
  // The shortest task ID prefix (6 characters or more) that tells the tasks apart.
  std::size_t n = 6;
  for (; n < 32; ++n) {
    std::set<std::string> prefixes;
    for (const auto& t : tasks) prefixes.insert(t.substr(0, n));
    if (prefixes.size() == tasks.size()) break;
  }
  for (auto& s : sources) {
    std::string task = s.task_id.substr(0, n);
    if (tasks.size() <= 1) {
      s.label = s.container;
    } else if (containers.size() <= 1) {
      s.label = task;
    } else {
      s.label = task + "/" + s.container;
    }
  }
}

Result<std::int64_t> parse_time_spec(std::string_view text, std::int64_t now_ms) {
  if (text.empty()) return bad_time(text);
  if (text.size() >= 10 && text[4] == '-') {
    auto t = parse_iso(text);
    if (!t) return bad_time(text);
    return *t;
  }
  // Durations: number+unit, repeated ("1h30m").
  std::int64_t total = 0;
  std::size_t p = 0;
  while (p < text.size()) {
    std::int64_t n = 0;
    std::size_t start = p;
    while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) {
      n = n * 10 + (text[p] - '0');
      if (n > 100'000'000) return bad_time(text);
      ++p;
    }
    if (p == start || p == text.size()) return bad_time(text);
    std::int64_t unit = 0;
    switch (text[p]) {
      case 's':
        unit = 1000;
        break;
      case 'm':
        unit = 60'000;
        break;
      case 'h':
        unit = 3'600'000;
        break;
      case 'd':
        unit = 86'400'000;
        break;
      case 'w':
        unit = 7 * 86'400'000LL;
        break;
      default:
        return bad_time(text);
    }
    ++p;
    total += n * unit;
  }
  return now_ms - total;
}

void sort_events(std::vector<LogEvent>& events) {
  std::stable_sort(events.begin(), events.end(), [](const LogEvent& a, const LogEvent& b) {
    if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
    return a.source < b.source;
  });
}

FollowWindow::FollowWindow(std::int64_t start_ms, std::int64_t lookback_ms)
    : start_(start_ms), lookback_(lookback_ms), watermark_(start_ms) {}

std::int64_t FollowWindow::query_start() const { return std::max(start_, watermark_ - lookback_); }

std::vector<LogEvent> FollowWindow::admit(std::vector<LogEvent> events) {
  std::vector<LogEvent> fresh;
  for (auto& e : events) {
    // Without an eventId (GetLogEvents) the stream, time and text identify an event.
    std::string key = e.event_id.empty()
                          ? fmt::format("{}\x1f{}\x1f{}", e.stream, e.timestamp, e.message)
                          : e.event_id;
    if (e.timestamp < query_start()) continue;  // before the window: printed or too late
    if (!seen_.emplace(std::move(key), e.timestamp).second) continue;
    fresh.push_back(std::move(e));
  }
  sort_events(fresh);
  for (const auto& e : fresh) watermark_ = std::max(watermark_, e.timestamp);
  const std::int64_t horizon = query_start();
  std::erase_if(seen_, [horizon](const auto& kv) { return kv.second < horizon; });
  return fresh;
}

PollBackoff::PollBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : min_(min), max_(max), current_(min) {}

std::chrono::milliseconds PollBackoff::next(bool got_events) {
  if (got_events) {
    current_ = min_;
  } else {
    current_ = std::min(max_, current_ * 2);
  }
  return current_;
}

std::string clock_time(std::int64_t ms) {
  auto c = civil_from_ms(ms);
  return fmt::format("{:02}:{:02}:{:02}", c.hour, c.minute, c.second);
}

std::string iso_time(std::int64_t ms) {
  auto c = civil_from_ms(ms);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, c.hour,
                     c.minute, c.second, c.milli);
}

std::string format_event(const LogEvent& e, const LogSource& source, std::size_t label_width) {
  std::string_view message = e.message;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
    message.remove_suffix(1);
  return fmt::format("{} {:<{}} | {}", clock_time(e.timestamp), source.label, label_width, message);
}

json::object event_json(const LogEvent& e, const LogSource& source) {
  json::object o;
  o["time"] = iso_time(e.timestamp);
  o["timestamp"] = e.timestamp;
  o["task"] = source.task_id;
  o["container"] = source.container;
  o["group"] = source.group;
  o["stream"] = e.stream.empty() ? source.stream : e.stream;
  std::string_view message = e.message;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
    message.remove_suffix(1);
  o["message"] = message;
  return o;
}

}  // namespace ecsh::logs
