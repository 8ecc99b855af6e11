#include "ecsh/ecs/target_match.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace ecsh::ecs {
namespace {

std::string list_for_message(const std::vector<Candidate>& candidates,
                             const std::vector<std::size_t>& which) {
  std::string out;
  std::size_t shown = 0;
  for (auto i : which) {
    if (shown == 20) {
      out += "\n  … and " + std::to_string(which.size() - shown) + " more";
      break;
    }
    out += "\n  " + (candidates[i].label.empty() ? candidates[i].id : candidates[i].label);
    ++shown;
  }
  return out;
}

bool matches_exactly(const Candidate& c, const std::string& given) {
  return c.id == given || (!c.arn.empty() && c.arn == given);
}

}  // namespace

Result<std::size_t> select_one(const SelectRequest& r, const std::vector<Candidate>& candidates,
                               const Picker& picker) {
  if (candidates.empty()) {
    return Error::usage("no " + r.kind + " to choose from" + (r.scope.empty() ? "" : " " + r.scope),
                        "Check the names given with the other flags, and --region/--profile.");
  }
  std::vector<std::size_t> all(candidates.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;

  if (!r.given.empty()) {
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (matches_exactly(candidates[i], r.given)) return i;
    }
    std::vector<std::size_t> prefixed;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].id.starts_with(r.given) ||
          (!candidates[i].arn.empty() && candidates[i].arn.starts_with(r.given))) {
        prefixed.push_back(i);
      }
    }
    if (prefixed.size() == 1) return prefixed.front();
    if (prefixed.empty()) {
      return Error::usage("no " + r.kind + " '" + r.given + "'" +
                              (r.scope.empty() ? "" : " " + r.scope) +
                              "; there are:" + list_for_message(candidates, all),
                          "");
    }
    return Error::usage("'" + r.given + "' matches several " + r.kind + "s" +
                            (r.scope.empty() ? "" : " " + r.scope) + ":" +
                            list_for_message(candidates, prefixed),
                        "Give more of the name or ID with " + r.flag + ".");
  }

  if (candidates.size() == 1) return 0;
  if (!picker) {
    return Error::usage("several " + r.kind + "s" + (r.scope.empty() ? "" : " " + r.scope) +
                            "; choose one with " + r.flag + ":" + list_for_message(candidates, all),
                        "");
  }
  std::vector<std::string> labels;
  labels.reserve(candidates.size());
  for (const auto& c : candidates) labels.push_back(c.label.empty() ? c.id : c.label);
  ECSH_TRY(auto picked,
           picker("Choose a " + r.kind + (r.scope.empty() ? "" : " " + r.scope), labels));
  if (!picked) return Error::usage("cancelled: no " + r.kind + " chosen");
  return *picked;
}

bool is_sidecar_container(const std::string& name) {
  // Names AWS and common vendors give the containers they inject.
  static constexpr std::array<std::string_view, 9> prefixes = {
      "aws-guardduty-agent", "~internal~ecs",      "aws-otel-collector",
      "xray-daemon",         "datadog-agent",      "envoy",
      "log_router",          "aws-for-fluent-bit", "ecs-service-connect"};
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view p) { return name.starts_with(p); });
}

}  // namespace ecsh::ecs
