#include "ecsh/exec/remote_command.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/shlex.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace ecsh::exec {
namespace {

// Bytes of base64 per line: a multiple of 4, far below the 4095-byte canonical line limit.
constexpr std::size_t kBase64LineChars = 1020;
// Bytes per printf line (4 characters each: \ooo).
constexpr std::size_t kOctalLineBytes = 200;
// Terminal decoder: data bytes per canonical line, below the 4095-byte line limit; each line is
// ended by ^D, which hands it to the reader without adding a byte.
constexpr std::size_t kTerminalLineBytes = 4000;
constexpr char kLiteralNext = '\x16';  // ^V (VLNEXT): the next byte is data
constexpr char kEndOfFile = '\x04';    // ^D (VEOF): ends a line; on an empty line, the input

// Length of the longest suffix of `data` that is a proper prefix of `marker`.
std::size_t partial_marker_suffix(std::string_view data, std::string_view marker) {
  std::size_t max = std::min(data.size(), marker.size() - 1);
  for (std::size_t n = max; n > 0; --n) {
    if (data.substr(data.size() - n) == marker.substr(0, n)) return n;
  }
  return 0;
}

// The ways to switch users, in the order they are tried: the letter the markers use, the
// program that must exist, and what runs CMD ARGS ("$@") as the user.
struct Switcher {
  char letter;
  const char* program;
  const char* run;
};
constexpr Switcher kSwitchers[] = {
    {'p', "setpriv", "setpriv --reuid=\"$i\" --regid=\"$g\" --init-groups -- \"$@\""},
    {'q', "setpriv", "setpriv --reuid=\"$i\" --regid=\"$g\" --clear-groups -- \"$@\""},
    {'r', "runuser", "runuser -u \"$n\" -- \"$@\""},
    // su's arguments after the user go to the shell: "$0" is CMD. Nothing of CMD is an option
    // of su's, and CMD is not parsed by a shell.
    {'s', "su", "su -s /bin/sh -c 'exec \"$0\" \"$@\"' -- \"$n\" \"$@\""},
    {'b', "busybox", "busybox su -s /bin/sh -c 'exec \"$0\" \"$@\"' -- \"$n\" \"$@\""},
    {'c', "chroot", "chroot --userspec=\"$i:$g\" --skip-chdir / \"$@\""},
};

const char* tool_name(char letter) {
  switch (letter) {
    case 'p':
    case 'q':
      return "setpriv";
    case 'r':
      return "runuser";
    case 's':
      return "su";
    case 'b':
      return "busybox su";
    case 'c':
      return "chroot";
    default:
      return nullptr;
  }
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

std::string list_words(const std::vector<std::string>& words, const char* last_joiner) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? last_joiner : ", ";
    out += words[i];
  }
  return out;
}

}  // namespace

