#pragma once

// What the SSM agent does to a session's pty output before sending it (agent
// `agent/session/shell/shell.go`, processStdoutData): it reads the bytes as UTF-8 runes with Go's
// decoder and re-writes them. Valid runes and invalid bytes pass through unchanged, with one
// exception: a valid U+FFFD (EF BF BD) decodes as utf8.RuneError, for which the agent writes
// one byte (EF) and skips the rune's three, so the output loses BF BD. A RuneError within the
// last 3 bytes of what it has is held back until more output comes; at the end of the output
// the agent stops reading and those held bytes are never sent. Pure: no I/O.

#include <string>
#include <string_view>

namespace ecsh::sandbox::ssm {

class AgentOutputFilter {
 public:
  // The bytes the agent sends for this chunk of pty output (some may be held back).
  std::string feed(std::string_view chunk);
  // Bytes held back (what is lost if the output ends now).
  const std::string& held() const { return held_; }

 private:
  std::string held_;
};

// With `--agent-io pipes` (benchmarks) the command's stdin is a pipe, not a pty: what a pty's
// canonical line discipline (the wrapper's mode: icanon iexten, VEOF ^D, VLNEXT ^V) makes of the
// client's input, so that the pipe carries what the pty's reader would read. ^V makes the next
// byte data; ^D hands the line over, or on an empty line is end of file; every other byte is
// data (the wrapper's encodings escape the bytes a pty would act on). Pure: no I/O.
class CanonicalInput {
 public:
  struct Out {
    std::string data;
    bool end_of_file = false;  // nothing after it is read
  };
  Out feed(std::string_view bytes);
  // The same, appending what is read to `out`; whether the end of file was read.
  bool feed_into(std::string_view bytes, std::string& out);

 private:
  bool literal_next_ = false;
  bool line_empty_ = true;
};

}  // namespace ecsh::sandbox::ssm
