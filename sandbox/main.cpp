// ecsh-sandbox: placeholder entry point until the sandbox lands (issue 3).
#include <cstdio>

int main() {
  std::fputs("ecsh-sandbox: not built yet\n", stderr);
  return 1;
}
