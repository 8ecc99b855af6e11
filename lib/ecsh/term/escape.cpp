#include "ecsh/term/escape.hpp"

namespace ecsh::term {
namespace {
constexpr char kEscape = '~';
bool is_newline(char c) { return c == '\r' || c == '\n'; }
}  // namespace

EscapeOutput EscapeFilter::feed(std::string_view bytes) {
  EscapeOutput out;
  if (disconnected_) return out;
  if (!enabled_) {
    out.send.assign(bytes);
    return out;
  }
  out.send.reserve(bytes.size() + 1);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (pending_) {
      pending_ = false;
      if (c == '.') {
        out.actions.push_back(EscapeAction::disconnect);
        disconnected_ = true;
        return out;
      }
      if (c == '?') {
        // Still at the start of a line, as in OpenSSH: "~?~." works.
        out.actions.push_back(EscapeAction::help);
        continue;
      }
      if (c != kEscape) out.send.push_back(kEscape);
      out.send.push_back(c);
      at_line_start_ = is_newline(c);
      continue;
    }
    if (at_line_start_ && c == kEscape) {
      pending_ = true;
      continue;
    }
    out.send.push_back(c);
    at_line_start_ = is_newline(c);
  }
  return out;
}

std::string_view escape_help_text() {
  return "\r\nSupported escape sequences:\r\n"
         " ~.   - terminate the session\r\n"
         " ~?   - this message\r\n"
         " ~~   - send the escape character by typing it twice\r\n"
         "(Escapes are only recognized immediately after a newline.)\r\n";
}

}  // namespace ecsh::term
