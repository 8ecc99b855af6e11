#include "ecsh/session/kms_crypto.hpp"

#include "ecsh/common/crypto.hpp"

#include <openssl/evp.h>

#include <memory>

namespace ecsh::session {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

bool is_encrypted_payload(Direction direction, std::uint32_t payload_type) {
  if (direction == Direction::client_to_agent) return payload_type == 1;
  return payload_type == 1 || payload_type == 11 || payload_type == 12;
}

Result<std::string> gcm_seal(std::string_view key, std::string_view nonce,
                             std::string_view plaintext) {
  if (key.size() != 32 || nonce.size() != kGcmNonceLength) {
    return Error::internal("AES-256-GCM needs a 32-byte key and a 12-byte nonce");
  }
  Ctx ctx(EVP_CIPHER_CTX_new());
  std::string out(nonce);
  out.resize(kGcmNonceLength + plaintext.size() + kGcmTagLength);
  auto* ct = reinterpret_cast<unsigned char*>(out.data()) + kGcmNonceLength;
  int len = 0;
  int total = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return Error::internal("AES-256-GCM encryption failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), ct + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagLength),
                          ct + plaintext.size()) != 1) {
    return Error::internal("AES-256-GCM encryption failed");
  }
  return out;
}

Result<std::string> gcm_open(std::string_view key, std::string_view sealed) {
  if (key.size() != 32) return Error::internal("AES-256-GCM needs a 32-byte key");
  if (sealed.size() < kSealOverhead) {
    return Error::protocol("encrypted payload of " + std::to_string(sealed.size()) +
                           " bytes is shorter than its nonce and tag");
  }
  auto nonce = sealed.substr(0, kGcmNonceLength);
  auto ct = sealed.substr(kGcmNonceLength, sealed.size() - kSealOverhead);
  std::string tag(sealed.substr(sealed.size() - kGcmTagLength));
  Ctx ctx(EVP_CIPHER_CTX_new());
  std::string out(ct.size(), '\0');
  auto* pt = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), pt, &len, bytes(ct), static_cast<int>(ct.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagLength),
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), pt + len, &len) != 1) {
    return Error::protocol("encrypted payload fails authentication (tampered, or the wrong key)");
  }
  return out;
}

Result<SessionCipher> SessionCipher::create(std::string_view key, Direction outgoing) {
  if (key.size() != kDataKeyLength) {
    return Error::protocol("KMS data key is " + std::to_string(key.size()) + " bytes, not " +
                           std::to_string(kDataKeyLength));
  }
  SessionCipher c;
  c.outgoing_ = outgoing;
  std::string agent_key(key.substr(0, 32));
  std::string client_key(key.substr(32, 32));
  c.out_key_ = outgoing == Direction::agent_to_client ? agent_key : client_key;
  c.in_key_ = outgoing == Direction::agent_to_client ? client_key : agent_key;
  auto start = crypto::random_bytes(12);
  for (std::size_t i = 0; i < 8; ++i)
    c.counter_ = (c.counter_ << 8) | static_cast<std::uint8_t>(start[i]);
  for (std::size_t i = 8; i < 12; ++i) {
    c.counter_high_ = (c.counter_high_ << 8) | static_cast<std::uint8_t>(start[i]);
  }
  return c;
}

std::string SessionCipher::next_nonce() {
  if (outgoing_ == Direction::client_to_agent) return crypto::random_bytes(kGcmNonceLength);
  std::string n(kGcmNonceLength, '\0');
  for (std::size_t i = 0; i < 4; ++i) n[i] = static_cast<char>(counter_high_ >> (24 - 8 * i));
  for (std::size_t i = 0; i < 8; ++i) n[4 + i] = static_cast<char>(counter_ >> (56 - 8 * i));
  if (++counter_ == 0) ++counter_high_;
  return n;
}

Result<std::string> SessionCipher::seal(std::string_view plaintext) {
  return gcm_seal(out_key_, next_nonce(), plaintext);
}
Result<std::string> SessionCipher::open(std::string_view sealed) const {
  return gcm_open(in_key_, sealed);
}
}  // namespace ecsh::session
