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

# One plain summary line: test cases of every gtest binary, from meson's log.
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    out = r.get("stdout") or ""
    p = re.findall(r"^\[  PASSED  \] (\d+) tests?", out, re.M)
    f = re.findall(r"^\[  FAILED  \] (\d+) tests?", out, re.M)
    s = re.findall(r"^\[  SKIPPED \] (\d+) tests?", out, re.M)
    if p or f or s:
        passed += sum(map(int, p)); failed += sum(map(int, f)); skipped += sum(map(int, s))
    elif r.get("result") in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r.get("result") == "SKIP":
        skipped += 1
    else:
        failed += 1
    if r.get("result") not in ("OK", "EXPECTEDFAIL", "SKIP") and not f:
        failed += 1  # a binary that crashed or timed out before printing its summary
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
