#pragma once

// `ecsh run`'s output in text mode (pure): each task's stdout and stderr cut into whole lines,
// each line prefixed with the task's label ("3f2a91/app | …"), so that the lines of many tasks
// arriving at once never mix mid-line. Stdout lines go to stdout and stderr lines to stderr.
// `group` mode holds each task's lines until it finishes and then gives them all at once.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::fleet {

enum class Stream { out, err };

// One stream of one task: bytes in, whole prefixed lines out.
class LineBuffer {
 public:
  // A line longer than max_line is cut there (the rest continues on the next line), so that a
  // command printing without newlines cannot hold unbounded memory.
  explicit LineBuffer(std::string prefix, std::size_t max_line = 64 * 1024);

  // The complete lines in `bytes` (and before), each as prefix + line + "\n".
  std::string feed(std::string_view bytes);
  // The last line when it had no newline (one is added); empty otherwise.
  std::string finish();

 private:
  std::string prefix_;
  std::size_t max_line_;
  std::string partial_;
};

// What to write now: to stdout and to stderr.
struct Emit {
  std::string out;
  std::string err;
};

enum class OutputMode {
  lines,  // prefixed lines as they complete
  group,  // prefixed lines, each task's all together when it finishes
};

class OutputMux {
 public:
  OutputMux(OutputMode mode, const std::vector<std::string>& labels);

  Emit feed(std::size_t task, Stream stream, std::string_view bytes);
  // The task finished: what it still holds.
  Emit finish(std::size_t task);

  // "3f2a91/app | ": the prefix of a label.
  static std::string prefix(const std::string& label);

 private:
  struct PerTask {
    LineBuffer out, err;
    Emit held;  // group mode
    bool finished = false;
  };
  OutputMode mode_;
  std::vector<PerTask> tasks_;
};

}  // namespace ecsh::fleet
