#!/usr/bin/env bash
# Sets everything up and runs every test suite: unit, conformance (the shared
# cases with 1 and 4 shards), integration (the sluice binary end to end), then
# each libFuzzer target for FUZZ_SECONDS (default 60; 0 skips them) with
# scripts/fuzz.sh, in its own clang build (build-fuzz, FUZZ_BUILD), then the
# suites again under ASan+UBSan and TSan (scripts/test-sanitizers.sh, in
# build-asan and build-tsan) when asked:
#   scripts/test.sh [--sanitizers]
# SLUICE_SANITIZERS=asan|tsan|all|0 chooses; unset, it is 'all' with
# --sanitizers or in CI (CI set, as CI services do; .ci/run passes
# --sanitizers) and 0 otherwise, since they take several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers="${SLUICE_SANITIZERS:-}"
for arg in "$@"; do
  case "$arg" in
    --sanitizers) sanitizers="${sanitizers:-all}" ;;
    *) echo "usage: $0 [--sanitizers]" >&2; exit 2 ;;
  esac
done
if [[ -z "$sanitizers" ]]; then
  case "${CI:-}" in
    "" | 0 | false) sanitizers=0 ;;
    *) sanitizers=all ;;
  esac
fi
case "$sanitizers" in
  1 | true | yes) sanitizers=all ;;
  false | no) sanitizers=0 ;;
esac
scripts/setup-deps.sh
scripts/build.sh
build="${BUILD:-build}"

status=0
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 \
  --suite unit --suite conformance --suite integration || status=$?

# One plain summary line: test cases of every gtest binary, from meson's log.
python3 scripts/test-summary.py "$build/meson-logs/testlog.json"

fuzz_seconds="${FUZZ_SECONDS:-60}"
if [[ "$fuzz_seconds" != 0 ]]; then
  scripts/fuzz.sh "$fuzz_seconds" || status=1
fi

if [[ "$sanitizers" != 0 ]]; then
  scripts/test-sanitizers.sh "$sanitizers" || status=1
fi
exit $status
