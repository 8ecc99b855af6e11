#include "ecsh/aws/regions.hpp"

#include "ecsh/common/strings.hpp"

#include <algorithm>
#include <array>
#include <numeric>

namespace ecsh::aws {

namespace {

// The partitions' regions as AWS lists them (botocore's endpoints.json, and EC2 DescribeRegions
// with AllRegions for the commercial partition). Opt-in: every commercial region opened after
// 20 March 2019 except Osaka (ap-northeast-3), as AWS's account documentation lists them.
constexpr std::array<RegionInfo, 45> kRegions{{
    {"af-south-1", "aws", true},
    {"ap-east-1", "aws", true},
    {"ap-east-2", "aws", true},
    {"ap-northeast-1", "aws", false},
    {"ap-northeast-2", "aws", false},
    {"ap-northeast-3", "aws", false},
    {"ap-south-1", "aws", false},
    {"ap-south-2", "aws", true},
    {"ap-southeast-1", "aws", false},
    {"ap-southeast-2", "aws", false},
    {"ap-southeast-3", "aws", true},
    {"ap-southeast-4", "aws", true},
    {"ap-southeast-5", "aws", true},
    {"ap-southeast-6", "aws", true},
    {"ap-southeast-7", "aws", true},
    {"ca-central-1", "aws", false},
    {"ca-west-1", "aws", true},
    {"eu-central-1", "aws", false},
    {"eu-central-2", "aws", true},
    {"eu-north-1", "aws", false},
    {"eu-south-1", "aws", true},
    {"eu-south-2", "aws", true},
    {"eu-west-1", "aws", false},
    {"eu-west-2", "aws", false},
    {"eu-west-3", "aws", false},
    {"il-central-1", "aws", true},
    {"me-central-1", "aws", true},
    {"me-south-1", "aws", true},
    {"mx-central-1", "aws", true},
    {"sa-east-1", "aws", false},
    {"us-east-1", "aws", false},
    {"us-east-2", "aws", false},
    {"us-west-1", "aws", false},
    {"us-west-2", "aws", false},
    {"cn-north-1", "aws-cn", false},
    {"cn-northwest-1", "aws-cn", false},
    {"us-gov-east-1", "aws-us-gov", false},
    {"us-gov-west-1", "aws-us-gov", false},
    {"us-iso-east-1", "aws-iso", false},
    {"us-iso-west-1", "aws-iso", false},
    {"us-isob-east-1", "aws-iso-b", false},
    {"us-isob-west-1", "aws-iso-b", false},
    {"eu-isoe-west-1", "aws-iso-e", false},
    {"us-isof-east-1", "aws-iso-f", false},
    {"us-isof-south-1", "aws-iso-f", false},
}};

constexpr std::size_t kMaxSuggestionDistance = 3;
constexpr std::size_t kMaxSuggestionsShown = 3;

}  // namespace

std::span<const RegionInfo> known_regions() { return kRegions; }

const RegionInfo* find_region(std::string_view name) {
  for (const auto& r : kRegions) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  // Three rows: the one before the previous (for transpositions), the previous and the current.
  std::vector<std::size_t> before(m + 1), prev(m + 1), cur(m + 1);
  std::iota(prev.begin(), prev.end(), std::size_t{0});
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], before[j - 2] + 1);
      }
    }
    before.swap(prev);
    prev.swap(cur);
  }
  return prev[m];
}

std::vector<std::string_view> suggest_regions(std::string_view name) {
  const std::string lower = str::to_lower(name);
  std::size_t best = kMaxSuggestionDistance + 1;
  std::vector<std::string_view> out;
  for (const auto& r : kRegions) {
    const std::size_t d = edit_distance(lower, r.name);
    if (d < best) {
      best = d;
      out.clear();
    }
    if (d == best) out.push_back(r.name);
  }
  return out;
}

bool allows_unknown_region(std::optional<std::string_view> value) {
  if (!value) return false;
  const std::string v = str::to_lower(*value);
  return v == "1" || v == "true" || v == "yes";
}

Result<void> check_region_name(std::string_view name, std::string_view source) {
  if (find_region(name)) return ok();
  std::string message = std::string(name) + " is not an AWS region";
  auto near = suggest_regions(name);
  if (near.empty()) {
    message += "; AWS's regions are named like us-east-1, eu-west-2 or ap-southeast-1";
  } else {
    message += "; did you mean ";
    const std::size_t shown = std::min(near.size(), kMaxSuggestionsShown);
    for (std::size_t i = 0; i < shown; ++i) {
      if (i > 0) message += i + 1 == shown && near.size() == shown ? " or " : ", ";
      message += near[i];
    }
    if (near.size() > shown) message += ", …";
    message += "?";
  }
  std::string hint = "The region comes from " + std::string(source) +
                     ". For a region newer than this ecsh, set " +
                     std::string(kAllowUnknownRegionVar) + "=1.";
  return Error::config(std::move(message), std::move(hint));
}

}  // namespace ecsh::aws
