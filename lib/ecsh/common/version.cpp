#include "ecsh/common/version.hpp"

#include <charconv>
#include <optional>
#include <vector>

namespace ecsh {
namespace {

// The next part of `s` as a number (0 when it is not one), removed from it.
unsigned long next_part(std::string_view& s) {
  unsigned long v = 0;
  auto dot = s.find('.');
  std::string_view part = s.substr(0, dot);
  std::from_chars(part.data(), part.data() + part.size(), v);
  s = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  return v;
}

// Every part, when each is a number.
std::optional<std::vector<unsigned long>> numeric_parts(std::string_view v) {
  if (v.empty()) return std::nullopt;
  std::vector<unsigned long> parts;
  while (true) {
    auto dot = v.find('.');
    std::string_view part = v.substr(0, dot);
    unsigned long n = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (part.empty() || ec != std::errc() || ptr != part.data() + part.size()) return std::nullopt;
    parts.push_back(n);
    if (dot == std::string_view::npos) return parts;
    v.remove_prefix(dot + 1);
  }
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    unsigned long x = next_part(a), y = next_part(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

bool plugin_version_newer(std::string_view version, std::string_view than) {
  auto a = numeric_parts(version);
  auto b = numeric_parts(than);
  if (!a || !b || a->size() != b->size()) return false;
  for (std::size_t i = 0; i < a->size(); ++i) {
    if ((*a)[i] != (*b)[i]) return (*a)[i] > (*b)[i];
  }
  return false;
}

}  // namespace ecsh
