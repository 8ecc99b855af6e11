#include "ecsh/session/ending.hpp"

#include "ecsh/common/strings.hpp"

namespace ecsh::session {

ClosedBy closed_by(std::string_view output) {
  std::string text = str::to_lower(output);
  auto has = [&text](std::string_view words) { return text.find(words) != std::string::npos; };
  if (has("maximum session duration") || has("max session duration") || has("maxsessionduration")) {
    return ClosedBy::max_duration;
  }
  if (has("inactivity") || (has("idle") && (has("timeout") || has("timed out")))) {
    return ClosedBy::idle_timeout;
  }
  return ClosedBy::peer;
}

}  // namespace ecsh::session
