#include "ecsh/common/shlex.hpp"

namespace ecsh::shlex {
namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

Result<std::vector<std::string>> split(std::string_view s) {
  enum class State {
    start,
    word,
    escaping,
    single_quoted,
    double_quoted,
    double_escaping,
    comment
  };
  std::vector<std::string> words;
  std::string word;
  State state = State::start;
  for (char c : s) {
    switch (state) {
      case State::start:
        if (is_space(c)) break;
        if (c == '#') {
          state = State::comment;
          break;
        }
        state = State::word;
        [[fallthrough]];
      case State::word:
        if (is_space(c)) {
          words.push_back(std::move(word));
          word.clear();
          state = State::start;
        } else if (c == '\'') {
          state = State::single_quoted;
        } else if (c == '"') {
          state = State::double_quoted;
        } else if (c == '\\') {
          state = State::escaping;
        } else {
          word += c;
        }
        break;
      case State::escaping:
        word += c;
        state = State::word;
        break;
      case State::single_quoted:
        if (c == '\'') {
          state = State::word;
        } else {
          word += c;
        }
        break;
      case State::double_quoted:
        if (c == '"') {
          state = State::word;
        } else if (c == '\\') {
          state = State::double_escaping;
        } else {
          word += c;
        }
        break;
      case State::double_escaping:
        word += c;
        state = State::double_quoted;
        break;
      case State::comment:
        if (c == '\n') state = State::start;
        break;
    }
  }
  switch (state) {
    case State::start:
    case State::comment:
      break;
    case State::word:
      words.push_back(std::move(word));
      break;
    case State::escaping:
    case State::double_escaping:
      return Error::usage("the command ends with an escape character (\\)");
    case State::single_quoted:
    case State::double_quoted:
      return Error::usage("the command has a quote that is never closed");
  }
  return words;
}

Result<std::vector<std::string>> split_posix(std::string_view s) {
  enum class State { start, word, escaping, single_quoted, double_quoted, double_escaping };
  std::vector<std::string> words;
  std::string word;
  State state = State::start;
  for (char c : s) {
    switch (state) {
      case State::start:
        if (is_space(c)) break;
        state = State::word;
        [[fallthrough]];
      case State::word:
        if (is_space(c)) {
          words.push_back(std::move(word));
          word.clear();
          state = State::start;
        } else if (c == '\'') {
          state = State::single_quoted;
        } else if (c == '"') {
          state = State::double_quoted;
        } else if (c == '\\') {
          state = State::escaping;
        } else {
          word += c;
        }
        break;
      case State::escaping:
        word += c;
        state = State::word;
        break;
      case State::single_quoted:
        if (c == '\'') {
          state = State::word;
        } else {
          word += c;
        }
        break;
      case State::double_quoted:
        if (c == '"') {
          state = State::word;
        } else if (c == '\\') {
          state = State::double_escaping;
        } else {
          word += c;
        }
        break;
      case State::double_escaping:
        if (c != '"' && c != '\\') word += '\\';
        word += c;
        state = State::double_quoted;
        break;
    }
  }
  switch (state) {
    case State::start:
      break;
    case State::word:
      words.push_back(std::move(word));
      break;
    case State::escaping:
    case State::double_escaping:
      return Error::usage("the command ends with an escape character (\\)");
    case State::single_quoted:
    case State::double_quoted:
      return Error::usage("the command has a quote that is never closed");
  }
  return words;
}

std::string quote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += quote(w);
  }
  return out;
}

}  // namespace ecsh::shlex
