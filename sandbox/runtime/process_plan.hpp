#pragma once

// What the process runtime prepares in the parent before it starts a process, so that the child
// only makes system calls (process_child.hpp): the program to execute (argv[0] looked up in
// PATH, the sandbox's built-ins mapped to the builtin executable), its environment as
// KEY=VALUE strings, and the user it switches to. Internal to sandbox/runtime/.

#include "ecsh/common/error.hpp"
#include "sandbox/runtime/task_runtime.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace ecsh::sandbox::runtime::detail {

// PATH when the environment has none.
extern const std::string kDefaultPath;

struct ExecImage {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv_ptrs;
  std::vector<char*> env_ptrs;

  void finish() {
    argv_ptrs.clear();
    env_ptrs.clear();
    for (auto& a : args) argv_ptrs.push_back(a.data());
    argv_ptrs.push_back(nullptr);
    for (auto& e : env) env_ptrs.push_back(e.data());
    env_ptrs.push_back(nullptr);
  }
};

struct UserIds {
  bool set = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Whether the environment has `key`; setting it replaces the value in place, else appends.
bool env_has(const EnvList& env, const std::string& key);
void env_set(EnvList& env, const std::string& key, const std::string& value);

// argv[0] → the program to execute, with argv and the environment (the last value of a key
// wins): "sandbox-httpd" and "sandbox-http-get" run `builtin_exe builtin NAME ARGS…`, a name
// without a slash is looked up in the environment's PATH (the image is the host filesystem).
Result<ExecImage> resolve_program(const std::vector<std::string>& argv, const EnvList& env,
                                  const std::string& builtin_exe);

// "uid", "uid:gid", "name" or "name:group" → the IDs to switch to; "" → none.
Result<UserIds> resolve_user(const std::string& user);

}  // namespace ecsh::sandbox::runtime::detail
