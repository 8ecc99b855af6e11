// What the process runtime prepares in the parent before it starts a process (see
// process_plan.hpp).

#include "sandbox/runtime/process_plan.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>

namespace ecsh::sandbox::runtime::detail {

const std::string kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool env_has(const EnvList& env, const std::string& key) {
  for (const auto& kv : env)
    if (kv.first == key) return true;
  return false;
}

void env_set(EnvList& env, const std::string& key, const std::string& value) {
  for (auto& kv : env)
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  env.emplace_back(key, value);
}

namespace {

std::string env_value(const EnvList& env, const std::string& key) {
  for (auto it = env.rbegin(); it != env.rend(); ++it)
    if (it->first == key) return it->second;
  return {};
}

std::vector<std::string> env_strings(const EnvList& env) {
  std::vector<std::string> out;
  std::map<std::string, std::size_t> index;  // the last value of a key wins
  for (const auto& [k, v] : env) {
    auto it = index.find(k);
    if (it != index.end()) {
      out[it->second] = k + "=" + v;
    } else {
      index.emplace(k, out.size());
      out.push_back(k + "=" + v);
    }
  }
  return out;
}

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

// argv[0] → the program to execute: built-ins map to the builtin executable, a name without a
// slash is looked up in PATH (the image is the host filesystem, so the lookup is the same here).
Result<ExecImage> resolve_program(const std::vector<std::string>& argv, const EnvList& env,
                                  const std::string& builtin_exe) {
  if (argv.empty() || argv[0].empty()) return Error::usage("the command is empty");
  ExecImage img;
  if (argv[0] == "sandbox-httpd" || argv[0] == "sandbox-http-get" ||
      argv[0] == "sandbox-exec-agent") {
    if (builtin_exe.empty())
      return Error::internal("the sandbox's built-in tools are unavailable (no executable)");
    img.path = builtin_exe;
    img.args = {builtin_exe, "builtin", argv[0].substr(std::strlen("sandbox-"))};
    img.args.insert(img.args.end(), argv.begin() + 1, argv.end());
  } else {
    img.args = argv;
    if (argv[0].find('/') != std::string::npos) {
      img.path = argv[0];
      if (!is_executable_file(img.path))
        return Error::usage("exec: \"" + argv[0] + "\": no such executable file");
    } else {
      std::string path = env_has(env, "PATH") ? env_value(env, "PATH") : kDefaultPath;
      std::size_t start = 0;
      while (start <= path.size()) {
        auto end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + argv[0];
        if (is_executable_file(candidate)) {
          img.path = candidate;
          break;
        }
        start = end + 1;
      }
      if (img.path.empty())
        return Error::usage("exec: \"" + argv[0] + "\": executable file not found in $PATH");
    }
  }
  img.env = env_strings(env);
  img.finish();
  return img;
}

Result<UserIds> resolve_user(const std::string& user) {
  UserIds ids;
  if (user.empty()) return ids;
  std::string u = user, g;
  if (auto colon = user.find(':'); colon != std::string::npos) {
    u = user.substr(0, colon);
    g = user.substr(colon + 1);
  }
  ids.set = true;
  std::vector<char> buf(16384);
  if (all_digits(u)) {
    ids.uid = static_cast<uid_t>(std::stoul(u));
    struct passwd pw, *res = nullptr;
    ids.gid = (::getpwuid_r(ids.uid, &pw, buf.data(), buf.size(), &res) == 0 && res)
                  ? pw.pw_gid
                  : static_cast<gid_t>(ids.uid);
  } else {
    struct passwd pw, *res = nullptr;
    if (::getpwnam_r(u.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res)
      return Error::usage("unable to find user " + u + ": no matching entries in passwd file");
    ids.uid = pw.pw_uid;
    ids.gid = pw.pw_gid;
  }
  if (!g.empty()) {
    if (all_digits(g)) {
      ids.gid = static_cast<gid_t>(std::stoul(g));
    } else {
      struct group gr, *res = nullptr;
      if (::getgrnam_r(g.c_str(), &gr, buf.data(), buf.size(), &res) != 0 || !res)
        return Error::usage("unable to find group " + g + ": no matching entries in group file");
      ids.gid = gr.gr_gid;
    }
  }
  return ids;
}

}  // namespace ecsh::sandbox::runtime::detail
