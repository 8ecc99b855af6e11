#include "ecsh/term/picker.hpp"

#include "ecsh/term/picker_model.hpp"
#include "ecsh/term/raw_mode.hpp"
#include "ecsh/term/tty.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace ecsh::term {
namespace {

// The picker needs a real size; with none, the classic terminal.
constexpr WindowSize kPickerFallback{80, 24};
// How long a lone Esc waits for the rest of an escape sequence.
constexpr int kEscTimeoutMs = 50;

volatile std::sig_atomic_t g_winch = 0;
struct sigaction g_prev_winch {};

void on_winch(int sig, siginfo_t* info, void* ctx) {
  g_winch = 1;
  if (g_prev_winch.sa_flags & SA_SIGINFO) {
    if (g_prev_winch.sa_sigaction) g_prev_winch.sa_sigaction(sig, info, ctx);
  } else if (g_prev_winch.sa_handler != SIG_DFL && g_prev_winch.sa_handler != SIG_IGN) {
    g_prev_winch.sa_handler(sig);
  }
}

// Installs the SIGWINCH flag handler (no SA_RESTART: poll() returns EINTR) for the picker's
// lifetime.
class WinchFlag {
 public:
  WinchFlag() {
    g_winch = 0;
    struct sigaction sa {};
    sa.sa_sigaction = on_winch;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    installed_ = ::sigaction(SIGWINCH, &sa, &g_prev_winch) == 0;
  }
  ~WinchFlag() {
    if (installed_) ::sigaction(SIGWINCH, &g_prev_winch, nullptr);
  }
  WinchFlag(const WinchFlag&) = delete;
  WinchFlag& operator=(const WinchFlag&) = delete;

 private:
  bool installed_ = false;
};

// Appends `s` to out with control bytes shown as '?', cut to `width` columns (one column per
// UTF-8 character). Returns the columns used.
std::size_t append_clipped(std::string& out, std::string_view s, std::size_t width) {
  std::size_t cols = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool continuation = (c & 0xC0) == 0x80;
    if (!continuation) {
      if (cols == width) break;
      ++cols;
    }
    out.push_back((c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c));
  }
  return cols;
}

struct Screen {
  int fd = -1;
  bool color = true;
  WindowSize size;
};

std::size_t rows_for(const Screen& sc, std::size_t max_rows, std::size_t items) {
  const std::size_t by_term = sc.size.rows > 1 ? sc.size.rows - 1u : 1u;
  return std::max<std::size_t>(1, std::min({max_rows, items, by_term}));
}

// One frame: prompt line, then the item rows; the cursor ends after the filter text.
std::string frame(const Screen& sc, std::string_view title, const PickerModel& m,
                  std::size_t rows) {
  const std::size_t width = sc.size.cols > 1 ? sc.size.cols - 1u : 1u;
  std::string out = "\x1b[?25l\r\x1b[J";
  const std::string head = fmt::format("{} ({}/{})> ", title, m.matches().size(), m.items().size());
  std::size_t col = 0;
  if (sc.color) out += "\x1b[1m";
  col += append_clipped(out, head, width);
  if (sc.color) out += "\x1b[0m";
  col += append_clipped(out, m.filter(), width - col);

  const std::size_t first = m.first_visible();
  const std::size_t shown = m.visible_count();
  const std::optional<std::size_t> cursor = m.cursor();
  for (std::size_t r = 0; r < rows; ++r) {
    out += "\r\n";
    if (m.matches().empty()) {
      if (r == 0) {
        if (sc.color) out += "\x1b[2m";
        append_clipped(out, "  (no matches)", width);
        if (sc.color) out += "\x1b[0m";
      }
      continue;
    }
    if (r >= shown) continue;
    const std::size_t pos = first + r;
    const bool sel = cursor && *cursor == pos;
    if (sel && sc.color) out += "\x1b[7m";
    out += sel ? "> " : "  ";
    append_clipped(out, m.items()[m.matches()[pos]], width > 2 ? width - 2 : 0);
    if (sel && sc.color) out += "\x1b[0m";
  }
  if (rows > 0) out += fmt::format("\x1b[{}A", rows);
  out += "\r";
  if (col > 0) out += fmt::format("\x1b[{}C", col);
  out += "\x1b[?25h";
  return out;
}

}  // namespace

