#!/usr/bin/env bash
# Long simulator run: the exhaustive suite, then random mode over fresh
# seeds with four fault mixes, two processes at a time, until the time is
# up. A failure stops the run and prints the seed and how to replay it.
# Usage: scripts/soak.sh [HOURS] (default 1); SOAK_SEED=N picks the base.
set -euo pipefail
cd "$(dirname "$0")/.."
hours=${1:-1}
end=$(( $(date +%s) + hours * 3600 ))
cargo build --profile sim -p dmmirror-sim
sim=target/sim/sim
"$sim" --exhaustive | tail -n 1
base=${SOAK_SEED:-$(( ($(date +%s) % 100000) * 100000 ))}
echo "soak: $hours h from seed $base"
mix() {
	case $(( $1 % 4 )) in
	0) echo "--ops 5000" ;;
	1) echo "--ops 5000 --crash-rate 300 --death-rate 100 --return-rate 100" ;;
	2) echo "--ops 3000 --admin-rate 40" ;;
	3) echo "--ops 5000 --crash-rate 300 --death-rate 100 --admin-rate 200 --return-rate 100" ;;
	esac
}
batch=0
while [ "$(date +%s)" -lt "$end" ]; do
	pids=()
	for lane in 0 1; do
		a=$(( base + (batch + lane) * 200 ))
		# shellcheck disable=SC2046
		"$sim" --seeds "$a..$(( a + 200 ))" $(mix $(( batch + lane ))) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || { echo "soak: FAILED (see above)"; exit 1; }
	done
	batch=$(( batch + 2 ))
done
echo "soak: passed, $(( batch * 200 )) seeds from $base"
