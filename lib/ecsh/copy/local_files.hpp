#pragma once

// What `ecsh cp` does on this machine's side: files read, hashed and written here, the pipe and
// thread that check a download's checksum as it arrives, local trees, this machine's tar.
// (copier.cpp drives a copy; copy_spec.hpp holds the pure decisions and the container's scripts.)

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/error.hpp"
#include "ecsh/common/unique_fd.hpp"

#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ecsh::copy {

using Fd = UniqueFd;

// A file without a name in $TMPDIR (or /tmp): nothing is left behind, whatever happens. `path`
// reaches it through this process's descriptor, for a program such as tar.
struct UnnamedFile {
  Fd fd;
  std::string path;
  std::string name;  // the name it had, for messages
};
// An anonymous file in memory (memfd): a command's captured output, a spooled stdin.
Fd memory_file();
// Everything `fd` holds, from the start.
std::string read_all(int fd);
// The checksum (hex) of what `fd` holds from the start; nullopt on a read error.
std::optional<std::string> checksum_of_fd(int fd, crypto::FileDigest digest);
std::optional<std::string> checksum_of_file(const std::filesystem::path& path,
                                            crypto::FileDigest digest);
// The first checksum of sha256sum's or b2sum's output ("<hex>  -" for a stdin digest).
std::string first_hash(std::string_view text);
// Runs a program here (this machine's tar); its stderr is returned with the status.
std::pair<int, std::string> run_local(const std::vector<std::string>& argv);
// errno from a local file operation, as a message that names the path.
Error local_error(const std::string& path, int err);
Result<UnnamedFile> unnamed_file();
// "644" for a mode's permission bits.
std::string octal_mode(unsigned mode);
// The multiset of hashes of every regular file under `root` (symlinks are not followed).
std::optional<std::vector<std::string>> tree_hashes(const std::filesystem::path& root,
                                                    crypto::FileDigest digest);
// The checksums of sha256sum's or b2sum's lines, sorted (to compare with tree_hashes).
std::vector<std::string> sorted_hashes(std::string_view sha_lines);
// Bytes in, and entries under, a file or directory (symlinks not followed).
std::uint64_t tree_bytes(const std::filesystem::path& root);
std::uint64_t tree_files(const std::filesystem::path& root);
// How far a transfer is: the size of a file being written, or the read offset of a descriptor.
std::uint64_t file_size_of(int fd);
std::uint64_t read_offset_of(int fd);

// A pipe whose other end a thread drains into `out`, hashing what passes.
class HashingWriter {
 public:
  enum class Encoding { raw, base64, first_byte };  // first_byte: 'R' raw or 'B' base64, then it
  // base64: what arrives is base64 text (line breaks allowed), written and hashed decoded.
  HashingWriter(int out, Encoding encoding, crypto::FileDigest digest)
      : out_(out),
        digest_(digest),
        base64_(encoding == Encoding::base64),
        announce_(encoding == Encoding::first_byte) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    read_ = p[0];
    write_ = p[1];
    ::fcntl(write_, F_SETPIPE_SZ, 1 << 20);
    thread_ = std::thread([this] { drain(); });
  }
  ~HashingWriter() { (void)finish(); }
  HashingWriter(const HashingWriter&) = delete;
  HashingWriter& operator=(const HashingWriter&) = delete;

  bool ok() const { return write_ >= 0; }
  int input() const { return write_; }
  int error() const { return error_; }
  // Closes the pipe, waits for the thread; the checksum of everything written, or nullopt.
  std::optional<std::string> finish() {
    if (write_ >= 0) {
      ::close(write_);
      write_ = -1;
    }
    if (thread_.joinable()) thread_.join();
    if (read_ >= 0) {
      ::close(read_);
      read_ = -1;
    }
    if (error_ || !hash_) return std::nullopt;
    return hash_;
  }

 private:
  void drain() {
    crypto::FileDigestStream hash(digest_);
    std::string buf(1 << 20, '\0');
    for (;;) {
      ssize_t n = ::read(read_, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (error_) continue;  // keep draining so that the writer never blocks
      // The session writes each agent message (4 KiB) on its own: reading them one by one
      // costs a wake-up, a read and a write here per message (a third of cp's system time).
      // After a short read, let the pipe (1 MiB) gather some; 1 ms is 66 KB at 66 MB/s.
      if (static_cast<std::size_t>(n) < kGather) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ssize_t more = ::read(read_, buf.data() + n, buf.size() - static_cast<std::size_t>(n));
        if (more > 0) n += more;
      }
      std::string_view bytes(buf.data(), static_cast<std::size_t>(n));
      if (announce_) {
        announce_ = false;
        if (bytes[0] != 'R' && bytes[0] != 'B') {
          error_ = EBADMSG;
          continue;
        }
        base64_ = bytes[0] == 'B';
        bytes.remove_prefix(1);
      }
      std::string decoded;
      if (base64_) {
        // Line breaks out, in runs (base64 wraps its lines at 76 characters).
        while (!bytes.empty()) {
          auto nl = bytes.find_first_of("\r\n");
          text_.append(bytes.substr(0, nl));
          if (nl == std::string_view::npos) break;
          bytes.remove_prefix(nl + 1);
        }
        std::size_t whole = text_.size() / 4 * 4;
        decoded.resize(whole / 4 * 3);
        int got = whole ? EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                          reinterpret_cast<const unsigned char*>(text_.data()),
                                          static_cast<int>(whole))
                        : 0;
        if (got < 0) {
          error_ = EBADMSG;
          continue;
        }
        // EVP_DecodeBlock counts padding as zero bytes: take them off.
        std::size_t pad = 0;
        if (whole >= 1 && text_[whole - 1] == '=') ++pad;
        if (whole >= 2 && text_[whole - 2] == '=') ++pad;
        decoded.resize(static_cast<std::size_t>(got) - pad);
        text_.erase(0, whole);
        bytes = decoded;
      }
      hash.update(bytes);
      for (std::size_t off = 0; off < bytes.size();) {
        ssize_t w = ::write(out_, bytes.data() + off, bytes.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          error_ = errno ? errno : EIO;
          break;
        }
        off += static_cast<std::size_t>(w);
      }
    }
    if (!error_ && !text_.empty()) error_ = EBADMSG;  // cut short
    if (error_) return;
    hash_ = hash.finish_hex();
  }

  static constexpr std::size_t kGather = 64 << 10;
  int out_;
  crypto::FileDigest digest_;
  bool base64_ = false;
  bool announce_ = false;
  std::string text_;  // base64 not yet decoded (less than 4 characters)
  int read_ = -1, write_ = -1;
  std::thread thread_;
  std::atomic<int> error_{0};
  std::optional<std::string> hash_;
};

}  // namespace ecsh::copy
