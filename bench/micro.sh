#!/usr/bin/env bash
# The Google Benchmark micro-benchmarks of sluice's stages, one binary per
# subject: micro_ring (the SPSC ring between two pinned threads),
# micro_decode (the NDJSON decoder), micro_state (group tables and
# accumulators), micro_exec (whole in-process pipelines, row serialization,
# hash64, key encoding). Each runs REPETITIONS times per benchmark; the table
# gives the medians of the headline benchmarks.
#
# Environment (all optional):
#   BUILD=build       meson build directory (created with --buildtype=release if missing)
#   SKIP_BUILD=1      use the binaries in BUILD as they are
#   JOBS=2            compile jobs
#   MICRO="micro_ring micro_decode micro_state micro_exec"   a subset to run, in this order
#   REPETITIONS=5     --benchmark_repetitions of every benchmark (the median is reported)
#   FILTER=REGEX      --benchmark_filter for every binary (default: all)
#   MIN_TIME=SECONDS  --benchmark_min_time (default: Google Benchmark's, 0.5)
#   RESULTS=bench/RESULTS.md   the raw output is appended here
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
MICRO=${MICRO:-micro_ring micro_decode micro_state micro_exec}
REPETITIONS=${REPETITIONS:-5}
FILTER=${FILTER:-}
MIN_TIME=${MIN_TIME:-}
RESULTS=${RESULTS:-bench/RESULTS.md}

SCRIPT=micro.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

[[ $REPETITIONS =~ ^[1-9][0-9]*$ ]] || die "REPETITIONS must be a positive integer, got '$REPETITIONS'"
command -v python3 >/dev/null || die "python3 is required"
for b in $MICRO; do
    case $b in
        micro_ring | micro_decode | micro_state | micro_exec) ;;
        *) die "unknown micro-benchmark '$b' (micro_ring micro_decode micro_state micro_exec)" ;;
    esac
done

# --- build -------------------------------------------------------------------
# shellcheck disable=SC2086 # MICRO is a list of targets
build_binaries "$BUILD" "$JOBS" $MICRO
for b in $MICRO; do
    [[ -x $BUILD/bench/$b ]] || die "$BUILD/bench/$b not found (build it with -Dbenchmarks=true, the default, or set BUILD=)"
done
BUILDTYPE=$(build_type "$BUILD")

# --- report header -----------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-micro.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG=$WORK/output.txt
out() { printf '%s\n' "$*" | tee -a "$LOG"; }

FLAGS=(--benchmark_repetitions="$REPETITIONS" --benchmark_report_aggregates_only=true)
[[ -n $FILTER ]] && FLAGS+=(--benchmark_filter="$FILTER")
[[ -n $MIN_TIME ]] && FLAGS+=(--benchmark_min_time="$MIN_TIME")

out "sluice micro-benchmarks (bench/micro.sh)"
out "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
out "host:      $(uname -n), $(uname -sr)"
out "cpu:       $(cpu_model)"
out "cores:     $(getconf _NPROCESSORS_ONLN) online, $(nproc) usable; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
out "revision:  $(revision "$ROOT")"
out "build:     $BUILD (buildtype $BUILDTYPE)"
out "runs:      REPETITIONS=$REPETITIONS per benchmark; medians reported"
out "commands:"
for b in $MICRO; do out "  $BUILD/bench/$b ${FLAGS[*]}"; done
# The ring keeps two CPUs busy and several figures are wall time: say so when others are running.
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { exit !(l >= 1.0) }'; then
    out "warning:   load average $(cut -d' ' -f1 /proc/loadavg) at start: other work competes for the CPUs;"
    out "           the ring's and the pipelines' wall-time figures (and every cv) will suffer"
fi

