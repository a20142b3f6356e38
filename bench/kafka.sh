#!/usr/bin/env bash
# Kafka end to end through librdkafka's mock cluster (sluice-kafka-mock, one
# process, loopback): records/s per shard from a topic into sluice and back
# into a topic, and what a checkpoint costs (time, pause, size, restore) for
# many groups.
#
#   1. N S2 records (sluice-gen) are produced into topic `in` (P partitions,
#      keyed by symbol). For each shard count, a fresh consumer group reads them:
#        final:    S2's aggregation with EMIT FINAL (rows only at the end):
#                  Kafka in -> decode -> aggregate;
#        changes:  S2.sql as it is (EMIT CHANGES: a row per record), produced to
#                  topic `out` (at-least-once): Kafka in -> sluice -> Kafka out.
#      The clock starts when the group assigned the partitions and stops when
#      every record was taken in (in/s), and when every row was acknowledged
#      by the mock brokers (end to end/s). Checkpoints (every CK_INTERVAL_MS)
#      and offset commits run as they would in production.
#   2. NGROUPS records with distinct keys (GROUP BY k, EMIT FINAL) are read with
#      [checkpoint] every CK_INTERVAL_MS; once all are in, the next checkpoint's
#      duration, shard pause and file size are read from /metrics; then the
#      appliance is stopped and started again, and the restore (files read,
#      state merged) is timed from its log.
# The mock cluster and sluice share this machine's CPUs: the figures are a
# floor for sluice against a real cluster on other machines.
#
# Environment (all optional):
#   BUILD=build            meson build directory (with librdkafka: -Dkafka=enabled)
#   N=1000000              records of part 1
#   PARTITIONS=32          partitions of `in`, `out` and `keys` (the mock cluster keeps about
#                          5 MB per partition: enough partitions must hold the whole input)
#   SHARDS="1 2"           shard counts of part 1
#   NGROUPS=1000000         distinct groups of part 2
#   CK_SHARDS=2            shards of part 2
#   CK_INTERVAL_MS=2000    checkpoint interval
#   SKIP_BUILD=1           use the binaries in BUILD as they are
#   JOBS=2                 compile jobs
#   DATA=bench/data        where the input files live (gitignored)
#   RESULTS=bench/RESULTS.md   the raw output is appended here
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${BUILD:-build}
N=${N:-1000000}
PARTITIONS=${PARTITIONS:-32}
SHARDS=${SHARDS:-1 2}
NGROUPS=${NGROUPS:-1000000}
CK_SHARDS=${CK_SHARDS:-2}
CK_INTERVAL_MS=${CK_INTERVAL_MS:-2000}
JOBS=${JOBS:-2}
DATA=${DATA:-bench/data}
RESULTS=${RESULTS:-bench/RESULTS.md}

SCRIPT=kafka.sh
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
[[ $NGROUPS =~ ^[1-9][0-9]*$ ]] || die "NGROUPS must be a positive integer, got '$NGROUPS'"
command -v python3 >/dev/null || die "python3 is required"

