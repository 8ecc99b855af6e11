#include "ecsh/term/tty.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace ecsh::term {

bool is_tty(int fd) { return fd >= 0 && ::isatty(fd) == 1; }

StreamKind stream_kind(int fd) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) return StreamKind::closed;
  if (S_ISCHR(st.st_mode) && is_tty(fd)) return StreamKind::tty;
  if (S_ISFIFO(st.st_mode)) return StreamKind::pipe;
  if (S_ISREG(st.st_mode)) return StreamKind::file;
  if (S_ISSOCK(st.st_mode)) return StreamKind::socket;
  return StreamKind::other;
}

bool stdin_is_redirected() {
  const StreamKind k = stream_kind(0);
  return k != StreamKind::tty && k != StreamKind::closed;
}

std::optional<WindowSize> query_window_size(int fd) {
  if (fd < 0) return std::nullopt;
  struct winsize ws {};
  int rc = 0;
  do {
    rc = ::ioctl(fd, TIOCGWINSZ, &ws);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 || ws.ws_col == 0 || ws.ws_row == 0) return std::nullopt;
  WindowSize size;
  size.cols = ws.ws_col;
  size.rows = ws.ws_row;
  return size;
}

WindowSize terminal_size(WindowSize fallback) {
  if (auto s = query_window_size(STDOUT_FILENO)) return *s;
  if (auto s = query_window_size(STDIN_FILENO)) return *s;
  const int fd = ::open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) {
    auto s = query_window_size(fd);
    ::close(fd);
    if (s) return *s;
  }
  return fallback;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{};
        p.fd = fd;
        p.events = POLLOUT;
        ::poll(&p, 1, -1);
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace ecsh::term
