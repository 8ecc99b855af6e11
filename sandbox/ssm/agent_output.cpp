#include "sandbox/ssm/agent_output.hpp"

#include <cstdint>

namespace ecsh::sandbox::ssm {
namespace {

// Go's utf8.DecodeRune: the rune's length, or 0 for RuneError (invalid, incomplete, or a valid
// U+FFFD, whose length is then in `size`).
struct Decoded {
  bool error = false;
  std::size_t size = 1;
};

Decoded decode(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<std::uint8_t>(s[i + k]); };
  const std::size_t left = s.size() - i;
  const std::uint8_t c0 = b(0);
  if (c0 < 0x80) return {false, 1};
  auto cont = [&](std::size_t k, std::uint8_t lo = 0x80, std::uint8_t hi = 0xBF) {
    return k < left && b(k) >= lo && b(k) <= hi;
  };
  if (c0 >= 0xC2 && c0 <= 0xDF) return cont(1) ? Decoded{false, 2} : Decoded{true, 1};
  if (c0 >= 0xE0 && c0 <= 0xEF) {
    std::uint8_t lo = c0 == 0xE0 ? 0xA0 : 0x80;
    std::uint8_t hi = c0 == 0xED ? 0x9F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2)) return {true, 1};
    // U+FFFD itself is RuneError to Go's decoder, with its full length.
    if (c0 == 0xEF && b(1) == 0xBF && b(2) == 0xBD) return {true, 3};
    return {false, 3};
  }
  if (c0 >= 0xF0 && c0 <= 0xF4) {
    std::uint8_t lo = c0 == 0xF0 ? 0x90 : 0x80;
    std::uint8_t hi = c0 == 0xF4 ? 0x8F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2) || !cont(3)) return {true, 1};
    return {false, 4};
  }
  return {true, 1};
}

}  // namespace

std::string AgentOutputFilter::feed(std::string_view chunk) {
  std::string buf = held_;
  buf.append(chunk);
  std::string out;
  out.reserve(buf.size());
  std::size_t i = 0;
  while (i < buf.size()) {
    Decoded d = decode(buf, i);
    if (d.error) {
      if (buf.size() - i < 4) break;  // utf8.UTFMax: hold back for the next read
      out.push_back(buf[i]);          // one byte written, the rune's length skipped
    } else {
      out.append(buf, i, d.size);
    }
    i += d.size;
  }
  held_ = buf.substr(i);
  return out;
}

}  // namespace ecsh::sandbox::ssm