# --- runs --------------------------------------------------------------------
for b in $MICRO; do
    out ""
    out "== $b (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    # Console output (context on stderr, tables on stdout) into the log; JSON for the table.
    if ! "$BUILD/bench/$b" "${FLAGS[@]}" --benchmark_out="$WORK/$b.json" --benchmark_out_format=json \
        2>&1 | tee -a "$LOG"; then
        die "$b failed: $BUILD/bench/$b ${FLAGS[*]}"
    fi
done

# --- table -------------------------------------------------------------------
out ""
# shellcheck disable=SC2086 # MICRO is a list of names
python3 - "$WORK" $MICRO <<'PY' | tee -a "$LOG"
import json
import os
import re
import sys

work, binaries = sys.argv[1], sys.argv[2:]

# (binary, name pattern, section): the headline benchmarks, in this order.
HEADLINES = [
    ("micro_ring", r"BM_SpscRing/", "SPSC ring, producer and consumer on two CPUs (msg/s, payload B/s; real time)"),
    ("micro_decode", r"BM_DecodeBlock/", "NDJSON decode_block, 1 MiB blocks (rec/s, text B/s)"),
    ("micro_state", r"BM_AggUpdate/", "accumulator update, one warm group (rec/s)"),
    ("micro_state", r"BM_GroupUpsert/", "group-table upsert + S2 update, uniform keys (rec/s)"),
    ("micro_exec", r"BM_Pipeline/", "in-process pipelines, decoded records in, rows serialized (rec/s; real time)"),
    ("micro_exec", r"BM_RowWrite", "row serialization (rows/s)"),
]

def rate(v, unit=""):
    for f, s in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if v >= f:
            return f"{v / f:.2f}{s}{unit}"
    return f"{v:.0f}{unit}"

def duration(v, unit):
    ns = v * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
    for f, s in ((1e9, "s"), (1e6, "ms"), (1e3, "us")):
        if ns >= f:
            return f"{ns / f:.3g} {s}"
    return f"{ns:.3g} ns"

medians = {}
for b in binaries:
    path = os.path.join(work, b + ".json")
    # A FILTER that matches nothing in a binary leaves its JSON file empty.
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        continue
    runs = json.load(open(path))["benchmarks"]
    # With one repetition Google Benchmark reports no aggregates: the run itself is the median.
    single = not any(bm.get("run_type") == "aggregate" for bm in runs)
    for bm in runs:
        if bm.get("aggregate_name") == "median" or (single and bm.get("run_type") == "iteration"):
            medians.setdefault(b, []).append(bm)

header = ("benchmark", "median time", "items/s", "bytes/s", "note")
rows = []
for b, pattern, title in HEADLINES:
    picked = [bm for bm in medians.get(b, []) if re.match(pattern, bm["run_name"])]
    if not picked:
        continue
    rows.append((f"[{title}]",))
    for bm in picked:
        items = bm.get("items_per_second")
        size = bm.get("bytes_per_second")
        note = bm.get("label", "")
        rows.append((bm["run_name"].removesuffix("/real_time"),
                     duration(bm["real_time"] if "real_time" in bm["run_name"] else bm["cpu_time"], bm["time_unit"]),
                     rate(items) if items else "", rate(size) if size else "", note))

cells = [r for r in rows if len(r) > 1]
widths = [max(len(h), *(len(r[k]) for r in cells)) if cells else len(h) for k, h in enumerate(header)]
fmt = "  ".join(f"{{:<{w}}}" if k in (0, 4) else f"{{:>{w}}}" for k, w in enumerate(widths))
print("headline medians (all benchmarks: the raw output above)")
print(fmt.format(*header).rstrip())
print(fmt.format(*("-" * w for w in widths)).rstrip())
for r in rows:
    print(r[0] if len(r) == 1 else fmt.format(*r).rstrip())
print()
print("items/s and bytes/s are per CPU second of the benchmark's thread, except where marked real time")
print("(the ring: messages that reached the consumer / wall time; pipelines: wall time per pass).")
PY

# --- results file ------------------------------------------------------------
append_results "$RESULTS" "micro.sh" "$LOG"
