#!/usr/bin/env bash
# The long run of the libFuzzer targets (tests/fuzz; CI runs each for a minute
# through scripts/test.sh): rounds of ROUND seconds per target until HOURS have
# passed, on a corpus kept in bench/data/fuzz-corpus/<target> (seeded from
# tests/fuzz/corpus, grown by every run, gitignored with bench/data/). A crash
# does not stop the run: each round's logs and crashing inputs stay under
# bench/data/fuzz-work/<start time>/round-<n>/; the exit status is 1 if any
# round found something. At the end each corpus is minimized (-merge=1).
#
#   bench/fuzz.sh [HOURS]
#
# Environment (all optional):
#   HOURS=1            total wall time (also the first argument; decimals allowed)
#   ROUND=600          seconds per target per round
#   TARGETS="decode sql config"
#   PARALLEL=1         targets fuzzed at once (each one process); on a shared
#                      2-core machine keep 1
#   FUZZ_BUILD=build-fuzz, JOBS=2, SKIP_BUILD=1 (use the binaries as they are)
#   MERGE=1            minimize the corpora at the end (0: keep every input)
# A crash: reproduce with build-fuzz/tests/fuzz/fuzz_<target> FILE, fix it, add
# FILE to tests/fuzz/corpus/<target>/ and a unit test (tests/unit/...).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

HOURS=${1:-${HOURS:-1}}
ROUND=${ROUND:-600}
TARGETS=${TARGETS:-decode sql config}
PARALLEL=${PARALLEL:-1}
MERGE=${MERGE:-1}
export FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
export FUZZ_JOBS=${JOBS:-2}
export FUZZ_CORPUS=$ROOT/bench/data/fuzz-corpus

[[ $HOURS =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "fuzz.sh: HOURS must be a number, got '$HOURS'" >&2; exit 2; }
[[ $ROUND =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: ROUND must be a positive integer, got '$ROUND'" >&2; exit 2; }
[[ $PARALLEL =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: PARALLEL must be a positive integer" >&2; exit 2; }
budget=$(python3 -c "print(int(float('$HOURS') * 3600))")
runs=$ROOT/bench/data/fuzz-work/$(date +%Y%m%d-%H%M%S)
mkdir -p "$runs" "$FUZZ_CORPUS"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  # One build up front (with no fuzzing); the rounds then share the binaries.
  FUZZ_WORK=$runs/build scripts/fuzz.sh 0 >/dev/null
fi
export FUZZ_SKIP_BUILD=1

echo "fuzz: targets $TARGETS, $ROUND s rounds, $HOURS h, $PARALLEL at once; corpus $FUZZ_CORPUS; logs $runs" >&2
start=$SECONDS
status=0
round=0
while ((SECONDS - start < budget)); do
  left=$((budget - (SECONDS - start)))
  # The rounds share what is left: with PARALLEL targets at once, ceil(targets / PARALLEL) slots.
  read -r -a ts <<<"$TARGETS"
  slots=$(((${#ts[@]} + PARALLEL - 1) / PARALLEL))
  secs=$((left / slots < ROUND ? left / slots : ROUND))
  ((secs >= 10)) || break
  round=$((round + 1))
  mkdir -p "$runs/round-$round"
  pids=()
  for t in "${ts[@]}"; do
    FUZZ_WORK=$runs/round-$round/$t FUZZ_TARGETS=$t scripts/fuzz.sh "$secs" >"$runs/round-$round/$t.out" 2>&1 &
    pids+=($!)
    if ((${#pids[@]} >= PARALLEL)); then
      wait "${pids[0]}" || status=1
      pids=("${pids[@]:1}")
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  for t in "${ts[@]}"; do
    grep -E '^fuzz_[a-z]+ +[0-9?]+ executions|^fuzz_[a-z]+: (FAILED|input:)' "$runs/round-$round/$t.out" |
      sed "s/^/round $round: /" >&2 || true
  done
done

if [[ $MERGE == 1 ]]; then
  for t in $TARGETS; do
    dir=$FUZZ_CORPUS/$t
    [[ -d $dir ]] || continue
    before=$(find "$dir" -type f | wc -l)
    rm -rf "$dir.min"
    mkdir -p "$dir.min"
    if "$FUZZ_BUILD/tests/fuzz/fuzz_$t" -merge=1 -rss_limit_mb=2048 -timeout=25 "$dir.min" "$dir" \
      </dev/null >"$runs/merge-$t.log" 2>&1; then
      rm -rf "$dir"
      mv "$dir.min" "$dir"
      echo "fuzz: corpus $t minimized: $before -> $(find "$dir" -type f | wc -l) inputs" >&2
    else
      rm -rf "$dir.min"
      echo "fuzz: corpus $t: merge failed (kept as is; see $runs/merge-$t.log)" >&2
    fi
  done
fi
echo "fuzz: $round rounds, $((SECONDS - start)) s, exit status $status" >&2
exit $status
