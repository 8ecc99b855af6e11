#pragma once

// Terminal queries: is this fd a terminal, what is stdin, how big is the window.

#include <optional>
#include <string_view>

namespace ecsh::term {

bool is_tty(int fd);

// Writes all of `data` (retrying on EINTR, waiting when a non-blocking fd is full). False when
// the reader went away or the write failed.
bool write_all(int fd, std::string_view data);

// What a standard stream is connected to. `ecsh exec` forwards stdin only when it is not a
// terminal (pipe or file), and asks for an interactive session only when it is one.
enum class StreamKind { tty, pipe, file, socket, other, closed };
StreamKind stream_kind(int fd);
inline bool stdin_is_tty() { return stream_kind(0) == StreamKind::tty; }
// stdin is open and not a terminal (a pipe, a file, a socket, /dev/null): its bytes, up to
// EOF, are input to forward.
bool stdin_is_redirected();

struct WindowSize {
  unsigned short cols = 0;
  unsigned short rows = 0;
  friend bool operator==(const WindowSize&, const WindowSize&) = default;
};

// Used when no terminal can be asked: the same size as the official session-manager-plugin, so
// a remote pty whose output goes to a pipe or a file does not wrap or cut lines at 80 columns.
inline constexpr WindowSize kUnknownWindowSize{300, 100};

// TIOCGWINSZ on fd; nullopt when fd is not a terminal or reports 0x0.
std::optional<WindowSize> query_window_size(int fd);

// The size of the controlling terminal: asks stdout, then stdin, then /dev/tty; `fallback` when
// none answers.
WindowSize terminal_size(WindowSize fallback = kUnknownWindowSize);

}  // namespace ecsh::term
