#!/usr/bin/env bash
# What kernel-bypass ingest costs (bench/dpdk.sh): the same S2 records through
#   dpdk:   `sluice run` with a DPDK net_pcap port replaying the datagrams
#           `sluice-gen --udp` would send (sluice-gen --pcap): frames are read
#           by the PMD into mbufs, parsed (Ethernet/IPv4/UDP), decoded in
#           place, aggregated;
#   query:  `sluice query` over the same records as an NDJSON file (the
#           in-process path, no network layer);
# 1 shard each (PIN=1: both pinned to CPU 1), the same query, alternating,
# median of RUNS. Records/s: dpdk = N / (the time from the
# first record taken in to the last, from /metrics, published every 10 ms);
# query = N / (the engine seconds of its --stats minus those of a one-record
# run just before: start-up is outside both spans). Also per shard CPU second
# (the shard thread's schedstat), which a busy machine disturbs far less. The
# network layer costs 1 - dpdk/query (target: under 10%).
#
# Environment (all optional):
#   BUILD=build-dpdk       meson build directory with -Ddpdk=enabled (set up if missing)
#   N=10000000             S2 records per run
#   RUNS=5                 runs per row
#   DATAGRAM_BYTES=1400    UDP payload per frame (sluice-gen --datagram-bytes, at most 1472)
#   MEMORY_MB=512          EAL memory (-m; with --no-huge)
#   PIN=0                  1: pin both shards to CPU 1 (sluice query then loads the hwloc topology
#                          inside its timed span, ~0.1 s on a VM)
#   SKIP_BUILD=1           use the binaries in BUILD as they are
#   JOBS=2                 compile jobs
#   DATA=bench/data        where the data files live (gitignored)
#   RESULTS=bench/RESULTS.md   the raw output is appended here
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build-dpdk}
N=${N:-10000000}
RUNS=${RUNS:-5}
DATAGRAM_BYTES=${DATAGRAM_BYTES:-1400}
MEMORY_MB=${MEMORY_MB:-512}
JOBS=${JOBS:-2}
DATA=${DATA:-bench/data}
RESULTS=${RESULTS:-bench/RESULTS.md}

SCRIPT=dpdk.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
command -v python3 >/dev/null || die "python3 is required"

# --- build -------------------------------------------------------------------
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    if [[ ! -f $BUILD/build.ninja ]]; then
        meson setup "$BUILD" --buildtype=release -Ddpdk=enabled >&2 || die "meson setup $BUILD -Ddpdk=enabled failed"
    fi
    meson compile -C "$BUILD" -j "$JOBS" sluice sluice-gen >&2 || die "build failed"
fi
SLUICE=$BUILD/sluice
GEN=$BUILD/tools/sluice-gen
for b in "$SLUICE" "$GEN"; do
    [[ -x $b ]] || die "$b not found (build it, or set BUILD=)"
done
BUILDTYPE=$(build_type "$BUILD")

# --- data --------------------------------------------------------------------
mkdir -p "$DATA"
NDJSON=$DATA/s2-dpdk.ndjson
PCAP=$DATA/s2-dpdk.pcap
want="scenario=s2 count=$N datagram_bytes=$DATAGRAM_BYTES"
if [[ -s $NDJSON && -s $PCAP && -f $PCAP.meta &&
    $(<"$PCAP.meta") == "$want bytes=$(stat -c %s "$NDJSON"),$(stat -c %s "$PCAP")" ]]; then
    echo "data: reusing $NDJSON and $PCAP ($N records)" >&2
else
    echo "data: generating $NDJSON and $PCAP ($N records)" >&2
    rm -f "$PCAP.meta"
    "$GEN" --scenario s2 --count "$N" --output "$NDJSON.tmp" || die "sluice-gen --output failed"
    "$GEN" --scenario s2 --count "$N" --pcap "$PCAP.tmp" --datagram-bytes "$DATAGRAM_BYTES" || die "sluice-gen --pcap failed"
    mv "$NDJSON.tmp" "$NDJSON"
    mv "$PCAP.tmp" "$PCAP"
    echo "$want bytes=$(stat -c %s "$NDJSON"),$(stat -c %s "$PCAP")" >"$PCAP.meta"
fi
cat "$NDJSON" "$PCAP" >/dev/null  # into the page cache: the runs measure sluice, not the disk
PCAP_ABS=$(cd "$(dirname "$PCAP")" && pwd)/$(basename "$PCAP")

S2_SQL="SELECT symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, MIN(price) AS min_price, MAX(price) AS max_price, SUM(quantity) AS total_quantity FROM market_data GROUP BY symbol"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-dpdk.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG=$WORK/output.txt
TSV=$WORK/runs.tsv
out() { printf '%s\n' "$*" | tee -a "$LOG"; }
printf '%s\n' "$S2_SQL" >"$WORK/s2.sql"

