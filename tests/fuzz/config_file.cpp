// Invariant: any bytes give a parsed file or a config error naming the file; never a crash.
#include "ecsh/aws/config_file.hpp"

#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto f = ecsh::aws::parse_config_file(std::string_view(reinterpret_cast<const char*>(data), size),
                                        "fuzz-config");
  if (!f && f.error().message.find("fuzz-config") == std::string::npos) std::abort();
  return 0;
}
