#include "sandbox/core/state_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ecsh::sandbox {

Result<boost::json::value> StateStore::load() const {
  std::ifstream in(file(), std::ios::binary);
  if (!in) return boost::json::value(nullptr);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto v = boost::json::parse(ss.str(), ec);
  if (ec || !v.is_object()) {
    return Error::config("the sandbox state " + file().string() + " is not valid JSON",
                         "Remove it to start from an empty world.");
  }
  return v;
}

Result<void> StateStore::save(const boost::json::value& state) const {
  std::error_code fs_ec;
  std::filesystem::create_directories(dir_, fs_ec);
  const std::string data = boost::json::serialize(state);
  const std::string tmp = (dir_ / ".state.json.tmp").string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error::internal("cannot write " + tmp + ": " + std::strerror(errno));
  }
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Error::internal("cannot write " + tmp + ": " + std::strerror(err));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Error::internal("cannot flush " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), file().c_str()) != 0) {
    return Error::internal("cannot replace " + file().string() + ": " + std::strerror(errno));
  }
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return ok();
}

}  // namespace ecsh::sandbox