# PIN=1: both paths on CPU 1 (CPU 0 keeps the control thread, this script and
# the rest of the machine).
CPU=""
CPUS_LINE=""
if [[ ${PIN:-0} == 1 ]] && (($(nproc) >= 2)); then
    CPU=1
    CPUS_LINE="cpus = \"$CPU\""
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_config() {  # file metrics-port
    cat >"$1" <<EOF
[shards]
count = 1
$CPUS_LINE
idle = "adaptive"

[dpdk]
eal_args = ["--no-huge", "--no-pci", "--vdev=net_pcap0,rx_pcap=$PCAP_ABS"]
memory_mb = $MEMORY_MB

[metrics]
listen = "127.0.0.1:$2"

[log]
summary_interval_s = 0

[[sources]]
name = "wire"
type = "dpdk"
port = "net_pcap0"
udp_ports = [9000]

[[sinks]]
name = "null"
type = "file"
path = "/dev/null"

[[queries]]
name = "s2"
sql = "$S2_SQL"
sink = "null"
EOF
}

QUERY_CMD="$SLUICE query --sql S2.sql --input $NDJSON --output /dev/null --stats STATS.json --shards 1${CPU:+ --cpus $CPU}"
RUN_CMD="$SLUICE run --config DPDK.toml --stats STATS.json"

# The measurements (python): both print "records wall_seconds shard_cpu_seconds".
#   run:   `sluice run` over the capture, timed from /metrics between the first
#          sample that saw records and the one that saw all N; the shard
#          thread's CPU time (schedstat) over the same interval; then SIGTERM.
#   query: `sluice query`; its --stats engine seconds; its shard thread's CPU
#          time (schedstat, sampled every 5 ms until it exits).
cat >"$WORK/measure.py" <<'PY'
import json, os, signal, subprocess, sys, time, urllib.request

