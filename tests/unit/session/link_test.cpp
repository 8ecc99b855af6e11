// A client and an agent DataChannel wired through a simulated network that loses, duplicates
// and reorders frames (seeded PRNG, simulated time: no sockets, no sleeps). 1 MiB goes each way
// and must arrive identical, with and without KMS encryption.
#include "ecsh/session/data_channel.hpp"

#include "ecsh/common/crypto.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>

using namespace ecsh;
using namespace ecsh::session;
using namespace std::chrono_literals;

namespace {

struct LinkProfile {
  double loss = 0;
  double duplicate = 0;
  int min_delay_ms = 1;
  int max_delay_ms = 1;
};

struct Side {
  explicit Side(DataChannel c) : channel(std::move(c)) {}
  DataChannel channel;
  std::string to_send;
  std::size_t offset = 0;
  std::string received;
  std::optional<TimePoint> wake;
  bool backpressure = false;
  int rejected = 0;
  std::size_t frames_sent = 0;
  std::size_t backpressured = 0;
  std::string handshake_message;
};

class Link {
 public:
  Link(LinkProfile profile, std::uint32_t seed, DataChannelOptions options)
      : profile_(profile),
        rng_(seed),
        sides_{Side(DataChannel(Role::client, options)), Side(DataChannel(Role::agent, options))} {}

  Side& client() { return sides_[0]; }
  Side& agent() { return sides_[1]; }

  void apply(int from, const Actions& a) {
    Side& s = sides_[from];
    for (const auto& f : a.send) {
      ++s.frames_sent;
      transmit(1 - from, f);
    }
    for (const auto& d : a.deliver) {
      if (d.payload_type == static_cast<std::uint32_t>(PayloadType::output)) s.received += d.data;
    }
    // State first: the handlers below may call the channel again, and the newest Actions win.
    s.wake = a.wake_at;
    s.backpressure = a.backpressure;
    if (a.backpressure) ++s.backpressured;
    for (const auto& e : a.events) handle(from, e);
  }

  // What ecsh (client) and the sandbox (agent) do on handshake events; the KMS calls are
  // replaced by a known data key.
  void handle(int from, const Event& e) {
    Side& s = sides_[from];
    if (e.kind == EventKind::rejected) ++s.rejected;
    if (e.kind == EventKind::handshake_complete) s.handshake_message = e.text;
    if (from == 0 && e.kind == EventKind::handshake_request) {
      std::optional<std::string> blob;
      if (e.handshake_request->kms_encryption && kms_key) {
        EXPECT_TRUE(s.channel.enable_encryption(*kms_key));
        blob = "kms-ciphertext-blob";
      }
      auto r = s.channel.respond_handshake(answer_handshake(*e.handshake_request, blob), now_);
      ASSERT_TRUE(r);
      apply(0, r.value());
    }
    if (from == 1 && e.kind == EventKind::handshake_response) {
      if (e.handshake_response->kms_ciphertext_key && kms_key) {
        EXPECT_EQ(*e.handshake_response->kms_ciphertext_key, "kms-ciphertext-blob");
        EXPECT_TRUE(s.channel.enable_encryption(*kms_key));
        auto c = s.channel.send_challenge(now_);
        ASSERT_TRUE(c);
        apply(1, c.value());
      } else {
        apply(1, s.channel.complete_handshake("", now_));
      }
    }
    if (from == 1 && e.kind == EventKind::challenge_verified) {
      apply(1, s.channel.complete_handshake("This session is encrypted using AWS KMS.", now_));
    }
  }

  void start_handshake(TimePoint at, const HandshakeRequest& request) {
    now_ = at;
    apply(1, agent().channel.start_handshake(request, now_));
  }

  std::optional<std::string> kms_key;
  std::size_t largest_output_payload = 0;

  // Runs until both sides have delivered everything or the simulated time runs out.
  bool run(TimePoint start, std::chrono::seconds limit) {
    now_ = start;
    const TimePoint end = start + limit;
    while (now_ < end) {
      for (int i = 0; i < 2; ++i) {
        Side& s = sides_[i];
        // The application reads input only while there is no backpressure, 1 KiB at a time.
        int reads = 0;
        while (!s.backpressure && s.offset < s.to_send.size() && reads++ < 16) {
          auto chunk = std::string_view(s.to_send).substr(s.offset, 1024);
          auto a = s.channel.send_data(PayloadType::output, chunk, now_);
          if (!a) return false;
          s.offset += chunk.size();
          apply(i, a.value());
        }
      }
      while (!network_.empty() && network_.begin()->first <= now_) {
        auto [to, frame] = network_.begin()->second;
        network_.erase(network_.begin());
        apply(to, sides_[to].channel.on_frame(frame, now_));
      }
      for (int i = 0; i < 2; ++i) {
        if (sides_[i].wake && *sides_[i].wake <= now_) apply(i, sides_[i].channel.on_timer(now_));
      }
      if (client().received.size() == agent().to_send.size() &&
          agent().received.size() == client().to_send.size() && client().channel.unacked() == 0 &&
          agent().channel.unacked() == 0) {
        return true;
      }
      now_ += 1ms;
    }
    return false;
  }

