#include "sandbox/ssm/agent_output.hpp"

#include <cstdint>
#include <cstring>

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
  // Every byte that is not a continuation byte (80-BF) is where a rune starts in the agent's
  // walk (a valid rune or a U+FFFD holds only continuation bytes after its first). Up to the
  // last such position at least 4 bytes from the end, the walk's only change is EF BF BD -> EF:
  // done in bulk. The rest is walked rune by rune as the agent does.
  std::size_t bulk_end = 0;
  if (buf.size() > 4) {
    std::size_t p = buf.size() - 4;
    while (p > 0 && (static_cast<std::uint8_t>(buf[p]) & 0xC0) == 0x80) --p;
    bulk_end = p;
  }
  std::size_t i = 0;
  while (i < bulk_end) {
    std::size_t k = buf.find("\xef\xbf\xbd", i);
    if (k == std::string::npos || k >= bulk_end) {
      out.append(buf, i, bulk_end - i);
      i = bulk_end;
      break;
    }
    out.append(buf, i, k - i + 1);  // up to and with EF
    i = k + 3;
  }
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

CanonicalInput::Out CanonicalInput::feed(std::string_view bytes) {
  Out out;
  out.end_of_file = feed_into(bytes, out.data);
  return out;
}

bool CanonicalInput::feed_into(std::string_view bytes, std::string& out) {
  // This runs over every byte of a benchmark's input, where (random bytes, escaped) one byte in
  // eight is a ^V: a branch on it would be mispredicted that often. Every byte is stored and the
  // output pointer moves past it unless it was an unescaped ^V; only an unescaped ^D (rare: one
  // per line handed over) branches.
  const std::size_t start = out.size();
  out.resize(start + bytes.size());
  char* p = out.data() + start;
  bool end_of_file = false;
  unsigned literal = literal_next_ ? 1 : 0;
  unsigned line_empty = line_empty_ ? 1 : 0;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    const unsigned plain = literal ^ 1U;
    if ((static_cast<unsigned>(c == 0x04) & plain) != 0) [[unlikely]] {
      if (line_empty != 0) {  // ^D on an empty line: end of file
        end_of_file = true;
        break;
      }
      line_empty = 1;  // ^D: the line so far is handed over, adding nothing
      continue;
    }
    const unsigned next_literal = static_cast<unsigned>(c == 0x16) & plain;
    const unsigned emitted = next_literal ^ 1U;
    *p = ch;
    p += emitted;
    // After a byte written: whether it was an unescaped newline; after a ^V: unchanged.
    const unsigned newline = static_cast<unsigned>(c == '\n') & plain;
    line_empty = (line_empty & next_literal) | (newline & emitted);
    literal = next_literal;
  }
  literal_next_ = literal != 0;
  line_empty_ = line_empty != 0;
  out.resize(static_cast<std::size_t>(p - out.data()));
  return end_of_file;
}

}  // namespace ecsh::sandbox::ssm