def thread_cpu(pid):
    """ns of CPU per thread of pid (schedstat), main thread excluded."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        if int(tid) == pid:
            continue
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                out[tid] = int(f.read().split()[0])
        except OSError:
            pass
    return out

def busiest(samples):
    return max(samples.items(), key=lambda kv: kv[1]) if samples else (None, 0)

def run(argv):
    sluice, cfg, stats, err, port, n = argv[0], argv[1], argv[2], argv[3], int(argv[4]), int(argv[5])
    url = "http://127.0.0.1:%d/metrics" % port
    p = subprocess.Popen([sluice, "run", "--config", cfg, "--stats", stats],
                         stdout=subprocess.DEVNULL, stderr=open(err, "w"))
    try:
        deadline = time.monotonic() + 30
        while "sluice: ready" not in open(err).read():
            if p.poll() is not None or time.monotonic() > deadline:
                sys.exit("sluice did not get ready:\n" + open(err).read())
            time.sleep(0.01)
        def records_in():
            with urllib.request.urlopen(url, timeout=5) as r:
                return sum(float(l.split()[-1]) for l in r.read().decode().splitlines()
                           if l.startswith("sluice_records_in_total{"))
        # Samples every 2 ms near the start and the end only: in between this
        # poller (and the HTTP thread answering it) would compete with the shard.
        first = None
        deadline = time.monotonic() + 600
        while True:
            v = records_in()
            t = time.monotonic()
            cpu = thread_cpu(p.pid)
            if v > 0 and first is None:
                first = (t, v, cpu)
            if v >= n:
                break
            if t > deadline or p.poll() is not None:
                sys.exit("only %d of %d records in\n%s" % (v, n, open(err).read()))
            pause = 0.002
            if first is not None and v > first[1] and t > first[0]:
                left_s = (n - v) / ((v - first[1]) / (t - first[0]))
                if left_s > 0.2:
                    pause = min(0.1, left_s - 0.15)
            time.sleep(pause)
        tid, last_cpu = busiest(cpu)
        shard_cpu = (last_cpu - first[2].get(tid, 0)) / 1e9
        print("%d %.6f %.6f" % (n - first[1], t - first[0], shard_cpu))
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        rc = p.wait()
    if rc != 0:
        sys.exit("sluice run exited with %d:\n%s" % (rc, open(err).read()[-2000:]))
    st = open(stats).read()
    if '"dropped":{"short":0,"not_ipv4":0,"bad_checksum":0,"fragment":0,"not_udp":0,"wrong_address":0,"wrong_port":0,"bad_length":0}' not in st:
        sys.exit("frames were dropped: " + st)

def query(argv):
    stats, err, cmd = argv[0], argv[1], argv[2:]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(err, "w"))
    last = {}
    while p.poll() is None:
        last.update(thread_cpu(p.pid))
        time.sleep(0.005)
    if p.returncode != 0:
        sys.exit("sluice query exited with %d:\n%s" % (p.returncode, open(err).read()))
    d = json.load(open(stats))
    print("%d %.6f %.6f" % (d["records_in"], d["seconds"], busiest(last)[1] / 1e9))

{"run": run, "query": query}[sys.argv[1]](sys.argv[2:])
PY

dpdk_run() {  # run
    local port cfg
    port=$(free_port)
    cfg=$WORK/dpdk.toml
    write_config "$cfg" "$port"
    python3 "$WORK/measure.py" run "$SLUICE" "$cfg" "$WORK/dpdk-stats.json" "$WORK/run.err" "$port" "$N" ||
        die "dpdk run $1 failed: $RUN_CMD"
}

query_run() {  # run input
    # shellcheck disable=SC2086
    python3 "$WORK/measure.py" query "$WORK/query-stats.json" "$WORK/query.err" \
        "$SLUICE" query --sql "$WORK/s2.sql" --input "$2" --output /dev/null --stats "$WORK/query-stats.json" \
        --shards 1 ${CPU:+--cpus $CPU} || die "query run $1 failed: $QUERY_CMD"
}
head -n 1 "$NDJSON" >"$WORK/one.ndjson"

# --- report header -----------------------------------------------------------
out "sluice kernel-bypass ingest (bench/dpdk.sh)"
out "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
out "host:      $(uname -n), $(uname -sr)"
out "cpu:       $(cpu_model)"
out "cores:     $(getconf _NPROCESSORS_ONLN) online, $(nproc) usable; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
out "revision:  $(revision "$ROOT")"
out "build:     $BUILD (buildtype $BUILDTYPE), DPDK $(pkg-config --modversion libdpdk 2>/dev/null || echo '?')"
out "records:   N=$N S2 records; $NDJSON ($(stat -c %s "$NDJSON") bytes), $PCAP ($(stat -c %s "$PCAP") bytes,"
out "           datagrams of up to $DATAGRAM_BYTES bytes as made by: $GEN --scenario s2 --count $N --pcap FILE --datagram-bytes $DATAGRAM_BYTES)"
out "runs:      RUNS=$RUNS per row, alternating; 1 shard${CPU:+ pinned to CPU $CPU} in both"
out "query:     $S2_SQL"
out "commands:"
out "  dpdk:  $RUN_CMD"
out "  query: $QUERY_CMD   (and the same on the first record alone, for its start-up time)"
out "config (DPDK.toml; PORT varies per run):"
write_config "$WORK/example.toml" PORT
while IFS= read -r line; do out "  | $line"; done <"$WORK/example.toml"

# --- runs --------------------------------------------------------------------
: >"$TSV"
for ((run = 1; run <= RUNS; run++)); do
    m=$(dpdk_run "$run") || exit 1
    read -r rec s cpu <<<"$m"
    printf 'dpdk\t%s\t%s\t%s\t%s\n' "$run" "$rec" "$s" "$cpu" >>"$TSV"
    echo "run $run dpdk: $rec records in $s s, shard CPU $cpu s" >&2
    m=$(query_run "$run" "$WORK/one.ndjson") || exit 1
    read -r _ setup_s _ <<<"$m"
    m=$(query_run "$run" "$NDJSON") || exit 1
    read -r rec s cpu <<<"$m"
    [[ $rec == "$N" ]] || die "query run $run took $rec records in, not $N"
    s=$(python3 -c 'import sys; print("%.6f" % (float(sys.argv[1]) - float(sys.argv[2])))' "$s" "$setup_s")
    printf 'query\t%s\t%s\t%s\t%s\n' "$run" "$rec" "$s" "$cpu" >>"$TSV"
    echo "run $run query: $rec records in $s s, shard CPU $cpu s" >&2
done

python3 - "$TSV" <<'PY' | tee -a "$LOG"
import statistics, sys
wall, cpu = {}, {}
for line in open(sys.argv[1]):
    path, run, rec, s, c = line.split()
    wall.setdefault(path, []).append(float(rec) / float(s))
    cpu.setdefault(path, []).append(float(rec) / float(c) if float(c) > 0 else 0.0)
def fmt(v):
    return "%.2fM" % (v / 1e6)
print()
print("records/s, 1 shard      path   runs  median   min      max      per run")
print("---------------------   -----  ----  -------  -------  -------  -------")
med = {}
for label, table in (("wall clock", wall), ("per shard CPU second", cpu)):
    for path in ("dpdk", "query"):
        v = table[path]
        med[(label, path)] = statistics.median(v)
        print("%-22s  %-5s  %4d  %7s  %7s  %7s  %s" % (label, path, len(v), fmt(med[(label, path)]), fmt(min(v)),
                                                       fmt(max(v)), " ".join(fmt(x) for x in v)))
print()
for label in ("wall clock", "per shard CPU second"):
    r = med[(label, "dpdk")] / med[(label, "query")]
    print("dpdk / query, %-21s %.3f  -> the network layer costs %.1f%% (target: under 10%%)" % (label + ":", r, (1 - r) * 100))
print()
print("wall clock: dpdk = records taken in between the first /metrics sample that saw records and the one that saw")
print("all N (the shard publishes every 10 ms) / the time between them; query = N / (the engine seconds of --stats")
print("minus those of a one-record run: its start-up).")
print("per shard CPU second: the same records / the shard thread's CPU time (/proc/PID/task/TID/schedstat) over the")
print("same span, which a busy machine inflates far less than the wall clock.")
PY

append_results "$RESULTS" "dpdk.sh, N=$N RUNS=$RUNS" "$LOG"
