#include "ecsh/copy/copier.hpp"

#include "ecsh/copy/local_files.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/subprocess.hpp"
#include "ecsh/common/unique_fd.hpp"

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <thread>

namespace ecsh::copy {
namespace fs = std::filesystem;

namespace {

class Progress {
 public:
  Progress(asio::any_io_executor ex, const CopyOptions& o) : timer_(ex), options_(o) {}

  // Redraws every 200 ms until stop(): `name`, done()/total, rate and ETA.
  void start(std::string name, std::uint64_t total, std::function<std::uint64_t()> done) {
    if (!options_.progress) return;
    name_ = std::move(name);
    total_ = total;
    done_ = std::move(done);
    started_ = std::chrono::steady_clock::now();
    running_ = true;
    tick();
  }
  void stop() {
    if (!running_) return;
    running_ = false;
    timer_.cancel();
    draw(true);
  }

 private:
  void tick() {
    timer_.expires_after(std::chrono::milliseconds(200));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || !running_) return;
      draw(false);
      tick();
    });
  }
  void draw(bool last) {
    std::uint64_t done = done_ ? done_() : 0;
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    std::string line = "\r\x1b[K" + name_ + "  " + human_bytes(done);
    if (total_) line += " / " + human_bytes(total_);
    line += "  " + human_bytes(static_cast<std::uint64_t>(rate)) + "/s";
    if (total_ && rate > 0 && done < total_ && !last) {
      line += "  ETA " + std::to_string(static_cast<int>((total_ - done) / rate) + 1) + " s";
    }
    if (last) line += "\r\x1b[K";
    (void)!::write(options_.stderr_fd, line.data(), line.size());
  }

  asio::steady_timer timer_;
  const CopyOptions& options_;
  std::string name_;
  std::uint64_t total_ = 0;
  std::function<std::uint64_t()> done_;
  std::chrono::steady_clock::time_point started_;
  bool running_ = false;
};

std::vector<std::string> script_words(const std::string& script,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> w{"/bin/sh", "-c", script, "sh"};
  w.insert(w.end(), args.begin(), args.end());
  return w;
}

// A remote path as the scripts take it: relative ones start with "./", so that no command in
// the container reads a name that begins with '-' as an option.
std::string rf(const std::string& path) {
  return printf_format(path.starts_with("/") ? path : "./" + path);
}

// The local copies that a failed or interrupted copy must not leave (remove_partial_copies()).
std::vector<std::string>* g_partial = nullptr;

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// ---- the copy ----

struct Copier {
  const CopyPlan& plan;
  const CopyOptions& options;
  RemoteRunner run;
  asio::any_io_executor executor;
  Progress progress;
  std::string nonce = crypto::hex(crypto::random_bytes(6));
  CopySummary summary;
  std::vector<std::string> cleanup_local;  // removed when the copy fails
  // The scripts, named (a temporary std::string must not be passed into a co_await
  // expression: docs/CODING.md).
  const std::string probe_s = probe_script();
  const std::string read_s = read_file_script();
  const std::string write_s = write_temp_script();
  const std::string commit_s = commit_script();
  const std::string tar_read_s = tar_read_script();
  const std::string tar_write_s = tar_write_script();
  const std::string hash_s = hash_script();
  const std::string file_word = "file";
  const std::string tree_word = "tree";

  Copier(const CopyPlan& p, const CopyOptions& o, RemoteRunner r, asio::any_io_executor ex)
      : plan(p), options(o), run(std::move(r)), executor(ex), progress(ex, o) {}

  // A script in the container; stdout and stderr captured.
  struct Ran {
    int status = 0;
    std::string out, err;
  };
  Awaitable<Result<Ran>> remote(const std::string& script, const std::vector<std::string>& args,
                                int stdin_fd = -1, int stdout_fd = -1) {
    Fd out = memory_file();
    Fd err = memory_file();
    if (out.fd < 0 || err.fd < 0) {
      Error e = Error::internal(std::string("memfd_create: ") + std::strerror(errno));
      co_return e;
    }
    auto words = script_words(script, args);
    ECSH_CO_TRY(auto status, co_await run(std::move(words), stdin_fd,
                                          stdout_fd >= 0 ? stdout_fd : out.fd, err.fd));
    Ran r;
    r.status = status;
    if (stdout_fd < 0) r.out = read_all(out.fd);
    r.err = read_all(err.fd);
    co_return r;
  }

