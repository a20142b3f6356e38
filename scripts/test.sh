#!/usr/bin/env bash
# Sets everything up and runs every test suite: unit, conformance (the shared
# cases with 1 and 4 shards), integration (the sluice binary end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-deps.sh
scripts/build.sh
build="${BUILD:-build}"

status=0
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 \
  --suite unit --suite conformance --suite integration || status=$?

# One plain summary line from meson's own log.
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    res = r.get("result")
    if res in ("OK", "EXPECTEDFAIL"): passed += 1
    elif res == "SKIP": skipped += 1
    else: failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
