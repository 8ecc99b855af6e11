#pragma once

// A local input (stdin) as a stream of chunks, for `ecsh exec` and `ecsh docker exec`.
// Terminals, pipes and sockets are read asynchronously through a description of their own
// (reopened from /proc/self/fd; a socket, which cannot be reopened, is shared and its flags are
// put back at the end), so that the non-blocking mode Asio sets never reaches the description
// the user's shell shares with us. Regular files and /dev/null are read with plain reads (epoll
// cannot watch them).

#include "ecsh/common/asio.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <memory>
#include <string>

namespace ecsh::term {

class InputReader {
 public:
  InputReader(asio::any_io_executor executor, int fd);
  ~InputReader();
  InputReader(const InputReader&) = delete;
  InputReader& operator=(const InputReader&) = delete;

  // The next chunk; empty at end of input (or on an error reading it, or after cancel()).
  Awaitable<std::string> read();
  // Ends a pending asynchronous read.
  void cancel();

 private:
  int fd_;
  int shared_flags_ = -1;
  std::unique_ptr<asio::posix::stream_descriptor> stream_;
};

}  // namespace ecsh::term
