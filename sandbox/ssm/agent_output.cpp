#include "sandbox/ssm/agent_output.hpp"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
  // nine is a ^V. Ordinary bytes are copied 16 at a time (SSE2: the ^V or ^D that ends a run is
  // found with two compares and a mask; the block is stored whole and the output moves past the
  // run only); a ^V, a ^D and the escaped byte are handled one at a time.
  const std::size_t start = out.size();
  out.resize(start + bytes.size());
  char* p = out.data() + start;
  const char* in = bytes.data();
  const char* const end = in + bytes.size();
  while (in < end) {
    if (literal_next_) {
      literal_next_ = false;
      line_empty_ = false;
      *p++ = *in++;
      continue;
    }
    const char* run = in;
    char* q = p;
#if defined(__SSE2__)
    // The output never runs ahead of the input, so a 16-byte store where 16 bytes remain to be
    // read stays inside `out`.
    const __m128i literal_next = _mm_set1_epi8(0x16);
    const __m128i end_of_file = _mm_set1_epi8(0x04);
    while (end - run >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(run));
      const auto special = static_cast<unsigned>(_mm_movemask_epi8(
          _mm_or_si128(_mm_cmpeq_epi8(v, literal_next), _mm_cmpeq_epi8(v, end_of_file))));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q), v);
      const unsigned n = special == 0 ? 16U : static_cast<unsigned>(__builtin_ctz(special));
      run += n;
      q += n;
      if (special != 0) break;
    }
#endif
    while (run < end && *run != '\x16' && *run != '\x04') *q++ = *run++;  // fewer than 16 left
    if (run > in) {
      p = q;
      line_empty_ = run[-1] == '\n';
      in = run;
      continue;
    }
    if (*in++ == '\x16') {
      literal_next_ = true;
    } else if (line_empty_) {  // ^D on an empty line: end of file
      out.resize(static_cast<std::size_t>(p - out.data()));
      return true;
    } else {  // ^D: the line so far is handed over, adding nothing
      line_empty_ = true;
    }
  }
  out.resize(static_cast<std::size_t>(p - out.data()));
  return false;
}

}  // namespace ecsh::sandbox::ssm
