#include "ecsh/term/input_reader.hpp"

#include "ecsh/term/tty.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>

namespace ecsh::term {

InputReader::InputReader(asio::any_io_executor executor, int fd) : fd_(fd) {
  const StreamKind kind = stream_kind(fd);
  if (kind != StreamKind::tty && kind != StreamKind::pipe && kind != StreamKind::socket) return;
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  int own = ::open(self.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (own < 0) {
    own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) return;
    shared_flags_ = ::fcntl(fd, F_GETFL);
  }
  boost::system::error_code ec;
  stream_ = std::make_unique<asio::posix::stream_descriptor>(executor);
  stream_->assign(own, ec);
  if (ec) {
    ::close(own);
    stream_.reset();
    shared_flags_ = -1;
  }
}

InputReader::~InputReader() {
  stream_.reset();
  if (shared_flags_ >= 0) ::fcntl(fd_, F_SETFL, shared_flags_);
}

Awaitable<std::string> InputReader::read() {
  std::string buf(64 * 1024, '\0');
  if (stream_) {
    auto [ec, n] = co_await stream_->async_read_some(asio::buffer(buf), use_awaitable_nothrow);
    if (ec) co_return std::string();
    buf.resize(n);
    co_return buf;
  }
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    co_return buf;
  }
}

void InputReader::cancel() {
  if (stream_) {
    boost::system::error_code ec;
    stream_->cancel(ec);
  }
}

}  // namespace ecsh::term
