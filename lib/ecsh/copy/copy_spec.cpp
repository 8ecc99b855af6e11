#include "ecsh/copy/copy_spec.hpp"

#include <charconv>

namespace ecsh::copy {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// A shell function (`b`) that prints the bytes of a printf format given as $1, then "x" (so that
// command substitution keeps trailing newlines: p=$(b "$1"); p=${p%x}).
// b: a printf_format back to its bytes. k: whether $1 is a checksum program the scripts may
// run, and is there (the client names it, from the probe's answer).
constexpr const char* kDecode =
    "b() { printf \"$1\"x; }\n"
    "k() { case $1 in b2sum|sha256sum) command -v \"$1\" >/dev/null 2>&1 ;; *) false ;; esac; }\n";

}  // namespace

Operand parse_operand(std::string_view text) {
  Operand o;
  if (text.starts_with(":")) {
    o.remote = true;
    o.path = std::string(text.substr(1));
    return o;
  }
  auto colon = text.find(':');
  if (colon != std::string_view::npos) {
    std::string_view who = text.substr(0, colon);
    std::string_view task = who.substr(0, who.find('/'));
    std::string_view container = who.find('/') == std::string_view::npos
                                     ? std::string_view()
                                     : who.substr(who.find('/') + 1);
    bool task_ok = task.size() >= 4 && task.size() <= 32;
    for (char c : task) task_ok = task_ok && is_hex(c);
    bool container_ok = who.find('/') == std::string_view::npos || !container.empty();
    for (char c : container) container_ok = container_ok && is_name_char(c);
    if (task_ok && container_ok) {
      o.remote = true;
      o.task = std::string(task);
      o.container = std::string(container);
      o.path = std::string(text.substr(colon + 1));
      return o;
    }
  }
  o.path = std::string(text);
  return o;
}

Result<CopyPlan> plan_copy(const std::vector<std::string>& operands) {
  const std::string hint =
      "Write ecsh cp [target] SRC... DST, with the container's paths as :PATH or "
      "TASK[/CONTAINER]:PATH, e.g. ecsh cp -s web ./app.conf :/etc/app.conf";
  if (operands.size() < 2) return Error::usage("cp needs a source and a destination", hint);
  CopyPlan plan;
  for (std::size_t i = 0; i + 1 < operands.size(); ++i) {
    plan.sources.push_back(parse_operand(operands[i]));
  }
  plan.destination = parse_operand(operands.back());
  const bool dst_remote = plan.destination.remote;
  for (const auto& s : plan.sources) {
    if (s.remote != plan.sources.front().remote) {
      return Error::usage(
          "the sources are on both sides: all in the container, or all on this machine (one side "
          "of cp)",
          hint);
    }
  }
  for (const auto& s : plan.sources) {
    if (s.remote == dst_remote) {
      return Error::usage(dst_remote
                              ? "both sides are in the container: one side of cp must be local"
                              : "both sides are local: name the container's side as :PATH",
                          hint);
    }
    if (s.path.empty()) return Error::usage("an empty path", hint);
  }
  if (plan.destination.path.empty()) {
    return Error::usage("an empty destination path", hint);
  }
  plan.direction = dst_remote ? Direction::upload : Direction::download;
  std::vector<const Operand*> remote;
  if (dst_remote) {
    remote.push_back(&plan.destination);
  } else {
    for (const auto& s : plan.sources) remote.push_back(&s);
  }
  for (const auto* r : remote) {
    if (r->task.empty()) continue;
    if (!plan.task.empty() && (plan.task != r->task || plan.container != r->container)) {
      return Error::usage("the container's paths name different tasks or containers",
                          "Copy from one container at a time.");
    }
    plan.task = r->task;
    plan.container = r->container;
  }
  bool stdin_source = false;
  for (const auto& s : plan.sources) stdin_source = stdin_source || (!s.remote && s.path == "-");
  if (stdin_source && plan.sources.size() > 1) {
    return Error::usage("- (stdin) can only be the one source", hint);
  }
  if (!dst_remote && plan.destination.path == "-" && plan.sources.size() > 1) {
    return Error::usage("- (stdout) takes one source file", hint);
  }
  return plan;
}

std::string printf_format(std::string_view bytes) {
  static constexpr char digits[] = "01234567";
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    // A format that starts with '-' would be read by printf as an option.
    const bool leading_dash = ch == '-' && out.empty();
    if (!leading_dash &&
        (is_name_char(ch) || ch == '/' || ch == '+' || ch == ',' || ch == '=' || ch == '@')) {
      out.push_back(ch);
    } else {
      out.push_back('\\');
      out.push_back(digits[(c >> 6) & 7]);
      out.push_back(digits[(c >> 3) & 7]);
      out.push_back(digits[c & 7]);
    }
  }
  return out;
}

