#!/usr/bin/env bash
# sluice against DuckDB over the same NDJSON files, in one run, alternating:
# S2 as a plain GROUP BY (final rows), S3a (1-minute tumbling windows on
# s3-dense) and 1BRC, with 1 and 2 shards / DuckDB threads. Both are timed as
# whole processes (start-up included, BENCH.md's rule); each row is the median
# of RUNS runs, and the ratio is sluice's records/s over DuckDB's. Every run's
# result rows of the two systems must be the same (bench/peers/compare_rows.py),
# or the script exits 1 after its report.
#
# Environment (all optional):
#   BUILD=build       meson build directory (created with --buildtype=release if missing)
#   N=10000000        records per data set
#   RUNS=5            timed runs per scenario, thread count and system
#   SCENARIOS="S2 S3a 1BRC"   a subset to run
#   THREADS="1 2"     sluice shards (--parallel-read when > 1) = DuckDB threads
#   SKIP_BUILD=1      use the binaries in BUILD as they are
#   JOBS=2            compile jobs
#   DATA=bench/data   where data sets and query files live (gitignored)
#   RESULTS=bench/RESULTS.md   the raw output is appended here
#   NODE=node  NPM=npm         the Node.js and npm commands
set -euo pipefail
export LC_ALL=C  # '.' as the decimal point of EPOCHREALTIME

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build}
N=${N:-10000000}
RUNS=${RUNS:-5}
SCENARIOS=${SCENARIOS:-S2 S3a 1BRC}
THREADS=${THREADS:-1 2}
JOBS=${JOBS:-2}
DATA=${DATA:-bench/data}
RESULTS=${RESULTS:-bench/RESULTS.md}
NODE=${NODE:-node}
NPM=${NPM:-npm}
PEERS=bench/peers

SCRIPT=peers.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
for t in $THREADS; do
    [[ $t =~ ^[1-9][0-9]*$ ]] || die "THREADS must hold positive integers, got '$THREADS'"
done
command -v python3 >/dev/null || die "python3 is required"
command -v "$NODE" >/dev/null || die "Node.js ($NODE) is required"

# --- scenarios: data set and SQL ----------------------------------------------
# shellcheck source=bench/scenarios.sh
source "$ROOT/bench/scenarios.sh"
# sluice's queries: BENCH.md's, with S2 as a plain GROUP BY that prints the
# final row of each group (EMIT FINAL) instead of one row per record. S3a and
# 1BRC emit final rows already. DuckDB's are in bench/peers/duckdb_query.mjs.
declare -A PEER_SQL
PEER_SQL[S2]="${SQL[S2]} EMIT FINAL"
PEER_SQL[S3a]=${SQL[S3a]}
PEER_SQL[1BRC]=${SQL[1BRC]}
for sc in $SCENARIOS; do
    [[ -n ${PEER_SQL[$sc]+x} ]] || die "unknown scenario '$sc' (S2 S3a 1BRC)"
done

# --- build and DuckDB -----------------------------------------------------------
build_binaries "$BUILD" "$JOBS" sluice sluice-gen
SLUICE=$BUILD/sluice
GEN=$BUILD/tools/sluice-gen
[[ -x $SLUICE ]] || die "$SLUICE not found (build it, or set BUILD=)"
[[ -x $GEN ]] || die "$GEN not found (build it, or set BUILD=)"
BUILDTYPE=$(build_type "$BUILD")

if [[ ! -f $PEERS/node_modules/@duckdb/node-api/package.json ]]; then
    echo "duckdb: installing $PEERS/node_modules (npm ci)" >&2
    (cd "$PEERS" && "$NPM" ci --no-audit --no-fund >&2) || die "npm ci in $PEERS failed"
fi
DUCKDB=$PEERS/duckdb_query.mjs
duckdb_version=$("$NODE" "$DUCKDB" --version) || die "cannot load DuckDB ($NODE $DUCKDB --version)"

# --- data sets -------------------------------------------------------------------
mkdir -p "$DATA/sql"
declare -A SEEN_DS
for sc in $SCENARIOS; do
    ds=${DATASET[$sc]}
    if [[ -z ${SEEN_DS[$ds]+x} ]]; then
        ensure_dataset "$ds"
        SEEN_DS[$ds]=1
    fi
    printf '%s\n' "${PEER_SQL[$sc]}" >"$DATA/sql/peers-$sc.sql"
