#include "ecsh/docker/engine.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace ecsh::docker {
namespace {

TEST(DockerHost, EmptyMeansTheDefaultSocket) {
  auto ep = parse_docker_host("");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep.value().socket_path, "/var/run/docker.sock");
  EXPECT_EQ(ep.value().host, "unix:///var/run/docker.sock");
  auto blank = parse_docker_host("  ");
  ASSERT_TRUE(blank);
  EXPECT_EQ(blank.value().socket_path, "/var/run/docker.sock");
}

TEST(DockerHost, UnixSocketPath) {
  auto ep = parse_docker_host("unix:///tmp/ecsh-dk-1/docker.sock");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep.value().socket_path, "/tmp/ecsh-dk-1/docker.sock");
  EXPECT_EQ(ep.value().host, "unix:///tmp/ecsh-dk-1/docker.sock");
  auto upper = parse_docker_host("UNIX:///run/docker.sock");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper.value().socket_path, "/run/docker.sock");
  auto relative = parse_docker_host("unix://docker.sock");
  ASSERT_TRUE(relative);
  EXPECT_EQ(relative.value().socket_path, "docker.sock");
}

TEST(DockerHost, TcpAndOtherSchemesAreNotSupported) {
  for (const char* host : {"tcp://127.0.0.1:2375", "ssh://user@host", "fd://", "npipe:////./pipe/x",
                           "http://localhost:2375"}) {
    auto ep = parse_docker_host(host);
    ASSERT_FALSE(ep) << host;
    EXPECT_EQ(ep.error().kind, ErrorKind::config) << host;
    EXPECT_NE(ep.error().message.find("not supported"), std::string::npos) << host;
    EXPECT_NE(ep.error().message.find(host), std::string::npos) << host;
    EXPECT_NE(ep.error().hint.find("DOCKER_HOST=unix://"), std::string::npos) << host;
  }
}

TEST(DockerHost, MalformedValues) {
  EXPECT_FALSE(parse_docker_host("/var/run/docker.sock"));
  EXPECT_FALSE(parse_docker_host("unix://"));
  EXPECT_FALSE(parse_docker_host("unix:///" + std::string(200, 'a')));
  EXPECT_TRUE(parse_docker_host("unix:///" + std::string(106, 'a')));
  EXPECT_FALSE(parse_docker_host("unix:///" + std::string(107, 'a')));
}

TEST(DockerHost, FromTheEnvironment) {
  ::setenv("DOCKER_HOST", "unix:///tmp/x.sock", 1);
  auto ep = endpoint_from_environment();
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep.value().socket_path, "/tmp/x.sock");
  ::unsetenv("DOCKER_HOST");
  auto def = endpoint_from_environment();
  ASSERT_TRUE(def);
  EXPECT_EQ(def.value().socket_path, "/var/run/docker.sock");
}

TEST(ApiVersion, TheLowerOfClientAndEngine) {
  EXPECT_EQ(negotiate_api_version("1.41", "1.43"), "1.41");
  EXPECT_EQ(negotiate_api_version("1.45", "1.43"), "1.43");
  EXPECT_EQ(negotiate_api_version("1.43", "1.43"), "1.43");
  EXPECT_EQ(negotiate_api_version("1.9", "1.43"), "1.9");
  EXPECT_EQ(negotiate_api_version("2.0", "1.43"), "1.43");
  EXPECT_EQ(negotiate_api_version("1.41"), "1.41");
}

TEST(ApiVersion, NoUsableEngineVersionMeansUnversionedPaths) {
  EXPECT_EQ(negotiate_api_version("", "1.43"), "");
  EXPECT_EQ(negotiate_api_version("1", "1.43"), "");
  EXPECT_EQ(negotiate_api_version("1.41/../x", "1.43"), "");
  EXPECT_EQ(negotiate_api_version("v1.41", "1.43"), "");
  EXPECT_EQ(negotiate_api_version("1.", "1.43"), "");
}

TEST(Filters, ParsedFromKeyValueArguments) {
  auto f = parse_filter_args({"label=com.amazonaws.ecs.container-name=web", "status=running",
                              "label=env", " Name = api "});
  ASSERT_TRUE(f);
  Filters want{{"label", {"com.amazonaws.ecs.container-name=web", "env"}},
               {"name", {"api"}},
               {"status", {"running"}}};
  EXPECT_EQ(f.value(), want);
}

TEST(Filters, WithoutKeyOrEqualsIsAUsageError) {
  for (const char* bad : {"label", "=x", ""}) {
    auto f = parse_filter_args({bad});
    ASSERT_FALSE(f) << bad;
    EXPECT_EQ(f.error().kind, ErrorKind::usage);
    EXPECT_NE(f.error().message.find("KEY=VALUE"), std::string::npos);
  }
  auto empty_value = parse_filter_args({"label="});
  ASSERT_TRUE(empty_value);
  EXPECT_EQ(empty_value.value().at("label"), std::vector<std::string>{""});
}

TEST(Filters, EncodedAsTheEngineExpects) {
  EXPECT_EQ(encode_filters({}), "{}");
  Filters f{{"status", {"running"}},
            {"label", {"com.amazonaws.ecs.container-name=web", "a=\"quoted\""}},
            {"ancestor", {"ecsh-test/busybox:1"}}};
  EXPECT_EQ(encode_filters(f), R"({"ancestor":["ecsh-test/busybox:1"],)"
                               R"("label":["com.amazonaws.ecs.container-name=web","a=\"quoted\""],)"
                               R"("status":["running"]})");
}

