#include "ecsh/doctor/estate.hpp"

#include <algorithm>
#include <tuple>

namespace ecsh::doctor {

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::blocked:
      return "blocked";
    case Verdict::unknown:
      return "unknown";
    case Verdict::ready:
      return "ready";
  }
  return "unknown";
}

EstateRow judge(EstateRow row, const std::vector<Check>& checks) {
  row.blocking.clear();
  for (const auto& c : checks) {
    if (c.status == Status::fail) row.blocking.push_back(c);
  }
  if (!row.blocking.empty()) {
    row.verdict = Verdict::blocked;
    return row;
  }
  for (const auto& c : checks) {
    if (c.status == Status::unknown) row.blocking.push_back(c);
  }
  row.verdict = row.blocking.empty() ? Verdict::ready : Verdict::unknown;
  return row;
}

void sort_rows(std::vector<EstateRow>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const EstateRow& a, const EstateRow& b) {
    return std::tie(a.verdict, a.cluster, a.service, a.task) <
           std::tie(b.verdict, b.cluster, b.service, b.task);
  });
}

}  // namespace ecsh::doctor
