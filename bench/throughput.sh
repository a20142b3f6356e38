#!/usr/bin/env bash
# End-to-end throughput of `sluice query` on the BENCH.md scenarios: NDJSON
# from a file in the page cache, rows serialized to /dev/null, each run timed
# as a whole command (start-up included). One shard, and two shards with
# --parallel-read; RUNS alternating runs; the median wall time gives records/s.
#
# Environment (all optional):
#   BUILD=build       meson build directory (created with --buildtype=release if missing)
#   N=10000000        records per data set
#   RUNS=5            timed runs per scenario and shard configuration
#   SCENARIOS="S0 S1 S2 S3a S3b 1BRC"   a subset to run
#   NET_SCENARIOS="S2 1BRC"   end to end over loopback through `sluice run` ("" skips)
#   NET_TRANSPORTS="udp tcp"
#   SKIP_BUILD=1      use the binaries in BUILD as they are
#   JOBS=2            compile jobs
#   DATA=bench/data   where data sets and query files live (gitignored)
#   RESULTS=bench/RESULTS.md   the raw output is appended here
set -euo pipefail
export LC_ALL=C  # '.' as the decimal point of EPOCHREALTIME

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build}
N=${N:-10000000}
RUNS=${RUNS:-5}
SCENARIOS=${SCENARIOS:-S0 S1 S2 S3a S3b 1BRC}
NET_SCENARIOS=${NET_SCENARIOS-S2 1BRC}
NET_TRANSPORTS=${NET_TRANSPORTS:-udp tcp}
JOBS=${JOBS:-2}
DATA=${DATA:-bench/data}
RESULTS=${RESULTS:-bench/RESULTS.md}

SCRIPT=throughput.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
command -v python3 >/dev/null || die "python3 is required"

# --- scenarios (BENCH.md): data set and SQL ---------------------------------
# shellcheck source=bench/scenarios.sh
source "$ROOT/bench/scenarios.sh"

for sc in $SCENARIOS $NET_SCENARIOS; do
    [[ -n ${DATASET[$sc]+x} ]] || die "unknown scenario '$sc' (S0 S1 S2 S3a S3b 1BRC)"
done
# shellcheck source=bench/net_e2e.sh
source "$ROOT/bench/net_e2e.sh"


# Shard configurations, alternated within every run.
CONFIGS=("--shards 1" "--shards 2 --parallel-read")

# --- build -------------------------------------------------------------------
build_binaries "$BUILD" "$JOBS" sluice sluice-gen
SLUICE=$BUILD/sluice
GEN=$BUILD/tools/sluice-gen
[[ -x $SLUICE ]] || die "$SLUICE not found (build it, or set BUILD=)"
[[ -x $GEN ]] || die "$GEN not found (build it, or set BUILD=)"
BUILDTYPE=$(build_type "$BUILD")

# --- data sets ---------------------------------------------------------------
mkdir -p "$DATA/sql"
declare -A SEEN_DS
for sc in $SCENARIOS $NET_SCENARIOS; do
    ds=${DATASET[$sc]}
    if [[ -z ${SEEN_DS[$ds]+x} ]]; then
        ensure_dataset "$ds"
        SEEN_DS[$ds]=1
    fi
    printf '%s\n' "${SQL[$sc]}" >"$DATA/sql/$sc.sql"
done

# --- report header -----------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-throughput.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG=$WORK/output.txt
TSV=$WORK/runs.tsv
out() { printf '%s\n' "$*" | tee -a "$LOG"; }

cpu_model=$(cpu_model)
revision=$(revision "$ROOT")

command_line() {  # scenario, config
    echo "$SLUICE query --sql $DATA/sql/$1.sql --input $(dataset_file "${DATASET[$1]}") --output /dev/null --stats STATS.json $2"
}

out "sluice throughput (bench/throughput.sh)"
out "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
out "host:      $(uname -n), $(uname -sr)"
out "cpu:       $cpu_model"
out "cores:     $(getconf _NPROCESSORS_ONLN) online, $(nproc) usable; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
out "revision:  $revision"
out "build:     $BUILD (buildtype $BUILDTYPE)"
out "records:   N=$N per run; RUNS=$RUNS per row, alternating; median wall time of the whole command"
out "queries:"
for sc in $SCENARIOS; do out "  $sc ($(dataset_file "${DATASET[$sc]}")): ${SQL[$sc]}"; done
out "commands:"
for sc in $SCENARIOS; do
    for cfg in "${CONFIGS[@]}"; do out "  $(command_line "$sc" "$cfg")"; done
done
if [[ -n $NET_SCENARIOS ]]; then
    out "end to end ($NET_SCENARIOS over $NET_TRANSPORTS): $SLUICE run --config CONFIG (1 shard, busy, pinned to CPU 1 when there are 2 CPUs;"
    out "  the config is printed below) fed by: taskset -c 0 $GEN --scenario DATASET --count $N --udp|--tcp 127.0.0.1:$NET_PORT_BASE"
    net_config "$WORK/net-example.toml" S2 udp
    while IFS= read -r line; do out "    $line"; done <"$WORK/net-example.toml"
