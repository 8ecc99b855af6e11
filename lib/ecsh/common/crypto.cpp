#include "ecsh/common/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

namespace ecsh::crypto {

namespace {

// OpenSSL 3 looks the algorithm up in its provider on every EVP_Digest (locks and name
// comparisons): a cost per data-channel message. It is fetched once per process.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md ? md : EVP_sha256();
}

}  // namespace

struct Sha256Stream::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool started = false;
  ~Impl() { EVP_MD_CTX_free(ctx); }
  void start() {
    if (!started) EVP_DigestInit_ex2(ctx, sha256_md(), nullptr);
    started = true;
  }
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {}
Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::update(std::string_view data) {
  impl_->start();
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

Sha256 Sha256Stream::finish() {
  impl_->start();
  Sha256 out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  impl_->started = false;
  return out;
}

struct FileDigestStream::Impl {
  const EVP_MD* md = nullptr;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool started = false;
  ~Impl() { EVP_MD_CTX_free(ctx); }
  void start() {
    if (!started) EVP_DigestInit_ex2(ctx, md, nullptr);
    started = true;
  }
};

FileDigestStream::FileDigestStream(FileDigest kind) : impl_(std::make_unique<Impl>()) {
  if (kind == FileDigest::sha256) {
    impl_->md = sha256_md();
  } else {
    static EVP_MD* blake2b = EVP_MD_fetch(nullptr, "BLAKE2B-512", nullptr);
    impl_->md = blake2b ? blake2b : EVP_blake2b512();
  }
}
FileDigestStream::~FileDigestStream() = default;

void FileDigestStream::update(std::string_view data) {
  impl_->start();
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

std::string FileDigestStream::finish_hex() {
  impl_->start();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  impl_->started = false;
  return hex(std::span<const std::uint8_t>(out, len));
}

Sha256 sha256(std::string_view data) {
  // One context per thread is reused: this runs for every data-channel message.
  thread_local Sha256Stream stream;
  stream.update(data);
  return stream.finish();
}

Sha256 hmac_sha256(std::string_view key, std::string_view data) {
  Sha256 out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

std::string sha256_raw(std::string_view data) {
  auto d = sha256(data);
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string hmac_sha256_raw(std::string_view key, std::string_view data) {
  auto d = hmac_sha256(key, data);
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xf];
  }
  return out;
}

std::string hex(std::string_view bytes) {
  return hex(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::string sha256_hex(std::string_view data) { return hex(sha256(data)); }

std::string base64_encode(std::string_view bytes) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (bytes.size() - i == 1) {
    std::uint32_t v = byte(i) << 16;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (bytes.size() - i == 2) {
    std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=') {
        // Padding only in the last quantum, only in its last two places, and only at the end.
        if (i + 4 != text.size() || k < 2) return std::nullopt;
        ++pad;
        v[k] = 0;
      } else {
        if (pad) return std::nullopt;
        v[k] = value(c);
        if (v[k] < 0) return std::nullopt;
      }
    }
    std::uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // no usable RNG: nothing safe to do
  }
  return out;
}

std::string uuid4() {
  // One per data-channel message: random bytes are drawn 4 KiB at a time per thread (RAND_bytes
  // costs a lookup and locks per call), and the text is formatted in place.
  thread_local std::string pool;
  thread_local std::size_t used = 0;
  if (used + 16 > pool.size()) {
    pool = random_bytes(4096);
    used = 0;
  }
  unsigned char b[16];
  std::memcpy(b, pool.data() + used, 16);
  used += 16;
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++pos;  // the dashes
    out[pos++] = digits[b[i] >> 4];
    out[pos++] = digits[b[i] & 0x0f];
  }
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ecsh::crypto
