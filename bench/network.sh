#!/usr/bin/env bash
# Network ingest of `sluice run` against the kernel's loopback ceiling, in one
# run, alternating: a plain UDP receiver (net_blast udp-recv) and sluice take
# the same datagrams of S2 records from the same sender (net_blast udp-send);
# then TCP into sluice, and into a plain TCP receiver, with 1 and 4
# connections. Each row is the median of RUNS runs.
#
# Environment (all optional):
#   BUILD=build            meson build directory (created with --buildtype=release if missing)
#   RUNS=3                 runs per row
#   UDP_SECONDS=3          send time per UDP run
#   TCP_SECONDS=2          send time per TCP run
#   RECORDS=200000         S2 records in the file the senders loop over
#   DATAGRAM_BYTES=1400    UDP payload limit (whole records, several per datagram)
#   SENDER_SOCKETS=16      source ports of the UDP sender (SO_REUSEPORT spreads them over shards)
#   RATIO_SHARDS=1         shards (and receiver sockets) of the ratio measurement
#   INFO_SHARDS=2          a second UDP pair for information ("" to skip)
#   TCP_SHARDS=1           shards of sluice in the TCP runs
#   TCP_CONNECTIONS="1 4"  connection counts of the TCP runs
#   PLAIN_TCP=1            also measure a plain TCP receiver (0 to skip)
#   SKIP_BUILD=1           use the binaries in BUILD as they are
#   JOBS=2                 compile jobs
#   DATA=bench/data        where the input file lives (gitignored)
#   RESULTS=bench/RESULTS.md   the raw output is appended here
set -euo pipefail
export LC_ALL=C  # '.' as the decimal point of EPOCHREALTIME

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
UDP_SECONDS=${UDP_SECONDS:-3}
TCP_SECONDS=${TCP_SECONDS:-2}
RECORDS=${RECORDS:-200000}
DATAGRAM_BYTES=${DATAGRAM_BYTES:-1400}
SENDER_SOCKETS=${SENDER_SOCKETS:-16}
RATIO_SHARDS=${RATIO_SHARDS:-1}
INFO_SHARDS=${INFO_SHARDS-2}
TCP_SHARDS=${TCP_SHARDS:-1}
TCP_CONNECTIONS=${TCP_CONNECTIONS:-1 4}
PLAIN_TCP=${PLAIN_TCP:-1}
JOBS=${JOBS:-2}
DATA=${DATA:-bench/data}
RESULTS=${RESULTS:-bench/RESULTS.md}

SCRIPT=network.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ $RECORDS =~ ^[1-9][0-9]*$ ]] || die "RECORDS must be a positive integer, got '$RECORDS'"
command -v python3 >/dev/null || die "python3 is required"

# --- build -------------------------------------------------------------------
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    if [[ ! -f $BUILD/build.ninja ]]; then
        meson setup "$BUILD" --buildtype=release >&2 || die "meson setup $BUILD failed"
    fi
    meson compile -C "$BUILD" -j "$JOBS" sluice sluice-gen net_blast >&2 ||
        die "build failed (net_blast needs -Dbenchmarks=true)"
fi
SLUICE=$BUILD/sluice
GEN=$BUILD/tools/sluice-gen
BLAST=$BUILD/bench/net_blast
for b in "$SLUICE" "$GEN" "$BLAST"; do
    [[ -x $b ]] || die "$b not found (build it, or set BUILD=)"
done
BUILDTYPE=$(meson introspect "$BUILD" --buildoptions 2>/dev/null |
    python3 -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"), "?"))' ||
    echo "?")

# --- input -------------------------------------------------------------------
mkdir -p "$DATA"
INPUT=$DATA/s2-net.ndjson
want="scenario=s2 count=$RECORDS"
if [[ -s $INPUT && -f $INPUT.meta && $(<"$INPUT.meta") == "$want bytes=$(stat -c %s "$INPUT")" ]]; then
    echo "data: reusing $INPUT ($RECORDS records)" >&2
else
    echo "data: generating $INPUT ($RECORDS records)" >&2
    rm -f "$INPUT.meta"
    "$GEN" --scenario s2 --count "$RECORDS" --output "$INPUT.tmp" || die "sluice-gen failed"
    mv "$INPUT.tmp" "$INPUT"
    echo "$want bytes=$(stat -c %s "$INPUT")" >"$INPUT.meta"
fi

S2_SQL="SELECT symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, MIN(price) AS min_price, MAX(price) AS max_price, SUM(quantity) AS total_quantity FROM market_data GROUP BY symbol EMIT CHANGES"

