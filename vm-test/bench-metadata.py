#!/usr/bin/env python3
"""Turns the metadata guest's console (vm-test/scenarios/metadata.sh) into
docs/bench/results.json's "peers"."metadata": metadata writes per 10^4
writes per leg, for each mirror and trace (dmm-bench --report-only puts
them beside the core's replay of the same traces in docs/bench.md).

Usage: bench-metadata.py CONSOLE ACCEL SECONDS TAIL RATE CHUNK_KIB
       SPAN_SECTORS RESULTS_JSON
"""
import json
import re
import sys

PEERS = ["ours", "md", "dm-mirror"]
WORKLOADS = [
    ("streamwrite", "sequential", "one stream, 16 in flight"),
    ("randwrite", "uniform", "anywhere"),
    ("hotwrite", "hot-set", "90% to 1% of the chunks"),
]
LEGS = 2


def parse(console):
    """(peer, workload) -> (requests, writes the three RAM disks took)."""
    runs = {}
    pat = re.compile(r"^meta: (\S+) (\S+) ops (\d+) ram0 (\d+) ram1 (\d+) ram2 (\d+)")
    with open(console, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = pat.match(line.strip())
            if m:
                runs[(m[1], m[2])] = tuple(int(x) for x in m.groups()[2:])
    return runs


def per_ten_thousand(ops, w0, w1, w2):
    """Every write beyond one per leg per request is metadata (the legs'
    own, or the log device's), shared out over the legs."""
    meta = w0 + w1 + w2 - LEGS * ops
    if ops == 0 or meta < 0:
        sys.exit(f"bench-metadata: impossible counts {ops} {w0} {w1} {w2}")
    return round(meta / LEGS * 10_000 / ops, 1)


def main():
    console, accel, seconds, tail, rate, chunk_kib, span, results = sys.argv[1:9]
    runs = parse(console)
    missing = [(p, w) for p in PEERS for w, _, _ in WORKLOADS if (p, w) not in runs]
    if missing:
        sys.exit(f"bench-metadata: no figure for {missing}")
    rows = []
    for mode, name, what in WORKLOADS:
        row = {"workload": name, "trace": what}
        for p in PEERS:
            row[p.replace("-", "_")] = per_ten_thousand(*runs[(p, mode)])
        row["ours_over_md"] = round(row["ours"] / max(row["md"], 0.1), 2)
        rows.append(row)
    meta = {
        "accel": accel, "seconds": int(seconds), "tail_seconds": int(tail),
        "rate": int(rate), "queue_depth": 16, "chunk_kib": int(chunk_kib),
        "span_mib": int(span) // 2048, "rows": rows,
    }
    with open(results, encoding="utf-8") as f:
        r = json.load(f)
    r.setdefault("peers", {})["metadata"] = meta
    with open(results, "w", encoding="utf-8") as f:
        json.dump(r, f, indent=2)
        f.write("\n")
    for row in rows:
        print(f"bench-metadata: {row['workload']}: ours {row['ours']}, md {row['md']}, "
              f"dm-mirror {row['dm_mirror']} per 10^4 writes")


main()
