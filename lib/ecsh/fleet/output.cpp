#include "ecsh/fleet/output.hpp"

namespace ecsh::fleet {

LineBuffer::LineBuffer(std::string prefix, std::size_t max_line)
    : prefix_(std::move(prefix)), max_line_(max_line == 0 ? 1 : max_line) {}

std::string LineBuffer::feed(std::string_view bytes) {
  std::string out;
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    std::string_view piece = nl == std::string_view::npos ? bytes : bytes.substr(0, nl);
    // A line would grow past max_line_: cut it there (a line of exactly max_line_ waits for its
    // newline).
    std::size_t room = max_line_ - partial_.size();
    if (piece.size() > room) {
      partial_.append(piece.substr(0, room));
      out += prefix_ + partial_ + "\n";
      partial_.clear();
      bytes.remove_prefix(room);
      continue;
    }
    partial_.append(piece);
    if (nl == std::string_view::npos) break;
    out += prefix_ + partial_ + "\n";
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
  return out;
}

std::string LineBuffer::finish() {
  if (partial_.empty()) return {};
  std::string out = prefix_ + partial_ + "\n";
  partial_.clear();
  return out;
}

std::string OutputMux::prefix(const std::string& label) { return label + " | "; }

OutputMux::OutputMux(OutputMode mode, const std::vector<std::string>& labels) : mode_(mode) {
  tasks_.reserve(labels.size());
  for (const auto& l : labels) {
    tasks_.push_back(PerTask{LineBuffer(prefix(l)), LineBuffer(prefix(l)), Emit{}, false});
  }
}

Emit OutputMux::feed(std::size_t task, Stream stream, std::string_view bytes) {
  Emit e;
  if (task >= tasks_.size() || tasks_[task].finished) return e;
  auto& t = tasks_[task];
  std::string lines = stream == Stream::out ? t.out.feed(bytes) : t.err.feed(bytes);
  std::string& dest = stream == Stream::out ? e.out : e.err;
  if (mode_ == OutputMode::lines) {
    dest = std::move(lines);
  } else {
    (stream == Stream::out ? t.held.out : t.held.err) += lines;
  }
  return e;
}

Emit OutputMux::finish(std::size_t task) {
  Emit e;
  if (task >= tasks_.size() || tasks_[task].finished) return e;
  auto& t = tasks_[task];
  t.finished = true;
  e = std::move(t.held);
  e.out += t.out.finish();
  e.err += t.err.finish();
  return e;
}

}  // namespace ecsh::fleet
