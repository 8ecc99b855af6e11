#include "ecsh/logs/log_view.hpp"
#include "ecsh/logs/fetch.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace ecsh::logs {
namespace {

namespace json = boost::json;

ecs::TaskView task(std::string id, std::vector<std::string> containers,
                   std::string launch = "FARGATE") {
  ecs::TaskView t;
  t.id = std::move(id);
  t.launch_type = std::move(launch);
  for (auto& c : containers) {
    ecs::ContainerView cv;
    cv.name = c;
    t.containers.push_back(cv);
  }
  return t;
}

TaskDefinition definition(const char* text) {
  auto o = json::parse(text).as_object();
  auto d = parse_task_definition(JsonFields(o, "the task definition"));
  EXPECT_TRUE(d) << d.error().message;
  return d ? d.value() : TaskDefinition();
}

const char* kDefinition = R"({"containerDefinitions": [
  {"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {
     "awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1",
     "awslogs-stream-prefix": "web"}}},
  {"name": "router", "logConfiguration": {"logDriver": "awsfirelens"}},
  {"name": "plain"},
  {"name": "noprefix", "logConfiguration": {"logDriver": "awslogs", "options": {
     "awslogs-group": "/ecs/web"}}}]})";

TEST(LogSources, AwslogsStreamIsPrefixContainerTaskId) {
  auto t = task("0123456789abcdef0123456789abcdef", {"app", "router", "plain", "noprefix"});
  auto s = sources_for_task(definition(kDefinition), t, "us-east-1");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].driver, "awslogs");
  EXPECT_EQ(s[0].group, "/ecs/web");
  EXPECT_EQ(s[0].region, "eu-west-1");
  EXPECT_EQ(s[0].stream, "web/app/0123456789abcdef0123456789abcdef");
  EXPECT_EQ(s[0].unreadable, "");
}

TEST(LogSources, OtherDriversAreNamedAsNotReadable) {
  auto t = task("0123456789abcdef0123456789abcdef", {"app", "router", "plain", "noprefix"});
  auto s = sources_for_task(definition(kDefinition), t, "us-east-1");
  EXPECT_EQ(s[1].unreadable, "firelens: not readable here");
  EXPECT_NE(s[2].unreadable.find("no logConfiguration"), std::string::npos);
  EXPECT_NE(s[2].unreadable.find("not kept"), std::string::npos);  // Fargate
}

TEST(LogSources, WithoutPrefixTheStreamIsTheContainerId) {
  auto t = task("0123456789abcdef0123456789abcdef", {"noprefix"}, "EC2");
  auto s = sources_for_task(definition(kDefinition), t, "us-east-1");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].region, "us-east-1");  // no awslogs-region: the task's
  EXPECT_NE(s[0].unreadable, "");       // no runtime ID yet
  t.containers[0].runtime_id = "a1b2c3d4e5f6";
  s = sources_for_task(definition(kDefinition), t, "us-east-1");
  EXPECT_EQ(s[0].stream, "a1b2c3d4e5f6");
  EXPECT_EQ(s[0].unreadable, "");
}

TEST(LogSources, EssentialContainersAreThoseNotMarkedOtherwise) {
  auto d = definition(R"({"containerDefinitions": [{"name": "app"},
      {"name": "init", "essential": false}, {"name": "proxy", "essential": true}]})");
  EXPECT_EQ(essential_containers(d), (std::set<std::string>{"app", "proxy"}));
}

TEST(LogSources, AMalformedTaskDefinitionIsAProtocolErrorNamingTheField) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {R"({"containerDefinitions": [{"name": "app", "logConfiguration": {"options":
          {"awslogs-group": ["/ecs/web"]}}}]})",
       "the task definition: containerDefinitions[0].logConfiguration.options.awslogs-group is an "
       "array, not a string"},
      {R"({"containerDefinitions": [{"name": "app", "essential": "yes"}]})",
       "the task definition: containerDefinitions[0].essential is a string, not a boolean"},
      {R"({"containerDefinitions": [{"image": "nginx"}]})",
       "the task definition: containerDefinitions[0].name is missing"},
      {R"({"containerDefinitions": [{"name": "app", "logConfiguration": "awslogs"}]})",
       "the task definition: containerDefinitions[0].logConfiguration is a string, not an object"},
  };
  for (const auto& c : cases) {
    auto o = json::parse(c.body).as_object();
    auto d = parse_task_definition(JsonFields(o, "the task definition"));
    ASSERT_FALSE(d) << c.body;
    EXPECT_EQ(d.error().kind, ErrorKind::protocol);
    EXPECT_EQ(d.error().message, c.message);
  }
}

