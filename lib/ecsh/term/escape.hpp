#pragma once

// SSH-style escapes on the keyboard stream of an interactive session (pure, no I/O).
// At the start of the session and right after CR or LF, '~' is held back and the next byte
// decides:
//   ~.  disconnect (the rest of the input is dropped)
//   ~?  show the list of escapes locally (nothing is sent; another escape may follow)
//   ~~  send one '~'
//   ~x  send "~x" (any other byte x)
// Input may be split anywhere: a '~' at the end of one chunk waits for the next chunk.

#include <string>
#include <string_view>
#include <vector>

namespace ecsh::term {

enum class EscapeAction { disconnect, help };

struct EscapeOutput {
  std::string send;                   // bytes for the remote side, in order
  std::vector<EscapeAction> actions;  // in the order they were typed
};

class EscapeFilter {
 public:
  // With enabled == false every byte passes through (like `ssh -e none`).
  explicit EscapeFilter(bool enabled = true) : enabled_(enabled) {}

  EscapeOutput feed(std::string_view bytes);

  // A '~' is held, waiting for the next byte.
  bool pending() const { return pending_; }
  // After ~. everything is dropped.
  bool disconnected() const { return disconnected_; }

 private:
  bool enabled_;
  bool at_line_start_ = true;
  bool pending_ = false;
  bool disconnected_ = false;
};

// The text shown for ~? (CRLF line ends: the terminal is in raw mode).
std::string_view escape_help_text();

}  // namespace ecsh::term
