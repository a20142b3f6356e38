#!/usr/bin/env bash
# End-to-end latency of EMIT CHANGES over UDP loopback (BENCH.md: p99 <= 2x
# the loopback UDP round-trip floor measured in the same run, at a load well
# below saturation). sluice runs on one CPU (1 shard, busy), sluice-lat on the
# other; the floor is sluice-lat's own echo on sluice's CPU at the same rate
# and datagram sizes. Loads: LOW_RATE records/s, and half of the saturation
# rate measured first in the same run. Floor and sluice runs alternate.
#
# Environment (all optional):
#   BUILD=build          meson build directory (created with --buildtype=release if missing)
#   RUNS=3               alternating floor/sluice pairs per load; the table shows medians
#   LAT_SECONDS=5        seconds of sending per run (the first WARMUP are not recorded)
#   WARMUP=1
#   LOW_RATE=10000       records/s of the light load, one record per datagram
#   HALF_PER_DATAGRAM=16 records per datagram at half of saturation (one datagram per record
#                        would hit the kernel's datagram rate first)
#   SAT_SECONDS=3        seconds of unpaced sending to measure saturation
#   SKIP_BUILD=1, JOBS=2, DATA=bench/data (plots go to $DATA/latency/), RESULTS=bench/RESULTS.md
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
LAT_SECONDS=${LAT_SECONDS:-5}
WARMUP=${WARMUP:-1}
LOW_RATE=${LOW_RATE:-10000}
HALF_PER_DATAGRAM=${HALF_PER_DATAGRAM:-16}
SAT_SECONDS=${SAT_SECONDS:-3}
JOBS=${JOBS:-2}
DATA=${DATA:-bench/data}
RESULTS=${RESULTS:-bench/RESULTS.md}
PORT=${PORT:-19500}

SCRIPT=latency.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

command -v python3 >/dev/null || die "python3 is required"
(($(nproc) >= 2)) || die "needs 2 CPUs: one for sluice, one for sluice-lat"
SLUICE_CPU=1
LAT_CPU=0

