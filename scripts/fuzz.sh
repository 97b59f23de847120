#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 20) from its committed seeds
# (fuzz/seeds/<target>: real blocks, tables and messages).
# The corpus grows under fuzz/corpus (ignored by git); a crash fails the run
# and leaves its input under fuzz/artifacts.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-20}
toolchain=+nightly
rustup run nightly rustc --version >/dev/null 2>&1 || { echo "fuzz: FAIL: no nightly toolchain (run scripts/setup.sh)" >&2; exit 1; }
echo "fuzz: building the targets (instrumented; about 2 minutes the first time)"
cargo $toolchain fuzz build
for target in $(cargo $toolchain fuzz list); do
	mkdir -p "corpus/$target"
	cp -n "seeds/$target"/* "corpus/$target/"
	echo "fuzz: $target for ${seconds}s"
	log=$(mktemp)
	rc=0
	cargo $toolchain fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -seed=1 > "$log" 2>&1 || rc=$?
	grep -aE '^(Done|==|SUMMARY|INFO: Running)|panicked|Crash' "$log" || true
	if [ "$rc" -ne 0 ]; then
		grep -aA12 'panicked' "$log" | head -n 20 >&2 || true
		rm -f "$log"
		echo "fuzz: FAIL: $target (its input is under fuzz/artifacts/$target)" >&2
		exit 1
	fi
	rm -f "$log"
done
echo "fuzz: ok"
