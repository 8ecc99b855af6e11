// Invariant: any header value parses or is rejected; a parsed one has a 64-hex signature.
#include "ecsh/aws/sigv4.hpp"

#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto a =
      ecsh::aws::parse_authorization(std::string_view(reinterpret_cast<const char*>(data), size));
  if (a && a.value().signature.size() != 64) std::abort();
  return 0;
}
