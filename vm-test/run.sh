#!/usr/bin/env bash
# make vm-test: builds the guest, then runs each scenario in QEMU and checks
# the legs from the host with mirrorctl. Prints PASS/FAIL per scenario with
# its figures and a summary table; exits 1 if any failed.
# Usage: vm-test/run.sh [--crash-seeds N] [SCENARIO...]
set -euo pipefail
cd "$(dirname "$0")/.."
crash_seeds=3
while [ $# -gt 0 ]; do
	case $1 in
	--crash-seeds) crash_seeds=$2; shift 2 ;;
	*) break ;;
	esac
done
scenarios=("${@:-basic crash}")
# shellcheck disable=SC2206
scenarios=(${scenarios[*]})
out=build/vm-test
rm -rf "$out" && mkdir -p "$out"
cargo build --release -q -p mirrorctl
ctl=target/release/mirrorctl
vm-test/build.sh

# KVM only where a short boot works (nested setups can hang); else TCG.
export DMM_ACCEL=tcg
if [ -w /dev/kvm ] && DMM_ACCEL=kvm vm-test/run-guest.sh "$out/probe.log" 20 probe - &&
	grep -q "DMM-END probe rc=0" "$out/probe.log"; then
	export DMM_ACCEL=kvm
fi
echo "vm-test: accelerator $DMM_ACCEL"

results=$out/results.txt
: > "$results"
record() { # record NAME PASS|FAIL FIGURES...
	local name=$1 verdict=$2
	shift 2
	printf '%-14s %s %s\n' "$name" "$verdict" "$*" | tee -a "$results"
}
# new_legs DIR N SIZE: fresh image files with metadata; prints data sectors.
new_legs() {
	local dir=$1 n=$2 size=$3 legs=()
	rm -rf "$dir" && mkdir -p "$dir"
	for i in $(seq 0 $(( n - 1 ))); do
		truncate -s "$size" "$dir/leg$i.img"
		legs+=("$dir/leg$i.img")
	done
	"$ctl" create --json --chunk-size 1M "${legs[@]}" | sed -n 's/.*"data_sectors":\([0-9]*\).*/\1/p'
}
guest_passed() { # guest_passed LOG SCENARIO
	grep -q "DMM-END $2 rc=0" "$1" && grep -q "RESULT PASS" "$1"
}
legs_identical() { # legs_identical LEG...: mirrorctl check finds no difference
	"$ctl" check "$@" | tail -n 1 | grep -q " 0 differ,"
}

scenario_basic() {
	local d=$out/basic sectors
	sectors=$(new_legs "$d" 2 256M)
	vm-test/run-guest.sh "$d/guest.log" 120 basic "$sectors" "$d/leg0.img" "$d/leg1.img" || true
	if guest_passed "$d/guest.log" basic && legs_identical "$d"/leg*.img &&
		"$ctl" examine "$d/leg0.img" | grep -q "shutdown:      clean"; then
		record basic PASS "write/read back 16 MiB; $(grep -m1 '^status:' "$d/guest.log" | cut -c1-60)...; legs identical, clean"
	else
		record basic FAIL "see $d/guest.log"
	fi
}

# One crash: boot the workload, kill QEMU after a random number of
# acknowledged records, boot again to recover, check from the host.
crash_once() { # crash_once SEED
	local seed=$1 d=$out/crash-$1 sectors target acked i secs
	sectors=$(new_legs "$d" 2 256M)
	target=$(( 50 + (seed * 7919) % 400 ))
	DMM_RUN_ID="crash$seed" vm-test/run-guest.sh "$d/write.log" 300 crash-write \
		"$sectors,$seed,67108864,100000" "$d/leg0.img" "$d/leg1.img" &
	local guest=$!
	disown "$guest" 2>/dev/null || true
	for i in $(seq 1 1200); do
		acked=$(grep -c '^ack ' "$d/write.log" 2>/dev/null || true)
		[ "${acked:-0}" -ge "$target" ] && break
		kill -0 "$guest" 2>/dev/null || break
		sleep 0.1
	done
	pkill -KILL -f "dmm.run=crash$seed " || true
	wait "$guest" 2>/dev/null || true
	acked=$(grep -c '^ack ' "$d/write.log" || true)
	"$ctl" examine "$d/leg0.img" > "$d/examine-after-crash.txt" || true
	vm-test/run-guest.sh "$d/recover.log" 300 recover "$sectors" "$d/leg0.img" "$d/leg1.img" || true
	secs=$(sed -n 's/^recover: seconds //p' "$d/recover.log" | tr -d '\r')
	if [ "${acked:-0}" -gt 0 ] && guest_passed "$d/recover.log" recover &&
		"$ctl" debug verify --seed "$seed" --span 64M --acked "$d/write.log" \
			"$d/leg0.img" "$d/leg1.img" > "$d/verify.txt" &&
		legs_identical "$d"/leg*.img; then
		echo "  seed $seed: killed after $acked acknowledged records; all present on both legs; in sync after ${secs:-?} s"
		return 0
	fi
	echo "  seed $seed: FAILED ($acked acknowledged; see $d)"
	return 1
}

scenario_crash() {
	local ok=0 seed
	for seed in $(seq 1 "$crash_seeds"); do
		crash_once "$seed" && ok=$(( ok + 1 ))
	done
	if [ "$ok" -eq "$crash_seeds" ]; then
		record crash PASS "$ok/$crash_seeds kills: every acknowledged record on both legs, legs identical after resync"
	else
		record crash FAIL "$ok/$crash_seeds kills survived"
	fi
}

for s in "${scenarios[@]}"; do
	echo "=== scenario $s"
	"scenario_${s//-/_}"
done
echo
echo "vm-test summary ($DMM_ACCEL):"
cat "$results"
! grep -q " FAIL " "$results"
