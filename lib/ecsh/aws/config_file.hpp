#pragma once

// The AWS shared config and credentials files, parsed as botocore parses them (RawConfigParser
// plus nested sub-sections): [section] headers, `key = value` or `key: value` split at the first
// delimiter, keys case-insensitive, whole-line comments (# ;), no inline comments, and a key with
// an empty value followed by indented `k = v` lines holding a nested map.

#include "ecsh/common/error.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ecsh::aws {

struct ConfigSection {
  std::map<std::string, std::string> values;
  std::map<std::string, std::map<std::string, std::string>> nested;
  int line = 0;  // where the header is, for messages

  std::optional<std::string> get(const std::string& key) const;
};

struct ConfigFile {
  std::string path;
  std::map<std::string, ConfigSection> sections;  // by the exact text between the brackets
};

// Malformed input is a config error naming the file and line.
Result<ConfigFile> parse_config_file(std::string_view text, std::string path);
// nullopt when the file does not exist; an error when it exists but cannot be read or parsed.
Result<std::optional<ConfigFile>> load_config_file(const std::string& path);

}  // namespace ecsh::aws
