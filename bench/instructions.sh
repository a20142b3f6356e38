#!/usr/bin/env bash
# Instructions per record of `sluice query` on the BENCH.md scenarios, counted
# exactly by valgrind's callgrind (repeatable on a shared, noisy machine where
# wall time is not), with the top functions of each profile. One shard; the
# first N records of each data set (default 200,000), start-up included.
#
# Environment (all optional):
#   BUILD=build   N=200000   SCENARIOS="S0 S1 S2 S3a S3b 1BRC"   TOP=8
#   RESULTS=bench/RESULTS.md   the raw output is appended here
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
N=${N:-200000}
SCENARIOS=${SCENARIOS:-S0 S1 S2 S3a S3b 1BRC}
TOP=${TOP:-8}
RESULTS=${RESULTS:-bench/RESULTS.md}

SCRIPT=instructions.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
command -v valgrind >/dev/null || die "valgrind is required (apt-get install valgrind)"
command -v callgrind_annotate >/dev/null || die "callgrind_annotate is required (valgrind package)"
SLUICE=$BUILD/sluice
GEN=$BUILD/tools/sluice-gen
[[ -x $SLUICE && -x $GEN ]] || die "build sluice and sluice-gen in $BUILD first (scripts/build.sh)"

# shellcheck source=bench/scenarios.sh
source "$ROOT/bench/scenarios.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-instructions.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG=$WORK/output.txt
out() { printf '%s\n' "$*" | tee -a "$LOG"; }

revision=$(revision "$ROOT")
out "sluice instructions per record (bench/instructions.sh)"
out "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
out "cpu:       $(cpu_model)"
out "revision:  $revision; build $BUILD; N=$N records per scenario, 1 shard, output to /dev/null"
out ""

declare -A RESULT
for sc in $SCENARIOS; do
    [[ -n ${DATASET[$sc]+x} ]] || die "unknown scenario '$sc'"
    input=$WORK/${DATASET[$sc]}.ndjson
    [[ -f $input ]] || "$GEN" --scenario "${DATASET[$sc]}" --count "$N" --output "$input"
    printf '%s\n' "${SQL[$sc]}" >"$WORK/$sc.sql"
    cmd=("$SLUICE" query --sql "$WORK/$sc.sql" --input "$input" --output /dev/null)
    valgrind --tool=callgrind --callgrind-out-file="$WORK/$sc.cg" "${cmd[@]}" 2>"$WORK/$sc.err" ||
        die "valgrind failed for $sc: $(tail -3 "$WORK/$sc.err")"
    total=$(callgrind_annotate "$WORK/$sc.cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
    [[ -n $total ]] || die "no instruction total for $sc"
    RESULT[$sc]=$((total / N))
    out "== $sc: ${RESULT[$sc]} instructions per record (${total} in all)"
    out "   $SLUICE query --sql <$sc.sql> --input <$N records of ${DATASET[$sc]}> --output /dev/null"
    callgrind_annotate "$WORK/$sc.cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n "3,$((TOP + 2))p" |
        awk -v n="$N" '{ir = $1; gsub(",", "", ir); line = $0
                        sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", line); sub(/ \[.*$/, "", line); sub(/^\?\?\?:/, "", line)
                        printf "   %7.1f  %s\n", ir / n, substr(line, 1, 110)}' | tee -a "$LOG"
    out ""
done

out "instructions per record: $(for sc in $SCENARIOS; do printf '%s=%s ' "$sc" "${RESULT[$sc]}"; done)"

# Windowed EMIT CHANGES (S3b) is S3a plus one row per record: compare the
# difference with what emitting one row costs inside S3b (inclusive).
if [[ -n ${RESULT[S3a]+x} && -n ${RESULT[S3b]+x} ]]; then
    row=$(callgrind_annotate --inclusive=yes "$WORK/S3b.cg" 2>/dev/null |
        awk -v n="$N" '/QueryState::Impl::emit_cached\(/ {gsub(",", "", $1); printf "%d", $1 / n; exit}')
    ser=$(callgrind_annotate --inclusive=yes "$WORK/S3b.cg" 2>/dev/null |
        awk -v n="$N" '/RowFormat::write_after_lead\(/ {gsub(",", "", $1); printf "%d", $1 / n; exit}')
    out "EMIT CHANGES vs EMIT FINAL (S3b - S3a): $((RESULT[S3b] - RESULT[S3a])) instructions per record;" \
        "emitting one row in S3b costs ${row:-?} (serialization ${ser:-?})"
fi

append_results "$RESULTS" "instructions.sh" "$LOG"
