#include "ecsh/aws/config_file.hpp"

#include "ecsh/common/strings.hpp"

#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ecsh::aws {
namespace {

bool is_indented(std::string_view line) {
  return !line.empty() && (line[0] == ' ' || line[0] == '\t');
}

// Splits "key = value" at the first '=' or ':'.
std::optional<std::pair<std::string, std::string>> split_key_value(std::string_view line) {
  auto pos = line.find_first_of("=:");
  if (pos == std::string_view::npos) return std::nullopt;
  auto key = str::trim(line.substr(0, pos));
  if (key.empty()) return std::nullopt;
  return std::make_pair(str::to_lower(key), std::string(str::trim(line.substr(pos + 1))));
}

}  // namespace

std::optional<std::string> ConfigSection::get(const std::string& key) const {
  auto it = values.find(key);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

Result<ConfigFile> parse_config_file(std::string_view text, std::string path) {
  ConfigFile file;
  file.path = std::move(path);
  ConfigSection* section = nullptr;
  std::string last_key;  // the key continuation lines belong to
  int number = 0;
  auto fail = [&](std::string what) {
    return Error::config(file.path + ", line " + std::to_string(number) + ": " + what,
                         "Fix or remove that line; the AWS CLI reads this file too.");
  };
  for (auto raw : str::split(text, '\n')) {
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    auto trimmed = str::trim(raw);
    if (trimmed.empty() || trimmed[0] == '#' || trimmed[0] == ';') continue;
    if (is_indented(raw) && section && !last_key.empty()) {
      // A continuation line: part of a nested map when the key's own value was empty.
      auto kv = split_key_value(trimmed);
      if (section->values[last_key].empty() && kv) {
        section->nested[last_key][kv->first] = kv->second;
      } else {
        auto& v = section->values[last_key];
        v += (v.empty() ? "" : "\n") + std::string(trimmed);
      }
      continue;
    }
    if (trimmed.front() == '[') {
      if (trimmed.back() != ']') return fail("a section header must end with ']'");
      auto name = std::string(str::trim(trimmed.substr(1, trimmed.size() - 2)));
      if (name.empty()) return fail("empty section name");
      section = &file.sections[name];
      if (section->line == 0) section->line = number;
      last_key.clear();
      continue;
    }
    if (!section) return fail("a setting before any [section] header");
    auto kv = split_key_value(trimmed);
    if (!kv) return fail("expected 'key = value'");
    section->values[kv->first] = kv->second;
    last_key = kv->first;
  }
  return file;
}

Result<std::optional<ConfigFile>> load_config_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<ConfigFile>();
    return Error::config("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::config("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  ECSH_TRY(auto file, parse_config_file(buf.str(), path));
  return std::optional<ConfigFile>(std::move(file));
}

}  // namespace ecsh::aws