  void transmit(int to, const std::string& frame) {
    if (auto m = try_decode(frame); m && m.value().payload_type == 1) {
      largest_output_payload = std::max(largest_output_payload, m.value().payload.size());
    }
    std::uniform_real_distribution<double> u(0, 1);
    if (u(rng_) < profile_.loss) return;
    int copies = u(rng_) < profile_.duplicate ? 2 : 1;
    std::uniform_int_distribution<int> delay(profile_.min_delay_ms, profile_.max_delay_ms);
    for (int c = 0; c < copies; ++c) {
      network_.emplace(now_ + std::chrono::milliseconds(delay(rng_)), std::make_pair(to, frame));
    }
  }

  TimePoint now() const { return now_; }

 private:
  LinkProfile profile_;
  std::mt19937 rng_;
  std::array<Side, 2> sides_;
  std::multimap<TimePoint, std::pair<int, std::string>> network_;
  TimePoint now_{};
};

std::string pattern(std::size_t n, std::uint32_t seed) {
  std::mt19937 r(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(r());
  return s;
}

const TimePoint t0{std::chrono::milliseconds(1700000000000)};
constexpr std::size_t kMiB = 1024 * 1024;

DataChannelOptions link_options() {
  DataChannelOptions o;
  o.max_unacked = 256;  // small enough that backpressure happens
  o.client_waits_for_agent = false;
  return o;
}

void expect_transfer(Link& link, std::chrono::seconds limit) {
  link.client().to_send = pattern(kMiB, 1);
  link.agent().to_send = pattern(kMiB, 2);
  ASSERT_TRUE(link.run(link.now() == TimePoint{} ? t0 : link.now(), limit))
      << "client got " << link.client().received.size() << ", agent got "
      << link.agent().received.size();
  EXPECT_TRUE(link.client().received == link.agent().to_send);
  EXPECT_TRUE(link.agent().received == link.client().to_send);
  EXPECT_EQ(link.client().rejected, 0);
  EXPECT_EQ(link.agent().rejected, 0);
}

}  // namespace

TEST(DataChannelLink, CleanLinkMovesAMebibyteEachWay) {
  LinkProfile clean;
  clean.min_delay_ms = 10;
  clean.max_delay_ms = 10;
  Link link(clean, 7, link_options());
  expect_transfer(link, 120s);
  // No loss: nothing was resent (1024 data frames and 1024 acks each way, give or take).
  EXPECT_LE(link.client().frames_sent, 2 * 1024u + 8);
}

TEST(DataChannelLink, LossyDuplicatingReorderingLinkStillDeliversIdenticalBytes) {
  LinkProfile bad;
  bad.loss = 0.1;
  bad.duplicate = 0.05;
  bad.min_delay_ms = 5;
  bad.max_delay_ms = 80;  // frames overtake each other
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    Link link(bad, seed, link_options());
    expect_transfer(link, 1800s);
    // The link really was hostile: frames were resent and the window filled up.
    EXPECT_GT(link.client().frames_sent, 2 * 1024u + 50);
    EXPECT_GT(link.client().backpressured, 0u);
    std::printf("seed %u: %zu client frames, %zu agent frames, %lld ms simulated\n", seed,
                link.client().frames_sent, link.agent().frames_sent,
                static_cast<long long>((link.now() - t0) / 1ms));
  }
}

TEST(DataChannelLink, KmsHandshakeThenEncryptedTransferOverALossyLink) {
  LinkProfile bad;
  bad.loss = 0.05;
  bad.duplicate = 0.05;
  bad.min_delay_ms = 5;
  bad.max_delay_ms = 40;
  auto options = link_options();
  options.client_waits_for_agent = true;  // the real client: no input before the agent speaks
  Link link(bad, 11, options);
  link.kms_key = crypto::random_bytes(64);
  HandshakeRequest request;
  request.agent_version = "3.3.40.0";
  SessionTypeAction st;
  st.session_type = "InteractiveCommands";
  request.session_type = st;
  KmsEncryptionAction kms;
  kms.kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/k";
  kms.challenge = crypto::base64_encode(crypto::random_bytes(16));
  request.kms_encryption = kms;
  link.start_handshake(t0, request);
  // Both applications start writing at once; the channels hold the data until the handshake
  // is complete, so none of it is thrown away by the agent or sent in clear.
  expect_transfer(link, 1800s);
  EXPECT_EQ(link.client().handshake_message, "This session is encrypted using AWS KMS.");
  EXPECT_TRUE(link.client().channel.encrypted());
  EXPECT_EQ(link.largest_output_payload, 1024u + kSealOverhead);
}