build_binaries "$BUILD" "$JOBS" sluice sluice-gen sluice-lat
SLUICE=$BUILD/sluice
GEN=$BUILD/tools/sluice-gen
LAT=$BUILD/tools/sluice-lat
for b in "$SLUICE" "$GEN" "$LAT"; do [[ -x $b ]] || die "$b not found (build it, or set BUILD=)"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-latency.XXXXXX")
SLUICE_PID=
DISCARD_PID=
cleanup() {
    [[ -n $SLUICE_PID ]] && kill -9 "$SLUICE_PID" 2>/dev/null
    [[ -n $DISCARD_PID ]] && kill "$DISCARD_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
LOG=$WORK/output.txt
out() { printf '%s\n' "$*" | tee -a "$LOG"; }
PLOTS=$DATA/latency
mkdir -p "$PLOTS"

# S2 with the send time carried through: one row per record (EMIT CHANGES).
QUERY="SELECT symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, MIN(price) AS min_price, MAX(price) AS max_price, SUM(quantity) AS total_quantity, LAST(sent_ns) AS sent_ns FROM market_data GROUP BY symbol EMIT CHANGES"
SRC_PORT=$PORT
ROWS_PORT=$((PORT + 1))
METRICS_PORT=$((PORT + 2))

# config FILE ROWS_PORT: 1 shard pinned and busy; rows leave as soon as a loop iteration made them.
config() {
    cat >"$1" <<EOF
[shards]
cpus = "$SLUICE_CPU"
idle = "busy"

[metrics]
listen = "127.0.0.1:$METRICS_PORT"

[log]
summary_interval_s = 0

[[sources]]
name = "in"
type = "udp"
listen = "127.0.0.1:$SRC_PORT"
receive_buffer_bytes = 33554432

[[sinks]]
name = "rows"
type = "udp"
address = "127.0.0.1:$2"
flush_us = 1

[[queries]]
name = "latency"
sql = "$QUERY"
sink = "rows"
EOF
}

start_sluice() {  # config file
    "$SLUICE" run --config "$1" --stats "$WORK/stats.json" 2>"$WORK/sluice.err" &
    SLUICE_PID=$!
    for _ in $(seq 250); do
        grep -q "sluice: ready" "$WORK/sluice.err" 2>/dev/null && return 0
        kill -0 "$SLUICE_PID" 2>/dev/null || break
        sleep 0.02
    done
    cat "$WORK/sluice.err" >&2
    die "sluice run did not start"
}

stop_sluice() {
    kill -TERM "$SLUICE_PID"
    wait "$SLUICE_PID" || die "sluice run failed: $(tail -3 "$WORK/sluice.err")"
    SLUICE_PID=
}

json_field() {  # file key
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# --- header -------------------------------------------------------------------
out "sluice latency (bench/latency.sh)"
out "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
out "host:      $(uname -n), $(uname -sr)"
out "cpu:       $(cpu_model)"
out "cores:     $(getconf _NPROCESSORS_ONLN) online, $(nproc) usable; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
out "revision:  $(revision "$ROOT")"
out "build:     $BUILD (buildtype $(build_type "$BUILD"))"
out "query:     $QUERY"
out "sluice:    $SLUICE run --config CONFIG (1 shard on CPU $SLUICE_CPU, busy; UDP source, UDP sink with flush_us = 1)"
out "sluice-lat on CPU $LAT_CPU: $LAT --rate R --udp 127.0.0.1:$SRC_PORT --listen udp:127.0.0.1:$ROWS_PORT --duration $LAT_SECONDS --warmup $WARMUP --cpu $LAT_CPU [--per-datagram P]"
out "floor:     $LAT --floor --rate R --duration $LAT_SECONDS --warmup $WARMUP --cpu $LAT_CPU --echo-cpu $SLUICE_CPU --echo-poll busy [--per-datagram P]"
out "runs:      RUNS=$RUNS alternating floor/sluice pairs per load; medians"

# --- saturation ---------------------------------------------------------------
# Unpaced sending for SAT_SECONDS; rows go to a socket nobody reads (the kernel
# drops them at its buffer: the sink's cost stays, no receiver is measured).
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(3600)' "$((PORT + 3))" &
DISCARD_PID=$!
config "$WORK/sat.toml" $((PORT + 3))
sat_rates=()
for ((run = 1; run <= RUNS; run++)); do
    start_sluice "$WORK/sat.toml"
    taskset -c "$LAT_CPU" "$GEN" --scenario s2 --duration "$SAT_SECONDS" --sent-ns --udp "127.0.0.1:$SRC_PORT" \
        2>"$WORK/gen.err" || die "sluice-gen failed: $(cat "$WORK/gen.err")"
    sleep 0.3
    stop_sluice
    gen_seconds=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' "$WORK/gen.err" | tail -1)
    processed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["queries"][0]["records_processed"])' "$WORK/stats.json")
    sat_rates+=("$(python3 -c "print(int($processed / $gen_seconds))")")
    echo "saturation run $run: $processed records processed in ${gen_seconds}s" >&2
done
kill "$DISCARD_PID" 2>/dev/null || true
DISCARD_PID=
SATURATION=$(printf '%s\n' "${sat_rates[@]}" | sort -n | sed -n "$(((${#sat_rates[@]} + 1) / 2))p")
HALF_RATE=$((SATURATION / 2))
out "saturation: median ${SATURATION} records/s processed (runs: ${sat_rates[*]}), sluice-gen unpaced over UDP with sent_ns"

# --- latency runs ---------------------------------------------------------------
config "$WORK/lat.toml" "$ROWS_PORT"
TSV=$WORK/lat.tsv
: >"$TSV"
LOADS=("light $LOW_RATE 1" "half $HALF_RATE $HALF_PER_DATAGRAM")
for ((run = 1; run <= RUNS; run++)); do
    for load in "${LOADS[@]}"; do
        read -r name rate per <<<"$load"
        common=(--rate "$rate" --duration "$LAT_SECONDS" --warmup "$WARMUP" --cpu "$LAT_CPU" --per-datagram "$per")
        "$LAT" --floor "${common[@]}" --echo-cpu "$SLUICE_CPU" --echo-poll busy \
            --json "$WORK/floor-$name-$run.json" --hgrm "$WORK/floor-$name-$run.hgrm" >"$WORK/lat.out" 2>&1 ||
            { cat "$WORK/lat.out" >&2; die "sluice-lat --floor failed"; }
        plot=()
        if ((run == RUNS)) && command -v gnuplot >/dev/null; then
            rm -f "$PLOTS/$name.png"
            plot=(--png "$PLOTS/$name.png" --label sluice --plot-with "floor=$WORK/floor-$name-$run.hgrm"
                --title "EMIT CHANGES over UDP loopback, $rate records/s ($name load)")
        fi
        start_sluice "$WORK/lat.toml"
        "$LAT" "${common[@]}" --udp "127.0.0.1:$SRC_PORT" --listen "udp:127.0.0.1:$ROWS_PORT" "${plot[@]}" \
            --json "$WORK/sluice-$name-$run.json" --hgrm "$WORK/sluice-$name-$run.hgrm" >"$WORK/lat.out" 2>&1 ||
            { cat "$WORK/lat.out" >&2; stop_sluice; die "sluice-lat failed"; }
        stop_sluice
        for who in floor sluice; do
            f=$WORK/$who-$name-$run.json
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rate" "$per" "$who" "$run" \
                "$(json_field "$f" p50_us)" "$(json_field "$f" p99_us)" "$(json_field "$f" p99_9_us)" \
                "$(json_field "$f" max_us)" "$(json_field "$f" lost)" "$(json_field "$f" count)" >>"$TSV"
        done
        echo "run $run/$RUNS  $name ($rate rec/s): floor p99 $(json_field "$WORK/floor-$name-$run.json" p99_us) us, sluice p99 $(json_field "$WORK/sluice-$name-$run.json" p99_us) us" >&2
    done
done

# --- table ----------------------------------------------------------------------
out ""
python3 - "$TSV" <<'PY' | tee -a "$LOG"
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, rate, per, who, run, p50, p99, p999, mx, lost, count = line.rstrip("\n").split("\t")
    rows.setdefault((name, int(rate), int(per)), {}).setdefault(who, []).append(
        (float(p50), float(p99), float(p999), float(mx), int(lost), int(count)))
def med(v, k):
    return statistics.median(x[k] for x in v)
header = ("load", "records/s", "per dg", "floor p50", "floor p99", "floor p99.9", "sluice p50", "sluice p99",
          "sluice p99.9", "sluice max", "p99 / floor p99", "lost")
out = []
for (name, rate, per), w in rows.items():
    f, s = w["floor"], w["sluice"]
    out.append((name, str(rate), str(per), f"{med(f, 0):.1f}", f"{med(f, 1):.1f}", f"{med(f, 2):.1f}",
                f"{med(s, 0):.1f}", f"{med(s, 1):.1f}", f"{med(s, 2):.1f}", f"{med(s, 3):.1f}",
                f"{med(s, 1) / med(f, 1):.2f}", str(sum(x[4] for x in s))))
widths = [max(len(h), *(len(r[k]) for r in out)) for k, h in enumerate(header)]
fmt = "  ".join(f"{{:<{w}}}" if k == 0 else f"{{:>{w}}}" for k, w in enumerate(widths))
print(fmt.format(*header))
print(fmt.format(*("-" * w for w in widths)))
for r in out:
    print(fmt.format(*r))
print()
print("µs; each figure is the median over the runs; latency = receive time - intended send time (coordinated")
print("omission included). BENCH.md target: sluice p99 <= 2x the floor's p99 at a load well below saturation")
print("(the light row). lost = rows never received, summed over the runs.")
PY

if command -v gnuplot >/dev/null; then
    out "plots (last run, sluice against the floor): $(printf '%s ' "$PLOTS"/*.png)"
else
    out "plots: skipped (gnuplot not installed: scripts/setup-deps.sh --all)"
fi
append_results "$RESULTS" "latency.sh" "$LOG"