done

# --- report header ---------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-peers.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG=$WORK/output.txt
TSV=$WORK/runs.tsv
CHECKS=$WORK/checks.tsv
out() { printf '%s\n' "$*" | tee -a "$LOG"; }

sluice_flags() {  # threads
    if (($1 > 1)); then echo "--shards $1 --parallel-read"; else echo "--shards $1"; fi
}
sluice_command() {  # scenario threads
    echo "$SLUICE query --sql $DATA/sql/peers-$1.sql --input $(dataset_file "${DATASET[$1]}") --output OUT.ndjson --stats STATS.json $(sluice_flags "$2")"
}
duckdb_command() {  # scenario threads
    echo "$NODE $DUCKDB $1 $(dataset_file "${DATASET[$1]}") OUT.ndjson --threads $2"
}

out "sluice vs DuckDB over the same NDJSON files (bench/peers.sh)"
out "command:   BUILD=$BUILD DATA=$DATA N=$N RUNS=$RUNS SCENARIOS=\"$SCENARIOS\" THREADS=\"$THREADS\" bench/peers.sh"
out "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
out "host:      $(uname -n), $(uname -sr)"
out "cpu:       $(cpu_model)"
out "cores:     $(getconf _NPROCESSORS_ONLN) online, $(nproc) usable; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
out "revision:  $(revision "$ROOT")"
out "sluice:    $("$SLUICE" --version) ($BUILD, buildtype $BUILDTYPE)"
out "duckdb:    $duckdb_version"
out "records:   N=$N per run; RUNS=$RUNS per row, sluice and DuckDB alternating; median wall time of the whole process"
out "queries:"
for sc in $SCENARIOS; do
    out "  $sc ($(dataset_file "${DATASET[$sc]}"))"
    out "    sluice: ${PEER_SQL[$sc]}"
    out "    duckdb: $("$NODE" "$DUCKDB" --sql "$sc")"
done
out "commands (OUT.ndjson: the rows the two systems' runs are checked on):"
for sc in $SCENARIOS; do
    for t in $THREADS; do
        out "  $(sluice_command "$sc" "$t")"
        out "  $(duckdb_command "$sc" "$t")"
    done
done

# --- runs --------------------------------------------------------------------------
: >"$TSV"
: >"$CHECKS"
for ((run = 1; run <= RUNS; run++)); do
    for sc in $SCENARIOS; do
        input=$(dataset_file "${DATASET[$sc]}")
        for t in $THREADS; do
            # sluice
            stats=$WORK/stats.json
            s_out=$WORK/sluice.ndjson
            rm -f "$stats" "$s_out"
            t0=$EPOCHREALTIME
            # shellcheck disable=SC2046 # several flags
            if ! "$SLUICE" query --sql "$DATA/sql/peers-$sc.sql" --input "$input" --output "$s_out" \
                --stats "$stats" $(sluice_flags "$t") 2>"$WORK/stderr"; then
                cat "$WORK/stderr" >&2
                die "$sc sluice (threads $t) run $run failed: $(sluice_command "$sc" "$t")"
            fi
            t1=$EPOCHREALTIME
            [[ -s $stats ]] || die "$sc sluice (threads $t) run $run wrote no stats file"
            read -r records_in engine_s < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["records_in"], d["seconds"])' "$stats") || die "cannot read $stats"
            if [[ $records_in != "$N" ]]; then
                die "$sc sluice (threads $t) run $run: records_in=$records_in, expected N=$N"
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$t" sluice "$t0" "$t1" "$engine_s" >>"$TSV"
            echo "run $run/$RUNS  $sc  threads=$t  sluice  $(python3 -c "print(f'{$t1 - $t0:.3f}')") s" >&2

            # DuckDB
            d_out=$WORK/duckdb.ndjson
            rm -f "$d_out"
            t0=$EPOCHREALTIME
            if ! "$NODE" "$DUCKDB" "$sc" "$input" "$d_out" --threads "$t" >"$WORK/duckdb.json" 2>"$WORK/stderr"; then
                cat "$WORK/stderr" >&2
                die "$sc DuckDB (threads $t) run $run failed: $(duckdb_command "$sc" "$t")"
            fi
            t1=$EPOCHREALTIME
            query_s=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["query_seconds"])' \
                "$WORK/duckdb.json") || die "cannot read DuckDB's report of $sc (threads $t) run $run"
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$t" duckdb "$t0" "$t1" "$query_s" >>"$TSV"
            echo "run $run/$RUNS  $sc  threads=$t  duckdb  $(python3 -c "print(f'{$t1 - $t0:.3f}')") s" >&2

            # The same final rows?
            if python3 "$PEERS/compare_rows.py" "$s_out" "$d_out" --names sluice,DuckDB >"$WORK/check.txt"; then
                status=same
            else
                status=differ
                {
                    echo "$sc threads=$t run $run:"
                    sed 's/^/  /' "$WORK/check.txt"
                } >>"$WORK/differences.txt"
            fi
            printf '%s\t%s\t%s\t%s\t%s\n' "$sc" "$t" "$run" "$status" "$(head -1 "$WORK/check.txt")" >>"$CHECKS"
        done
    done
