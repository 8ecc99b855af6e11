#pragma once

// AWS's regions, in one table: their names, partitions and whether an account must opt in to
// them. ecsh checks a region name against it before any call, and the sandbox answers only these
// regions (and DescribeRegions from it). Pure.

#include "ecsh/common/error.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::aws {

struct RegionInfo {
  std::string_view name;       // "eu-west-1"
  std::string_view partition;  // "aws", "aws-cn", "aws-us-gov", "aws-iso", …
  bool opt_in = false;         // launched after March 2019: disabled until the account opts in
};

// Every region of every partition, the commercial partition ("aws") first, each in name order.
std::span<const RegionInfo> known_regions();

// The region called exactly `name` (AWS's names are lower case), or nothing.
const RegionInfo* find_region(std::string_view name);

// The optimal-string-alignment (restricted Damerau–Levenshtein) distance: insertions, deletions,
// substitutions and transpositions of two adjacent characters each cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The regions nearest to `name` when one is close enough to be what was meant (at most 3 edits,
// ignoring case): those at the smallest distance, in table order. Empty when none is that close.
std::vector<std::string_view> suggest_regions(std::string_view name);

// The environment variable that lets a region missing from the table through (one AWS opened
// after this ecsh was built), and whether its value turns that on ("1", "true", "yes").
inline constexpr std::string_view kAllowUnknownRegionVar = "ECSH_ALLOW_UNKNOWN_REGION";
bool allows_unknown_region(std::optional<std::string_view> value);

// Success when `name` is one of AWS's regions; otherwise a `config` error that names the nearest
// real region ("mars-1 is not an AWS region; …") and the escape hatch. `source` says where the
// name came from, for the hint ("--region", "AWS_REGION", "the profile dev in ~/.aws/config").
Result<void> check_region_name(std::string_view name, std::string_view source);

}  // namespace ecsh::aws
