#!/usr/bin/env python3
"""Checks that two NDJSON result files hold the same final rows (bench/peers.sh).

    compare_rows.py A.ndjson B.ndjson [--names sluice,DuckDB] [--max-diffs 5]

Rows are compared as a multiset, in any order. Every row must have the same
column names in the same order; integers must be equal; doubles must agree to a
relative tolerance of 1e-9 (summation order differs between the systems); an
integer never matches a double (JSON `3` against `3.0`). Prints
`rows: identical (K rows)` and exits 0, or the first differences and exits 1.
"""

import argparse
import json
import math
import sys

REL_TOL = 1e-9


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                # object_pairs_hook keeps the column order, and duplicate names.
                rows.append(json.loads(line, object_pairs_hook=lambda pairs: tuple(pairs)))
            except json.JSONDecodeError as e:
                sys.exit(f"compare_rows: {path}:{lineno}: not JSON: {e}")
    return rows


def kind(v):
    if isinstance(v, bool) or v is None:
        return "literal"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "double"
    return type(v).__name__


def exact_key(row):
    # The column names and every value that must match exactly.
    return (tuple(k for k, _ in row), tuple((kind(v), repr(v)) for _, v in row if not isinstance(v, float)))


def doubles(row):
    return tuple(v for _, v in row if isinstance(v, float))


def same_value(a, b):
    if kind(a) != kind(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)
    return a == b


def same_row(ra, rb):
    return len(ra) == len(rb) and all(ka == kb and same_value(va, vb) for (ka, va), (kb, vb) in zip(ra, rb))


def show(row):
    return json.dumps(dict(row), ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--names", default="A,B", help="how to call the two sides in messages")
    ap.add_argument("--max-diffs", type=int, default=5)
    args = ap.parse_args()
    name_a, name_b = args.names.split(",", 1)

    a, b = load(args.a), load(args.b)
    # Rows with the same exact part are matched greedily on their doubles,
    # within the tolerance; whatever is left over on either side differs.
    buckets = {}
    for side, rows in ((0, a), (1, b)):
        for r in rows:
            buckets.setdefault(exact_key(r), ([], []))[side].append(r)
    only_a, only_b, near = [], [], []
    for key in sorted(buckets, key=repr):
        ra, rb = (sorted(rows, key=doubles) for rows in buckets[key])
        unmatched_a, left = [], list(rb)
        for r in ra:
            j = next((j for j, s in enumerate(left) if same_row(r, s)), None)
            if j is None:
                unmatched_a.append(r)
            else:
                del left[j]
        # Unmatched rows of one key (the same group) are shown side by side.
        near.extend(zip(unmatched_a, left))
        only_a.extend(unmatched_a[len(left):])
        only_b.extend(left[len(unmatched_a):])
    diffs = []
    if len(a) != len(b):
        diffs.append(f"{len(a)} rows from {name_a}, {len(b)} rows from {name_b}")
    for x, y in near:
        bad = [k for (k, va), (_, vb) in zip(x, y) if not same_value(va, vb)]
        diffs.append(f"{', '.join(bad)} differ\n    {name_a}: {show(x)}\n    {name_b}: {show(y)}")
    # Rows only one side has, alternating sides so both show up.
    for i in range(max(len(only_a), len(only_b))):
        for name, rows in ((name_a, only_a), (name_b, only_b)):
            if i < len(rows):
                diffs.append(f"only from {name}: {show(rows[i])}")
    if diffs:
        print(f"rows: DIFFER ({len(a)} rows from {name_a}, {len(b)} from {name_b}); first differences:")
        for d in diffs[: args.max_diffs]:
            print(f"  {d}")
        return 1
    print(f"rows: identical ({len(a)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
