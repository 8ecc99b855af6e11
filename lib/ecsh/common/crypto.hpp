#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ecsh::crypto {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::string_view data);

// SHA-256 over data given in pieces (a file read in blocks). One OpenSSL context, fetched once
// and reused after each finish().
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::string_view data);
  // The digest of everything given since the last finish(); the stream then starts over.
  Sha256 finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A file's checksum as coreutils prints it (lower-case hex): SHA-256 (sha256sum) or BLAKE2b-512
// (b2sum, about three times faster in software, which is what containers run). Given in pieces,
// like Sha256Stream.
enum class FileDigest { sha256, blake2b };
class FileDigestStream {
 public:
  explicit FileDigestStream(FileDigest kind);
  ~FileDigestStream();
  FileDigestStream(const FileDigestStream&) = delete;
  FileDigestStream& operator=(const FileDigestStream&) = delete;
  void update(std::string_view data);
  // Hex of everything given since the last finish(); the stream then starts over.
  std::string finish_hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Sha256 hmac_sha256(std::string_view key, std::string_view data);
// The digest as a std::string of 32 raw bytes (handy as the next HMAC key).
std::string sha256_raw(std::string_view data);
std::string hmac_sha256_raw(std::string_view key, std::string_view data);

std::string hex(std::span<const std::uint8_t> bytes);
std::string hex(std::string_view bytes);
std::string sha256_hex(std::string_view data);

std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding; whitespace is not accepted. nullopt on malformed input.
std::optional<std::string> base64_decode(std::string_view text);

// Cryptographically random bytes (OpenSSL RAND_bytes); aborts if the RNG fails.
std::string random_bytes(std::size_t n);
// A random UUIDv4, lowercase and hyphenated.
std::string uuid4();

// Constant-time comparison for secrets and signatures.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace ecsh::crypto
