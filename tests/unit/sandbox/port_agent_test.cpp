#include "sandbox/ssm/port_agent.hpp"

#include <gtest/gtest.h>

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
