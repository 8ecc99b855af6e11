// Invariants: decoding never crashes; a frame that decodes re-encodes to a frame that decodes to
// the same message (our encoder writes what our decoder reads).
#include "ecsh/session/message.hpp"

#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  auto m = ecsh::session::try_decode(frame);
  if (!m) return 0;
  auto again = ecsh::session::try_decode(ecsh::session::encode(m.value()));
  if (!again || again.value().payload != m.value().payload ||
      again.value().sequence_number != m.value().sequence_number ||
      again.value().message_id != m.value().message_id ||
      again.value().message_type != m.value().message_type.substr(0, 32)) {
    std::abort();
  }
  if (m.value().message_type == "acknowledge") {
    (void)ecsh::session::try_parse_acknowledgement(m.value().payload);
  }
  return 0;
}
