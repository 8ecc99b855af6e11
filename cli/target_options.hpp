#pragma once

// -c/-s/-t/-n, shared by every command that acts on a container, and the picker they use.

#include "ecsh/ecs/target.hpp"

namespace CLI {
class App;
}

namespace ecsh::cli {

void add_target_options(CLI::App& cmd, ecs::TargetSpec& spec);

// The interactive picker when stdin and stderr are terminals, else null (a list is printed
// instead by the selection code).
ecs::Picker terminal_picker();

// Asks a yes/no question on the terminal (prompt on stderr, so that stdout stays the command's).
// False when stdin is not a terminal.
bool confirm(const std::string& question);

}  // namespace ecsh::cli
