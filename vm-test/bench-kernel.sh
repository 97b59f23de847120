#!/usr/bin/env bash
# make bench-kernel (part of make bench): ours, md raid1 (internal bitmap)
# and Linux dm-mirror (disk log) in one guest boot, on the same RAM-backed
# legs, interleaved over ROUNDS (default 3), each workload SECONDS_EACH
# (default 4) per mirror and round (vm-test/scenarios/bench.sh). Writes
# docs/bench/results.json's "peers", docs/bench/kernel.md and its plot, then
# rewrites docs/bench.md from the results (dmm-bench --report-only).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
seconds=${SECONDS_EACH:-4}
say() { echo "bench-kernel: $*" >&2; }
say "building mirrorctl and the guest"
cargo build --release -q -p mirrorctl -p dmmirror-bench
ctl=target/release/mirrorctl
vm-test/build.sh
d=build/bench-kernel
rm -rf "$d" && mkdir -p "$d"
truncate -s 192M "$d/leg0.img" "$d/leg1.img"
json=$("$ctl" create --json --chunk-size 1M "$d/leg0.img" "$d/leg1.img")
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$json"; }
sectors=$(field data_sectors)
offset=$(field data_offset)
accel=${DMM_ACCEL:-tcg}
# 8 workloads x 3 mirrors x the rounds, plus boots and set-ups.
timeout=$(( rounds * 3 * 8 * (seconds + 6) + 120 ))
say "$rounds rounds of 8 workloads, ${seconds} s each per mirror (about $(( rounds * 3 * 8 * (seconds + 2) / 60 + 1 )) minutes under $accel)"
# The TSC as the guest's clock: under TCG the default HPET costs an exit
# per clock read, and the block layer reads the clock for every I/O.
DMM_MEM=1536 DMM_PROGRESS=1 DMM_APPEND="clocksource=tsc tsc=reliable " vm-test/run-guest.sh "$d/guest.log" "$timeout" bench \
	"$rounds,$seconds,$sectors,$offset" "$d/leg0.img" "$d/leg1.img" || true
tr -d '\r' < "$d/guest.log" > "$d/guest.txt"
grep -q "^RESULT PASS bench" "$d/guest.txt" || {
	grep -E "^(bench|RESULT)" "$d/guest.txt" | tail -n 20
	say "FAIL: the guest did not finish ($d/guest.log)"
	exit 1
}
python3 vm-test/bench-kernel.py "$d/guest.txt" "$accel" "$rounds" "$seconds" \
	docs/bench/results.json docs/bench/kernel.md docs/bench/kernel.dat
gnuplot -e "dir='docs/bench'" scripts/bench-kernel.gp
# Metadata writes in the kernel: a second boot (vm-test/scenarios/metadata.sh).
m_seconds=${META_SECONDS:-16} m_tail=12 m_rate=2500 m_chunk_kib=16 m_span=376832
say "metadata writes: 3 traces x 3 mirrors, ${m_seconds} s + ${m_tail} s each (about 8 minutes)"
DMM_MEM=1536 DMM_PROGRESS=1 DMM_APPEND="clocksource=tsc tsc=reliable " vm-test/run-guest.sh "$d/meta.log" 1500 metadata \
	"$m_seconds,$m_tail,$m_rate,$m_chunk_kib,$m_span" || true
tr -d '\r' < "$d/meta.log" > "$d/meta.txt"
grep -q "^RESULT PASS metadata" "$d/meta.txt" || {
	grep -E "^(meta|RESULT)" "$d/meta.txt" | tail -n 20
	say "FAIL: the metadata guest did not finish ($d/meta.log)"
	exit 1
}
python3 vm-test/bench-metadata.py "$d/meta.txt" "$accel" "$m_seconds" "$m_tail" "$m_rate" \
	"$m_chunk_kib" "$m_span" docs/bench/results.json
target/release/dmm-bench --report-only
say "wrote docs/bench/kernel.md and docs/bench.md"
