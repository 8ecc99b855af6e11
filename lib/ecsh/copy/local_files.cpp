#include "ecsh/copy/local_files.hpp"

#include "ecsh/common/subprocess.hpp"
#include "ecsh/copy/copy_spec.hpp"

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ecsh::copy {
namespace fs = std::filesystem;

Fd memory_file() { return Fd(::memfd_create("ecsh-cp", MFD_CLOEXEC)); }

std::string read_all(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// The checksum (hex) of what `fd` holds from the start; nullopt on a read error.
std::optional<std::string> checksum_of_fd(int fd, crypto::FileDigest digest) {
  crypto::FileDigestStream hash(digest);
  std::string buf(1 << 20, '\0');
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    hash.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    offset += n;
  }
  return hash.finish_hex();
}

std::optional<std::string> checksum_of_file(const fs::path& path, crypto::FileDigest digest) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) return std::nullopt;
  return checksum_of_fd(f.fd, digest);
}

// The first checksum of sha256sum's or b2sum's output ("<hex>  -" for a stdin digest).
std::string first_hash(std::string_view text) {
  auto lines = parse_checksum_lines(text);
  if (!lines.empty()) return lines.front().first;
  return {};
}

// Runs a program here (this machine's tar); its stderr is returned with the status.
std::pair<int, std::string> run_local(const std::vector<std::string>& argv) {
  subprocess::Spec spec;
  spec.argv = argv;
  spec.in = subprocess::Stream::null;
  spec.out = subprocess::Stream::null;
  spec.err = subprocess::Stream::capture;
  auto done = subprocess::run(spec);
  if (done.error != 0) return {127, std::string(argv[0]) + ": " + std::strerror(done.error)};
  return {done.exit_code, std::move(done.err)};
}

Error local_error(const std::string& path, int err) {
  if (err == ENOSPC) return Error::usage(path + ": no space left on this machine (nothing kept)");
  if (err == EACCES || err == EPERM) return Error::usage(path + ": permission denied");
  if (err == ENOENT) return Error::usage(path + ": no such file or directory");
  if (err == EISDIR) return Error::usage(path + ": is a directory", "Copy a directory with -r.");
  return Error::usage(path + ": " + std::strerror(err));
}

Result<UnnamedFile> unnamed_file() {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/ecsh-cp-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return local_error(tmpl, errno);
  ::unlink(tmpl.c_str());
  UnnamedFile f;
  f.fd = Fd(fd);
  f.path = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(fd);
  f.name = tmpl;
  return f;
}

std::string octal_mode(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%o", mode & 07777);
  return buf;
}

// The multiset of hashes of every regular file under `root` (symlinks are not followed).
std::optional<std::vector<std::string>> tree_hashes(const fs::path& root,
                                                    crypto::FileDigest digest) {
  std::vector<std::string> out;
  std::error_code ec;
  auto add = [&](const fs::path& p) -> bool {
    auto h = checksum_of_file(p, digest);
    if (!h) return false;
    out.push_back(*h);
    return true;
  };
  auto st = fs::symlink_status(root, ec);
  if (ec) return std::nullopt;
  if (fs::is_regular_file(st)) {
    if (!add(root)) return std::nullopt;
  } else if (fs::is_directory(st)) {
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file(ec) && !it->is_symlink(ec) && !add(it->path())) return std::nullopt;
    }
    if (ec) return std::nullopt;
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sorted_hashes(std::string_view sha_lines) {
  std::vector<std::string> out;
  for (auto& [h, name] : parse_checksum_lines(sha_lines)) out.push_back(h);
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t tree_bytes(const fs::path& root) {
  std::error_code ec;
  if (fs::is_regular_file(fs::symlink_status(root, ec))) return fs::file_size(root, ec);
  std::uint64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

std::uint64_t tree_files(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(root, ec))) return 1;
  std::uint64_t n = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_directory(ec)) ++n;
  }
  return n;
}

// How far a transfer is: the size of a file being written, or the read offset of a descriptor.
std::uint64_t file_size_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}
std::uint64_t read_offset_of(int fd) {
  off_t pos = ::lseek(fd, 0, SEEK_CUR);
  return pos < 0 ? 0 : static_cast<std::uint64_t>(pos);
}

}  // namespace ecsh::copy
