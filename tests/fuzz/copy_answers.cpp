// What `ecsh cp` reads from a container: the probe's answer and the checksum lines (b2sum,
// sha256sum), as a shell or an attacker in the container may write them, and the printf formats it
// sends. Invariants: nothing crashes; a parsed probe has exactly the entries asked for, each type
// one character; every checksum parsed is 64 or 128 hex digits; printf_format is plain ASCII
// without quotes or '%', does not start with '-', and decodes (octal escapes) back to its input.
#include "ecsh/copy/copy_spec.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

std::string decode_format(std::string_view f) {
  std::string out;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\\' && i + 3 < f.size()) {
      int v = (f[i + 1] - '0') * 64 + (f[i + 2] - '0') * 8 + (f[i + 3] - '0');
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(f[i]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::size_t paths = size ? data[0] % 8 : 0;
  auto probe = ecsh::copy::parse_probe(in, paths);
  if (probe && probe.value().entries.size() != paths) std::abort();
  for (const auto& [hash, name] : ecsh::copy::parse_checksum_lines(in)) {
    if (hash.size() != 64 && hash.size() != 128) std::abort();
    for (char c : hash) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) std::abort();
    }
  }
  std::string format = ecsh::copy::printf_format(in);
  if (!format.empty() && format[0] == '-') std::abort();
  for (char c : format) {
    if (c < 0x21 || c > 0x7e || c == '\'' || c == '"' || c == '%') std::abort();
  }
  if (decode_format(format) != in) std::abort();
  (void)ecsh::copy::base_name(in);
  (void)ecsh::copy::parse_operand(in);
  return 0;
}
