#include "sandbox/core/state_store.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

namespace ecsh::sandbox {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/ecsh-state-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(StateStore, RoundTripsAndLeavesNoTemporaryFile) {
  TempDir dir;
  StateStore store(dir.path / "nested");
  auto empty = store.load();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty.value().is_null());
  boost::json::value doc = {{"version", 1}, {"modules", {{"iam", {{"roles", {1, 2}}}}}}};
  ASSERT_TRUE(store.save(doc));
  ASSERT_TRUE(store.save(doc));
  auto loaded = store.load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded.value(), doc);
  int files = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir.path / "nested")) ++files;
  EXPECT_EQ(files, 1);
}

TEST(StateStore, ACorruptFileIsAnErrorThatSaysWhatToDo) {
  TempDir dir;
  std::ofstream(dir.path / "state.json") << "{\"version\":1,\"mod";
  auto loaded = StateStore(dir.path).load();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().describe().find("Remove it"), std::string::npos);
}

}  // namespace
}  // namespace ecsh::sandbox
