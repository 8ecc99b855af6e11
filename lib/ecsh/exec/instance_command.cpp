#include "ecsh/exec/instance_command.hpp"

#include "ecsh/exec/remote_command.hpp"

#include "ecsh/common/shlex.hpp"

#include <optional>

namespace ecsh::exec {
namespace {

constexpr std::string_view kDocker = "ECSH-DOCKER ";
constexpr std::string_view kNoDocker = "ECSH-NODOCKER ";
constexpr std::string_view kLabel = "ECSH-LABEL ";
constexpr std::string_view kImage = "ECSH-IMAGE ";
constexpr std::string_view kEnd = "ECSH-END";

// A docker --format template that prints one tagged, tab-separated line per container.
std::string format_arg(std::string_view tag) {
  return shlex::quote(std::string(tag) + "{{.ID}}\t{{.Names}}\t{{.Status}}");
}

}  // namespace

std::string lookup_script(const InstanceContainerQuery& q) {
  std::string s;
  s += "if docker ps -q >/dev/null 2>&1; then d=docker; echo 'ECSH-DOCKER plain'; ";
  s += "elif sudo -n docker ps -q >/dev/null 2>&1; then d='sudo -n docker'; "
       "echo 'ECSH-DOCKER sudo'; ";
  s += "else echo \"ECSH-NODOCKER $(docker ps -q 2>&1 | tail -n 1)\"; echo ECSH-END; exit 0; fi; ";
  s += "l=$($d ps --no-trunc --filter " +
       shlex::quote("label=com.amazonaws.ecs.task-arn=" + q.task_arn) + " --filter " +
       shlex::quote("label=com.amazonaws.ecs.container-name=" + q.container_name) + " --format " +
       format_arg(kLabel) + "); ";
  s += "if [ -n \"$l\" ]; then printf '%s\\n' \"$l\"; ";
  // The image only when no container here carries ECS labels (an agent that does not label);
  // otherwise the task is simply not running here, and another task's container is not it.
  s += "elif [ -n \"$($d ps -q --filter label=com.amazonaws.ecs.task-arn)\" ]; then "
       "echo ECSH-LABELLED; ";
  if (!q.image.empty()) {
    s += "else $d ps --no-trunc --filter " + shlex::quote("ancestor=" + q.image) + " --format " +
         format_arg(kImage) + "; ";
  }
  s += "fi; echo ECSH-END";
  return s;
}

LookupResult parse_lookup(std::string_view output) {
  LookupResult r;
  std::size_t start = 0;
  while (start < output.size()) {
    auto end = output.find('\n', start);
    std::string_view line =
        output.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? output.size() : end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    // A pty may put the tag after other bytes on the line (an echo, a prompt): find it.
    auto tagged = [&line](std::string_view tag) -> std::optional<std::string_view> {
      auto pos = line.find(tag);
      if (pos == std::string_view::npos) return std::nullopt;
      return line.substr(pos + tag.size());
    };
    if (auto v = tagged(kDocker)) {
      r.docker_usable = true;
      r.needs_sudo = *v == "sudo";
    } else if (auto v = tagged(kNoDocker)) {
      r.docker_problem = std::string(*v);
    } else if (line.find(kEnd) != std::string_view::npos &&
               line.find(kEnd) + kEnd.size() == line.size()) {
      r.complete = true;
    } else {
      bool image = false;
      auto v = tagged(kLabel);
      if (!v) {
        v = tagged(kImage);
        image = v.has_value();
      }
      if (!v) continue;
      InstanceCandidate c;
      std::string_view rest = *v;
      auto tab1 = rest.find('\t');
      c.id = std::string(rest.substr(0, tab1));
      if (tab1 != std::string_view::npos) {
        rest.remove_prefix(tab1 + 1);
        auto tab2 = rest.find('\t');
        c.name = std::string(rest.substr(0, tab2));
        if (tab2 != std::string_view::npos) c.status = std::string(rest.substr(tab2 + 1));
      }
      if (c.id.empty()) continue;
      if (image) {
        // Image matches only count when no label matched.
        if (!r.candidates.empty() && !r.by_image) continue;
        r.by_image = true;
      } else if (r.by_image) {
        // A label match outranks every image match, whatever the order of the lines.
        r.candidates.clear();
        r.by_image = false;
      }
      r.candidates.push_back(std::move(c));
    }
  }
  return r;
}

std::string exec_script(const InstanceExec& e) {
  std::string docker = e.sudo ? "sudo -n docker" : "docker";
  const std::string as = e.user.empty() ? "" : "-u " + shlex::quote(e.user) + " ";
  std::string s;
  if (e.raw_outer_tty) s += "stty raw -echo 2>/dev/null; ";
  switch (e.mode) {
    case InstanceExecMode::interactive:
      s += "exec " + docker + " exec -it " + as + shlex::quote(e.container_id) + " " +
           (e.inner.empty() ? interactive_shell_command() : e.inner);
      break;
    case InstanceExecMode::pty_command:
      s += "exec " + docker + " exec -it " + shlex::quote(e.container_id) + " " + e.inner;
      break;
    case InstanceExecMode::plain_command:
      s += "exec " + docker + " exec " + (e.forward_stdin ? "-i " : "") + as +
           shlex::quote(e.container_id) + " " + shlex::join(e.words);
      if (!e.forward_stdin) s += " </dev/null";
      break;
  }
  return s;
}

}  // namespace ecsh::exec
