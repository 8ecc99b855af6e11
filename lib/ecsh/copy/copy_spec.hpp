#pragma once

// `ecsh cp` decisions, pure: which operands are remote (`:PATH`, `TASK[/CONTAINER]:PATH`), the
// direction of a copy, where each source lands, the shell scripts run in the container (which
// need only `sh` and `cat`; `tar`, `b2sum` or `sha256sum`, `stat`, `base64` are used when
// present) and the
// meaning of their output and exit statuses.
//
// Remote paths travel as printf formats of ASCII (every other byte an octal escape), so that
// names with spaces, quotes, newlines or bytes that are not UTF-8 survive the ExecuteCommand
// JSON string and the agent's shell-like splitting; the script turns them back into bytes.

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::copy {

struct Operand {
  bool remote = false;
  std::string task;       // TASK[/CONTAINER]:PATH: the task ID or a unique prefix
  std::string container;  // and the container, when given
  std::string path;       // "-" (local): stdin or stdout
};

// `:PATH` and `TASK[/CONTAINER]:PATH` (TASK: 4 to 32 hex digits) are remote; anything else is a
// local path (write ./a:b for a local name with a colon).
Operand parse_operand(std::string_view text);

enum class Direction { upload, download };

struct CopyPlan {
  Direction direction = Direction::download;
  std::vector<Operand> sources;
  Operand destination;
  std::string task, container;  // from a TASK[/CONTAINER]: operand, else empty
};

// At least one source and a destination; the sources all on one side and the destination on
// the other; remote operands name one task and container.
Result<CopyPlan> plan_copy(const std::vector<std::string>& operands);

// "abc\\351" for the bytes a, b, c, 0xe9: a printf format that prints exactly `bytes`.
std::string printf_format(std::string_view bytes);

// The last component of a path ("a/b/" -> "b"; "/" -> "").
std::string base_name(std::string_view path);

// ---- remote scripts: each is run as /bin/sh -c SCRIPT sh ARGS... ----

// What the container offers, then for each path (given with printf_format) one line:
// "<type> <size> <mode> <mtime> <writable-parent>", type one of f (file), d (directory),
// n (nothing), o (something else), l (a symlink to nothing), p (a permission problem).
std::string probe_script();

struct Capabilities {
  bool tar = false, stat = false, base64 = false, find = false;
  // The checksum program there, which the scripts run and ecsh matches here: "b2sum" (BLAKE2b,
  // preferred: a third of SHA-256's CPU in software, and the container pays it), "sha256sum",
  // or empty when it has neither.
  std::string checksum;
  bool has_checksum() const { return !checksum.empty(); }
  crypto::FileDigest digest() const {
    return checksum == "b2sum" ? crypto::FileDigest::blake2b : crypto::FileDigest::sha256;
  }
};
struct RemoteEntry {
  char type = 'n';
  std::uint64_t size = 0;
  unsigned mode = 0644;
  std::int64_t mtime = 0;
  bool parent_writable = false;
};
struct ProbeResult {
  Capabilities caps;
  std::vector<RemoteEntry> entries;
};
Result<ProbeResult> parse_probe(std::string_view stdout_text, std::size_t paths);

// Download one file (ARG1): the bytes on stdout (base64 with ARG3 "b64": the SSM agent drops
// two bytes of every U+FFFD in a session's output, sandbox/ssm/agent_output.hpp; with "auto"
// a first byte R or B says whether the file went raw or, because it holds a U+FFFD or the image
// has no grep to tell, in base64); with ARG2 a checksum program (Capabilities::checksum; else
// "nohash"), its line on stderr (status 42 when stderr is the session's terminal: the wrapper
// could not keep it apart, and the checksum would land among the bytes).
std::string read_file_script();
// Upload: stdin into a temporary name (ARG1 + ".ecsh-tmp-" + ARG4) next to ARG1, the
// destination, with mode ARG2 and mtime ARG3 (either may be empty). With ARG7 a checksum
// program there (taken as the bytes arrive, through tee, when the image has it) it prints the
// copy's checksum, and when that is ARG5 it renames it into place
// (ARG6: clobber or no-clobber) and prints "committed"; a different one removes it (status 41).
// Without one the temporary is left for the client to read back and commit.
std::string write_temp_script();
// Commit: rename ARG1 (the temporary) to ARG2, unless ARG3 is "no-clobber" and ARG2 exists;
// "discard" as ARG3 removes the temporary instead.
std::string commit_script();
// Download trees: ARG1 a checksum program or "nohash", ARG2 "b64" or "raw" (as
// read_file_script), then (parent directory, name) pairs: `tar cf -` of each on stdout (tar's
// failure is the script's), and with a checksum program and find there the checksum of every
// regular file on stderr (status 42 as for read_file_script).
std::string tar_read_script();
// With ARG1 a checksum program: the checksum on stdout of ARG3 (ARG2 "file"), or of every
// regular file under each (parent, name) pair that follows ARG2 "tree"; status 40 without it.
std::string hash_script();
// Upload trees: stdin (a tar stream) is extracted into a new temporary directory next to the
// destination ARG1 (ARG2 the nonce of its name); with ARG3 a checksum program, prints each
// regular file's checksum line, relative to it.
std::string tar_write_script();

// The temporary name of a local destination while it is written.
std::string local_temp_name(std::string_view destination, std::string_view nonce);

// What a remote script's exit status means: 0 ok; the named failures, with their message.
enum class RemoteStatus : int {
  ok = 0,
  no_such_file = 2,
  permission_denied = 13,
  exists = 17,
  not_a_directory = 20,
  is_a_directory = 21,
  no_space = 28,
  no_tar = 40,
  mismatch = 41,
  stderr_not_separate = 42,
  failed = 1,
};
// An error for a failed remote step, naming the path, or nothing for status 0.
std::optional<Error> remote_error(int status, std::string_view path, std::string_view stderr_text);

// "<hex>  ./rel/path" lines (sha256sum's or b2sum's output, paths as printed) into pairs;
// lines that do not parse are skipped.
std::vector<std::pair<std::string, std::string>> parse_checksum_lines(std::string_view text);

}  // namespace ecsh::copy
