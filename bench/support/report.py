#!/usr/bin/env python3
"""Turns bench/effect's results (one JSON object per run, JSON Lines) into a table on stdout, a
Markdown report and a PNG plot (gnuplot); runs of the same variant and level (the A B A B rounds)
are shown one per row, then summarised by their median.

    report.py RESULTS_JSONL OUT_MD OUT_PNG MACHINE_DESCRIPTION
"""

import json
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

PLOT = """\
set terminal pngcairo size 1200,500 font ",10"
set output "{png}"
set multiplot layout 1,2 title "wingman sample: before vs after Phase 1 ({machine})" font ",9"
set logscale x 2
set yrange [0:*]
set xlabel "connections"
set key top left
set grid
set title "throughput"
set ylabel "requests/s"
plot "{data}" using 1:2 with linespoints title "before", "" using 1:5 with linespoints title "after"
set title "latency"
set ylabel "ms"
set key top left
plot "{data}" using 1:3 with linespoints title "before p50", "" using 1:4 with linespoints title "before p95", \\
     "" using 1:6 with linespoints title "after p50", "" using 1:7 with linespoints title "after p95"
unset multiplot
"""

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


def medians(runs, key):
    return statistics.median(run[key] for run in runs)


def plot(groups, png, machine):
    """Median req/s, p50 and p95 per level, before and after, drawn by gnuplot."""
    levels = sorted({connections for connections, _ in groups})
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as data:
        for connections in levels:
            row = [str(connections)]
            for variant in ["before", "after"]:
                runs = groups.get((connections, variant), [])
                if not runs:
                    row += ["NaN"] * 3
                    continue
                rate = statistics.median(run["requests"] / (run["duration_us"] / 1e6) for run in runs)
                row += [f"{rate:.1f}", f"{medians(runs, 'p50_us') / 1000:.1f}", f"{medians(runs, 'p95_us') / 1000:.1f}"]
            data.write(" ".join(row) + "\n")
    script = PLOT.format(png=png, data=data.name, machine=machine.split(",")[0])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    Path(data.name).unlink()


def main():
    results, out, png, machine = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
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
        md.write(f"\n![throughput and latency against concurrency]({Path(png).name})\n")
    plot(groups, png, machine)


if __name__ == "__main__":
    main()
