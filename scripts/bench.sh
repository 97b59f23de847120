#!/usr/bin/env bash
# make bench: every benchmark, then docs/bench.md and its plots; last, the
# kernel comparison (vm-test/bench-kernel.sh, also make bench-kernel).
# Usage: scripts/bench.sh [--quick] (quick: small sizes into build/bench-quick,
# proving the harness runs; the figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs
args=()
if [ "${1:-}" = "--quick" ]; then
	out=build/bench-quick
	args=(--quick --out "$out")
else
	# The core's CPU cost per write (criterion writes target/criterion).
	cargo bench -q -p dmmirror-bench --bench core
fi
cargo build --release -q -p dmmirror-bench
target/release/dmm-bench "${args[@]}"
if command -v gnuplot > /dev/null; then
	gnuplot -e "dir='$out/bench'" scripts/bench-plots.gp
	echo "plots: $out/bench/recovery.png $out/bench/metadata.png"
else
	echo "bench: gnuplot is not installed: no plots (make bench installs it)" >&2
	exit 1
fi
# Beside md raid1 and dm-mirror in the kernel (QEMU; several minutes).
[ -n "${args[*]}" ] || vm-test/bench-kernel.sh
