#pragma once

// Doctor's verdicts: one line per check, grouped as the user thinks (you → cluster → service →
// task → each container → network), each ✗ with the exact fix and whether `ecsh enable` can
// apply it. Pure.

#include "ecsh/doctor/facts.hpp"

#include <string>
#include <vector>

namespace ecsh::doctor {

enum class Status { ok, fail, unknown, info };

struct Check {
  std::string id;     // stable, documented in docs/doctor.md: "caller.execute_command", …
  std::string group;  // "you", "cluster", "service", "task", "container:<name>", "network"
  Status status = Status::info;
  std::string title;   // "ecs:ExecuteCommand allowed for you"
  std::string detail;  // what was found
  std::string fix;     // what to do (empty when ok)
  bool fixable_by_enable = false;
};

std::vector<Check> evaluate(const Facts& facts);

// Exec will work: no check failed. (Unknown checks are reported but do not fail the verdict.)
bool exec_ready(const std::vector<Check>& checks);

const char* status_name(Status s);  // "ok", "fail", "unknown", "info"

}  // namespace ecsh::doctor
