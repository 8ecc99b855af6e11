#include "ecsh/common/error.hpp"

namespace ecsh {

namespace {
Error make(ErrorKind kind, std::string msg, std::string hint) {
  Error e;
  e.kind = kind;
  e.message = std::move(msg);
  e.hint = std::move(hint);
  return e;
}
}  // namespace

Error Error::usage(std::string msg, std::string hint) {
  return make(ErrorKind::usage, std::move(msg), std::move(hint));
}
Error Error::config(std::string msg, std::string hint) {
  return make(ErrorKind::config, std::move(msg), std::move(hint));
}
Error Error::connection(std::string msg, std::string hint, bool retryable) {
  Error e = make(ErrorKind::connection, std::move(msg), std::move(hint));
  e.retryable = retryable;
  return e;
}
Error Error::protocol(std::string msg) { return make(ErrorKind::protocol, std::move(msg), {}); }
Error Error::internal(std::string msg) { return make(ErrorKind::internal, std::move(msg), {}); }
Error Error::session_ended(SessionEnding why, std::string msg, std::string hint) {
  Error e =
      make(why == SessionEnding::unexplained ? ErrorKind::connection : ErrorKind::session_ended,
           std::move(msg), std::move(hint));
  e.ending = why;
  return e;
}

std::string Error::describe() const {
  std::string out = message;
  if (!hint.empty()) {
    out += '\n';
    out += hint;
  }
  return out;
}

int exit_code_for(const Error& e) {
  switch (e.kind) {
    case ErrorKind::run_as:
      return 251;
    case ErrorKind::usage:
      return 252;
    case ErrorKind::config:
      return 253;
    case ErrorKind::service:
      return 254;
    case ErrorKind::connection:
    case ErrorKind::protocol:
    case ErrorKind::internal:
      return 255;
    case ErrorKind::session_ended:
      switch (e.ending) {
        case SessionEnding::idle_timeout:
          return 247;
        case SessionEnding::max_duration:
          return 248;
        case SessionEnding::task_stopped:
          return 249;
        case SessionEnding::terminated_elsewhere:
          return 250;
        case SessionEnding::none:
        case SessionEnding::unexplained:
          return 255;
      }
      return 255;
  }
  return 255;
}

}  // namespace ecsh