# --- helpers -----------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-network.XXXXXX")
BG_PID=""
cleanup() {
    if [[ -n $BG_PID ]]; then kill "$BG_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
LOG=$WORK/output.txt
TSV=$WORK/runs.tsv
out() { printf '%s\n' "$*" | tee -a "$LOG"; }

# A port free for both UDP and TCP on 127.0.0.1, fresh for every run.
free_port() {
    python3 - <<'PY'
import socket
for _ in range(100):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
PY
}

# Waits until FILE holds a line matching PATTERN (the process PID is still up).
wait_ready() {  # file pattern pid what
    local i
    for ((i = 0; i < 500; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || { cat "$1" >&2; die "$4 exited before it was ready"; }
        sleep 0.02
    done
    die "$4 not ready after 10 s"
}

# The host-wide count of UDP datagrams the kernel dropped for a full receive buffer.
rcvbuf_errors() {
    awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# key=value from a net_blast line
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1"; }

write_config() {  # file shards source-type port
    cat >"$1" <<EOF
[shards]
count = $2
idle = "adaptive"

[[sources]]
name = "in"
type = "$3"
listen = "127.0.0.1:$4"

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

# The senders, and their command lines as printed.
udp_send_args() { echo "udp-send --port $1 --input $INPUT --seconds $UDP_SECONDS --datagram-bytes $DATAGRAM_BYTES --sockets $SENDER_SOCKETS"; }
tcp_send_args() { echo "tcp-send --port $1 --input $INPUT --seconds $TCP_SECONDS --connections $2"; }
udp_send_cmd() { echo "$BLAST $(udp_send_args "$1")"; }
tcp_send_cmd() { echo "$BLAST $(tcp_send_args "$1" "$2")"; }
# shellcheck disable=SC2046 # the arguments are words without spaces
udp_send() { "$BLAST" $(udp_send_args "$1"); }
# shellcheck disable=SC2046
tcp_send() { "$BLAST" $(tcp_send_args "$1" "$2"); }

WARNINGS=$WORK/warnings.txt
: >"$WARNINGS"
warn() { echo "warning: $*" | tee -a "$WARNINGS" >&2; }

# Starts `sluice run` in the background on CONFIG; sets BG_PID.
start_sluice() {  # config stats stderr
    "$SLUICE" run --config "$1" --stats "$2" 2>"$3" &
    BG_PID=$!
    wait_ready "$3" "sluice: ready" "$BG_PID" "sluice run --config $1"
}

# SIGTERM, wait for the exit; sets COUNTERS to "in processed overload rejected rows_out".
stop_sluice() {  # stats stderr what
    local rc=0
    kill -TERM "$BG_PID"
    wait "$BG_PID" || rc=$?
    BG_PID=""
    if [[ $rc != 0 ]]; then
        warn "$3: sluice run exited with status $rc; stderr: $(tr '\n' ' ' <"$2")"
    fi
    COUNTERS="0 0 0 0 0"
    if [[ ! -s $1 ]]; then
        warn "$3: sluice run wrote no stats file"
        return
    fi
    COUNTERS=$(python3 -c '
import json, sys
q = json.load(open(sys.argv[1]))["queries"][0]
print(q["records_in"], q["records_processed"], q["overload_dropped"], q["records_rejected"], q["rows_out"])' "$1")
}

# TSV: kind shards conns run sent_dgrams sent_records send_s base_s in_dgrams in_records processed overload rejected snmp_drops split
row() { local IFS=$'\t'; echo "$*" >>"$TSV"; }

run_kernel_udp() {  # shards run
    local port recv=$WORK/recv.out send=$WORK/send.out e0 e1
    port=$(free_port)
    e0=$(rcvbuf_errors)
    "$BLAST" udp-recv --port "$port" --seconds $((${UDP_SECONDS%.*} + 30)) --reuseport "$1" >"$recv" 2>"$WORK/recv.err" &
    BG_PID=$!
    wait_ready "$WORK/recv.err" "^ready" "$BG_PID" "net_blast udp-recv"
    udp_send "$port" >"$send" || die "udp-send failed"
    wait "$BG_PID" || die "udp-recv failed: $(cat "$WORK/recv.err")"
    BG_PID=""
    e1=$(rcvbuf_errors)
    local sd sr ss rd rr
    sd=$(field "$send" datagrams); sr=$(field "$send" records); ss=$(field "$send" seconds)
    rd=$(field "$recv" datagrams); rr=$(field "$recv" records)
    row kernel-udp "$1" - "$2" "$sd" "$sr" "$ss" "$ss" "$rd" "$rr" "$rr" 0 0 $((e1 - e0)) "$(field "$recv" per_socket)"
    echo "run $2/$RUNS  kernel udp, $1 socket(s): sent $sd, received $rd datagrams ($(field "$recv" per_socket) per socket)" >&2
}

run_sluice_udp() {  # shards run
    local port cfg=$WORK/udp.toml stats=$WORK/stats.json err=$WORK/sluice.err send=$WORK/send.out e0 e1
    port=$(free_port)
    write_config "$cfg" "$1" udp "$port"
    rm -f "$stats"
    e0=$(rcvbuf_errors)
    start_sluice "$cfg" "$stats" "$err"
    udp_send "$port" >"$send" || die "udp-send failed"
    sleep 0.2  # sluice empties its socket buffers; the drain does not read them
    stop_sluice "$stats" "$err" "sluice udp, $1 shard(s), run $2"
    e1=$(rcvbuf_errors)
    local sd sr ss rin processed overload rejected rows
    read -r rin processed overload rejected rows <<<"$COUNTERS"
    sd=$(field "$send" datagrams); sr=$(field "$send" records); ss=$(field "$send" seconds)
    # Whole datagrams: records_in / records per datagram as sent.
    local in_dgrams
    in_dgrams=$(python3 -c "print(round($rin * $sd / $sr) if $sr else 0)")
    row sluice-udp "$1" - "$2" "$sd" "$sr" "$ss" "$ss" "$in_dgrams" "$rin" "$processed" "$overload" "$rejected" $((e1 - e0)) -
    if ((rin != processed + overload + rejected)); then
        warn "sluice udp, $1 shard(s), run $2: records_in $rin != processed $processed + overload_dropped $overload + rejected $rejected"
    fi
    ((rows == processed)) || warn "sluice udp, $1 shard(s), run $2: rows_out $rows != records_processed $processed (EMIT CHANGES: one row per record)"
    ((rin <= sr)) || warn "sluice udp, $1 shard(s), run $2: records_in $rin > records sent $sr"
    echo "run $2/$RUNS  sluice udp, $1 shard(s): sent $sd datagrams ($sr records), in $rin, processed $processed, overload $overload" >&2
}

run_sluice_tcp() {  # shards conns run
    local port cfg=$WORK/tcp.toml stats=$WORK/stats.json err=$WORK/sluice.err send=$WORK/send.out
    port=$(free_port)
    write_config "$cfg" "$1" tcp "$port"
    rm -f "$stats"
    start_sluice "$cfg" "$stats" "$err"
    tcp_send "$port" "$2" >"$send" || die "tcp-send failed"
    stop_sluice "$stats" "$err" "sluice tcp, $2 connection(s), run $3"
    local sr ss sb closed rin processed overload rejected rows
    read -r rin processed overload rejected rows <<<"$COUNTERS"
    sr=$(field "$send" records); sb=$(field "$send" send_seconds); ss=$(field "$send" seconds)
    closed=$(field "$send" closed_by_peer)
    [[ $closed == "$2" ]] || warn "sluice tcp, $2 connection(s), run $3: sluice closed $closed of $2 connections after EOF"
    row sluice-tcp "$1" "$2" "$3" - "$sr" "$sb" "$ss" - "$rin" "$processed" "$overload" "$rejected" 0 -
    ((rin == sr)) || warn "sluice tcp, $2 connection(s), run $3: records_in $rin != records sent $sr (TCP must lose nothing)"
    ((rin == processed + overload + rejected)) ||
        warn "sluice tcp, $2 connection(s), run $3: records_in $rin != processed $processed + overload_dropped $overload + rejected $rejected"
    echo "run $3/$RUNS  sluice tcp, $2 connection(s): sent $sr records, in $rin, processed $processed" >&2
}

run_plain_tcp() {  # conns run
    local port recv=$WORK/recv.out send=$WORK/send.out
    port=$(free_port)
    "$BLAST" tcp-recv --port "$port" --seconds 60 --connections "$1" >"$recv" 2>"$WORK/recv.err" &
    BG_PID=$!
    wait_ready "$WORK/recv.err" "^ready" "$BG_PID" "net_blast tcp-recv"
    tcp_send "$port" "$1" >"$send" || die "tcp-send failed"
    wait "$BG_PID" || die "tcp-recv failed: $(cat "$WORK/recv.err")"
    BG_PID=""
    local sr sb ss rr
    sr=$(field "$send" records); sb=$(field "$send" send_seconds); ss=$(field "$send" seconds)
    rr=$(field "$recv" records)
    row plain-tcp - "$1" "$2" - "$sr" "$sb" "$ss" - "$rr" "$rr" 0 0 0 -
    ((rr == sr)) || warn "plain tcp, $1 connection(s), run $2: received $rr records of $sr"
    echo "run $2/$RUNS  plain tcp, $1 connection(s): sent $sr records, received $rr" >&2
}

# --- report header -----------------------------------------------------------
cpu_model=$(cpu_model)
revision=$(revision "$ROOT")
UDP_SHARD_SET="$RATIO_SHARDS${INFO_SHARDS:+ $INFO_SHARDS}"

out "sluice network ingest (bench/network.sh)"
out "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
out "host:      $(uname -n), $(uname -sr)"
out "cpu:       $cpu_model"
out "cores:     $(getconf _NPROCESSORS_ONLN) online, $(nproc) usable; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
out "sockets:   net.core.rmem_default $(cat /proc/sys/net/core/rmem_default) bytes (the receive buffer of every receiving socket here)"
out "revision:  $revision"
out "build:     $BUILD (buildtype $BUILDTYPE)"
out "input:     $INPUT, $RECORDS S2 records ($(stat -c %s "$INPUT") bytes), sent in a loop"
out "runs:      RUNS=$RUNS per row, alternating; UDP_SECONDS=$UDP_SECONDS, TCP_SECONDS=$TCP_SECONDS"
out "ratio:     $RATIO_SHARDS shard(s) vs $RATIO_SHARDS receiver socket(s): the sender needs a core of its own on this"
out "           $(nproc)-core machine${INFO_SHARDS:+; the $INFO_SHARDS-shard pair is for information}"
out "query:     $S2_SQL"
out "config:    (PORT, SHARDS and TYPE vary per run; written to a temp dir)"
write_config "$WORK/example.toml" SHARDS TYPE PORT
sed 's/^/  | /' "$WORK/example.toml" | tee -a "$LOG"
out "commands:"
out "  kernel UDP: $BLAST udp-recv --port PORT --seconds $((${UDP_SECONDS%.*} + 30)) --reuseport SHARDS   (ends 0.5 s after the last datagram)"
out "              $(udp_send_cmd PORT)"
out "  sluice UDP: $SLUICE run --config UDP.toml --stats STATS.json   (SIGTERM 0.2 s after the sender ends)"
out "              $(udp_send_cmd PORT)"
out "  sluice TCP: $SLUICE run --config TCP.toml --stats STATS.json   (SIGTERM once sluice closed every connection)"
out "              $(tcp_send_cmd PORT CONNS)"
[[ $PLAIN_TCP == 1 ]] && out "  plain TCP:  $BLAST tcp-recv --port PORT --seconds 60 --connections CONNS"
[[ $PLAIN_TCP == 1 ]] && out "              $(tcp_send_cmd PORT CONNS)"

# --- runs --------------------------------------------------------------------
: >"$TSV"
t_start=$EPOCHREALTIME
for ((run = 1; run <= RUNS; run++)); do
    for shards in $UDP_SHARD_SET; do
        run_kernel_udp "$shards" "$run"
        run_sluice_udp "$shards" "$run"
    done
    for conns in $TCP_CONNECTIONS; do
        run_sluice_tcp "$TCP_SHARDS" "$conns" "$run"
        [[ $PLAIN_TCP == 1 ]] && run_plain_tcp "$conns" "$run"
    done
done
echo "runs took $(python3 -c "print(f'{$EPOCHREALTIME - $t_start:.0f}')") s" >&2

# --- table -------------------------------------------------------------------
out ""
python3 - "$TSV" "$RATIO_SHARDS" <<'PY' | tee -a "$LOG"
import statistics
import sys

tsv, ratio_shards = sys.argv[1], sys.argv[2]
rows = {}
for line in open(tsv):
    kind, shards, conns, _run, sd, sr, send_s, base_s, ind, inr, proc, over, rej, snmp, split = line.rstrip("\n").split("\t")
    num = lambda v: float(v) if v != "-" else None
    rows.setdefault((kind, shards, conns), []).append(dict(
        sd=num(sd), sr=num(sr), send_s=float(send_s), base_s=float(base_s), ind=num(ind), inr=float(inr),
        proc=float(proc), over=float(over), rej=float(rej), snmp=float(snmp), split=split))

def rate(v):
    if v is None:
        return "-"
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}K"

def med(samples, f):
    vals = [f(s) for s in samples]
    return None if any(v is None for v in vals) else statistics.median(vals)

def fmt_table(header, body):
    widths = [max(len(h), *(len(r[k]) for r in body)) for k, h in enumerate(header)]
    f = "  ".join(f"{{:<{w}}}" if k == 0 else f"{{:>{w}}}" for k, w in enumerate(widths))
    print(f.format(*header))
    print(f.format(*("-" * w for w in widths)))
    for r in body:
        print(f.format(*r))

# UDP: rates over the sender's duration.
udp_header = ("UDP, datagrams of S2 records", "sent dg/s", "in dg/s", "in rec/s", "processed rec/s",
              "kernel dropped", "RcvbufErrors", "overload_dropped", "rec/dg", "busiest socket")
udp_body, med_rate = [], {}
shard_list = sorted({k[1] for k in rows if k[0] in ("kernel-udp", "sluice-udp")}, key=int)
for shards in shard_list:
    for kind in ("kernel-udp", "sluice-udp"):
        s = rows.get((kind, shards, "-"))
        if not s:
            continue
        sent = med(s, lambda x: x["sd"] / x["send_s"])
        ind = med(s, lambda x: x["ind"] / x["send_s"])
        inr = med(s, lambda x: x["inr"] / x["send_s"])
        proc = med(s, lambda x: x["proc"] / x["send_s"])
        dropped = med(s, lambda x: x["sd"] - x["ind"])
        dropped_pct = med(s, lambda x: 100 * (x["sd"] - x["ind"]) / x["sd"])
        over = med(s, lambda x: x["over"])
        rpd = med(s, lambda x: x["sr"] / x["sd"])
        med_rate[(kind, shards)] = (inr, proc)
        name = (f"net_blast udp-recv, {shards} socket(s)" if kind == "kernel-udp"
                else f"sluice run, {shards} shard(s)")
        # SO_REUSEPORT hashes the sender's ports: each run's share of the busiest receiving socket.
        busiest = "-"
        if kind == "kernel-udp" and int(shards) > 1:
            shares = []
            for x in s:
                per = [int(v) for v in x["split"].split(",")]
                shares.append(f"{100 * max(per) / max(sum(per), 1):.0f}%")
            busiest = ",".join(shares)
        udp_body.append((name, rate(sent), rate(ind), rate(inr), rate(proc),
                         f"{dropped:.0f} ({dropped_pct:.1f}%)", f"{med(s, lambda x: x['snmp']):.0f}", "-" if kind == "kernel-udp" else f"{over:.0f}",
                         f"{rpd:.2f}", busiest))
fmt_table(udp_header, udp_body)
print()
print("ratio sluice / kernel, records processed per second (BENCH.md target >= 0.8):")
for shards in shard_list:
    k, s = med_rate.get(("kernel-udp", shards)), med_rate.get(("sluice-udp", shards))
    if k and s and k[1]:
        tag = "the ratio" if shards == ratio_shards else "for information"
        print(f"  {shards} shard(s) vs {shards} socket(s): {s[1] / k[1]:.2f}   (records taken in: {s[0] / k[1]:.2f})   [{tag}]")
print()

# TCP: rates until the receiver had read everything (it closed every connection).
tcp_header = ("TCP, S2 records", "connections", "rec/s", "records in / sent", "send s", "until closed s")
tcp_body = []
conns_list = sorted({k[2] for k in rows if k[0] in ("sluice-tcp", "plain-tcp")}, key=int)
for conns in conns_list:
    for kind in ("sluice-tcp", "plain-tcp"):
        for key in [k for k in rows if k[0] == kind and k[2] == conns]:
            s = rows[key]
            r = med(s, lambda x: x["inr"] / x["base_s"])
            ok = all(x["inr"] == x["sr"] for x in s)
            name = f"sluice run, {key[1]} shard(s)" if kind == "sluice-tcp" else "net_blast tcp-recv"
            tcp_body.append((name, conns, rate(r), "all" if ok else "LOST",
                             f"{med(s, lambda x: x['send_s']):.2f}", f"{med(s, lambda x: x['base_s']):.2f}"))
if tcp_body:
    fmt_table(tcp_header, tcp_body)
    print()
print("UDP: rates = counts / the sender's send time; dg = datagram; in = records_in (sluice) or records received;")
print("kernel dropped = datagrams sent - datagrams taken in (sluice: records_in / rec/dg); RcvbufErrors = the")
print("host's /proc/net/snmp count of datagrams dropped on a full receive buffer during the run (a cross-check).")
print("TCP: rec/s = records_in / time from the first write until the receiver had closed every connection.")
PY
if [[ -s $WARNINGS ]]; then
    out ""
    tee -a "$LOG" <"$WARNINGS"
fi

# --- results file ------------------------------------------------------------
append_results "$RESULTS" "network.sh, UDP_SECONDS=$UDP_SECONDS TCP_SECONDS=$TCP_SECONDS RUNS=$RUNS" "$LOG"
