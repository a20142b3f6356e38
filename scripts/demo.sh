#!/usr/bin/env bash
# Sets everything up, generates a trading data set, and runs a windowed
# GROUP BY over it with `sluice query` (sample rows and the throughput), then
# the appliance (`sluice run`) on loopback, fed over TCP.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
scripts/build.sh >/dev/null
build="${BUILD:-build}"
n="${N:-5000000}"
shards="${SHARDS:-$(( $(nproc) > 1 ? 2 : 1 ))}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== generating $n trades (trader_id, symbol, price, quantity, trade_time; 1,000 trades a second)"
"$build/tools/sluice-gen" --scenario s3-dense --count "$n" --output "$work/trades.ndjson"
head -n 3 "$work/trades.ndjson"

sql="SELECT trader_id, symbol, _WINDOW_START AS window_start, COUNT(*) AS trades,
       AVG(price) AS avg_price, SUM(quantity) AS volume, SUM(price * quantity) AS notional
FROM trades
GROUP BY trader_id, symbol
WINDOW TUMBLING (trade_time, INTERVAL '1' MINUTE)
EMIT FINAL"
echo
echo "== query ($shards shards)"
echo "$sql"
echo
"$build/sluice" explain -e "$sql"
echo
"$build/sluice" query -e "$sql" --input "$work/trades.ndjson" --output "$work/out.ndjson" \
  --shards "$shards" --parallel-read --stats "$work/stats.json"
echo "== sample result rows"
head -n 5 "$work/out.ndjson"
echo
python3 - "$work/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"== {s['records_in']:,} records in, {s['rows_out']:,} rows out, {s['records_rejected']} rejected, "
      f"{s['late_dropped']} late, in {s['seconds']:.3f} s "
      f"= {s['records_per_second']/1e6:.2f} M records/s on {s['shards']} shard(s)")
PY

# The appliance: config/demo.toml on loopback (UDP :9000, TCP :9001), fed
# S2 trades over TCP, drained with SIGTERM.
echo
echo "== the appliance: sluice run --config config/demo.toml"
"$build/sluice" check --config config/demo.toml
"$build/tools/sluice-gen" --scenario s2 --count 100000 --output "$work/s2.ndjson"
"$build/sluice" run --config config/demo.toml --stats "$work/run.json" >"$work/console.ndjson" 2>"$work/run.log" &
pid=$!
for _ in $(seq 100); do grep -q "sluice: ready" "$work/run.log" 2>/dev/null && break; sleep 0.05; done
cat "$work/run.log"
cat "$work/s2.ndjson" >/dev/tcp/127.0.0.1/9001
sleep 1
kill -TERM "$pid"
wait "$pid"
tail -n 2 "$work/run.log"
echo "== last rows of query 'volumes' (console sink)"
tail -n 3 "$work/console.ndjson"
