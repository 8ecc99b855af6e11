#pragma once

// doctor --all: many targets judged in one pass, one row each. Pure: the CLI gathers (sharing
// its reads through aws::ReadCache) and prints.

#include "ecsh/doctor/checks.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::doctor {

enum class Verdict { blocked, unknown, ready };  // the order rows are listed in
std::string_view verdict_name(Verdict v);        // "blocked", "unknown", "ready"

struct EstateRow {
  std::string cluster;    // name
  std::string service;    // "" for a standalone task
  std::string task;       // the task judged (its ID), "" when none runs
  std::size_t tasks = 0;  // running tasks of the service (1 for a standalone task)
  Verdict verdict = Verdict::ready;
  std::vector<Check> blocking;  // the failing checks (blocked), or the undecided ones (unknown)
  std::string error;            // gathering itself failed (then the verdict is unknown)
};

// The verdict and its reasons from doctor's checks: blocked when one fails, unknown when none
// fails and one cannot be decided, ready otherwise.
EstateRow judge(EstateRow row, const std::vector<Check>& checks);

// Blocked first, then unknown, then ready; by cluster, service, task within each.
void sort_rows(std::vector<EstateRow>& rows);

}  // namespace ecsh::doctor
