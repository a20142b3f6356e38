#!/usr/bin/env bash
# The long run of the randomized differential test (tests/differential): many
# generated cases with a random seed, each run with 1 and 4 shards against the
# reference evaluator. CI runs the same binary with a fixed seed and 150 cases.
# The cases cover GROUP BY (with and without state.ttl), windows (tumbling,
# sliding, session; lateness, out-of-orderness, dead letters), DISTINCT (also
# with state.ttl) and ROWS windows; SLUICE_DIFF_VERBOSE=1 prints each query.
#
# Environment (all optional):
#   BUILD=build        meson build directory (set up if missing)
#   CASES=20000        generated cases
#   SEED=<random>      base seed; printed, so a failing run can be repeated
#   SKIP_BUILD=1       use the binary in BUILD as it is
#   JOBS=2             compile jobs
# Extra arguments go to the test binary (e.g. --gtest_brief=1).
# A failure prints the query, the seed, the shard count, the differing rows
# and where the input was saved; the exit status is the binary's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build}
CASES=${CASES:-20000}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
JOBS=${JOBS:-2}

[[ $CASES =~ ^[1-9][0-9]*$ ]] || { echo "differential.sh: CASES must be a positive integer, got '$CASES'" >&2; exit 2; }
[[ $SEED =~ ^[0-9]+$ ]] || { echo "differential.sh: SEED must be a non-negative integer, got '$SEED'" >&2; exit 2; }

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    [[ -f $BUILD/build.ninja ]] || meson setup "$BUILD" >&2
    meson compile -C "$BUILD" -j "$JOBS" differential_test >&2
fi
BIN=$BUILD/tests/differential/differential_test
[[ -x $BIN ]] || { echo "differential.sh: $BIN not found (build it, or set BUILD=)" >&2; exit 1; }

echo "differential: SLUICE_DIFF_SEED=$SEED SLUICE_DIFF_CASES=$CASES" >&2
start=$SECONDS
status=0
SLUICE_DIFF_SEED=$SEED SLUICE_DIFF_CASES=$CASES "$BIN" --gtest_brief=1 "$@" || status=$?
echo "differential: seed $SEED, $CASES cases, $((SECONDS - start)) s, exit status $status" >&2
exit $status
