#include "sandbox/ssm/port_agent.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ecsh::sandbox::ssm {
namespace {

PortProperties local_forwarding() {
  PortProperties p;
  p.port_number = "80";
  p.type = "LocalPortForwarding";
  return p;
}

// The agent's rule (agent `port.go`): mux iff LocalPortForwarding and ClientVersion >= 1.1.70.
TEST(SandboxPortAgent, ChoosesMuxAsTheAgentDoes) {
  EXPECT_EQ(choose_port_mode(local_forwarding(), "1.2.677.0"), PortMode::mux);
  EXPECT_EQ(choose_port_mode(local_forwarding(), "1.1.70"), PortMode::mux);
  EXPECT_EQ(choose_port_mode(local_forwarding(), "1.1.70.0"), PortMode::mux);
  EXPECT_EQ(choose_port_mode(local_forwarding(), "1.1.69.9"), PortMode::basic);
  EXPECT_EQ(choose_port_mode(local_forwarding(), "1.0.999"), PortMode::basic);
  EXPECT_EQ(choose_port_mode(local_forwarding(), "1.10.0"), PortMode::mux);  // numbers, not text
  PortProperties ssh = local_forwarding();
  ssh.type = "";
  EXPECT_EQ(choose_port_mode(ssh, "1.2.677.0"), PortMode::basic);
}

}  // namespace
}  // namespace ecsh::sandbox::ssm

#include "sandbox/ssm/agent_output.hpp"

namespace ecsh::sandbox::ssm {
namespace {

std::string through_agent(const std::vector<std::string>& chunks, std::string* held = nullptr) {
  AgentOutputFilter f;
  std::string out;
  for (const auto& c : chunks) out += f.feed(c);
  if (held) *held = f.held();
  return out;
}

TEST(SandboxAgentOutput, PassesTextAndInvalidBytesButLosesTwoBytesOfEachUFFFD) {
  const std::string tail = "0123456789";  // enough that nothing is held at the end
  EXPECT_EQ(through_agent({"plain \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" + tail}),
            "plain \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" + tail);
  EXPECT_EQ(through_agent({std::string("\xff\xfe\x80\xc0\xaf\xed\xa0\x80") + tail}),
            std::string("\xff\xfe\x80\xc0\xaf\xed\xa0\x80") + tail);  // invalid: byte by byte
  EXPECT_EQ(through_agent({"a\xef\xbf\xbd"
                           "b" +
                           tail}),
            "a\xef"
            "b" +
                tail);
  EXPECT_EQ(through_agent({"\xef\xbf\xbd\xef\xbf\xbd" + tail}), "\xef\xef" + tail);
}

TEST(SandboxAgentOutput, RunesCutByReadsAreJoinedAndTheLastBytesHeld) {
  // A rune cut across reads arrives whole.
  EXPECT_EQ(through_agent({"x\xe2\x82",
                           "\xac"
                           "0123"}),
            "x\xe2\x82\xac"
            "0123");
  // An incomplete or invalid sequence in the last 3 bytes waits; at the end it is never sent.
  std::string held;
  EXPECT_EQ(through_agent({"end\xe2\x82"}, &held), "end");
  EXPECT_EQ(held, "\xe2\x82");
  EXPECT_EQ(through_agent({"end\xff"}, &held), "end");
  EXPECT_EQ(held, "\xff");
  EXPECT_EQ(through_agent({"end\xef\xbf\xbd"}, &held), "end");
  EXPECT_EQ(held, "\xef\xbf\xbd");
}

}  // namespace
}  // namespace ecsh::sandbox::ssm