Result<void> check_user(std::string_view user) {
  auto bad = [&](std::string why) -> Result<void> {
    return Error::usage("--user " + shlex::quote(user) + ": " + why,
                        "Give a user name (e.g. app, www-data) or a numeric UID.");
  };
  if (user.empty()) return bad("empty");
  if (user.size() > 32) return bad("longer than 32 characters");
  if (std::all_of(user.begin(), user.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (user.size() > 10 || std::stoull(std::string(user)) > 4294967294ull) {
      return bad("not a UID");
    }
    return ok();
  }
  std::string_view body = user.back() == '$' ? user.substr(0, user.size() - 1) : user;
  if (body.empty() || (body[0] >= '0' && body[0] <= '9') || body[0] == '-' || body[0] == '.') {
    return bad("a user name starts with a letter or '_'");
  }
  for (char c : body) {
    if (!is_name_char(c)) return bad("not a user name (letters, digits, '.', '_', '-' only)");
  }
  return ok();
}

Error run_as_error(const RunAsFailure& failure, std::string_view user, std::string_view where) {
  const std::string who = "\"" + std::string(user) + "\"";
  if (failure.kind == RunAsFailure::Kind::unknown_user) {
    Error e;
    e.kind = ErrorKind::run_as;
    e.message = "user " + who + " does not exist in " + std::string(where) + " (id " +
                std::string(user) + " failed and /etc/passwd has no such user)";
    return e;
  }
  std::vector<std::string> failed, missing;
  for (const auto& s : kSwitchers) {
    if (s.letter == 'q') continue;  // setpriv once
    std::string name = tool_name(s.letter);
    if (failure.failed_tools.find(s.letter) != std::string::npos) {
      failed.push_back(name);
    } else {
      missing.push_back(name);
    }
  }
  Error e;
  e.kind = ErrorKind::run_as;
  e.message = "cannot run as " + who + " in " + std::string(where) + ": ";
  if (failed.empty()) {
    e.message += "the image has none of " + list_words(missing, ", ");
  } else {
    e.message += list_words(failed, " and ") + (failed.size() == 1 ? " fails" : " fail") +
                 " to switch to it, and the image has none of " + list_words(missing, ", ");
  }
  return e;
}

std::string run_as_prelude(const std::string& user, const std::string& nonce, bool exec_form) {
  const std::string& m = nonce;
  std::string s;
  // 1. Who: `id USER` (the name service, LDAP included), else /etc/passwd read by the shell
  // itself (images without `id`; busybox's id takes no numeric UID). HOME from /etc/passwd.
  s += "u=" + shlex::quote(user) + "; i=; g=; n=; h=/; f=; w=; X=; ";
  s += "if command -v id >/dev/null 2>&1 && x=$(id \"$u\" 2>/dev/null); then ";
  s += "case $x in uid=[0-9]*) i=${x#uid=}; i=${i%%[!0-9]*}; g=${x#*gid=}; g=${g%%[!0-9]*};; "
       "esac; ";
  s += "case $x in uid=[0-9]*\"(\"*) n=${x#uid=*\"(\"}; n=${n%%\")\"*};; esac; fi; ";
  s += "if [ -r /etc/passwd ]; then while IFS=: read -r pn px pi pg pc ph ps; do ";
  s += "if [ \"$pn\" = \"$u\" ] || [ \"$pi\" = \"$u\" ] || "
       "{ [ -n \"$i\" ] && [ \"$pi\" = \"$i\" ]; }; then ";
  s += "if [ -z \"$i\" ]; then i=$pi; g=$pg; n=$pn; fi; h=${ph:-/}; break; fi; "
       "done </etc/passwd; fi; ";
  s += "[ -n \"$n\" ] || n=$i; ";
  s += "if [ -z \"$i\" ] || [ -z \"$g\" ]; then printf '" + m + ":Uu:'; exit 125; fi; ";
  // 2. How: ecsh_as runs "$@" as the user by way $w; $X is `exec` once the way is known
  // (interactive) and empty while probing.
  s += "ecsh_as() { case $w in ";
  for (const auto& sw : kSwitchers) {
    s += std::string(1, sw.letter) + ") $X " + sw.run + ";; ";
  }
  s += "esac; }; ";
  // 3. The first way that exists and works, tried with a no-op run as the user.
  s += "for y in";
  for (const auto& sw : kSwitchers) s += std::string(" ") + sw.letter;
  s += "; do case $y in ";
  for (const auto& sw : kSwitchers) {
    s += std::string(1, sw.letter) + ") k=" + sw.program + ";; ";
  }
  s += "esac; command -v $k >/dev/null 2>&1 || continue; w=$y; "
       "if ecsh_as /bin/sh -c : </dev/null >/dev/null 2>&1; then break; fi; w=; "
       "case $y in p) ;; q) f=${f}p;; *) f=$f$y;; esac; done; ";
  s += "if [ -z \"$w\" ]; then printf '" + m + ":Ut%s:' \"$f\"; exit 125; fi; ";
  s += "export HOME=\"$h\" USER=\"$n\" LOGNAME=\"$n\"; ";
  if (exec_form) s += "X=exec; ";
  return s;
}

RemoteCommand wrap_one_shot(const std::vector<std::string>& words, StdinMode stdin_mode,
                            std::string nonce, const std::string& user) {
  const std::string& m = nonce;  // hex only: safe unquoted in the script
  std::string run = (user.empty() ? "" : "ecsh_as ") + shlex::join(words);
  std::string input = stdin_mode == StdinMode::forward ? "ecsh_in | " : "";
  std::string no_input = stdin_mode == StdinMode::forward ? "" : " </dev/null";
  std::string script;
  if (!user.empty()) script += run_as_prelude(user, m, false);
  if (stdin_mode == StdinMode::forward) {
    // The terminal decoder needs canonical input with ^V (literal next) and ^D (end of file),
    // the pty's defaults, stated here; and no software flow control: the kernel looks ahead in
    // unread input for ^S/^Q (n_tty_lookahead_flow_ctrl), ^V or not, and a ^S in the data would
    // stop the command's output. A terminal that stty cannot set up gets base64 lines. Stdin
    // that is no terminal at all (the sandbox's --agent-io pipes, which plays the line
    // discipline) takes the terminal encoding as it is.
    script +=
        "if stty -echo -opost icanon iexten -ixon -istrip eof ^D lnext ^V 2>/dev/null; "
        "then t=1; r=1; elif stty -echo -opost 2>/dev/null; then t=1; r=0; "
        "elif [ -t 0 ]; then t=0; r=0; else t=0; r=1; fi; ";
    script +=
        "if [ $r = 1 ] && command -v cat >/dev/null 2>&1; then d=r; "
        "elif command -v base64 >/dev/null 2>&1; then d=b; else d=p; fi; ";
    script +=
        "ecsh_in() { if [ $d = r ]; then cat; elif [ $d = b ]; then base64 -d; "
        "else while IFS= read -r l; do printf \"$l\"; done; fi; }; ";
  } else {
    script += "stty -echo -opost 2>/dev/null && t=1 || t=0; d=b; ";
  }
  // The session's nonce names the file: unique even when containers share a /tmp.
  // `command :` creates the file without a subshell: a failed redirection of a special built-in
  // would end the shell, and `command` takes that property away. Every fork counts: each costs
  // milliseconds in a container, and this script is the whole of `exec -- true`.
  script += "e=\"${TMPDIR:-/tmp}/.ecsh-" + m + ".err\"; command : 2>/dev/null >\"$e\" || e=; ";
  script += "printf '" + m + ":S%s%s:' $t $d; ";
  script += "if [ -n \"$e\" ]; then " + input + run + no_input + " 2>\"$e\"; else " + input + run +
            no_input + "; fi; ";
  script += "s=$?; printf '" + m + ":X%d:' $s; ";
  script +=
      "if [ -n \"$e\" ]; then if [ -s \"$e\" ]; then cat \"$e\" 2>/dev/null || "
      "while IFS= read -r l || [ -n \"$l\" ]; do printf '%s\\n' \"$l\"; done <\"$e\"; fi; "
      "rm -f \"$e\"; fi; ";
  script += "printf '" + m + ":E:'";
  RemoteCommand out;
  out.command = shlex::join({"/bin/sh", "-c", script});
  out.nonce = std::move(nonce);
  return out;
}

std::string interactive_shell_command(const std::string& user, const std::string& nonce) {
  if (user.empty()) {
    return shlex::join(
        {"/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"});
  }
  std::string script = run_as_prelude(user, nonce, true);
  script += "printf '" + nonce + ":Uy:'; ";
  script += "if command -v bash >/dev/null 2>&1; then ecsh_as bash; else ecsh_as sh; fi";
  return shlex::join({"/bin/sh", "-c", script});
}

RunAsHeader parse_run_as_header(std::string_view h, std::size_t& length, RunAsFailure& failure) {
  // "U" + one of u, t, y + up to 6 tool letters + ":".
  constexpr std::size_t kMax = 9;
  if (h.empty()) return RunAsHeader::incomplete;
  if (h[0] != 'U') return RunAsHeader::invalid;
  if (h.size() < 2) return RunAsHeader::incomplete;
  if (h[1] != 'u' && h[1] != 't' && h[1] != 'y') return RunAsHeader::invalid;
  std::size_t i = 2;
  for (; i < h.size() && i < kMax && h[i] != ':'; ++i) {
    if (std::string_view("prsbc").find(h[i]) == std::string_view::npos) {
      return RunAsHeader::invalid;
    }
  }
  if (i == h.size()) return i < kMax ? RunAsHeader::incomplete : RunAsHeader::invalid;
  if (h[i] != ':') return RunAsHeader::invalid;
  length = i + 1;
  if (h[1] == 'y') return i == 2 ? RunAsHeader::ok : RunAsHeader::invalid;
  failure.kind = h[1] == 'u' ? RunAsFailure::Kind::unknown_user : RunAsFailure::Kind::no_tool;
  failure.failed_tools.assign(h.substr(2, i - 2));
  return RunAsHeader::failed;
}

std::string RunAsGate::feed(std::string_view bytes) {
  if (open_) return std::string(bytes);
  if (failure_) return {};
  held_.append(bytes);
  for (std::size_t from = 0;;) {
    auto pos = held_.find(marker_, from);
    if (pos == std::string::npos) return {};
    std::size_t length = 0;
    RunAsFailure f;
    auto h = parse_run_as_header(std::string_view(held_).substr(pos + marker_.size()), length, f);
    if (h == RunAsHeader::incomplete) return {};
    if (h == RunAsHeader::invalid) {
      from = pos + 1;
      continue;
    }
    if (h == RunAsHeader::failed) {
      failure_ = std::move(f);
      held_.clear();
      return {};
    }
    open_ = true;
    std::string out = held_.substr(0, pos) + held_.substr(pos + marker_.size() + length);
    held_.clear();
    return out;
  }
}

std::string RunAsGate::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

OutputDemux::OutputDemux(std::string nonce) : marker_(std::move(nonce) + ":") {}

OutputDemux::Chunk OutputDemux::feed(std::string_view bytes) {
  Chunk out;
  // The common case while streaming: nothing undecided and no marker in this piece. The bytes
  // go to their sink in one copy instead of two (through pending_).
  if (pending_.empty() && (state_ == State::stdout_data || state_ == State::stderr_data) &&
      bytes.find(marker_) == std::string_view::npos) {
    std::size_t keep = partial_marker_suffix(bytes, marker_);
    std::string& sink = state_ == State::stdout_data ? out.stdout_bytes : out.stderr_bytes;
    sink.assign(bytes.substr(0, bytes.size() - keep));
    pending_.assign(bytes.substr(bytes.size() - keep));
    return out;
  }
  pending_.append(bytes);
  while (state_ != State::done) {
    if (state_ == State::preamble) {
      auto pos = pending_.find(marker_);
      if (pos == std::string::npos) {
        std::size_t keep = partial_marker_suffix(pending_, marker_);
        preamble_.append(pending_, 0, pending_.size() - keep);
        pending_.erase(0, pending_.size() - keep);
        return out;
      }
      std::size_t header = pos + marker_.size();
      if (pending_.size() > header && pending_[header] == 'U') {
        // --user could not be used: nothing ran ("U<why><tools>:").
        std::size_t length = 0;
        RunAsFailure f;
        auto h = parse_run_as_header(std::string_view(pending_).substr(header), length, f);
        if (h == RunAsHeader::incomplete) return out;
        if (h == RunAsHeader::failed) {
          preamble_.append(pending_, 0, pos);
          pending_.clear();
          run_as_failure_ = std::move(f);
          state_ = State::done;
          return out;
        }
        preamble_.append(pending_, 0, header);
        pending_.erase(0, header);
        continue;
      }
      if (pending_.size() < header + 4) return out;  // "S<t><d>:" not complete yet
      std::string_view h(pending_.data() + header, 4);
      if (h[0] == 'S' && (h[1] == '0' || h[1] == '1') &&
          (h[2] == 'b' || h[2] == 'p' || h[2] == 'r') && h[3] == ':') {
        tty_configured_ = h[1] == '1';
        decoder_ = h[2] == 'b'   ? StdinDecoder::base64
                   : h[2] == 'r' ? StdinDecoder::terminal
                                 : StdinDecoder::printf_octal;
        preamble_.append(pending_, 0, pos);
        pending_.erase(0, header + 4);
        state_ = State::stdout_data;
      } else {
        preamble_.append(pending_, 0, header);
        pending_.erase(0, header);
      }
      continue;
    }
    if (state_ == State::status) {
      // "X<digits>:"
      if (pending_.empty()) return out;
      if (pending_[0] != 'X') {
        state_ = State::stdout_data;  // not ours after all: the marker text was output
        out.stdout_bytes += marker_;
        continue;
      }
      auto colon = pending_.find(':');
      if (colon == std::string::npos) {
        if (pending_.size() <= 12) return out;  // "X" and up to 10 digits may still come
        state_ = State::stdout_data;            // not a status after all: it was output
        out.stdout_bytes += marker_;
        continue;
      }
      int status = 0;
      bool digits = colon > 1;
      for (std::size_t i = 1; i < colon; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(pending_[i])) || status > 100000) {
          digits = false;
          break;
        }
        status = status * 10 + (pending_[i] - '0');
      }
      if (!digits) {
        state_ = State::stdout_data;
        out.stdout_bytes += marker_;
        continue;
      }
      exit_status_ = status;
      pending_.erase(0, colon + 1);
      state_ = State::stderr_data;
      continue;
    }
    // stdout_data or stderr_data: pass bytes through up to the next marker.
    std::string& sink = state_ == State::stdout_data ? out.stdout_bytes : out.stderr_bytes;
    auto pos = pending_.find(marker_);
    if (pos == std::string::npos) {
      std::size_t keep = partial_marker_suffix(pending_, marker_);
      sink.append(pending_, 0, pending_.size() - keep);
      pending_.erase(0, pending_.size() - keep);
      return out;
    }
    sink.append(pending_, 0, pos);
    pending_.erase(0, pos + marker_.size());
    if (state_ == State::stdout_data) {
      state_ = State::status;
      continue;
    }
    // In stderr: the end marker is "E:".
    if (pending_.size() < 2) {
      pending_.insert(0, marker_);  // wait for more, re-find next time
      return out;
    }
    if (pending_[0] == 'E' && pending_[1] == ':') {
      pending_.erase(0, 2);
      state_ = State::done;
    } else {
      sink += marker_;
    }
  }
  return out;
}

