#pragma once

// Choosing one cluster, service, task or container from what the user typed and what exists
// (docs/exec.md "Target selection"): exact name, ID or ARN; else a unique prefix; nothing typed
// and only one candidate: that one; several: the picker on a TTY, otherwise a usage error that
// lists them.

#include "ecsh/common/error.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ecsh::ecs {

struct Candidate {
  std::string id;     // what -c/-s/-t/-n accept: name, or task ID
  std::string arn;    // may be empty (containers have no ARN of their own here)
  std::string label;  // one line shown in lists and the picker
};

// Returns the index chosen, or nullopt when the user cancelled.
using Picker = std::function<Result<std::optional<std::size_t>>(const std::string& title,
                                                                const std::vector<std::string>&)>;

struct SelectRequest {
  std::string kind;   // "cluster", "service", "task", "container"
  std::string flag;   // "-c/--cluster", …: named in messages
  std::string given;  // what the user typed, may be empty
  std::string scope;  // e.g. "in cluster demo", for messages
};

// `picker` is called only when several candidates remain and nothing was typed; pass nullptr when
// stdin is not a TTY.
Result<std::size_t> select_one(const SelectRequest& request,
                               const std::vector<Candidate>& candidates, const Picker& picker);

// Containers that are not the application: agents and proxies injected next to it. The picker
// and the automatic choice skip them (they can still be named with -n).
bool is_sidecar_container(const std::string& name);

}  // namespace ecsh::ecs
