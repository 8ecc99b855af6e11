#!/usr/bin/env bash
# Set up, build and run ecsh on a Debian 12 machine.
#   ./dev.sh demo          install what is missing, build, run `ecsh demo`
#   ./dev.sh test          install what is missing, build (warnings are errors), run the whole suite
#   ./dev.sh test-sanitized  the whole suite again under AddressSanitizer + UBSan (build-asan/)
#   ./dev.sh build         install what is missing and build
#   ./dev.sh package       build ecsh_<version>_<arch>.deb in the build folder (CPack)
#   ./dev.sh format-check  fail when a source file is not clang-formatted or breaks the
#                          co_await rules of docs/CODING.md (tools/check_co_await.py)
#   ./dev.sh format        clang-format every source file in place
# Environment: BUILD_DIR (default build), JOBS (default: number of cores), ECSH_MIN_TESTS (the
# suite must hold at least this many tests).
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

# What building needs, and what the tests need on top (real AWS clients to compare against,
# a terminal driver, the formatter, and for Method 2 a Docker Engine, a busybox to make an image
# from, and an OpenSSH server playing the EC2 instance; the tests start each privately).
# GoogleTest is a build package: build/ is always configured with the tests (see BUILD_OPTIONS).
BUILD_PACKAGES=(g++ cmake ninja-build ccache pkg-config libssl-dev
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  libpugixml-dev libcli11-dev libfmt-dev ca-certificates googletest libgtest-dev libgmock-dev)
TEST_PACKAGES=(python3 python3-botocore python3-cryptography awscli tmux openssl
  clang-format-14 docker.io busybox-static openssh-server openssh-client strace
  dpkg-dev file groff-base zsh fish)

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

ensure_packages() {
  local missing
  missing=$(missing_packages "$@" | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "ecsh needs these Debian packages: $missing" >&2
    echo "Install them with: sudo apt-get install -y $missing" >&2
    exit 1
  fi
  echo "Installing Debian packages: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Every command that uses build/ configures it with all of these, so that no command inherits
# another's choice from the CMake cache: `demo` then `test` runs the whole suite, and `test` then
# `demo` rebuilds nothing. `demo` only builds fewer targets.
BUILD_OPTIONS=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DECSH_TESTS=ON -DECSH_WERROR=ON
  -DECSH_SANITIZE=OFF -DECSH_FUZZ=OFF -DECSH_UNITY=ON)
# The sanitized build compiles every file on its own (no unity batches), so that a file that
# does not include what it uses still fails somewhere.
SANITIZED_BUILD_OPTIONS=(-G Ninja -DCMAKE_BUILD_TYPE=Debug -DECSH_TESTS=ON -DECSH_WERROR=ON
  -DECSH_SANITIZE=ON -DECSH_FUZZ=OFF -DECSH_UNITY=OFF)

# configure_and_build DIR "OPTIONS…" [TARGET…]
configure_and_build() {
  local dir=$1 options=$2
  shift 2
  # shellcheck disable=SC2086
  cmake -S . -B "$dir" $options >/dev/null
  if [ $# -gt 0 ]; then
    cmake --build "$dir" -j "$JOBS" --target "$@"
  else
    cmake --build "$dir" -j "$JOBS"
  fi
}

# run_suite DIR [CTEST ARGS…]: the whole suite; fails when it holds no test, or fewer than
# ECSH_MIN_TESTS when that is set (CI states its floor), and prints the count it ran.
run_suite() {
  local dir=$1
  shift
  local count
  count=$(cd "$dir" && ctest -N "$@" | sed -n 's/^Total Tests: \([0-9]*\)$/\1/p')
  if [ "${count:-0}" -lt "${ECSH_MIN_TESTS:-1}" ]; then
    echo "dev.sh: the suite in $dir holds ${count:-0} tests, fewer than ${ECSH_MIN_TESTS:-1}" >&2
    exit 1
  fi
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$JOBS" "$@")
  echo "dev.sh: ran $count tests in $dir"
}

source_files() {
  git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' '*.h' '*.cc' 2>/dev/null || find lib cli sandbox tests bench -name '*.[ch]pp'
}

clang_format_bin() {
  command -v clang-format-14 || command -v clang-format
}

case "${1:-}" in
  demo)
    ensure_packages "${BUILD_PACKAGES[@]}"
    configure_and_build "$BUILD_DIR" "${BUILD_OPTIONS[*]}" ecsh ecsh-sandbox
    shift
    exec "$BUILD_DIR/bin/ecsh" demo "$@"
    ;;
  test)
    ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    configure_and_build "$BUILD_DIR" "${BUILD_OPTIONS[*]}"
    run_suite "$BUILD_DIR" --timeout 600
    ;;
  test-sanitized)
    ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    BUILD_DIR=${BUILD_DIR_ASAN:-build-asan}
    configure_and_build "$BUILD_DIR" "${SANITIZED_BUILD_OPTIONS[*]}"
    # The fault-injection suite moves hundreds of MiB through sessions; under the sanitizers it
    # would take most of the CI budget, so it runs in the normal build only. So does the test
    # labelled ptrace (child_process_hygiene): it runs everything under strace, and LeakSanitizer
    # cannot work under ptrace (it aborts every traced process, the tasks' included, which do not
    # get our ASAN_OPTIONS). The package test (label package) packages the release build only.
    ASAN_OPTIONS=detect_leaks=1 run_suite "$BUILD_DIR" --timeout 900 -LE 'faults|ptrace|package'
    ;;
  build)
    ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    configure_and_build "$BUILD_DIR" "${BUILD_OPTIONS[*]}"
    ;;
  package)
    # build/ecsh_<version>_<arch>.deb (packaging/CMakeLists.txt); dpkg-shlibdeps (dpkg-dev) and
    # file compute its Depends.
    ensure_packages "${BUILD_PACKAGES[@]}" dpkg-dev file
    configure_and_build "$BUILD_DIR" "${BUILD_OPTIONS[*]}" ecsh ecsh-sandbox ecsh_man_pages
    (cd "$BUILD_DIR" && cpack -G DEB)
    ;;
  format-check)
    ensure_packages clang-format-14 python3
    source_files | xargs -r "$(clang_format_bin)" --dry-run --Werror
    # docs/CODING.md's rules for coroutines, which g++ 12 miscompiles when broken.
    source_files | xargs -r python3 tools/check_co_await.py
    ;;
  format)
    ensure_packages clang-format-14
    source_files | xargs -r "$(clang_format_bin)" -i
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
