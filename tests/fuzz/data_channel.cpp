// Feeds random event sequences into a client and an agent DataChannel wired together through a
// network the input controls (deliver any queued frame, duplicate it, drop it, let time pass,
// reconnect, pause the application), and raw or mutated frames into two more channels.
// Invariants: nothing crashes; each side's delivered bytes are a prefix of what the other side
// sent, in order, whatever the network did.
#include "ecsh/session/data_channel.hpp"

#include <cstdlib>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace ecsh::session;
using namespace std::chrono_literals;

struct Input {
  std::string_view data;
  std::size_t at = 0;
  bool empty() const { return at >= data.size(); }
  std::uint8_t byte() { return at < data.size() ? static_cast<std::uint8_t>(data[at++]) : 0; }
  std::string_view take(std::size_t n) {
    n = std::min(n, data.size() - std::min(at, data.size()));
    auto s = data.substr(at, n);
    at += n;
    return s;
  }
};

struct Peer {
  explicit Peer(DataChannel c) : channel(std::move(c)) {}
  DataChannel channel;
  std::string sent;      // bytes send_data accepted
  std::string received;  // Output bytes delivered
  std::deque<std::string> outbox;
  bool app_ready = true;
};

DataChannelOptions options() {
  DataChannelOptions o;
  o.max_unacked = 8;
  o.max_out_of_order = 8;
  o.client_waits_for_agent = false;
  o.created_date = [] { return std::uint64_t{1700000000000}; };
  std::uint64_t n = 0;
  o.new_message_id = [n]() mutable {
    ++n;
    std::string id = "00000000-0000-4000-8000-000000000000";
    for (std::size_t i = 0; i < 12; ++i) id[35 - i] = "0123456789abcdef"[(n >> (4 * i)) & 15];
    return id;
  };
  return o;
}

std::string data_key() {
  std::string key(64, '\0');
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<char>(i * 7 + 1);
  return key;
}

// The applications on both ends: they collect frames and bytes and, when a handshake runs,
// answer it the way ecsh and the sandbox do (KMS calls replaced by a known key).
struct World {
  Peer* client = nullptr;
  Peer* agent = nullptr;
  TimePoint now{};
  bool kms = false;

  void absorb(Peer& p, const Actions& a) {
    for (const auto& f : a.send) p.outbox.push_back(f);
    for (const auto& d : a.deliver) {
      if (d.payload_type == static_cast<std::uint32_t>(PayloadType::output)) p.received += d.data;
    }
    for (const auto& e : a.events) {
      if (&p == client && e.kind == EventKind::handshake_request && e.handshake_request) {
        std::optional<std::string> blob;
        if (kms && e.handshake_request->kms_encryption) {
          if (!p.channel.enable_encryption(data_key())) std::abort();
          blob = "blob";
        }
        auto r = p.channel.respond_handshake(answer_handshake(*e.handshake_request, blob), now);
        if (r) absorb(p, r.value());
      } else if (&p == agent && e.kind == EventKind::handshake_response) {
        if (kms) {
          if (!p.channel.enable_encryption(data_key())) std::abort();
          auto c = p.channel.send_challenge(now);
          if (!c) std::abort();
          absorb(p, c.value());
        } else {
          absorb(p, p.channel.complete_handshake("", now));
        }
      } else if (&p == agent && e.kind == EventKind::challenge_verified) {
        absorb(p, p.channel.complete_handshake("encrypted", now));
      }
    }
  }
};