TEST(LogEvents, APageIsReadAndAMalformedOneIsAProtocolError) {
  auto ok = parse_log_events(json::parse(R"({"events": [{"timestamp": 1764000000123,
      "ingestionTime": 1764000000456, "eventId": "e1", "logStreamName": "s", "message": "hi"}],
      "nextToken": "t2"})")
                                 .as_object(),
                             "FilterLogEvents");
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok.value().events.size(), 1u);
  EXPECT_EQ(ok.value().events[0].timestamp, 1764000000123);
  EXPECT_EQ(ok.value().events[0].message, "hi");
  EXPECT_EQ(ok.value().next_token, "t2");

  auto bad = parse_log_events(
      json::parse(R"({"events": [{"timestamp": "1764000000123", "message": "hi"}]})").as_object(),
      "GetLogEvents");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::protocol);
  EXPECT_EQ(bad.error().message,
            "the GetLogEvents response: events[0].timestamp is a string, not an integer");
  auto token = parse_log_events(json::parse(R"({"events": [], "nextToken": {}})").as_object(),
                                "FilterLogEvents");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().message,
            "the FilterLogEvents response: nextToken is an object, not a string");
}

TEST(LogSources, LabelsAreShortAndUnambiguous) {
  std::vector<LogSource> one_task(2);
  one_task[0].task_id = one_task[1].task_id = "aaaaaaaa11";
  one_task[0].container = "app";
  one_task[1].container = "web";
  assign_labels(one_task);
  EXPECT_EQ(one_task[0].label, "app");

  std::vector<LogSource> one_container(2);
  one_container[0].task_id = "abcdef0011";
  one_container[1].task_id = "abcdef0022";
  one_container[0].container = one_container[1].container = "app";
  assign_labels(one_container);
  EXPECT_EQ(one_container[0].label, "abcdef001");  // 6 characters are not enough here
  EXPECT_EQ(one_container[1].label, "abcdef002");
  one_container[1].task_id = "abcdef1122";
  assign_labels(one_container);
  EXPECT_EQ(one_container[0].label, "abcdef0");
  EXPECT_EQ(one_container[1].label, "abcdef1");

  auto mixed = one_container;
  mixed.push_back(one_container[0]);
  mixed.back().container = "web";
  assign_labels(mixed);
  EXPECT_EQ(mixed[2].label, "abcdef0/web");
}

TEST(TimeSpec, Durations) {
  const std::int64_t now = 1'700'000'000'000;
  EXPECT_EQ(parse_time_spec("30s", now).value(), now - 30'000);
  EXPECT_EQ(parse_time_spec("10m", now).value(), now - 600'000);
  EXPECT_EQ(parse_time_spec("2h", now).value(), now - 7'200'000);
  EXPECT_EQ(parse_time_spec("1d", now).value(), now - 86'400'000);
  EXPECT_EQ(parse_time_spec("1h30m", now).value(), now - 5'400'000);
  EXPECT_FALSE(parse_time_spec("10", now));
  EXPECT_FALSE(parse_time_spec("10y", now));
  EXPECT_FALSE(parse_time_spec("", now));
  EXPECT_FALSE(parse_time_spec("yesterday", now));
  EXPECT_EQ(parse_time_spec("soon", now).error().kind, ErrorKind::usage);
}

TEST(TimeSpec, Iso8601) {
  EXPECT_EQ(parse_time_spec("2023-11-14T22:13:20Z", 0).value(), 1'700'000'000'000);
  EXPECT_EQ(parse_time_spec("2023-11-14T22:13:20.250Z", 0).value(), 1'700'000'000'250);
  EXPECT_EQ(parse_time_spec("2023-11-14T23:13:20+01:00", 0).value(), 1'700'000'000'000);
  EXPECT_EQ(parse_time_spec("2023-11-14 22:13:20", 0).value(), 1'700'000'000'000);  // UTC
  EXPECT_EQ(parse_time_spec("2023-11-14T22:13", 0).value(), 1'699'999'980'000);
  EXPECT_EQ(parse_time_spec("1970-01-01", 0).value(), 0);
  EXPECT_EQ(parse_time_spec("2024-02-29", 0).value(), 1'709'164'800'000);
  EXPECT_FALSE(parse_time_spec("2023-13-01", 0));
  EXPECT_FALSE(parse_time_spec("2023-11-14T25:00", 0));
  EXPECT_FALSE(parse_time_spec("2023-11-14Tnoon", 0));
}

TEST(TimeFormat, ClockAndIso) {
  EXPECT_EQ(clock_time(1'700'000'000'250), "22:13:20");
  EXPECT_EQ(iso_time(1'700'000'000'250), "2023-11-14T22:13:20.250Z");
  EXPECT_EQ(iso_time(0), "1970-01-01T00:00:00.000Z");
}

LogEvent ev(std::int64_t ts, std::string id, std::size_t source = 0, std::string msg = "m") {
  LogEvent e;
  e.timestamp = ts;
  e.event_id = std::move(id);
  e.source = source;
  e.message = std::move(msg);
  return e;
}

TEST(Merge, TimeThenSourceKeepingEachStreamsOrder) {
  std::vector<LogEvent> events{ev(20, "a", 1, "b1"), ev(10, "b", 1, "b0"), ev(20, "c", 0, "a1"),
                               ev(20, "d", 1, "b2")};
  sort_events(events);
  std::vector<std::string> got;
  for (const auto& e : events) got.push_back(e.message);
  EXPECT_EQ(got, (std::vector<std::string>{"b0", "a1", "b1", "b2"}));
}

TEST(Follow, NoDuplicatesAcrossOverlappingPolls) {
  FollowWindow w(0, 1000);
  auto first = w.admit({ev(100, "1"), ev(200, "2")});
  EXPECT_EQ(first.size(), 2u);
  EXPECT_EQ(w.query_start(), 0);  // 200 - 1000, not before the start
  // The next poll overlaps: the same two come back with a new one.
  auto second = w.admit({ev(100, "1"), ev(200, "2"), ev(300, "3")});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].event_id, "3");
}