  // A file read again (base64 when the image can), for its checksum here: how a copy is verified
  // when the image has no checksum program. Empty when it cannot be read.
  Awaitable<Result<std::string>> read_back_hash(const std::string& path, const Capabilities& caps) {
    Fd sink = memory_file();
    HashingWriter writer(
        sink.fd, caps.base64 ? HashingWriter::Encoding::first_byte : HashingWriter::Encoding::raw,
        caps.digest());
    if (!writer.ok()) {
      Error e = Error::internal(std::string("pipe: ") + std::strerror(errno));
      co_return e;
    }
    std::vector<std::string> args{rf(path), "nohash", caps.base64 ? "auto" : "raw"};
    auto ran = co_await remote(read_s, args, -1, writer.input());
    auto hash = writer.finish();
    ECSH_CO_TRY(auto r, std::move(ran));
    if (r.status != 0 || !hash) co_return std::string();
    co_return *hash;
  }

  Awaitable<Result<ProbeResult>> probe(const std::vector<std::string>& paths) {
    std::vector<std::string> args;
    for (const auto& p : paths) args.push_back(rf(p));
    ECSH_CO_TRY(auto r, co_await remote(probe_s, args));
    if (r.status != 0) {
      Error e = Error::connection("the container's shell could not look at the paths (status " +
                                      std::to_string(r.status) + ")",
                                  "Check that the container has /bin/sh.", false);
      co_return e;
    }
    co_return parse_probe(r.out, paths.size());
  }

