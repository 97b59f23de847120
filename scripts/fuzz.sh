#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 20) from the committed seeds.
# The corpus grows under fuzz/corpus (ignored by git); a crash fails the run
# and leaves its input under fuzz/artifacts.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-20}
toolchain=+nightly
rustup run nightly rustc --version >/dev/null 2>&1 || { echo "fuzz: FAIL: no nightly toolchain (run scripts/setup.sh)" >&2; exit 1; }
for target in $(cargo $toolchain fuzz list); do
	mkdir -p "corpus/$target"
	cp -n seeds/* "corpus/$target/"
	echo "fuzz: $target for ${seconds}s"
	cargo $toolchain fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -seed=1 2>&1 |
		grep -E '^(Done|==|SUMMARY|INFO: Running)|panicked|Crash' || true
	[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: FAIL: $target" >&2; exit 1; }
done
echo "fuzz: ok"
