// Invariants for parse_lookup, fed anything a remote EC2 instance may print (banners, a pty's
// echo and \r\n, truncated output): never a crash; every candidate has a non-empty ID without a
// tab or newline; a fact is only reported when its tag is in the output (no "ECSH-IMAGE " means
// not by_image, no "ECSH-END" means not complete, no "ECSH-DOCKER " means docker not usable);
// by_image implies that no candidate came from a label line, and label matches are all the
// candidates whenever there are any; parsing is deterministic; and a pty's \r\n line endings
// give the same result as \n.
#include "ecsh/exec/instance_command.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

namespace {

bool same(const ecsh::exec::LookupResult& a, const ecsh::exec::LookupResult& b) {
  if (a.docker_usable != b.docker_usable || a.needs_sudo != b.needs_sudo ||
      a.docker_problem != b.docker_problem || a.by_image != b.by_image ||
      a.complete != b.complete || a.candidates.size() != b.candidates.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.candidates.size(); ++i) {
    const auto& x = a.candidates[i];
    const auto& y = b.candidates[i];
    if (x.id != y.id || x.name != y.name || x.status != y.status) return false;
  }
  return true;
}

bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view output(reinterpret_cast<const char*>(data), size);
  const auto r = ecsh::exec::parse_lookup(output);

  for (const auto& c : r.candidates) {
    if (c.id.empty() || contains(c.id, "\t") || contains(c.id, "\n")) std::abort();
    if (contains(c.name, "\t") || contains(c.name, "\n") || contains(c.status, "\n")) std::abort();
  }
  if (r.by_image && !contains(output, "ECSH-IMAGE ")) std::abort();
  if (!r.candidates.empty() && !contains(output, "ECSH-LABEL ") && !contains(output, "ECSH-IMAGE "))
    std::abort();
  if (!contains(output, "ECSH-LABEL ") && !r.candidates.empty() && !r.by_image) std::abort();
  if (r.complete && !contains(output, "ECSH-END")) std::abort();
  if (r.needs_sudo && !r.docker_usable) std::abort();
  if (r.docker_usable && !contains(output, "ECSH-DOCKER ")) std::abort();

  // Label matches win over image matches (instance_command.hpp: "Matches of the ECS labels;
  // when empty, matches of the image"), in whatever order the lines come. The label matches
  // alone are what the output gives with the image tag defused.
  std::string labels_only(output);
  for (auto p = labels_only.find("ECSH-IMAGE "); p != std::string::npos;
       p = labels_only.find("ECSH-IMAGE ", p)) {
    labels_only[p + 9] = 'X';
  }
  const auto label_matches = ecsh::exec::parse_lookup(labels_only).candidates.size();
  if (label_matches > 0 && (r.by_image || r.candidates.size() != label_matches)) std::abort();
  if (label_matches == 0 && r.by_image != !r.candidates.empty()) std::abort();

  if (!same(r, ecsh::exec::parse_lookup(output))) std::abort();

  // What a pty with onlcr makes of the same output.
  std::string crlf;
  crlf.reserve(output.size() + output.size() / 8);
  for (char ch : output) {
    if (ch == '\n') crlf += '\r';
    crlf += ch;
  }
  if (!same(r, ecsh::exec::parse_lookup(crlf))) std::abort();
  return 0;
}
