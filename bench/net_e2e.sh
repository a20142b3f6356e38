# End-to-end network runs for throughput.sh (sourced): sluice-gen sends a
# data set over UDP or TCP on loopback to `sluice run` (one shard, pinned
# when the machine has a CPU for the sender), whose /metrics endpoint tells
# when the last record was processed. Each run appends one line to $NET_TSV:
#   scenario transport run seconds records_sent records_in processed kernel_dropped overload
# shellcheck shell=bash

NET_PORT_BASE=${NET_PORT_BASE:-19400}

# net_config FILE SCENARIO TRANSPORT: the appliance config of one run.
net_config() {
    local file=$1 sc=$2 transport=$3 cpus=""
    # One core for the shard, the other for the sender (and the control thread).
    if (($(nproc) >= 2)); then cpus='cpus = "1"'; fi
    cat >"$file" <<EOF
[shards]
count = 1
$cpus
idle = "busy"

[metrics]
listen = "127.0.0.1:$((NET_PORT_BASE + 1))"

[log]
summary_interval_s = 0

[[sources]]
name = "in"
type = "$transport"
listen = "127.0.0.1:$NET_PORT_BASE"
receive_buffer_bytes = 33554432

[[sinks]]
name = "out"
type = "file"
path = "/dev/null"

[[queries]]
name = "q"
sql = "${SQL[$sc]}"
sink = "out"
EOF
}

# Waits until /metrics stops moving (UDP: nothing more will come) or shows
# `expect` records in (TCP); prints "seconds_since_t0 records_in processed".
net_wait_done() {
    local t0=$1 expect=$2 gen_pid=$3
    python3 - "$t0" "$expect" "$gen_pid" "$((NET_PORT_BASE + 1))" <<'PY'
import os, sys, time, urllib.request
t0, expect, gen_pid, port = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def scrape():
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    v = {}
    for line in text.splitlines():
        if line.startswith("sluice_records_in_total") or line.startswith("sluice_records_processed_total") \
                or line.startswith("sluice_records_rejected_total") or line.startswith("sluice_records_overload_dropped_total"):
            name = line.split("{", 1)[0]
            v[name] = v.get(name, 0) + float(line.rsplit(" ", 1)[1])
    return v
last, last_change = None, time.time()
done_at = None
while True:
    v = scrape()
    now = time.time()
    seen = v.get("sluice_records_in_total", 0)
    accounted = v.get("sluice_records_processed_total", 0) + v.get("sluice_records_rejected_total", 0) \
        + v.get("sluice_records_overload_dropped_total", 0)
    if seen != last:
        last, last_change = seen, now
    if expect > 0 and seen >= expect and accounted >= seen:
        done_at = now
        break
    # UDP: the sender has finished (its process is gone or a zombie) and nothing arrived for 0.3 s.
    try:
        sender_done = open(f"/proc/{gen_pid}/stat").read().split(") ", 1)[1][0] == "Z"
    except FileNotFoundError:
        sender_done = True
    if expect == 0 and sender_done and now - last_change > 0.3 and accounted >= seen:
        done_at = last_change
        break
    if now - last_change > 30:
        sys.exit(f"no progress for 30 s (records_in {seen:.0f})")
    time.sleep(0.01)
print(f"{done_at - t0:.4f} {seen:.0f} {v.get('sluice_records_processed_total', 0):.0f}")
PY
}

# net_run SCENARIO TRANSPORT RUN
net_run() {
    local sc=$1 transport=$2 run=$3 cfg=$WORK/net.toml stats=$WORK/net-stats.json pid gen_pid t0 res
    net_config "$cfg" "$sc" "$transport"
    rm -f "$stats"
    "$SLUICE" run --config "$cfg" --stats "$stats" 2>"$WORK/net-sluice.err" &
    pid=$!
    for _ in $(seq 200); do
        grep -q "sluice: ready" "$WORK/net-sluice.err" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || { cat "$WORK/net-sluice.err" >&2; die "sluice run exited before it was ready"; }
        sleep 0.02
    done
    local pin=()
    if (($(nproc) >= 2)); then pin=(taskset -c 0); fi
    t0=$EPOCHREALTIME
    "${pin[@]}" "$GEN" --scenario "${DATASET[$sc]}" --count "$N" "--$transport" "127.0.0.1:$NET_PORT_BASE" \
        2>"$WORK/net-gen.err" &
    gen_pid=$!
    if [[ $transport == tcp ]]; then
        res=$(net_wait_done "$t0" "$N" "$gen_pid") || die "$sc over $transport: $(cat "$WORK/net-gen.err")"
    else
        res=$(net_wait_done "$t0" 0 "$gen_pid") || die "$sc over $transport: $(cat "$WORK/net-gen.err")"
    fi
    wait "$gen_pid" || die "sluice-gen failed: $(cat "$WORK/net-gen.err")"
    kill -TERM "$pid"
    wait "$pid" || die "sluice run exited with an error: $(tail -3 "$WORK/net-sluice.err")"
    [[ -s $stats ]] || die "sluice run wrote no stats"
    read -r seconds records_in processed <<<"$res"
    read -r kernel_dropped overload < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(s.get("kernel_dropped", 0) for s in d["sources"]), d["queries"][0]["overload_dropped"])' "$stats")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$transport" "$run" "$seconds" "$N" "$records_in" \
        "$processed" "$kernel_dropped" "$overload" >>"$NET_TSV"
    echo "run $run/$RUNS  $sc over $transport  ${seconds} s  records_in=$records_in" >&2
}

net_table() {
    python3 - "$NET_TSV" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    sc, tr, _run, s, sent, rin, proc, kd, ov = line.rstrip("\n").split("\t")
    runs.setdefault((sc, tr), []).append((float(s), int(sent), int(rin), int(proc), int(kd), int(ov)))
def rate(v):
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}K"
header = ("scenario", "transport", "median s", "sent", "records in", "processed rec/s", "lost", "kernel dropped dg", "overload")
rows = []
for (sc, tr), s in runs.items():
    secs = statistics.median(x[0] for x in s)
    proc = statistics.median(x[3] for x in s)
    sent = s[0][1]
    rows.append((sc, tr, f"{secs:.3f}", str(sent), f"{statistics.median(x[2] for x in s):.0f}",
                 rate(proc / secs), f"{(sent - statistics.median(x[2] for x in s)) / sent:.1%}",
                 f"{statistics.median(x[4] for x in s):.0f}", f"{statistics.median(x[5] for x in s):.0f}"))
widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
fmt = "  ".join(f"{{:<{w}}}" if k < 2 else f"{{:>{w}}}" for k, w in enumerate(widths))
print(fmt.format(*header))
print(fmt.format(*("-" * w for w in widths)))
for r in rows:
    print(fmt.format(*r))
print()
print("end to end over loopback: sluice-gen (unpaced) -> sluice run (1 shard) -> /dev/null; seconds = from the")
print("sender's start until /metrics showed the last record processed (TCP: all N; UDP: the count stopped moving).")
print("processed rec/s = records processed / seconds; lost = records the kernel dropped before sluice took them")
print("(UDP senders outrun the receiver; TCP loses nothing).")
PY
}
