// Invariants: shlex never crashes and quoting round-trips; the output demultiplexer never
// crashes, never returns more bytes than it was fed, and returns the same result whatever the
// chunking.
#include "ecsh/common/shlex.hpp"
#include "ecsh/exec/remote_command.hpp"

#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  if (auto words = ecsh::shlex::split(input)) {
    auto again = ecsh::shlex::split(ecsh::shlex::join(words.value()));
    if (!again || again.value() != words.value()) std::abort();
  }
  const std::string nonce = "0123456789abcdef0123456789abcdef";
  auto run = [&](std::size_t piece) {
    ecsh::exec::OutputDemux demux(nonce);
    std::string out, err;
    for (std::size_t i = 0; i < input.size(); i += piece) {
      auto c = demux.feed(std::string_view(input).substr(i, piece));
      out += c.stdout_bytes;
      err += c.stderr_bytes;
    }
    return std::make_tuple(out, err, demux.exit_status(), demux.finished());
  };
  auto whole = run(input.size() ? input.size() : 1);
  auto bytewise = run(1);
  if (std::get<0>(whole).size() + std::get<1>(whole).size() > input.size()) std::abort();
  if (whole != bytewise) std::abort();
  return 0;
}
