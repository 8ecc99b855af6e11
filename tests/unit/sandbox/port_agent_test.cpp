#include "sandbox/ssm/port_agent.hpp"

#include <gtest/gtest.h>

#include <random>
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

// The agent's walk written plainly (Go's decoder rune by rune), to check the fast one against.
std::string reference(std::string& held, std::string_view chunk) {
  std::string buf = held + std::string(chunk), out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(buf[k]); };
  while (i < buf.size()) {
    std::size_t left = buf.size() - i, size = 1;
    bool error = true;
    unsigned char c = byte(i);
    auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
      return k < left && byte(i + k) >= lo && byte(i + k) <= hi;
    };
    if (c < 0x80) {
      error = false;
    } else if (c >= 0xC2 && c <= 0xDF && cont(1)) {
      error = false, size = 2;
    } else if (c >= 0xE0 && c <= 0xEF &&
               cont(1, c == 0xE0 ? 0xA0 : 0x80, c == 0xED ? 0x9F : 0xBF) && cont(2)) {
      size = 3;
      error = c == 0xEF && byte(i + 1) == 0xBF && byte(i + 2) == 0xBD;
    } else if (c >= 0xF0 && c <= 0xF4 &&
               cont(1, c == 0xF0 ? 0x90 : 0x80, c == 0xF4 ? 0x8F : 0xBF) && cont(2) && cont(3)) {
      error = false, size = 4;
    }
    if (error && left < 4) break;
    out.append(buf, i, error ? 1 : size);
    i += size;
  }
  held = buf.substr(i);
  return out;
}

TEST(SandboxAgentOutput, TheFastWalkIsTheAgentsWalk) {
  std::mt19937 rng(7);
  const std::string alphabet[] = {
      "a",    "\xef\xbf\xbd", "\xef", "\xbf",        "\xbd", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
      "\xff", "\xc3",         "\xa9", "\xed\xa0\x80"};
  for (int round = 0; round < 2000; ++round) {
    std::string input;
    int parts = static_cast<int>(rng() % 40);
    for (int k = 0; k < parts; ++k) input += alphabet[rng() % std::size(alphabet)];
    AgentOutputFilter fast;
    std::string held, want, got;
    for (std::size_t at = 0; at < input.size();) {
      std::size_t n = 1 + rng() % 9;
      std::string_view piece = std::string_view(input).substr(at, n);
      want += reference(held, piece);
      got += fast.feed(piece);
      at += n;
    }
    ASSERT_EQ(got, want) << "round " << round;
    ASSERT_EQ(fast.held(), held) << "round " << round;
  }
}

}  // namespace
}  // namespace ecsh::sandbox::ssm