fi

# --- runs --------------------------------------------------------------------
: >"$TSV"
NET_TSV=$WORK/net.tsv
: >"$NET_TSV"
for ((run = 1; run <= RUNS; run++)); do
    for sc in $NET_SCENARIOS; do
        for transport in $NET_TRANSPORTS; do net_run "$sc" "$transport" "$run"; done
    done
    for sc in $SCENARIOS; do
        for cfg in "${CONFIGS[@]}"; do
            stats=$WORK/stats.json
            rm -f "$stats"
            read -r _ shards _ <<<"$cfg"
            t0=$EPOCHREALTIME
            # shellcheck disable=SC2086 # cfg holds several flags
            if ! "$SLUICE" query --sql "$DATA/sql/$sc.sql" --input "$(dataset_file "${DATASET[$sc]}")" \
                --output /dev/null --stats "$stats" $cfg 2>"$WORK/stderr"; then
                cat "$WORK/stderr" >&2
                die "$sc ($cfg) run $run failed: $(command_line "$sc" "$cfg")"
            fi
            t1=$EPOCHREALTIME
            [[ -s $stats ]] || die "$sc ($cfg) run $run wrote no stats file"
            read -r records_in rows_out engine_s < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["records_in"], d["rows_out"], d["seconds"])' "$stats") || die "cannot read $stats"
            if [[ $records_in != "$N" ]]; then
                die "$sc ($cfg) run $run: records_in=$records_in, expected N=$N -- the engine lost or invented records"
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$shards" "$run" "$t0" "$t1" "$rows_out" "$engine_s" >>"$TSV"
            echo "run $run/$RUNS  $sc  shards=$shards  $(python3 -c "print(f'{$t1 - $t0:.3f}')") s" >&2
        done
    done
done

# --- table -------------------------------------------------------------------
out ""
python3 - "$TSV" "$N" "$SCENARIOS" <<'PY' | tee -a "$LOG"
import statistics
import sys

tsv, n, scenarios = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
# BENCH.md: sluice's per-core targets and the seed system's best per-core figures.
target = {"S0": 5e6, "S1": 5e6, "S2": 5e6, "S3a": 10e6, "S3b": 5e6, "1BRC": 10e6}
seed = {"S0": 767e3, "S1": 946e3, "S2": 297e3, "S3a": 808e3, "S3b": 29e3, "1BRC": 377e3}

runs = {}
for line in open(tsv):
    sc, shards, _run, t0, t1, rows_out, engine_s = line.rstrip("\n").split("\t")
    runs.setdefault((sc, int(shards)), []).append((float(t1) - float(t0), int(rows_out), float(engine_s)))

def rate(v):
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}K"

header = ("scenario", "shards", "median s", "engine s", "rec/s", "per core", "target/core", "vs target", "vs seed/core", "rows_out")
rows = []
median_rate = {}
warnings = []
for sc in scenarios:
    for shards in sorted(s for (name, s) in runs if name == sc):
        samples = runs[(sc, shards)]
        wall = statistics.median(s[0] for s in samples)
        engine = statistics.median(s[2] for s in samples)
        r = n / wall
        per_core = r / shards
        median_rate[(sc, shards)] = r
        outs = sorted({s[1] for s in samples})
        if len(outs) > 1:
            warnings.append(f"warning: {sc} with {shards} shard(s): rows_out differs between runs: {outs}")
        rows.append((sc, str(shards), f"{wall:.3f}", f"{engine:.3f}", rate(r), rate(per_core), rate(target[sc]),
                     f"{per_core / target[sc]:.2f}", f"{per_core / seed[sc]:.1f}x", ",".join(map(str, outs))))

widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
fmt = "  ".join(f"{{:<{w}}}" if k == 0 else f"{{:>{w}}}" for k, w in enumerate(widths))
print(fmt.format(*header))
print(fmt.format(*("-" * w for w in widths)))
for r in rows:
    print(fmt.format(*r))

print()
print("scaling, 2 shards (parallel read) / 1 shard: target >= 1.8 for 1BRC, >= 0.9*N on N free cores")
for sc in scenarios:
    if (sc, 1) in median_rate and (sc, 2) in median_rate:
        print(f"  {sc:<5} {median_rate[(sc, 2)] / median_rate[(sc, 1)]:.2f}")
for w in warnings:
    print(w)
print()
print("rec/s = N / median wall time of the whole command; per core = rec/s / shards;")
print("vs target = per core / sluice's per-core target; vs seed/core = per core / the seed system's best per-core figure")
print("(the seed's records were pre-built in memory; sluice's figures include JSON decoding).")
PY

if [[ -s $NET_TSV ]]; then
    out ""
    net_table | tee -a "$LOG"
fi

# --- results file ------------------------------------------------------------
append_results "$RESULTS" "throughput.sh, N=$N" "$LOG"