std::string base_name(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/") return {};
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string probe_script() {
  return std::string(kDecode) + R"SH(c() { command -v "$1" >/dev/null 2>&1 && echo 1 || echo 0; }
s=; if k b2sum; then s=b2sum; elif k sha256sum; then s=sha256sum; fi
echo "caps tar=$(c tar) checksum=$s stat=$(c stat) base64=$(c base64) find=$(c find)"
for a in "$@"; do
  p=$(b "$a"); p=${p%x}
  if [ -L "$p" ] && [ ! -e "$p" ]; then t=l
  elif [ -d "$p" ]; then t=d
  elif [ -f "$p" ]; then t=f
  elif [ -e "$p" ]; then t=o
  else t=n; fi
  if [ "$t" = f ] && [ ! -r "$p" ]; then t=p; fi
  s=0 m=644 y=0
  if [ "$t" = f ] || [ "$t" = d ]; then
    if x=$(stat -L -c '%s %a %Y' -- "$p" 2>/dev/null); then
      s=${x%% *}; r=${x#* }; m=${r%% *}; y=${r#* }
    elif [ "$t" = f ] && x=$(wc -c < "$p" 2>/dev/null); then
      s=$x
    fi
  fi
  if [ "$t" = d ]; then q=$p; else
    case $p in */*) q=${p%/*}; [ -n "$q" ] || q=/ ;; *) q=. ;; esac
  fi
  w=0; [ -d "$q" ] && [ -w "$q" ] && w=1
  echo "$t $s $m $y $w"
done
)SH";
}

Result<ProbeResult> parse_probe(std::string_view text, std::size_t paths) {
  ProbeResult r;
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  if (lines.empty() || !lines[0].starts_with("caps ")) {
    return Error::protocol("the container's shell did not answer the copy probe");
  }
  auto flag = [&](std::string_view name) {
    auto at = lines[0].find(std::string(name) + "=");
    return at != std::string_view::npos && at + name.size() + 1 < lines[0].size() &&
           lines[0][at + name.size() + 1] == '1';
  };
  r.caps.tar = flag("tar");
  if (auto at = lines[0].find(" checksum="); at != std::string_view::npos) {
    auto value = lines[0].substr(at + 10);
    value = value.substr(0, value.find(' '));
    if (value == "b2sum" || value == "sha256sum") r.caps.checksum = std::string(value);
  }
  r.caps.stat = flag("stat");
  r.caps.base64 = flag("base64");
  r.caps.find = flag("find");
  if (lines.size() < paths + 1) return Error::protocol("the copy probe's answer is cut short");
  for (std::size_t i = 1; i <= paths; ++i) {
    std::string_view l = lines[i];
    RemoteEntry e;
    std::vector<std::string_view> f;
    while (!l.empty()) {
      auto sp = l.find(' ');
      f.push_back(l.substr(0, sp));
      if (sp == std::string_view::npos) break;
      l.remove_prefix(sp + 1);
    }
    if (f.size() != 5 || f[0].size() != 1)
      return Error::protocol("the copy probe's answer is malformed");
    e.type = f[0][0];
    std::from_chars(f[1].data(), f[1].data() + f[1].size(), e.size);
    std::from_chars(f[2].data(), f[2].data() + f[2].size(), e.mode, 8);
    std::from_chars(f[3].data(), f[3].data() + f[3].size(), e.mtime);
    e.parent_writable = f[4] == "1";
    r.entries.push_back(e);
  }
  return r;
}

std::string read_file_script() {
  return std::string(kDecode) + R"SH(p=$(b "$1"); p=${p%x}
[ -e "$p" ] || exit 2
[ -d "$p" ] && exit 21
[ -r "$p" ] || exit 13
# "auto": base64 only when the file holds a U+FFFD (which the agent would alter) or that cannot
# be told; the first byte of stdout says which (R raw, B base64).
if [ "$3" = auto ]; then
  if command -v grep >/dev/null 2>&1 && ! LC_ALL=C grep -q "$(printf '\357\277\275')" < "$p"; then
    set -- "$1" "$2" raw; printf R
  else
    set -- "$1" "$2" b64; printf B
  fi
fi
if k "$2"; then
  # The checksum goes on stderr, which must not be the terminal that carries the bytes.
  [ -t 2 ] && exit 42
  # Summed while it is sent, not before.
  "$2" < "$p" >&2 &
  h=$!
  if [ "$3" = b64 ]; then base64 < "$p" || exit 1; else cat < "$p" || exit 1; fi
  wait $h || exit 1
  exit 0
fi
if [ "$3" = b64 ]; then exec base64 < "$p"; fi
exec cat < "$p"
)SH";
}

std::string write_temp_script() {
  return std::string(kDecode) + R"SH(p=$(b "$1"); p=${p%x}
t="$p.ecsh-tmp-$4"
umask 077
trap 'rm -f -- "$t"; exit 1' HUP INT TERM
case $p in */*) q=${p%/*}; [ -n "$q" ] || q=/ ;; *) q=. ;; esac
[ -d "$q" ] || { cat >/dev/null; exit 20; }
[ -w "$q" ] || { cat >/dev/null; exit 13; }
failed() { rm -f -- "$t"; case $1 in *"o space"*) exit 28 ;; esac; echo "$1" >&2; exit 1; }
x=
if k "$7" && command -v tee >/dev/null 2>&1; then
  # The checksum is taken as the bytes arrive (tee writes the file and feeds it), not by
  # reading the file again once written. tee's complaint and its failure come back through the
  # substitution too (fd 3): nothing needs writing where the disk may be full. GNU tee stops at
  # the first failed write when told (as cat does); others read on to the end, then fail.
  o=; tee --output-error=exit /dev/null </dev/null >/dev/null 2>&1 && o=--output-error=exit
  x=$( { { tee $o -- "$t" 2>&3 || echo "ecsh: tee failed" >&3; } | "$7"; } 3>&1 )
  case $x in *"ecsh: tee failed"*) failed "$(printf '%s\n' "$x" | while IFS= read -r l; do
    case $l in *"  -" | "ecsh: tee failed") ;; *) printf '%s\n' "$l" ;; esac; done)" ;; esac
elif ! err=$( { cat > "$t"; } 2>&1 ); then
  failed "$err"
fi
[ -n "$2" ] && chmod "$2" "$t" 2>/dev/null
[ -n "$3" ] && touch -d "@$3" "$t" 2>/dev/null
k "$7" || exit 0
[ -n "$x" ] || x=$("$7" < "$t")
x=${x%% *}; echo "$x"
if [ "$x" != "$5" ]; then rm -f -- "$t"; exit 41; fi
if [ "$6" = no-clobber ] && { [ -e "$p" ] || [ -L "$p" ]; }; then rm -f -- "$t"; exit 17; fi
if [ -d "$p" ]; then rm -f -- "$t"; exit 21; fi
mv -f -- "$t" "$p" || { rm -f -- "$t"; exit 1; }
echo committed
exit 0
)SH";
}

std::string commit_script() {
  return std::string(kDecode) + R"SH(t=$(b "$1"); t=${t%x}; p=$(b "$2"); p=${p%x}
k=; if [ -n "$4" ]; then k=$(b "$4"); k=${k%x}; fi
fin() { [ -n "$k" ] && rm -rf -- "$k"; exit "$1"; }
if [ "$3" = discard ]; then rm -rf -- "$t"; fin 0; fi
if [ "$3" = no-clobber ] && { [ -e "$p" ] || [ -L "$p" ]; }; then rm -rf -- "$t"; fin 17; fi
if [ -d "$p" ]; then rm -rf -- "$t"; fin 21; fi
mv -f -- "$t" "$p" || { rm -rf -- "$t"; fin 1; }
fin 0
)SH";
}

std::string tar_read_script() {
  return std::string(kDecode) + R"SH(command -v tar >/dev/null 2>&1 || exit 40
h=0 c=$1
if k "$c" && command -v find >/dev/null 2>&1; then
  [ -t 2 ] && exit 42
  h=1
fi
e=$2
shift 2
exec 4>&1
while [ $# -gt 1 ]; do
  d=$(b "$1"); d=${d%x}; n=$(b "$2"); n=${n%x}; shift 2
  [ -e "$d/$n" ] || [ -L "$d/$n" ] || exit 2
  [ -r "$d/$n" ] || exit 13
  # stdout is the session's terminal, which tar refuses to write to: through cat, keeping
  # tar's own status (a file it could not read is a failure, not a smaller copy).
  if [ "$e" = b64 ]; then
    s=$( { { (cd -- "$d" && tar cf - "./$n"); echo $? >&3; } | base64 >&4; } 3>&1 )
  else
    s=$( { { (cd -- "$d" && tar cf - "./$n"); echo $? >&3; } | cat >&4; } 3>&1 )
  fi
  [ "$s" = 0 ] || exit 1
  if [ $h = 1 ]; then (cd -- "$d" && find "./$n" -type f -exec "$c" {} + >&2) || exit 1; fi
done
exit 0
)SH";
}

std::string hash_script() {
  return std::string(kDecode) + R"SH(k "$1" || exit 40
c=$1; shift
if [ "$1" = file ]; then p=$(b "$2"); p=${p%x}; exec "$c" < "$p"; fi
shift
while [ $# -gt 1 ]; do
  d=$(b "$1"); d=${d%x}; n=$(b "$2"); n=${n%x}; shift 2
  (cd -- "$d" && find "./$n" -type f -exec "$c" {} +) || exit 1
done
exit 0
)SH";
}

std::string tar_write_script() {
  return std::string(kDecode) + R"SH(command -v tar >/dev/null 2>&1 || { cat >/dev/null; exit 40; }
p=$(b "$1"); p=${p%x}
t="$p.ecsh-tmp-$2"
case $p in */*) q=${p%/*}; [ -n "$q" ] || q=/ ;; *) q=. ;; esac
[ -d "$q" ] || { cat >/dev/null; exit 20; }
mkdir -m 700 -- "$t" 2>/dev/null || { cat >/dev/null; exit 13; }
trap 'rm -rf -- "$t"; exit 1' HUP INT TERM
if ! err=$( { tar xf - -C "$t"; } 2>&1 ); then
  rm -rf -- "$t"
  case $err in *"o space"*) exit 28 ;; esac
  echo "$err" >&2; exit 1
fi
if k "$3" && command -v find >/dev/null 2>&1; then
  (cd -- "$t" && find . -type f -exec "$3" {} +)
fi
exit 0
)SH";
}

std::string local_temp_name(std::string_view destination, std::string_view nonce) {
  return std::string(destination) + ".ecsh-tmp-" + std::string(nonce);
}

std::optional<Error> remote_error(int status, std::string_view path, std::string_view stderr_text) {
  std::string p(path);
  switch (static_cast<RemoteStatus>(status)) {
    case RemoteStatus::ok:
      return std::nullopt;
    case RemoteStatus::no_such_file:
      return Error::usage(p + ": no such file or directory in the container");
    case RemoteStatus::permission_denied:
      return Error::usage(p + ": permission denied in the container",
                          "The command runs as the container's user; copy somewhere it may write.");
    case RemoteStatus::exists:
      return Error::usage(p + ": already exists in the container (--no-clobber)");
    case RemoteStatus::not_a_directory:
      return Error::usage(p + ": its directory does not exist in the container");
    case RemoteStatus::is_a_directory:
      return Error::usage(p + ": is a directory in the container",
                          "Copy a directory with -r, or name a file.");
    case RemoteStatus::no_space:
      return Error::usage(p + ": no space left on the container's file system (nothing was kept)");
    case RemoteStatus::no_tar:
      return Error::usage("copying a directory needs tar in the container, and it has none",
                          "Copy its files one by one instead.");
    case RemoteStatus::mismatch:
      return Error::connection(p + ": the copy in the container does not match (checksum differs)",
                               "Nothing was kept. Copy it again.", false);
    case RemoteStatus::failed:
    default:
      break;
  }
  std::string why(stderr_text.substr(0, 300));
  while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
  return Error::connection(p + ": the copy failed in the container (status " +
                               std::to_string(status) + (why.empty() ? "" : ": " + why) + ")",
                           {}, false);
}

std::vector<std::pair<std::string, std::string>> parse_checksum_lines(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.starts_with("\\")) line.remove_prefix(1);  // the sums escape odd names so
    // SHA-256 (64 hex digits) or BLAKE2b-512 (128), a space, then the name.
    std::size_t digits = 0;
    while (digits < line.size() && is_hex(line[digits])) ++digits;
    if ((digits != 64 && digits != 128) || line.size() < digits + 2 || line[digits] != ' ')
      continue;
    std::string_view name = line.substr(digits + 1);
    if (name.starts_with(" ") || name.starts_with("*")) name.remove_prefix(1);
    out.emplace_back(std::string(line.substr(0, digits)), std::string(name));
  }
  return out;
}

}  // namespace ecsh::copy