bool color_allowed(bool color_flag) {
  const char* nc = std::getenv("NO_COLOR");
  return color_flag && (nc == nullptr || *nc == '\0');
}

Result<std::optional<std::size_t>> pick(std::string_view title, std::vector<std::string> items,
                                        const PickerOptions& options) {
  if (items.empty()) return Error::usage("nothing to choose from");
  const int fd = ::open(options.tty_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return Error::usage(fmt::format("cannot show the picker: no terminal ({}: {})",
                                    options.tty_path, std::strerror(errno)),
                        "name the target on the command line");
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  auto guard = RawModeGuard::enter(fd);
  if (!guard) return guard.error();

  Screen sc;
  sc.fd = fd;
  sc.color = color_allowed(options.color);
  sc.size = query_window_size(fd).value_or(kPickerFallback);
  const std::size_t total = items.size();
  std::size_t rows = rows_for(sc, options.max_rows, total);
  PickerModel model(std::move(items), rows);
  KeyDecoder decoder;
  WinchFlag winch;

  std::optional<std::size_t> result;
  bool done = false;
  std::string failure;
  bool dirty = true;
  char buf[256];
  while (!done) {
    if (g_winch) {
      g_winch = 0;
      sc.size = query_window_size(fd).value_or(sc.size);
      rows = rows_for(sc, options.max_rows, total);
      model.set_page_size(rows);
      dirty = true;
    }
    if (dirty) {
      if (!write_all(fd, frame(sc, title, model, rows))) {
        failure = std::strerror(errno);
        break;
      }
      dirty = false;
    }
    struct pollfd pfd {};
    pfd.fd = fd;
    pfd.events = POLLIN;
    const int pr = ::poll(&pfd, 1, decoder.has_pending() ? kEscTimeoutMs : -1);
    std::vector<Key> keys;
    if (pr < 0) {
      if (errno == EINTR) continue;
      failure = std::strerror(errno);
      break;
    }
    if (pr == 0) {
      keys = decoder.flush();
    } else {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        failure = std::strerror(errno);
        break;
      }
      if (n == 0) break;  // the terminal went away: treat as cancelled
      keys = decoder.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
    for (const Key& k : keys) {
      if (k.kind != KeyKind::ignored) dirty = true;
      switch (k.kind) {
        case KeyKind::text:
          model.type(k.text);
          break;
        case KeyKind::backspace:
          model.backspace();
          break;
        case KeyKind::delete_word:
          model.delete_word();
          break;
        case KeyKind::clear_line:
          model.clear_filter();
          break;
        case KeyKind::up:
          model.up();
          break;
        case KeyKind::down:
          model.down();
          break;
        case KeyKind::page_up:
          model.page_up();
          break;
        case KeyKind::page_down:
          model.page_down();
          break;
        case KeyKind::home:
          model.home();
          break;
        case KeyKind::end:
          model.end();
          break;
        case KeyKind::enter:
          // Enter with nothing matching does nothing: the user edits the filter.
          if (auto s = model.selected()) {
            result = s;
            done = true;
          }
          break;
        case KeyKind::cancel:
          done = true;
          break;
        case KeyKind::ignored:
          break;
      }
      if (done) break;
    }
  }
  // Erase the lines used; the cursor is back at the start of the first one.
  write_all(fd, "\r\x1b[J\x1b[?25h");
  guard.value().restore();
  if (!failure.empty()) {
    return Error::internal("the picker lost its terminal: " + failure);
  }
  return result;
}

}  // namespace ecsh::term
