#include "ecsh/session/kms_crypto.hpp"

#include "ecsh/common/crypto.hpp"

#include <gtest/gtest.h>

using namespace ecsh;
using namespace ecsh::session;

namespace {

std::string data_key() {
  std::string k;
  for (int i = 0; i < 64; ++i) k += static_cast<char>(i);
  return k;
}

}  // namespace

// NIST GCM test cases 13 and 14 (256-bit zero key, zero IV, no AAD), framed the protocol's way:
// nonce || ciphertext || tag.
TEST(Gcm, MatchesNistVectors) {
  std::string key(32, '\0'), nonce(12, '\0');
  auto empty = gcm_seal(key, nonce, "");
  ASSERT_TRUE(empty);
  EXPECT_EQ(crypto::hex(empty.value()), crypto::hex(nonce) + "530f8afbc74536b9a963b4f1c4cb738b");
  auto block = gcm_seal(key, nonce, std::string(16, '\0'));
  ASSERT_TRUE(block);
  EXPECT_EQ(
      crypto::hex(block.value()),
      crypto::hex(nonce) + "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
  auto back = gcm_open(key, block.value());
  ASSERT_TRUE(back);
  EXPECT_EQ(back.value(), std::string(16, '\0'));
}

TEST(Gcm, RejectsTamperingShortInputAndWrongKey) {
  std::string key(32, 'k');
  auto sealed = gcm_seal(key, std::string(12, 'n'), "secret keystrokes");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed.value().size(), 17u + kSealOverhead);
  for (std::size_t i : {std::size_t{0}, std::size_t{12}, sealed.value().size() - 1}) {
    auto t = sealed.value();
    t[i] = static_cast<char>(t[i] ^ 1);
    EXPECT_FALSE(gcm_open(key, t)) << "byte " << i;
  }
  EXPECT_FALSE(gcm_open(key, sealed.value().substr(0, 27)));
  EXPECT_FALSE(gcm_open(std::string(32, 'x'), sealed.value()));
  EXPECT_FALSE(gcm_seal("short", std::string(12, 'n'), "x"));
}

TEST(SessionCipher, SplitsTheDataKeyByDirection) {
  auto client = SessionCipher::create(data_key(), Direction::client_to_agent);
  auto agent = SessionCipher::create(data_key(), Direction::agent_to_client);
  ASSERT_TRUE(client);
  ASSERT_TRUE(agent);
  // client -> agent is sealed with bytes 32..63, agent -> client with bytes 0..31.
  auto up = client.value().seal("ls\r");
  ASSERT_TRUE(up);
  auto by_hand = gcm_open(data_key().substr(32, 32), up.value());
  ASSERT_TRUE(by_hand);
  EXPECT_EQ(by_hand.value(), "ls\r");
  EXPECT_FALSE(gcm_open(data_key().substr(0, 32), up.value()));
  auto down = agent.value().seal("output");
  ASSERT_TRUE(down);
  EXPECT_EQ(gcm_open(data_key().substr(0, 32), down.value()).value(), "output");
  EXPECT_EQ(client.value().open(down.value()).value(), "output");
  EXPECT_EQ(agent.value().open(up.value()).value(), "ls\r");
  // The agent's nonces count up; the client's are random. Either way they never repeat.
  auto d2 = agent.value().seal("output");
  ASSERT_TRUE(d2);
  EXPECT_NE(down.value().substr(0, 12), d2.value().substr(0, 12));
  EXPECT_FALSE(SessionCipher::create(data_key().substr(0, 32), Direction::client_to_agent));
}

TEST(SessionCipher, EncryptsOnlyTheDocumentedPayloadTypes) {
  EXPECT_TRUE(is_encrypted_payload(Direction::client_to_agent, 1));
  for (std::uint32_t t : {0u, 3u, 5u, 6u, 9u, 10u, 11u, 12u}) {
    EXPECT_FALSE(is_encrypted_payload(Direction::client_to_agent, t)) << t;
  }
  for (std::uint32_t t : {1u, 11u, 12u}) {
    EXPECT_TRUE(is_encrypted_payload(Direction::agent_to_client, t)) << t;
  }
  for (std::uint32_t t : {0u, 3u, 5u, 7u, 8u, 10u}) {
    EXPECT_FALSE(is_encrypted_payload(Direction::agent_to_client, t)) << t;
  }
}
