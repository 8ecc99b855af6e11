#pragma once

// Plain aligned tables on stdout, for `ecsh ls` and `ecsh docker ps`.

#include <cstddef>
#include <string>
#include <vector>

namespace ecsh::cli {

// Columns separated by `gap` spaces (docker's own tables use 3), no trailing spaces.
void print_table(const std::vector<std::string>& head,
                 const std::vector<std::vector<std::string>>& rows, std::size_t gap = 2);

}  // namespace ecsh::cli
