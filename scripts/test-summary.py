#!/usr/bin/env python3
"""One plain summary line from meson's test log: the test cases of every gtest
binary (a non-gtest test counts as one case).

    scripts/test-summary.py BUILD/meson-logs/testlog.json [LABEL]

prints "[LABEL: ]P passed, F failed, S skipped". A binary that failed without
a gtest failure of its own (it crashed, timed out, or a sanitizer stopped it,
e.g. LeakSanitizer at exit after every case passed) counts as one failure more.
"""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1]) as log:
    for line in log:
        r = json.loads(line)
        out = r.get("stdout") or ""
        p = re.findall(r"^\[  PASSED  \] (\d+) tests?", out, re.M)
        f = re.findall(r"^\[  FAILED  \] (\d+) tests?", out, re.M)
        s = re.findall(r"^\[  SKIPPED \] (\d+) tests?", out, re.M)
        ok = r.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
        if p or f or s:
            passed += sum(map(int, p))
            failed += sum(map(int, f))
            skipped += sum(map(int, s))
            if not ok and not f:
                failed += 1
        elif r.get("result") == "SKIP":
            skipped += 1
        elif ok:
            passed += 1
        else:
            failed += 1
label = f"{sys.argv[2]}: " if len(sys.argv) > 2 else ""
print(f"{label}{passed} passed, {failed} failed, {skipped} skipped")