TEST(ContainerList, ParsesTheEngineAnswer) {
  const char* body = R"json([
    {"Id":"0123456789abcdef0123","Names":["/web-1","/other/alias"],"Image":"nginx:1",
     "State":"running","Status":"Up 3 minutes",
     "Labels":{"com.amazonaws.ecs.task-arn":"arn:aws:ecs:us-east-1:123456789012:task/prod/5f3c9e",
               "com.amazonaws.ecs.container-name":"web","n":"1"}},
    {"Id":"fedcba","Names":["/db"],"Image":"postgres","State":"exited","Status":"Exited (0)",
     "Labels":null}
  ])json";
  auto list = parse_container_list(body);
  ASSERT_TRUE(list);
  ASSERT_EQ(list.value().size(), 2u);
  const auto& a = list.value()[0];
  EXPECT_EQ(a.id, "0123456789abcdef0123");
  EXPECT_EQ(a.names, std::vector<std::string>{"web-1"});
  EXPECT_EQ(a.image, "nginx:1");
  EXPECT_EQ(a.state, "running");
  EXPECT_EQ(a.status, "Up 3 minutes");
  EXPECT_EQ(a.labels.size(), 3u);
  EXPECT_EQ(a.ecs_task_id(), "5f3c9e");
  EXPECT_EQ(a.ecs_container_name(), "web");
  const auto& b = list.value()[1];
  EXPECT_EQ(b.names, std::vector<std::string>{"db"});
  EXPECT_TRUE(b.labels.empty());
  EXPECT_EQ(b.ecs_task_id(), "");
  EXPECT_EQ(b.ecs_container_name(), "");
}

TEST(ContainerList, NotAnArrayIsAProtocolError) {
  auto r = parse_container_list(R"({"message":"x"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::protocol);
  EXPECT_FALSE(parse_container_list("not json"));
  auto empty = parse_container_list("[]");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty.value().empty());
}

TEST(EngineError, NoSuchContainerIsAUsageErrorWithTheEngineMessage) {
  Error e = engine_error(404, R"({"message":"No such container: nosuch"})");
  EXPECT_EQ(e.kind, ErrorKind::usage);
  EXPECT_EQ(e.message, "No such container: nosuch");
  EXPECT_NE(e.hint.find("ecsh docker ps"), std::string::npos);
  EXPECT_EQ(exit_code_for(e), 252);
}

TEST(EngineError, OtherMessagesAreShownAsIs) {
  Error e = engine_error(409, R"({"message":"Container 0123 is not running"})");
  EXPECT_EQ(e.kind, ErrorKind::service);
  EXPECT_EQ(e.message, "Container 0123 is not running");
  EXPECT_EQ(e.http_status, 409);
  Error plain = engine_error(500, "page not found\n");
  EXPECT_EQ(plain.message, "the Docker Engine answered HTTP 500: page not found");
  Error empty = engine_error(502, "");
  EXPECT_EQ(empty.message, "the Docker Engine answered HTTP 502");
  Error multi = engine_error(500, R"({"message":"line one\nline two"})");
  EXPECT_EQ(multi.message, "line one line two");
}

TEST(EngineError, UnreachableSaysWhatToDoOnOneLine) {
  Endpoint ep;
  ep.host = "unix:///tmp/none/docker.sock";
  ep.socket_path = "/tmp/none/docker.sock";
  Error e = unreachable_error(ep, "No such file or directory");
  EXPECT_EQ(e.kind, ErrorKind::connection);
  EXPECT_EQ(e.describe().find('\n'), std::string::npos);
  EXPECT_NE(e.message.find("unix:///tmp/none/docker.sock"), std::string::npos);
  EXPECT_NE(e.message.find("Is Docker running?"), std::string::npos);
  EXPECT_NE(e.message.find("DOCKER_HOST=unix:///path"), std::string::npos);
  EXPECT_NE(e.message.find("docker group"), std::string::npos);
}

TEST(ExecCreate, BodyCarriesTheConfig) {
  ExecConfig c;
  c.cmd = {"sh", "-c", "echo \"hi\""};
  EXPECT_EQ(exec_create_body(c, true),
            R"({"AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,)"
            R"("Cmd":["sh","-c","echo \"hi\""]})");
  c.attach_stdin = true;
  c.tty = true;
  c.env = {"A=1", "B=two words"};
  c.user = "1000:1000";
  c.working_dir = "/tmp";
  c.console_size = std::make_pair(40u, 120u);
  EXPECT_EQ(exec_create_body(c, false),
            R"({"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Tty":true,)"
            R"("Cmd":["sh","-c","echo \"hi\""],"Env":["A=1","B=two words"],"User":"1000:1000",)"
            R"("WorkingDir":"/tmp"})");
  EXPECT_NE(exec_create_body(c, true).find(R"("ConsoleSize":[40,120])"), std::string::npos);
}

TEST(ContainerList, AFieldOfTheWrongTypeIsAProtocolErrorNamingIt) {
  auto names = parse_container_list(R"([{"Id":"a","Names":["/web",7]}])");
  ASSERT_FALSE(names);
  EXPECT_EQ(names.error().kind, ErrorKind::protocol);
  EXPECT_EQ(names.error().message,
            "the Docker Engine's container list[0].Names[1] is an integer, not a string");
  auto labels = parse_container_list(R"([{"Id":"a"},{"Id":"b","Labels":{"n":1}}])");
  ASSERT_FALSE(labels);
  EXPECT_EQ(labels.error().message,
            "the Docker Engine's container list[1].Labels.n is an integer, not a string");
  auto item = parse_container_list(R"(["a"])");
  ASSERT_FALSE(item);
  EXPECT_EQ(item.error().message,
            "the Docker Engine's container list[0] is a string, not an object");
  // An error body of another shape is no reason to fail differently: the status line is used.
  Error e = engine_error(500, R"({"message":{"text":"x"}})");
  EXPECT_NE(e.message.find("HTTP 500"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace ecsh::docker
