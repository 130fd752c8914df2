#!/usr/bin/env python3
"""Turns bench/effect's results (one JSON object per run, JSON Lines) into a table on stdout and a
Markdown report; runs of the same variant and level (the A B A B rounds) are shown one per row
and summed into a median row.

    report.py RESULTS_JSONL OUT_MD MACHINE_DESCRIPTION
"""

import json
import statistics
import sys
from collections import defaultdict

COLUMNS = ["variant", "connections", "round", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors %", "MB/s",
           "PG connections opened"]


def row(run, label=None):
    seconds = run["duration_us"] / 1e6
    errors = sum(run[k] for k in run if k.startswith("errors_"))
    return [
        run["variant"],
        str(run["connections"]),
        label or str(run["round"]),
        f"{run['requests'] / seconds:.1f}",
        f"{run['p50_us'] / 1000:.0f}",
        f"{run['p95_us'] / 1000:.0f}",
        f"{run['p99_us'] / 1000:.0f}",
        f"{100 * errors / max(run['requests'], 1):.2f}",
        f"{run['bytes'] / seconds / 1e6:.2f}",
        str(run["pg_connections"]),
    ]


def median_row(runs):
    merged = dict(runs[0])
    for key in ["requests", "duration_us", "bytes", "p50_us", "p95_us", "p99_us", "pg_connections"] + [
        k for k in runs[0] if k.startswith("errors_")
    ]:
        merged[key] = statistics.median(run[key] for run in runs)
    merged["pg_connections"] = int(merged["pg_connections"])
    return row(merged, "median")


def main():
    results, out, machine = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = [json.loads(line) for line in open(results) if line.strip()]
    groups = defaultdict(list)
    for run in runs:
        groups[(run["connections"], run["variant"])].append(run)
    rows = []
    for key in sorted(groups):
        rows.extend(row(run) for run in groups[key])
        if len(groups[key]) > 1:
            rows.append(median_row(groups[key]))
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    print("  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths)))
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))
    with open(out, "w") as md:
        md.write("# Effect of Phase 1 on the sample app\n\n")
        md.write(f"Measured by `bench/effect` on {machine}.\n\n")
        md.write("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n")
        for r in rows:
            md.write("| " + " | ".join(r) + " |\n")


if __name__ == "__main__":
    main()
