#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run ctest in the
# normal build, then again in the address,undefined sanitizer build.
#   KUBARR_TEST_BUILDS="normal asan"  which builds to test (default both)
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh test
jobs=$(nproc)
builds=${KUBARR_TEST_BUILDS:-normal asan}
# LeakSanitizer needs ptrace, which some sandboxes deny; ASan and UBSan still run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One documented nng 1.5.2 leak (tests/lsan.supp); inherited by the daemons.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}

run_build() {
  local name=$1 dir=$2; shift 2
  echo "=== kubarr tests: $name build ($dir)"
  cmake -S . -B "$dir" -DKUBARR_TESTS=ON -DKUBARR_BENCH=OFF "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j"$jobs"
}

for b in $builds; do
  case $b in
    normal) run_build normal build -DCMAKE_BUILD_TYPE=RelWithDebInfo ;;
    asan) run_build sanitizer build-asan -DCMAKE_BUILD_TYPE=Debug -DKUBARR_SANITIZE=ON ;;
    *) echo "unknown build '$b'" >&2; exit 2 ;;
  esac
done