void check_prefix(const std::string& received, const std::string& sent) {
  if (received.size() > sent.size() || sent.compare(0, received.size(), received) != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{std::string_view(reinterpret_cast<const char*>(data), size)};
  // setup bit 0: KMS encryption; bit 1: a handshake (the client then holds its input until
  // HandshakeComplete, as the real one does).
  const std::uint8_t setup = in.byte();
  const bool handshake = (setup & 2) != 0;
  auto client_options = options();
  client_options.client_waits_for_agent = handshake;
  Peer client(DataChannel(Role::client, client_options));
  Peer agent(DataChannel(Role::agent, options()));
  DataChannel victim_client(Role::client, options());
  DataChannel victim_agent(Role::agent, options());
  World world;
  world.client = &client;
  world.agent = &agent;
  world.now = TimePoint{std::chrono::milliseconds(1700000000000)};
  world.kms = (setup & 1) != 0;
  TimePoint& now = world.now;
  auto absorb = [&world](Peer& p, const Actions& a) { world.absorb(p, a); };

  if (world.kms) {
    if (!victim_client.enable_encryption(data_key()) ||
        !victim_agent.enable_encryption(data_key())) {
      std::abort();
    }
  }
  if (handshake) {
    HandshakeRequest request;
    request.agent_version = "3.3.40.0";
    SessionTypeAction st;
    st.session_type = "InteractiveCommands";
    request.session_type = st;
    if (world.kms) {
      KmsEncryptionAction k;
      k.kms_key_id = "key";
      k.challenge = "AAAA";
      request.kms_encryption = k;
    }
    absorb(agent, agent.channel.start_handshake(request, now));
  } else if (world.kms) {
    if (!client.channel.enable_encryption(data_key()) ||
        !agent.channel.enable_encryption(data_key())) {
      std::abort();
    }
  }
  std::size_t steps = 0;
  while (!in.empty() && ++steps < 4096) {
    const std::uint8_t op = in.byte();
    Peer& self = (op & 0x80) ? agent : client;
    Peer& other = (op & 0x80) ? client : agent;
    switch (op & 0x0f) {
      case 0: {  // the application writes n bytes (a known pattern)
        std::size_t n = std::size_t{in.byte()} * 16 + 1;
        std::string bytes(n, '\0');
        for (std::size_t i = 0; i < n; ++i) {
          bytes[i] = static_cast<char>((self.sent.size() + i) * 31 + ((op & 0x80) ? 7 : 3));
        }
        auto a = self.channel.send_data(PayloadType::output, bytes, now);
        if (a) {
          self.sent += bytes;
          absorb(self, a.value());
        }
        break;
      }
      case 1:    // deliver the k-th queued frame (reordering)
      case 2: {  // deliver it and keep a copy (duplication)
        if (self.outbox.empty()) break;
        std::size_t k = in.byte() % self.outbox.size();
        std::string frame = self.outbox[k];
        if ((op & 0x0f) == 1) self.outbox.erase(self.outbox.begin() + static_cast<long>(k));
        absorb(other, other.channel.on_frame(frame, now));
        break;
      }
      case 3: {  // drop the k-th queued frame
        if (self.outbox.empty()) break;
        std::size_t k = in.byte() % self.outbox.size();
        self.outbox.erase(self.outbox.begin() + static_cast<long>(k));
        break;
      }
      case 4:  // time passes, timers fire
        now += std::chrono::milliseconds(std::size_t{in.byte()} * 20);
        absorb(client, client.channel.on_timer(now));
        absorb(agent, agent.channel.on_timer(now));
        break;
      case 5:  // reconnect: whatever was in flight is lost, unacked frames are resent
        self.outbox.clear();
        other.outbox.clear();
        absorb(self, self.channel.resume(now));
        break;
      case 6:  // the application (pty) goes up or down
        self.app_ready = !self.app_ready;
        absorb(self, self.channel.set_application_ready(self.app_ready, now));
        break;
      case 7: {  // a raw frame from the input into the victims
        std::size_t n = std::size_t{in.byte()} << 8;
        n |= in.byte();
        auto raw = in.take(n);
        (void)victim_client.on_frame(raw, now);
        (void)victim_agent.on_frame(raw, now);
        break;
      }
      case 8: {  // a queued frame with one byte changed, into the victims
        if (self.outbox.empty()) break;
        std::string frame = self.outbox[in.byte() % self.outbox.size()];
        std::size_t pos = (std::size_t{in.byte()} << 8 | in.byte()) % frame.size();
        frame[pos] = static_cast<char>(frame[pos] ^ (in.byte() | 1));
        (void)victim_client.on_frame(frame, now);
        (void)victim_agent.on_frame(frame, now);
        (void)victim_client.on_timer(now);
        break;
      }
      case 9: {  // victims send and resume
        (void)victim_client.send_data(PayloadType::output, in.take(in.byte()), now);
        (void)victim_agent.send_data(PayloadType::size, in.take(in.byte()), now);
        (void)victim_agent.resume(now);
        break;
      }
      default:
        break;
    }
    check_prefix(client.received, agent.sent);
    check_prefix(agent.received, client.sent);
  }
  // Then the network heals: everything sent must arrive, whatever happened before.
  absorb(client, client.channel.set_application_ready(true, now));
  absorb(agent, agent.channel.set_application_ready(true, now));
  for (int round = 0; round < 200; ++round) {
    for (int hops = 0; hops < 100000 && (!client.outbox.empty() || !agent.outbox.empty()); ++hops) {
      Peer& from = client.outbox.empty() ? agent : client;
      Peer& to = client.outbox.empty() ? client : agent;
      std::string frame = std::move(from.outbox.front());
      from.outbox.pop_front();
      absorb(to, to.channel.on_frame(frame, now));
    }
    if (client.received == agent.sent && agent.received == client.sent &&
        client.channel.unacked() == 0 && agent.channel.unacked() == 0 &&
        client.channel.waiting() == 0 && agent.channel.waiting() == 0) {
      return 0;
    }
    now += 6s;
    absorb(client, client.channel.on_timer(now));
    absorb(agent, agent.channel.on_timer(now));
  }
  std::abort();  // stuck: a lost frame was never recovered
}