TEST(Follow, LateEventOfAnotherStreamWithinTheLookbackIsNotLost) {
  FollowWindow w(0, 5000);
  w.admit({ev(10'000, "a1", 0)});
  EXPECT_EQ(w.query_start(), 5000);
  // Stream b's event stamped earlier was ingested late: still inside the window.
  auto got = w.admit({ev(7000, "b1", 1), ev(10'000, "a1", 0)});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event_id, "b1");
}

TEST(Follow, ForgetsWhatIsOutsideTheWindowAndIgnoresIt) {
  FollowWindow w(0, 1000);
  w.admit({ev(100, "old")});
  w.admit({ev(5000, "new")});
  EXPECT_EQ(w.query_start(), 4000);
  // An event before the window (the service would not return it) is not printed again.
  EXPECT_TRUE(w.admit({ev(100, "old")}).empty());
}

TEST(Follow, EventsWithoutIdsAreKeyedByStreamTimeAndText) {
  FollowWindow w(0);
  LogEvent a = ev(100, "", 0, "same");
  a.stream = "s";
  EXPECT_EQ(w.admit({a}).size(), 1u);
  EXPECT_TRUE(w.admit({a}).empty());
  LogEvent b = a;
  b.message = "other";
  EXPECT_EQ(w.admit({b}).size(), 1u);
}

TEST(Backoff, DoublesWhenIdleUpToMaxAndResets) {
  PollBackoff b(std::chrono::milliseconds(500), std::chrono::milliseconds(4000));
  EXPECT_EQ(b.next(false).count(), 1000);
  EXPECT_EQ(b.next(false).count(), 2000);
  EXPECT_EQ(b.next(false).count(), 4000);
  EXPECT_EQ(b.next(false).count(), 4000);
  EXPECT_EQ(b.next(true).count(), 500);
}

TEST(Render, TextLineAndJson) {
  LogSource s;
  s.task_id = "0123456789abcdef0123456789abcdef";
  s.container = "app";
  s.group = "/ecs/web";
  s.stream = "web/app/0123456789abcdef0123456789abcdef";
  s.label = "012345/app";
  LogEvent e = ev(1'700'000'000'250, "x", 0, "hello\r\n");
  EXPECT_EQ(format_event(e, s, 14), "22:13:20 012345/app     | hello");
  auto j = event_json(e, s);
  EXPECT_EQ(j.at("message").as_string(), "hello");
  EXPECT_EQ(j.at("time").as_string(), "2023-11-14T22:13:20.250Z");
  EXPECT_EQ(j.at("stream").as_string(), s.stream);
  EXPECT_EQ(j.at("task").as_string(), s.task_id);
}

}  // namespace
}  // namespace ecsh::logs