  // ---- download ----
  Awaitable<Result<void>> download() {
    std::vector<std::string> paths;
    for (const auto& s : plan.sources) paths.push_back(s.path);
    ECSH_CO_TRY(auto probed, co_await probe(paths));
    bool any_dir = false;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const auto& e = probed.entries[i];
      if (e.type == 'n' || e.type == 'l') co_return *remote_error(2, paths[i], "");
      if (e.type == 'p') co_return *remote_error(13, paths[i], "");
      if (e.type == 'o') {
        Error err = Error::usage(paths[i] + ": not a regular file or directory in the container");
        co_return err;
      }
      if (e.type == 'd' && !options.recursive) {
        Error err = Error::usage(paths[i] + ": is a directory in the container",
                                 "Copy a directory with -r.");
        co_return err;
      }
      any_dir = any_dir || e.type == 'd';
    }
    const std::string& dst = plan.destination.path;
    if (dst == "-") {
      if (any_dir) {
        Error err = Error::usage("- (stdout) takes one file, not a directory");
        co_return err;
      }
      co_return co_await download_to_stdout(paths[0], probed);
    }
    std::error_code ec;
    const bool dst_is_dir = fs::is_directory(dst, ec);
    if (paths.size() > 1 && !dst_is_dir) {
      Error err = Error::usage(dst + ": not a directory here (several sources need one)");
      co_return err;
    }
    if (!dst_is_dir && (dst.back() == '/' || !fs::is_directory(parent_of(dst), ec))) {
      co_return local_error(dst.back() == '/' ? dst : parent_of(dst), ENOENT);
    }
    std::vector<std::string> targets;
    for (const auto& p : paths) {
      std::string name = base_name(p);
      targets.push_back(dst_is_dir ? join(dst, name) : dst);
    }
    for (const auto& t : targets) {
      if (options.no_clobber && fs::exists(fs::symlink_status(t, ec))) {
        Error err = Error::usage(t + ": already exists (--no-clobber)");
        co_return err;
      }
    }
    if (any_dir || (paths.size() > 1 && probed.caps.tar)) {
      if (!probed.caps.tar) co_return *remote_error(40, paths[0], "");
      std::string local_dir = dst_is_dir ? dst : parent_of(dst);
      co_return co_await download_tar(paths, probed, local_dir, targets);
    }
    summary.method = "plain";
    for (std::size_t i = 0; i < paths.size(); ++i) {
      ECSH_CO_TRY(co_await download_file(paths[i], probed.entries[i], probed.caps, targets[i]));
    }
    co_return ok();
  }

  // One file into a temporary name next to `target`; verified; then renamed.
  Awaitable<Result<void>> download_file(const std::string& path, const RemoteEntry& entry,
                                        const Capabilities& caps, const std::string& target) {
    std::string tmp = local_temp_name(target, nonce);
    Fd f(::open(tmp.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600));
    if (f.fd < 0) co_return local_error(target, errno);
    cleanup_local.push_back(tmp);
    // With a checksum program there, raw first: a file that holds a U+FFFD (which the agent
    // alters) fails the comparison and goes again in base64. Without, the container tells (auto).
    const bool raw_first = caps.has_checksum() || !caps.base64;
    std::vector<std::string> args{rf(path), caps.has_checksum() ? caps.checksum : "nohash",
                                  raw_first ? "raw" : "auto"};
    auto encoding = raw_first ? HashingWriter::Encoding::raw : HashingWriter::Encoding::first_byte;
    std::string remote_hash;
    std::string how = caps.checksum + " in the container";
    int fd = f.fd;
    progress.start(base_name(path), entry.size, [fd] { return file_size_of(fd); });
    std::optional<std::string> local;
    for (int attempt = 0; attempt < 3; ++attempt) {
      // The bytes go through a pipe to a thread that hashes them as it writes the file, on the
      // other core, instead of reading the file again afterwards.
      ::ftruncate(f.fd, 0);
      ::lseek(f.fd, 0, SEEK_SET);
      HashingWriter writer(f.fd, encoding, caps.digest());
      if (!writer.ok()) co_return local_error(tmp, errno);
      auto ran = co_await remote(read_s, args, -1, writer.input());
      local = writer.finish();
      ECSH_CO_TRY(auto r, std::move(ran));
      if (r.status == static_cast<int>(RemoteStatus::stderr_not_separate) && attempt == 0) {
        // The container could not keep stderr apart: the hash in a session of its own first.
        std::vector<std::string> hash_args{caps.checksum, file_word, rf(path)};
        ECSH_CO_TRY(auto h, co_await remote(hash_s, hash_args));
        remote_hash = h.status == 0 ? first_hash(h.out) : "";
        args[1] = "nohash";
        continue;
      }
      if (auto e = remote_error(r.status, path, r.err)) {
        progress.stop();
        co_return *e;
      }
      if (remote_hash.empty()) remote_hash = first_hash(r.err);
      if (!local) co_return local_error(tmp, writer.error() ? writer.error() : EIO);
      if (!remote_hash.empty() && *local != remote_hash && caps.base64 &&
          encoding == HashingWriter::Encoding::raw && args[2] == "raw") {
        log::debug("cp: {} differs as sent raw (a U+FFFD?): again in base64", path);
        args[2] = "b64";
        encoding = HashingWriter::Encoding::base64;
        continue;
      }
      break;
    }
    progress.stop();
    if (!local) co_return local_error(tmp, EIO);
    if (remote_hash.empty()) {
      // No checksum program there: read it back and compare.
      how = "read back";
      ECSH_CO_TRY(remote_hash, co_await read_back_hash(path, caps));
    }
    log::debug("cp: {} (plain, verified by {}): checksum {}", path, how, *local);
    if (remote_hash != *local) {
      Error e = Error::connection(path +
                                      ": the copy does not match the file in the container "
                                      "(checksum differs; it may have changed while copying)",
                                  "Nothing was kept. Copy it again.", false);
      co_return e;
    }
    ::fchmod(f.fd, static_cast<mode_t>(entry.mode & 07777));
    if (entry.mtime > 0) {
      struct timespec times[2];
      times[0].tv_sec = times[1].tv_sec = entry.mtime;
      times[0].tv_nsec = times[1].tv_nsec = 0;
      ::futimens(f.fd, times);
    }
    if (options.no_clobber) {
      if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
        co_return local_error(target, errno == EEXIST ? EEXIST : errno);
      }
    } else if (::rename(tmp.c_str(), target.c_str()) != 0) {
      co_return local_error(target, errno);
    }
    std::erase(cleanup_local, tmp);
    summary.files += 1;
    summary.bytes += file_size_of(f.fd);
    summary.method = "plain, verified by " + how;
    co_return ok();
  }

  Awaitable<Result<void>> download_to_stdout(const std::string& path, const ProbeResult& probed) {
    Fd f = memory_file();
    std::string remote_hash;
    if (probed.caps.has_checksum()) {
      std::vector<std::string> hash_args{probed.caps.checksum, file_word, rf(path)};
      ECSH_CO_TRY(auto h, co_await remote(hash_s, hash_args));
      if (auto e = remote_error(h.status, path, h.err)) co_return *e;
      remote_hash = first_hash(h.out);
    }
    std::vector<std::string> args{rf(path), "nohash", probed.caps.base64 ? "auto" : "raw"};
    HashingWriter writer(
        f.fd,
        probed.caps.base64 ? HashingWriter::Encoding::first_byte : HashingWriter::Encoding::raw,
        probed.caps.digest());
    if (!writer.ok()) co_return local_error("stdout", errno);
    auto ran = co_await remote(read_s, args, -1, writer.input());
    auto local = writer.finish();
    ECSH_CO_TRY(auto r, std::move(ran));
    if (auto e = remote_error(r.status, path, r.err)) co_return *e;
    if (!local) co_return local_error("stdout", writer.error() ? writer.error() : EIO);
    if (!remote_hash.empty() && local && remote_hash != *local) {
      Error e = Error::connection(path + ": the copy does not match the file in the container",
                                  "Copy it again.", false);
      co_return e;
    }
    std::string data = read_all(f.fd);
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(options.stdout_fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) co_return local_error("stdout", errno);
      off += static_cast<std::size_t>(n);
    }
    summary.files = 1;
    summary.bytes = data.size();
    summary.method = "plain";
    co_return ok();
  }

  // Several sources or directories: one tar stream, unpacked here into a temporary directory,
  // verified, then each top entry renamed into place.
  Awaitable<Result<void>> download_tar(const std::vector<std::string>& paths,
                                       const ProbeResult& probed, const std::string& local_dir,
                                       const std::vector<std::string>& targets) {
    std::string stage = join(local_dir, ".ecsh-tmp-" + nonce);
    if (::mkdir(stage.c_str(), 0700) != 0) co_return local_error(local_dir, errno);
    cleanup_local.push_back(stage);
    ECSH_CO_TRY(auto made, unnamed_file());
    Fd a = std::move(made.fd);
    const std::string archive = made.path;
    const std::string tmpl = made.name;
    const bool hash_there = probed.caps.has_checksum() && probed.caps.find;
    std::vector<std::string> pairs;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      std::string p = paths[i];
      while (p.size() > 1 && p.back() == '/') p.pop_back();
      pairs.push_back(rf(parent_of(p)));
      pairs.push_back(printf_format(base_name(p)));
      total += probed.entries[i].type == 'f' ? probed.entries[i].size : 0;
    }
    std::vector<std::string> args{hash_there ? probed.caps.checksum : "nohash",
                                  probed.caps.base64 ? "b64" : "raw"};
    args.insert(args.end(), pairs.begin(), pairs.end());
    int fd = a.fd;
    progress.start(
        paths.size() == 1 ? base_name(paths[0]) : std::to_string(paths.size()) + " sources", total,
        [fd] { return file_size_of(fd); });
    const auto tar_encoding =
        probed.caps.base64 ? HashingWriter::Encoding::base64 : HashingWriter::Encoding::raw;
    std::optional<HashingWriter> writer(std::in_place, a.fd, tar_encoding, probed.caps.digest());
    if (!writer->ok()) co_return local_error(tmpl, errno);
    auto ran = co_await remote(tar_read_s, args, -1, writer->input());
    bool written = writer->finish().has_value();
    ECSH_CO_TRY(auto r, std::move(ran));
    std::string hash_lines;
    if (r.status == static_cast<int>(RemoteStatus::stderr_not_separate)) {
      // The container could not keep stderr apart: the hashes in a session of their own.
      std::vector<std::string> hash_args{probed.caps.checksum, tree_word};
      hash_args.insert(hash_args.end(), pairs.begin(), pairs.end());
      ECSH_CO_TRY(auto h, co_await remote(hash_s, hash_args));
      if (auto e = remote_error(h.status, paths[0], h.err)) co_return *e;
      hash_lines = h.out;
      args[0] = "nohash";
      ::ftruncate(a.fd, 0);
      ::lseek(a.fd, 0, SEEK_SET);
      writer.emplace(a.fd, tar_encoding, probed.caps.digest());
      if (!writer->ok()) co_return local_error(tmpl, errno);
      auto again = co_await remote(tar_read_s, args, -1, writer->input());
      written = writer->finish().has_value();
      ECSH_CO_TRY(auto r2, std::move(again));
      r = std::move(r2);
    } else {
      hash_lines = r.err;
    }
    progress.stop();
    if (auto e = remote_error(r.status, paths[0], r.err)) co_return *e;
    if (!written) co_return local_error(tmpl, writer->error() ? writer->error() : EIO);
    auto [code, err] =
        run_local({"tar", "-x", "-i", "--no-same-owner", "-f", archive, "-C", stage});
    if (code != 0) {
      Error e = Error::connection("unpacking the copy here failed: " + err.substr(0, 300),
                                  "Nothing was kept.", false);
      co_return e;
    }
    auto remote_hashes = sorted_hashes(hash_lines);
    std::string how = probed.caps.checksum + " in the container";
    if (!hash_there) how = "tar only (no b2sum, sha256sum or find there)";
    auto local_hashes = tree_hashes(stage, probed.caps.digest());
    if (!local_hashes) co_return local_error(stage, errno);
    if (hash_there && *local_hashes != remote_hashes) {
      Error e = Error::connection(
          "the copy does not match the files in the container (checksums "
          "differ; they may have changed while copying)",
          "Nothing was kept. Copy again.", false);
      co_return e;
    }
    std::error_code ec;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      fs::path from = fs::path(stage) / base_name(paths[i]);
      if (fs::exists(fs::symlink_status(targets[i], ec))) {
        if (options.no_clobber) {
          Error e = Error::usage(targets[i] + ": already exists (--no-clobber)");
          co_return e;
        }
        if (fs::is_directory(fs::symlink_status(targets[i], ec)) && fs::is_directory(from, ec)) {
          Error e = Error::usage(targets[i] + ": a directory of that name exists here",
                                 "Remove it, or copy into another directory.");
          co_return e;
        }
      }
      summary.bytes += tree_bytes(from);
      summary.files += tree_files(from);
      if (::rename(from.c_str(), targets[i].c_str()) != 0) co_return local_error(targets[i], errno);
    }
    fs::remove_all(stage, ec);
    std::erase(cleanup_local, stage);
    summary.method = "tar, verified by " + how;
    log::debug("cp: {} source(s) by tar, verified by {}", paths.size(), how);
    co_return ok();
  }

  // ---- upload ----
  Awaitable<Result<void>> upload() {
    const std::string dst = plan.destination.path;
    std::vector<std::string> local = {};
    for (const auto& s : plan.sources) local.push_back(s.path);
    std::error_code ec;
    bool any_dir = false;
    for (const auto& p : local) {
      if (p == "-") continue;
      auto st = fs::status(p, ec);
      if (ec || !fs::exists(st)) co_return local_error(p, ENOENT);
      if (fs::is_directory(st)) {
        if (!options.recursive) co_return local_error(p, EISDIR);
        any_dir = true;
      } else if (!fs::is_regular_file(st)) {
        Error e = Error::usage(p + ": not a regular file or directory");
        co_return e;
      }
      if (::access(p.c_str(), R_OK) != 0) co_return local_error(p, errno);
    }
    std::vector<std::string> probe_paths{dst};
    for (const auto& p : local) {
      if (p != "-") probe_paths.push_back(join(dst, base_name(p)));
    }
    ECSH_CO_TRY(auto probed, co_await probe(probe_paths));
    const auto& d = probed.entries[0];
    const bool dst_is_dir = d.type == 'd';
    if (local.size() > 1 && !dst_is_dir) {
      co_return *remote_error(d.type == 'n' ? 2 : 20, dst, "");
    }
    if (!dst_is_dir && dst.back() == '/') co_return *remote_error(2, dst, "");
    if (local[0] == "-" && dst_is_dir) {
      Error e = Error::usage(dst + ": is a directory in the container",
                             "Name the file to write: ecsh cp - :" + join(dst, "NAME"));
      co_return e;
    }
    if (any_dir && !probed.caps.tar) co_return *remote_error(40, dst, "");
    std::vector<std::string> finals;
    for (std::size_t i = 0; i < local.size(); ++i) {
      finals.push_back(dst_is_dir ? join(dst, base_name(local[i])) : dst);
      const auto& e = dst_is_dir ? probed.entries[i + 1] : d;
      if (options.no_clobber && e.type != 'n') co_return *remote_error(17, finals.back(), "");
      if (e.type == 'd' && (local[i] == "-" || !fs::is_directory(local[i], ec))) {
        co_return *remote_error(21, finals.back(), "");
      }
      if (e.type == 'd') {
        Error err =
            Error::usage(finals.back() + ": a directory of that name exists in the container",
                         "Remove it, or copy into another directory.");
        co_return err;
      }
    }
    if (any_dir || (local.size() > 1 && probed.caps.tar)) {
      if (!probed.caps.tar) co_return *remote_error(40, dst, "");
      std::string remote_dir = dst_is_dir ? dst : parent_of(dst);
      co_return co_await upload_tar(local, finals, remote_dir, probed);
    }
    for (std::size_t i = 0; i < local.size(); ++i) {
      ECSH_CO_TRY(co_await upload_file(local[i], finals[i], probed.caps));
    }
    co_return ok();
  }

  Awaitable<Result<void>> upload_file(const std::string& path, const std::string& final_path,
                                      const Capabilities& probed_caps) {
    Fd spooled;
    int fd = -1;
    Fd own;
    std::string mode, mtime;
    if (path == "-") {
      // Stdin is read once, into memory, so that it can be hashed and sent.
      spooled = memory_file();
      std::string buf(1 << 20, '\0');
      for (;;) {
        ssize_t n = ::read(options.stdin_fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (::write(spooled.fd, buf.data(), static_cast<std::size_t>(n)) != n) {
          co_return local_error("stdin", errno);
        }
      }
      ::lseek(spooled.fd, 0, SEEK_SET);
      fd = spooled.fd;
    } else {
      own = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (own.fd < 0) co_return local_error(path, errno);
      fd = own.fd;
      struct stat st {};
      if (::fstat(fd, &st) == 0) {
        mode = octal_mode(st.st_mode);
        mtime = std::to_string(st.st_mtim.tv_sec);
      }
    }
    auto local_hash = checksum_of_fd(fd, probed_caps.digest());
    if (!local_hash) co_return local_error(path, errno);
    std::uint64_t size = file_size_of(fd);
    std::string tmp = local_temp_name(final_path, nonce);
    std::vector<std::string> args{rf(final_path),
                                  mode,
                                  mtime,
                                  nonce,
                                  *local_hash,
                                  options.no_clobber ? "no-clobber" : "clobber",
                                  probed_caps.has_checksum() ? probed_caps.checksum : "nohash"};
    progress.start(path == "-" ? "stdin" : base_name(path), size,
                   [fd] { return read_offset_of(fd); });
    auto ran = co_await remote(write_s, args, fd);
    progress.stop();
    ECSH_CO_TRY(auto r, std::move(ran));
    if (auto e = remote_error(r.status, final_path, r.err)) co_return *e;
    std::string how = probed_caps.checksum + " in the container";
    // With a checksum program there the script compared and renamed; else read back, then commit.
    if (r.out.find("committed") == std::string::npos) {
      how = "read back";
      Fd back = memory_file();
      ECSH_CO_TRY(auto remote_hash, co_await read_back_hash(tmp, probed_caps));
      const bool match = remote_hash == *local_hash;
      std::vector<std::string> commit_args{rf(tmp), rf(final_path),
                                           !match               ? "discard"
                                           : options.no_clobber ? "no-clobber"
                                                                : "clobber",
                                           ""};
      ECSH_CO_TRY(auto c, co_await remote(commit_s, commit_args));
      if (!match) co_return *remote_error(41, final_path, "");
      if (auto e = remote_error(c.status, final_path, c.err)) co_return *e;
    }
    log::debug("cp: {} (plain, verified by {}): checksum {}", path, how, *local_hash);
    summary.files += 1;
    summary.bytes += size;
    summary.method = "plain, verified by " + how;
    co_return ok();
  }

  Awaitable<Result<void>> upload_tar(const std::vector<std::string>& local,
                                     const std::vector<std::string>& finals,
                                     const std::string& remote_dir, const ProbeResult& probed) {
    ECSH_CO_TRY(auto made, unnamed_file());
    Fd archive = std::move(made.fd);
    const std::string proc_path = made.path;
    std::vector<std::string> argv{"tar", "-c", "-f", proc_path};
    std::uint64_t total = 0;
    std::vector<std::string> hashes;
    for (const auto& p : local) {
      std::string clean = p;
      while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
      // Absolute: tar takes a relative -C from the previous -C, not from here.
      argv.insert(argv.end(),
                  {"-C", fs::absolute(parent_of(clean)).string(), "./" + base_name(clean)});
      total += tree_bytes(clean);
      summary.files += tree_files(clean);
      auto h = tree_hashes(clean, probed.caps.digest());
      if (!h) co_return local_error(clean, errno);
      hashes.insert(hashes.end(), h->begin(), h->end());
    }
    std::sort(hashes.begin(), hashes.end());
    auto [code, err] = run_local(argv);
    if (code != 0) {
      Error e = Error::usage("packing the sources here failed: " + err.substr(0, 300));
      co_return e;
    }
    ::lseek(archive.fd, 0, SEEK_SET);
    int fd = archive.fd;
    std::uint64_t archive_size = file_size_of(fd);
    progress.start(
        local.size() == 1 ? base_name(local[0]) : std::to_string(local.size()) + " sources",
        archive_size, [fd] { return read_offset_of(fd); });
    // The script extracts into "<ARG1>.ecsh-tmp-<nonce>": give it the directory's own name
    // stem so that the stage lands inside remote_dir.
    std::vector<std::string> args{rf(join(remote_dir, "")), nonce,
                                  probed.caps.has_checksum() ? probed.caps.checksum : "nohash"};
    auto ran = co_await remote(tar_write_s, args, fd);
    progress.stop();
    ECSH_CO_TRY(auto r, std::move(ran));
    if (auto e = remote_error(r.status, remote_dir, r.err)) co_return *e;
    auto remote_hashes = sorted_hashes(r.out);
    std::string how = probed.caps.checksum + " in the container";
    const std::string stage_dir = join(remote_dir, "") + ".ecsh-tmp-" + nonce;
    const bool hash_there = probed.caps.has_checksum() && probed.caps.find;
    bool match = !hash_there || remote_hashes == hashes;
    if (!hash_there) how = "tar only (no b2sum, sha256sum or find there)";
    std::optional<Error> failed;
    for (std::size_t i = 0; i < local.size() && match && !failed; ++i) {
      std::string clean = local[i];
      while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
      const bool last = i + 1 == local.size();
      std::vector<std::string> commit_args{rf(join(stage_dir, base_name(clean))), rf(finals[i]),
                                           options.no_clobber ? "no-clobber" : "clobber",
                                           last ? rf(stage_dir) : std::string()};
      auto committed = co_await remote(commit_s, commit_args);
      if (!committed) {
        failed = committed.error();
      } else if (auto e =
                     remote_error(committed.value().status, finals[i], committed.value().err)) {
        failed = *e;
      }
    }
    if (failed || !match) {
      // Whatever was not renamed into place goes, with the staging directory.
      std::vector<std::string> discard{rf(stage_dir), rf(stage_dir), "discard", ""};
      auto removed = co_await remote(commit_s, discard);
      (void)removed;
    }
    if (failed) co_return *failed;
    if (!match) {
      Error e = Error::connection("the copy in the container does not match (checksum differs)",
                                  "Nothing was kept. Copy again.", false);
      co_return e;
    }
    summary.bytes += total;
    summary.method = "tar, verified by " + how;
    co_return ok();
  }

  void clean_up() {
    std::error_code ec;
    for (const auto& p : cleanup_local) fs::remove_all(p, ec);
    cleanup_local.clear();
  }
};

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

void remove_partial_copies() {
  if (!g_partial) return;
  std::error_code ec;
  for (const auto& p : *g_partial) fs::remove_all(p, ec);
  g_partial->clear();
}

Awaitable<Result<CopySummary>> run_copy(const CopyPlan& plan, const CopyOptions& options,
                                        RemoteRunner run) {
  auto executor = co_await asio::this_coro::executor;
  Copier c(plan, options, std::move(run), executor);
  g_partial = &c.cleanup_local;
  struct Reset {
    ~Reset() { g_partial = nullptr; }
  } reset;
  auto start = std::chrono::steady_clock::now();
  Result<void> result = ok();
  if (plan.direction == Direction::download) {
    auto r = co_await c.download();
    result = std::move(r);
  } else {
    auto r = co_await c.upload();
    result = std::move(r);
  }
  if (!result) {
    c.clean_up();
    co_return result.error();
  }
  c.summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  co_return c.summary;
}

}  // namespace ecsh::copy
