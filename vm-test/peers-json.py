#!/usr/bin/env python3
"""The virtio crash comparison (vm-test/run.sh peers, DMM_WRITE_DOCS=1) as
rows of docs/bench/results.json: "peers" -> "crash", beside the RAM-disk
throughput rows that vm-test/bench-kernel.py writes.

Usage: peers-json.py TSV ACCEL ROUNDS RESULTS_JSON
TSV: mirror, sequential MB/s, its ratio to ours, fsync'd records/s, its
ratio to ours, MiB copied after the crash, seconds to in sync (medians).
"""
import json
import sys


def rows(tsv):
    out = []
    for line in open(tsv, encoding="utf-8"):
        mirror, seq, seq_x, rec, rec_x, copied, secs = line.split("\t")
        out.append({
            "mirror": mirror,
            "seq_write_mbps": float(seq),
            "seq_write_over_ours": float(seq_x),
            "fsync_records_per_s": float(rec),
            "fsync_records_over_ours": float(rec_x),
            "copied_after_crash_mib": float(copied),
            "seconds_to_in_sync": float(secs),
        })
    return out


def main():
    tsv, accel, rounds, results = sys.argv[1:5]
    crash = {"disks": "virtio", "accel": accel, "rounds": int(rounds), "rows": rows(tsv)}
    if len(crash["rows"]) != 3:
        sys.exit(f"peers-json: {len(crash['rows'])} mirrors measured, not 3")
    try:
        with open(results, encoding="utf-8") as f:
            r = json.load(f)
    except FileNotFoundError:
        r = {}
    r.setdefault("peers", {})["crash"] = crash
    with open(results, "w", encoding="utf-8") as f:
        json.dump(r, f, indent=2)
        f.write("\n")


main()
