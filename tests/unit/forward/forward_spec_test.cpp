#include "ecsh/forward/forward_spec.hpp"

#include "ecsh/common/version.hpp"

#include <gtest/gtest.h>

namespace ecsh::forward {
namespace {

ListenSpec parse_ok(std::string_view text) {
  auto r = parse_listen_spec(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().describe());
  return r ? r.value() : ListenSpec{};
}

TEST(ListenSpec, LocalAndContainerPort) {
  auto s = parse_ok("15432:5432");
  EXPECT_EQ(s.bind_host, "127.0.0.1");
  EXPECT_FALSE(s.bind_given);
  EXPECT_EQ(s.local_port, 15432);
  EXPECT_EQ(s.remote_host, "");
  EXPECT_EQ(s.remote_port, 5432);
  EXPECT_FALSE(binds_beyond_loopback(s));
  EXPECT_EQ(destination_of(s), "localhost:5432");
}

TEST(ListenSpec, ThreeFieldsNumericFirstIsLocalHostPort) {
  auto s = parse_ok("0:db.internal:5432");
  EXPECT_EQ(s.local_port, 0);
  EXPECT_EQ(s.remote_host, "db.internal");
  EXPECT_EQ(s.remote_port, 5432);
  EXPECT_EQ(destination_of(s), "db.internal:5432");
}

TEST(ListenSpec, ThreeFieldsAddressFirstIsBind) {
  auto s = parse_ok("0.0.0.0:8080:80");
  EXPECT_EQ(s.bind_host, "0.0.0.0");
  EXPECT_TRUE(s.bind_given);
  EXPECT_EQ(s.local_port, 8080);
  EXPECT_EQ(s.remote_host, "");
  EXPECT_EQ(s.remote_port, 80);
  EXPECT_TRUE(binds_beyond_loopback(s));
}

TEST(ListenSpec, FourFieldsAndBracketedIpv6) {
  auto s = parse_ok("[::1]:9000:[fd00::5]:443");
  EXPECT_EQ(s.bind_host, "::1");
  EXPECT_FALSE(binds_beyond_loopback(s));
  EXPECT_EQ(s.local_port, 9000);
  EXPECT_EQ(s.remote_host, "fd00::5");
  EXPECT_EQ(destination_of(s), "[fd00::5]:443");
  EXPECT_TRUE(binds_beyond_loopback(parse_ok("[::]:9000:db:443")));
  EXPECT_FALSE(binds_beyond_loopback(parse_ok("127.0.0.2:9000:80")));
}

TEST(ListenSpec, UnixSocket) {
  auto s = parse_ok("/tmp/pg.sock:5432");
  EXPECT_EQ(s.unix_path, "/tmp/pg.sock");
  EXPECT_EQ(s.remote_port, 5432);
  EXPECT_EQ(s.remote_host, "");
  auto r = parse_ok("/run/x/db.sock:db.internal:5432");
  EXPECT_EQ(r.unix_path, "/run/x/db.sock");
  EXPECT_EQ(r.remote_host, "db.internal");
  EXPECT_FALSE(binds_beyond_loopback(r));
}

TEST(ListenSpec, RejectsWhatIsNotASpecWithAUsageErrorAndHint) {
  for (const char* bad : {"8080", "70000:80", "80:0", "a:b:c:d:e", "x:80", ":80", "8080:",
                          "[::1]x:80:80", "0::80", "[::1:80:80", "/tmp/x.sock", "/tmp/x.sock:0"}) {
    auto r = parse_listen_spec(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::usage) << bad;
    EXPECT_NE(r.error().hint.find("-L [BIND:]LOCAL:PORT"), std::string::npos) << bad;
  }
}

TEST(PortDocument, ContainerPortOrRemoteHost) {
  auto d = port_document(parse_ok("0:5432"));
  EXPECT_EQ(d.name, "AWS-StartPortForwardingSession");
  EXPECT_EQ(d.parameters["portNumber"], std::vector<std::string>{"5432"});
  EXPECT_EQ(d.parameters["localPortNumber"], std::vector<std::string>{"0"});
  EXPECT_EQ(d.parameters.count("host"), 0u);
  auto r = port_document(parse_ok("15432:db.internal:5432"));
  EXPECT_EQ(r.name, "AWS-StartPortForwardingSessionToRemoteHost");
  EXPECT_EQ(r.parameters["host"], std::vector<std::string>{"db.internal"});
  EXPECT_EQ(r.parameters["localPortNumber"], std::vector<std::string>{"15432"});
}

TEST(GroupByDestination, SameDestinationSharesOneSession) {
  std::vector<ListenSpec> specs{parse_ok("0:80"), parse_ok("0:db:5432"), parse_ok("1.2.3.4:0:80"),
                                parse_ok("/tmp/a.sock:80"), parse_ok("0:db:5433")};
  auto groups = group_by_destination(specs);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0], (std::vector<std::size_t>{0, 2, 3}));
  EXPECT_EQ(groups[1], (std::vector<std::size_t>{1}));
  EXPECT_EQ(groups[2], (std::vector<std::size_t>{4}));
}

TEST(PortMode, ThePluginsRule) {
  EXPECT_EQ(client_port_mode("LocalPortForwarding", "3.3.40.0"), PortMode::mux);
  EXPECT_EQ(client_port_mode("LocalPortForwarding", "3.0.196.0"), PortMode::basic);  // not newer
  EXPECT_EQ(client_port_mode("LocalPortForwarding", "3.0.196.1"), PortMode::mux);
  EXPECT_EQ(client_port_mode("LocalPortForwarding", "2.3.1644.0"), PortMode::basic);
  // A version with another number of parts, or one that does not parse, is not newer.
  EXPECT_EQ(client_port_mode("LocalPortForwarding", "3.3.40"), PortMode::basic);
  EXPECT_EQ(client_port_mode("LocalPortForwarding", "3.x.40.0"), PortMode::basic);
  EXPECT_EQ(client_port_mode("", "3.3.40.0"), PortMode::basic);  // SSH: stdin/stdout
  EXPECT_TRUE(plugin_version_newer("2.3.723.0", "2.3.722.0"));
  EXPECT_FALSE(plugin_version_newer("2.3.722.0", "2.3.722.0"));
  EXPECT_TRUE(plugin_version_newer("10.0.0.0", "9.9.9.9"));  // numbers, not text
}

TEST(PortProperties, ParsedFromTheHandshake) {
  auto p = parse_port_properties(
      R"({"host":"db","localPortNumber":"0","portNumber":"5432","type":"LocalPortForwarding"})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p.value().host, "db");
  EXPECT_EQ(p.value().port_number, "5432");
  EXPECT_EQ(p.value().local_port_number, "0");
  EXPECT_EQ(p.value().type, "LocalPortForwarding");
  EXPECT_FALSE(parse_port_properties("null"));
  EXPECT_FALSE(parse_port_properties(R"({"type":"LocalPortForwarding"})"));
  EXPECT_EQ(parse_port_properties("{not json").error().kind, ErrorKind::protocol);
}

}  // namespace
}  // namespace ecsh::forward
