// The built-ins as ecsh-sandbox runs them (`EXE builtin NAME ARGS...`), without the sandbox.
#include "sandbox/runtime/builtins.hpp"

#include <cstdio>

int main(int argc, char** argv) {
  if (auto rc = ecsh::sandbox::runtime::dispatch_builtin(argc, argv)) return *rc;
  std::fprintf(stderr, "usage: %s builtin NAME ARGS...\n", argc > 0 ? argv[0] : "helper");
  return 2;
}
