#pragma once

// The sandbox's state on disk: one JSON document, {"version":1,"modules":{name: state}},
// replaced atomically (temporary file in the same directory, fsync, rename, fsync of the
// directory), so a process killed mid-write leaves the previous or the new state, never a torn one.

#include "ecsh/common/error.hpp"

#include <boost/json/value.hpp>

#include <filesystem>

namespace ecsh::sandbox {

class StateStore {
 public:
  explicit StateStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path file() const { return dir_ / "state.json"; }
  // Null when there is no state yet; an error when the file exists but cannot be read or parsed.
  Result<boost::json::value> load() const;
  Result<void> save(const boost::json::value& state) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace ecsh::sandbox