done

# --- table -------------------------------------------------------------------------
out ""
python3 - "$TSV" "$CHECKS" "$N" "$SCENARIOS" <<'PY' | tee -a "$LOG"
import statistics
import sys

tsv, checks, n, scenarios = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()

runs = {}
for line in open(tsv):
    sc, threads, system, t0, t1, inner = line.rstrip("\n").split("\t")
    runs.setdefault((sc, int(threads), system), []).append((float(t1) - float(t0), float(inner)))
rows_check = {}
for line in open(checks):
    sc, threads, run, status, first = line.rstrip("\n").split("\t")
    rows_check.setdefault((sc, int(threads)), []).append((status, first))

def rate(v):
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}K"

header = ("scenario", "threads", "sluice s", "DuckDB s", "sluice rec/s", "DuckDB rec/s", "sluice/DuckDB",
          "sluice engine s", "DuckDB query s", "rows")
table = []
lines = []
for sc in scenarios:
    for threads in sorted({t for (name, t, _) in runs if name == sc}):
        s = runs[(sc, threads, "sluice")]
        d = runs[(sc, threads, "duckdb")]
        s_wall = statistics.median(x[0] for x in s)
        d_wall = statistics.median(x[0] for x in d)
        checks_here = rows_check[(sc, threads)]
        differ = sum(1 for status, _ in checks_here if status != "same")
        count = checks_here[0][1].split("(", 1)[-1].split(" ", 1)[0] if not differ else "-"
        table.append((sc, str(threads), f"{s_wall:.3f}", f"{d_wall:.3f}", rate(n / s_wall), rate(n / d_wall),
                      f"{d_wall / s_wall:.2f}", f"{statistics.median(x[1] for x in s):.3f}",
                      f"{statistics.median(x[1] for x in d):.3f}",
                      f"same ({count})" if not differ else f"DIFFER ({differ}/{len(checks_here)} runs)"))
        if differ:
            lines.append(f"{sc} threads={threads}: rows differ in {differ} of {len(checks_here)} runs (below)")
        else:
            lines.append(f"{sc} threads={threads}: {checks_here[0][1]} in all {len(checks_here)} runs")

widths = [max(len(h), *(len(r[k]) for r in table)) for k, h in enumerate(header)]
fmt = "  ".join(f"{{:<{w}}}" if k == 0 else f"{{:>{w}}}" for k, w in enumerate(widths))
print(fmt.format(*header))
print(fmt.format(*("-" * w for w in widths)))
for r in table:
    print(fmt.format(*r))
print()
for line in lines:
    print(line)
print()
print("rec/s = N / median wall time of the whole process (sluice query; node running DuckDB, start-up and")
print("module loading included); sluice/DuckDB = the ratio of the two (> 1: sluice is faster). threads =")
print("sluice's shards (2: --parallel-read) = DuckDB's threads setting, so the ratio is per core as well.")
print("sluice engine s: the run time sluice reports (--stats); DuckDB query s: the COPY statement alone.")
PY

status=0
if [[ -s $WORK/differences.txt ]]; then
    out ""
    out "result rows that differ (first differences of each run):"
    tee -a "$LOG" <"$WORK/differences.txt"
    status=1
fi

# --- results file ------------------------------------------------------------------
append_results "$RESULTS" "peers.sh, N=$N" "$LOG"
if ((status != 0)); then
    die "sluice and DuckDB produced different rows"
fi
