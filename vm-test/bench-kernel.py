#!/usr/bin/env python3
"""Turns the bench guest's console into docs/bench/results.json's "peers"
and the table of docs/bench/kernel.md.

Usage: bench-kernel.py CONSOLE ACCEL ROUNDS SECONDS RESULTS_JSON TABLE_MD

Each ratio is the median of the per-round ratios, oriented so that above
1.0 means ours is better (every figure here is a rate: higher is better).
"""
import json
import statistics
import sys

WORKLOADS = [
    # name, unit, what
    ("seq-write-qd1", "MB/s", "1 MiB sequential writes, 1 in flight"),
    ("seq-write-qd8", "MB/s", "1 MiB sequential writes, 8 in flight"),
    ("rand-write-4k-qd1", "IOPS", "4 KiB random writes, 1 in flight"),
    ("rand-write-4k-qd32", "IOPS", "4 KiB random writes, 32 in flight"),
    ("fsync-records", "IOPS", "4 KiB sequential writes, each followed by fdatasync"),
    ("rand-read-4k-qd32", "IOPS", "4 KiB random reads, 32 in flight"),
    ("seq-read-1m", "MB/s", "1 MiB sequential reads, 8 in flight (2-leg read balancing)"),
    ("mix-70-30", "IOPS", "4 KiB random, 70% reads, 16 in flight"),
]
PEERS = ["ours", "md", "dm-mirror"]


def parse(console):
    """{(round, peer, workload): (iops, mbps)}"""
    runs = {}
    for line in open(console, encoding="utf-8", errors="replace"):
        w = line.split()
        if len(w) == 8 and w[0] == "bench:" and w[4] == "iops" and w[6] == "mbps":
            runs[(int(w[1]), w[2], w[3])] = (float(w[5]), float(w[7]))
    return runs


def value(runs, rnd, peer, name, unit):
    iops, mbps = runs[(rnd, peer, name)]
    return mbps if unit == "MB/s" else iops


def rows(runs, rounds):
    out = []
    for name, unit, what in WORKLOADS:
        per = {p: [value(runs, r, p, name, unit) for r in range(1, rounds + 1)] for p in PEERS}
        ratio = lambda other: statistics.median(
            o / x if x > 0 else 0.0 for o, x in zip(per["ours"], per[other]))
        out.append({
            "workload": name, "unit": unit, "what": what,
            "ours": statistics.median(per["ours"]),
            "md": statistics.median(per["md"]),
            "dm_mirror": statistics.median(per["dm-mirror"]),
            "ours_over_md": ratio("md"),
            "ours_over_dm_mirror": ratio("dm-mirror"),
        })
    return out


def table(peers, seconds):
    lines = [
        f"Measured by `make bench-kernel` in one QEMU guest ({peers['accel']}, 2 vCPUs, "
        f"1.5 GiB, the TSC as its clock): {peers['rounds']} rounds, each running ours, md raid1 (internal bitmap, "
        "1 MiB chunks, `--assume-clean`) and Linux dm-mirror (disk log on a third RAM disk, "
        "1 MiB regions, `nosync`) in turn on the same two RAM disks (brd), every workload "
        f"{seconds} s per mirror, by `ioload` (O_DIRECT, one request in flight per thread). "
        "Each figure is the median over the rounds; each ratio the median of the per-round "
        "ratios, above 1.0 when ours is better. After each round ours' two legs are compared "
        "in the guest (every write stamps its sectors with where, by whom and when): "
        "identical, so every write reached both. Under TCG the cost is the CPU's per I/O: "
        "the ratios are the point.",
        "",
        "| workload | unit | ours | md | dm-mirror | ours / md | ours / dm-mirror |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in peers["rows"]:
        lines.append(
            f"| {r['workload']} ({r['what']}) | {r['unit']} | {r['ours']:.1f} | {r['md']:.1f} | "
            f"{r['dm_mirror']:.1f} | {r['ours_over_md']:.2f} | {r['ours_over_dm_mirror']:.2f} |")
    lines += ["", "![ours over md and over dm-mirror per workload](bench/kernel.png)"]
    return "\n".join(lines) + "\n"


def plot_data(peers):
    """The ratios, one workload per line, for scripts/bench-kernel.gp."""
    lines = ["# workload ours_over_md ours_over_dm_mirror"]
    for r in peers["rows"]:
        lines.append(f"{r['workload']} {r['ours_over_md']:.3f} {r['ours_over_dm_mirror']:.3f}")
    return "\n".join(lines) + "\n"


def main():
    console, accel, rounds, seconds, results, md, dat = sys.argv[1:8]
    rounds = int(rounds)
    runs = parse(console)
    missing = [(r, p, n) for r in range(1, rounds + 1) for p in PEERS for n, _, _ in WORKLOADS
               if (r, p, n) not in runs]
    if missing:
        sys.exit(f"bench-kernel: no figure for {missing[:5]} ...")
    peers = {"accel": accel, "rounds": rounds, "rows": rows(runs, rounds)}
    try:
        with open(results, encoding="utf-8") as f:
            r = json.load(f)
    except FileNotFoundError:
        r = {}
    # The virtio crash rows (vm-test/peers-json.py) and the metadata
    # counts (bench-metadata.py) stay.
    for kept in ("crash", "metadata"):
        if kept in r.get("peers", {}):
            peers[kept] = r["peers"][kept]
    r["peers"] = peers
    with open(results, "w", encoding="utf-8") as f:
        json.dump(r, f, indent=2)
        f.write("\n")
    with open(md, "w", encoding="utf-8") as f:
        f.write(table(peers, seconds))
    with open(dat, "w", encoding="utf-8") as f:
        f.write(plot_data(peers))
    for row in peers["rows"]:
        print(f"bench-kernel: {row['workload']}: ours/md {row['ours_over_md']:.2f}, "
              f"ours/dm-mirror {row['ours_over_dm_mirror']:.2f}")


main()