build_binaries "$BUILD" "$JOBS" sluice sluice-gen sluice-kafka-mock
SLUICE=$BUILD/sluice
GEN=$BUILD/tools/sluice-gen
MOCK=$BUILD/tools/sluice-kafka-mock
[[ -x $MOCK ]] || die "$MOCK is missing: configure $BUILD with librdkafka (meson configure $BUILD -Dkafka=enabled)"

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-kafka-bench.XXXXXX")
mock_pid=""
app_pid=""
cleanup() {
    [[ -n $app_pid ]] && kill -KILL "$app_pid" 2>/dev/null || true
    [[ -n $mock_pid ]] && kill "$mock_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
log=$work/report.log
say() { echo "$*" | tee -a "$log" >&2; }

# --- the mock cluster -----------------------------------------------------------
mkfifo "$work/mock.in"
"$MOCK" serve --brokers 1 --topic "in:$PARTITIONS" --topic "out:$PARTITIONS" --topic "keys:$((PARTITIONS * 2))" \
    --bootstrap-file "$work/bootstrap" <"$work/mock.in" >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
exec 9>"$work/mock.in"  # keeps its stdin open
for _ in $(seq 100); do [[ -s $work/bootstrap ]] && break; sleep 0.1; done
[[ -s $work/bootstrap ]] || die "the mock cluster did not start: $(cat "$work/mock.err")"
BOOTSTRAP=$(<"$work/bootstrap")

# all_kept TOPIC: dies unless every partition still holds its first message
# (the mock cluster drops the oldest beyond about 5 MB per partition).
all_kept() {
    local dropped
    dropped=$("$MOCK" offsets --bootstrap "$BOOTSTRAP" --topic "$1" --watermarks | awk '$3 != 0' | wc -l)
    [[ $dropped == 0 ]] || die "the mock cluster dropped the oldest messages of $dropped partitions of '$1': raise PARTITIONS"
}

# metric NAME PORT: the sum of a series over its labels (0 when absent).
metric() {
    python3 - "$1" "$2" <<'EOF'
import sys, urllib.request
name, port = sys.argv[1], sys.argv[2]
try:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
except Exception:
    print(0); sys.exit()
total = 0.0
for line in text.splitlines():
    if line.startswith(name + "{") or line.startswith(name + " "):
        total += float(line.rsplit(" ", 1)[1])
print(int(total) if total.is_integer() else total)
EOF
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

# config FILE SHARDS GROUP SQL SINK CHECKPOINT_DIR METRICS_PORT FLUSH
config() {
    local file=$1 shards=$2 group=$3 sql=$4 sink=$5 ckdir=$6 port=$7 flush=$8
    {
        printf '[shards]\ncount = %s\nidle = "adaptive"\n' "$shards"
        printf '[drain]\nflush_windows = %s\ntimeout_ms = 60000\n' "$flush"
        printf '[metrics]\nlisten = "127.0.0.1:%s"\n' "$port"
        printf '[log]\nsummary_interval_s = 0\n'
        [[ -n $ckdir ]] && printf '[checkpoint]\ndir = "%s"\ninterval_ms = %s\nname = "bench"\n' "$ckdir" "$CK_INTERVAL_MS"
        printf '[[sources]]\nname = "in"\ntype = "kafka"\nbrokers = "%s"\ntopics = ["%s"]\ngroup = "%s"\n' \
            "$BOOTSTRAP" "${TOPIC:-in}" "$group"
        printf 'properties = { "fetch.wait.max.ms" = "10", "queued.max.messages.kbytes" = "262144" }\n'
        if [[ $sink == kafka ]]; then
            printf '[[sinks]]\nname = "out"\ntype = "kafka"\nbrokers = "%s"\ntopic = "out"\nlinger_ms = 5\n' "$BOOTSTRAP"
        else
            printf '[[sinks]]\nname = "out"\ntype = "file"\npath = "%s/rows.ndjson"\n' "$work"
        fi
        printf '[[queries]]\nname = "q"\nsql = "%s"\nsink = "out"\n' "$sql"
    } >"$file"
}

# wait_for EXPR_CMD LIMIT_S: polls the command until it prints "yes".
wait_for() {
    local cmd=$1 limit=$2 start
    start=$(date +%s)
    until [[ $(eval "$cmd") == yes ]]; do
        (($(date +%s) - start > limit)) && return 1
        sleep 0.05
    done
}

say "sluice Kafka benchmark: $(revision "$ROOT"), build $(build_type "$BUILD"), $(nproc) CPUs: $(cpu_model)"
say "librdkafka mock cluster (1 broker, sluice-kafka-mock) and sluice on the same machine; loopback"

# --- part 1: records/s ----------------------------------------------------------
input=$work/s2.ndjson
"$GEN" --scenario s2 --count "$N" --output "$input" >&2 || die "sluice-gen failed"
t0=$(now)
produced=$("$MOCK" produce --bootstrap "$BOOTSTRAP" --topic in --input "$input" --key symbol) || die "produce failed"
t1=$(now)
all_kept in
say "part 1: $produced S2 records into 'in' ($PARTITIONS partitions, keyed by symbol) in $(python3 -c "print(f'{$t1-$t0:.2f}')") s"
s2_sql=$(<bench/data/sql/S2.sql)
s2_final="${s2_sql} EMIT FINAL"

printf '%-9s %-7s %12s %14s %16s %18s\n' query shards "in rec/s" "in rec/s/shard" "end-to-end rec/s" "end-to-end /shard" | tee -a "$log" >&2
run=0
for shards in $SHARDS; do
    for mode in final changes; do
        run=$((run + 1))
        port=$(free_port)
        if [[ $mode == final ]]; then sql=$s2_final; sink=file; else sql=$s2_sql; sink=kafka; fi
        config "$work/app.toml" "$shards" "bench-$run" "$sql" "$sink" "$work/ck-$run" "$port" true
        "$SLUICE" run --config "$work/app.toml" >"$work/app.out" 2>"$work/app.err" &
        app_pid=$!
        wait_for "[[ \$(metric sluice_kafka_assigned_partitions $port) -ge $PARTITIONS ]] && echo yes" 60 ||
            die "no assignment: $(tail -5 "$work/app.err")"
        start=$(now)
        wait_for "[[ \$(metric sluice_records_in_total $port) -ge $N ]] && echo yes" 600 || die "records missing"
        taken=$(now)
        if [[ $mode == changes ]]; then
            wait_for "[[ \$(metric sluice_kafka_sink_delivered_total $port) -ge $N ]] && echo yes" 600 || die "rows missing"
        fi
        done_t=$(now)
        kill -TERM "$app_pid"
        wait "$app_pid" || die "sluice exited with an error: $(tail -5 "$work/app.err")"
        app_pid=""
        python3 - "$mode" "$shards" "$N" "$start" "$taken" "$done_t" <<'EOF' | tee -a "$log" >&2
import sys
mode, shards, n, start, taken, done = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *map(float, sys.argv[4:])
rin = n / (taken - start)
e2e = n / (done - start) if mode == "changes" else float("nan")
f = lambda v: "-" if v != v else f"{v:,.0f}"
print(f"{mode:<9} {shards:<7} {f(rin):>12} {f(rin / shards):>14} {f(e2e):>16} {f(e2e / shards):>18}")
EOF
    done
done

# --- part 2: checkpoints of many groups -------------------------------------------
python3 - "$NGROUPS" >"$work/keys.ndjson" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    out.write('{"k":"user-%08d","v":%d}\n' % (i, i % 1000))
EOF
"$MOCK" produce --bootstrap "$BOOTSTRAP" --topic keys --input "$work/keys.ndjson" --key k >/dev/null || die "produce failed"
all_kept keys
say ""
say "part 2: $NGROUPS groups (GROUP BY k: COUNT, SUM, AVG), $CK_SHARDS shards, checkpoint every $CK_INTERVAL_MS ms"
port=$(free_port)
TOPIC=keys config "$work/ck.toml" "$CK_SHARDS" "bench-ck" \
    "SELECT k, COUNT(*) AS n, SUM(v) AS s, AVG(v) AS a FROM t GROUP BY k EMIT FINAL" file "$work/ck" "$port" false
"$SLUICE" run --config "$work/ck.toml" >"$work/ck.out" 2>"$work/ck.err" &
app_pid=$!
wait_for "[[ \$(metric sluice_records_in_total $port) -ge $NGROUPS ]] && echo yes" 600 || die "records missing"
before=$(metric sluice_checkpoints_total "$port")
wait_for "[[ \$(metric sluice_checkpoints_total $port) -gt $before ]] && echo yes" 120 || die "no checkpoint"
secs=$(metric sluice_checkpoint_last_seconds "$port")
pause=$(metric sluice_checkpoint_last_pause_seconds "$port")
bytes=$(metric sluice_checkpoint_last_bytes "$port")
state=$(metric sluice_state_bytes "$port")
kill -TERM "$app_pid"
wait "$app_pid" || die "sluice exited with an error"
app_pid=""
# Restart: the state comes back from the checkpoint of the committed offsets.
"$SLUICE" run --config "$work/ck.toml" >"$work/ck2.out" 2>"$work/ck2.err" &
app_pid=$!
wait_for "grep -q 'restored from' $work/ck2.err && echo yes" 120 || die "no restore: $(tail -3 "$work/ck2.err")"
restore=$(sed -n 's/.*restored from [0-9]* checkpoint(s) (\([0-9]*\) items, \([0-9.]*\) ms).*/\1 \2/p' "$work/ck2.err" | head -1)
kill -TERM "$app_pid"
wait "$app_pid" || true
app_pid=""
python3 - "$NGROUPS" "$secs" "$pause" "$bytes" "$state" $restore <<'EOF' | tee -a "$log" >&2
import sys
groups = int(sys.argv[1]); secs, pause = float(sys.argv[2]), float(sys.argv[3]); size, state = int(sys.argv[4]), int(sys.argv[5])
items, restore_ms = int(sys.argv[6]), float(sys.argv[7])
print(f"checkpoint: {secs * 1000:.0f} ms in all (shards paused {pause * 1000:.1f} ms to quiesce; snapshot, gather, write, fsync)")
print(f"file:       {size / 1e6:.1f} MB ({size / groups:.1f} bytes/group; in-memory state {state / 1e6:.1f} MB)")
print(f"restore:    {restore_ms:.0f} ms for {items} items (read, verify, merge into every shard)")
EOF

append_results "$RESULTS" "kafka.sh (N=$N, PARTITIONS=$PARTITIONS, NGROUPS=$NGROUPS)" "$log"