std::string StdinEncoder::encode(std::string_view bytes) {
  std::string out;
  if (decoder_ == StdinDecoder::terminal) {
    // Control bytes (which the line discipline would act on: ^C, ^D, ^U, ^?, CR, NL, ...) go
    // behind ^V; NUL and bytes from 0x80 are never special. A ^D every kTerminalLineBytes data
    // bytes hands the line to the reader. Written through a pointer, without branches per byte
    // (this runs over every byte forwarded).
    static constexpr auto kEscaped = [] {
      std::array<unsigned char, 256> t{};
      for (int c = 0x01; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = 1;
      t[0x7f] = 1;
      return t;
    }();
    out.resize(2 * bytes.size() + bytes.size() / kTerminalLineBytes + 1);
    char* p = out.data();
    const char* in = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
      const std::size_t n = std::min(left, kTerminalLineBytes - line_);
      for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(in[i]);
        *p = kLiteralNext;
        p += kEscaped[c];
        *p++ = static_cast<char>(c);
      }
      in += n;
      left -= n;
      line_ += n;
      if (line_ == kTerminalLineBytes) {
        *p++ = kEndOfFile;
        line_ = 0;
      }
    }
    out.resize(static_cast<std::size_t>(p - out.data()));
    return out;
  }
  if (decoder_ == StdinDecoder::base64) {
    carry_.append(bytes);
    std::size_t whole = carry_.size() / 3 * 3;
    std::string encoded = crypto::base64_encode(std::string_view(carry_).substr(0, whole));
    carry_.erase(0, whole);
    for (std::size_t i = 0; i < encoded.size();) {
      std::size_t n = std::min(kBase64LineChars - line_, encoded.size() - i);
      out.append(encoded, i, n);
      i += n;
      line_ += n;
      if (line_ == kBase64LineChars) {
        out += '\n';
        line_ = 0;
      }
    }
    return out;
  }
  static constexpr char octal[] = "01234567";
  for (unsigned char c : bytes) {
    out += '\\';
    out += octal[(c >> 6) & 7];
    out += octal[(c >> 3) & 7];
    out += octal[c & 7];
    if (++line_ == kOctalLineBytes) {
      out += '\n';
      line_ = 0;
    }
  }
  return out;
}

std::string StdinEncoder::finish() {
  std::string out;
  if (decoder_ == StdinDecoder::terminal) {
    if (line_ > 0) out += kEndOfFile;  // the last line, then end of file on an empty line
    line_ = 0;
    out += kEndOfFile;
    return out;
  }
  if (decoder_ == StdinDecoder::base64 && !carry_.empty()) {
    out = crypto::base64_encode(carry_);
    carry_.clear();
    line_ += out.size();
  }
  if (line_ > 0) out += '\n';
  line_ = 0;
  out += '\x04';  // VEOF at the start of a line: end of file for the decoder
  return out;
}

}  // namespace ecsh::exec
