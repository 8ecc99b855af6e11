#include "cli/table.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ecsh::cli {

void print_table(const std::vector<std::string>& head,
                 const std::vector<std::vector<std::string>>& rows, std::size_t gap) {
  std::vector<std::size_t> w(head.size());
  for (std::size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (std::size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size() && i < w.size()) out += std::string(w[i] - r[i].size() + gap, ' ');
    }
    // An empty last cell would otherwise leave the padding of the one before.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    fmt::print("{}\n", out);
  };
  line(head);
  for (const auto& r : rows) line(r);
}

}  // namespace ecsh::cli
