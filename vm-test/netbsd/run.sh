#!/usr/bin/env bash
# make netbsd-test: the NetBSD module in a NetBSD kernel: a rump kernel
# (NetBSD 7.99's kernel code, DIAGNOSTIC and LOCKDEBUG, run as a Linux
# process) with NetBSD's own dm, our module registered by the module
# framework, legs that are host files behind a fault hook
# (vm-test/netbsd/build.sh builds it all). Each scenario runs the driver,
# one process per boot, reads its verdict and checks the leg files from
# the host with mirrorctl. A panic (abort), a crash or a hang fails it.
# Usage: vm-test/netbsd/run.sh [--power-seeds N] [--first-seed S]
#                              [--break flush-lies|drop-writes] [SCENARIO...]
set -euo pipefail
cd "$(dirname "$0")/../.."
power_seeds=20
first_seed=1
broken=
while [ $# -gt 0 ]; do
	case $1 in
	--power-seeds) power_seeds=$2; shift 2 ;;
	--first-seed) first_seed=$2; shift 2 ;;
	--break) broken=$2; shift 2 ;;
	*) break ;;
	esac
done
all=(lvm-table io failing-leg power-loss remove-busy flush-unsupported short-transfer bad-table readd)
scenarios=("${@:-${all[@]}}")
# shellcheck disable=SC2206
scenarios=(${scenarios[*]})
out=build/netbsd-test
rm -rf "$out" && mkdir -p "$out"
say() { echo "netbsd-test: $*"; }
say "building mirrorctl"
cargo build --release -q -p mirrorctl
ctl=target/release/mirrorctl
. vm-test/host-lib.sh
vm-test/netbsd/build.sh
nbtest=build/netbsd/nbtest
[ -z "$broken" ] || say "broken on purpose: $broken (scenarios should FAIL)"
# The kernel's own release string, before any scenario.
mkdir -p "$out/version"
"$nbtest" version 0 0 /dev/null > "$out/version/boot.log" 2>&1 || true
say "kernel $(sed -n 's/^nbtest kernel: //p' "$out/version/boot.log")"
kernel_said=1
passed=0
failed=0
WHY=

# boot LOG SCENARIO SECTORS SEED FILE...: one boot of the rump kernel.
boot() {
	local log=$1 rc=0
	shift
	NBTEST_BREAK=$broken timeout 600 "$nbtest" "$@" > "$log" 2>&1 || rc=$?
	case $rc in
	0 | 1) ;;
	124) echo "run.sh: TIMEOUT (the kernel hung)" >> "$log" ;;
	*) echo "run.sh: CRASH (exit $rc: a panic aborts, a fault is a signal)" >> "$log" ;;
	esac
	return $rc
}
has() { grep -q -- "$2" "$1"; }
first() { grep -m1 -- "$2" "$1" || true; }
passed_boot() { has "$1" "^RESULT PASS"; }
acked() { grep '^ack ' "$1" > "$2" || true; }
verify() { # verify SEED SPAN ACKED LEG...
	local seed=$1 span=$2 acks=$3
	shift 3
	"$ctl" debug verify --seed "$seed" --span "$span" --acked "$acks" "$@" > "$acks.verify" 2>&1 ||
		{ WHY="acknowledged records missing ($(tail -n 1 "$acks.verify"))"; return 1; }
}
clean_and() { "$ctl" examine "$1" | matches "shutdown: *clean"; }
record() { # record NAME PASS|FAIL TEXT
	if [ -z "$kernel_said" ]; then
		kernel=$(find "$out" -name "*.log" -exec cat {} + 2>/dev/null | grep -m1 '^nbtest kernel:' | sed 's/^nbtest kernel: //' || true)
		say "kernel ${kernel:-unknown (no boot reached the driver)}"
		kernel_said=1
	fi
	printf 'netbsd-test: %s: %s%s\n' "$1" "$2" "${3:+ ($3)}"
	if [ "$2" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
failed() { # failed NAME LOG...
	local name=$1 why=$WHY log
	shift
	for log in "$@"; do
		[ -n "$why" ] && break
		[ -f "$log" ] || continue
		if has "$log" "^run.sh: CRASH"; then
			why="the kernel crashed ($log)"
		elif has "$log" "^run.sh: TIMEOUT"; then
			why="the kernel hung ($log)"
		elif has "$log" "^RESULT FAIL"; then
			why=$(first "$log" "^RESULT FAIL" | sed 's/^RESULT FAIL //')
		fi
	done
	for log in "$@"; do
		[ -f "$log" ] || continue
		echo "--- the end of $log"
		grep -av '^ack ' "$log" | tail -n 20
	done
	record "$name" FAIL "${why:-the check of the legs from the host failed}"
	WHY=
}

# The table and status replies in the forms of docs/tables.md. NetBSD 8's
# dm asks a target for its table only: the status reply has no params.
scenario_lvm_table() {
	local d=$out/lvm-table sectors dev='[0-9]+:[0-9]+' w
	sectors=$(new_legs "$d" 2 64M)
	rm -f "$d"/{image0,image1,log}.img
	truncate -s 64M "$d/image0.img" "$d/image1.img"
	truncate -s 4M "$d/log.img"
	boot "$d/boot.log" lvm-table "$sectors" 1 "$d/leg0.img" "$d/leg1.img" \
		"$d/image0.img" "$d/image1.img" "$d/log.img" || true
	local want=(
		"^table: 2 $dev $dev\$"
		"^table: core 1 2048 2 $dev 0 $dev 0( 1 handle_errors)?\$"
		"^table: disk 2 /dev/dmleg4 2048 2 $dev 0 $dev 0( 1 handle_errors)?\$"
	)
	for w in "${want[@]}"; do
		grep -Eq -- "$w" "$d/boot.log" || { WHY="no line matches $w"; break; }
	done
	if [ -z "$WHY" ] && passed_boot "$d/boot.log" &&
		[ "$(grep -c '^status-params: (none)$' "$d/boot.log")" -eq 3 ] &&
		legs_identical "$d/leg0.img" "$d/leg1.img" && clean_and "$d/leg0.img" &&
		cmp -s "$d/image0.img" "$d/image1.img" &&
		"$ctl" examine --log-area 1 "$d/log.img" > "$d/log-area1.txt"; then
		record lvm-table PASS "native, LVM core and disk-log tables; $(first "$d/boot.log" '^table: 2 ')"
	else
		failed lvm-table "$d/boot.log"
	fi
}

scenario_io() {
	local d=$out/io sectors
	sectors=$(new_legs "$d" 2 64M)
	boot "$d/boot.log" io "$sectors" 7 "$d/leg0.img" "$d/leg1.img" || true
	if passed_boot "$d/boot.log" && legs_identical "$d/leg0.img" "$d/leg1.img" &&
		clean_and "$d/leg0.img"; then
		record io PASS "$(first "$d/boot.log" '^io:' | sed 's/^io: //'); legs identical, clean"
	else
		failed io "$d/boot.log"
	fi
}

# degraded NAME SEED: leg 1 went bad under records; every acknowledged
# record is on leg 0, whose superblock records leg 1 failed.
degraded() {
	local name=$1 seed=$2 d=$out/$1 sectors
	sectors=$(new_legs "$d" 2 256M)
	boot "$d/boot.log" "$name" "$sectors" 1 "$d/leg0.img" "$d/leg1.img" || true
	acked "$d/boot.log" "$d/acked.txt"
	if passed_boot "$d/boot.log" && verify "$seed" 64M "$d/acked.txt" "$d/leg0.img" &&
		"$ctl" examine "$d/leg0.img" | matches "^ *1 .* failed "; then
		record "$name" PASS "$(wc -l < "$d/acked.txt") records, none failed; leg 1 recorded failed; $(first "$d/boot.log" '^leg 1:')"
	else
		failed "$name" "$d/boot.log"
	fi
}
scenario_failing_leg() { degraded failing-leg 11; }
scenario_short_transfer() { degraded short-transfer 13; }

scenario_flush_unsupported() {
	local d=$out/flush-unsupported sectors
	sectors=$(new_legs "$d" 2 256M)
	boot "$d/boot.log" flush-unsupported "$sectors" 1 "$d/leg0.img" "$d/leg1.img" || true
	acked "$d/boot.log" "$d/acked.txt"
	if passed_boot "$d/boot.log" && verify 14 64M "$d/acked.txt" "$d/leg0.img" "$d/leg1.img" &&
		! "$ctl" examine "$d/leg0.img" | matches " failed " &&
		legs_identical "$d/leg0.img" "$d/leg1.img" && clean_and "$d/leg0.img"; then
		record flush-unsupported PASS "flushes answered ENOTTY and EOPNOTSUPP; $(first "$d/boot.log" '^flush-unsupported:' | sed 's/^flush-unsupported: //')"
	else
		failed flush-unsupported "$d/boot.log"
	fi
}

# One power loss: records over volatile caches beside unflushed writes;
# the power goes at a time from the seed. Every acknowledged record must be
# on both legs right after (both were in sync) and after the recovery; odd
# seeds cut the power again during the recovery's resync.
power_once() {
	local seed=$1 d=$out/power-loss/$1 sectors n
	sectors=$(new_legs "$d" 2 256M)
	boot "$d/write.log" power-loss "$sectors" "$seed" "$d/leg0.img" "$d/leg1.img" || true
	passed_boot "$d/write.log" && has "$d/write.log" "^power-loss: seed $seed" ||
		{ WHY="seed $seed: no power loss"; return 1; }
	acked "$d/write.log" "$d/acked.txt"
	n=$(wc -l < "$d/acked.txt")
	verify "$seed" 64M "$d/acked.txt" "$d/leg0.img" "$d/leg1.img" ||
		{ WHY="seed $seed: $WHY, before recovery"; return 1; }
	"$ctl" examine "$d/leg0.img" | matches "shutdown: *UNCLEAN" ||
		{ WHY="seed $seed: the superblocks claim a clean shutdown after the power loss"; return 1; }
	local again=
	if [ $((seed % 2)) -eq 1 ]; then
		boot "$d/recover-cut.log" recover-cut "$sectors" "$seed" "$d/leg0.img" "$d/leg1.img" || true
		passed_boot "$d/recover-cut.log" && has "$d/recover-cut.log" "^power-loss: seed $seed" ||
			{ WHY="seed $seed: no power loss during the recovery"; return 1; }
		verify "$seed" 64M "$d/acked.txt" "$d/leg0.img" "$d/leg1.img" ||
			{ WHY="seed $seed: $WHY, after a power loss during recovery"; return 1; }
		again="; again $(first "$d/recover-cut.log" '^power-loss:' | sed 's/.*the power went \([0-9]*\) ms.*/\1/') ms into the recovery"
	fi
	boot "$d/recover.log" recover "$sectors" "$seed" "$d/leg0.img" "$d/leg1.img" || true
	passed_boot "$d/recover.log" || return 1
	verify "$seed" 64M "$d/acked.txt" "$d/leg0.img" "$d/leg1.img" ||
		{ WHY="seed $seed: $WHY, after recovery"; return 1; }
	legs_identical "$d/leg0.img" "$d/leg1.img" || { WHY="seed $seed: legs differ after recovery"; return 1; }
	say "  power-loss seed $seed: $(first "$d/write.log" '^power-loss:' | sed 's/.*: the power/the power/')$again; $n acknowledged, all on both legs before and after recovery"
}

scenario_power_loss() {
	local ok=0 seed last=$((first_seed + power_seeds - 1))
	for seed in $(seq "$first_seed" "$last"); do
		if power_once "$seed"; then
			ok=$((ok + 1))
		else
			failed power-loss "$out/power-loss/$seed/write.log" "$out/power-loss/$seed/recover-cut.log" "$out/power-loss/$seed/recover.log"
			return
		fi
	done
	record power-loss PASS "$ok power losses (seeds $first_seed..$last), every acknowledged record on both legs"
}

scenario_remove_busy() {
	local d=$out/remove-busy sectors
	sectors=$(new_legs "$d" 2 64M)
	boot "$d/boot.log" remove-busy "$sectors" 1 "$d/leg0.img" "$d/leg1.img" || true
	if passed_boot "$d/boot.log" && [ "$(grep -c '^remove-busy: round' "$d/boot.log")" -eq 6 ] &&
		[ "$(grep -c 'suspended: superblocks marked clean' "$d/boot.log")" -eq 6 ] &&
		clean_and "$d/leg0.img"; then
		record remove-busy PASS "6 removes under a writer, 3 with a failing leg; each stop clean"
	else
		failed remove-busy "$d/boot.log"
	fi
}

scenario_bad_table() {
	local d=$out/bad-table sectors refused reasons
	sectors=$(new_legs "$d" 2 64M)
	rm -f "$d/other.img" && truncate -s 64M "$d/other.img"
	"$ctl" create --chunk-size 1M "$d/other.img" > /dev/null
	boot "$d/boot.log" bad-table "$sectors" 1 "$d/leg0.img" "$d/leg1.img" "$d/other.img" || true
	refused=$(grep -c '^bad-table: .* -> refused' "$d/boot.log" || true)
	reasons=$(grep -c '^dm_target_mirror: bad: ' "$d/boot.log" || true)
	if passed_boot "$d/boot.log" && [ "$refused" -ge 13 ] && [ "$reasons" -ge "$refused" ] &&
		has "$d/boot.log" "the log device is the same device" &&
		has "$d/boot.log" "offset 99999999999 leaves it too small" &&
		has "$d/boot.log" "more than 64 words" && clean_and "$d/leg0.img"; then
		record bad-table PASS "$refused tables refused, each with a reason on the console; a good one loaded after"
	else
		passed_boot "$d/boot.log" && WHY="$refused refused, $reasons reasons given"
		failed bad-table "$d/boot.log"
	fi
}

scenario_readd() {
	local d=$out/readd sectors modified
	sectors=$(new_legs "$d" 2 256M)
	boot "$d/out.log" readd-out "$sectors" 1 "$d/leg0.img" "$d/leg1.img" || true
	acked "$d/out.log" "$d/acked.txt"
	modified=$("$ctl" examine "$d/leg0.img" | sed -n 's/^bitmap chunks:.* \([0-9]*\) modified$/\1/p')
	passed_boot "$d/out.log" && [ -n "$modified" ] && [ "$modified" -gt 0 ] && [ "$modified" -le 6 ] ||
		{ WHY="${modified:-no} MODIFIED chunks after leg 1 was out"; failed readd "$d/out.log"; return; }
	boot "$d/back.log" readd-back "$sectors" 1 "$d/leg0.img" "$d/leg1.img" || true
	if passed_boot "$d/back.log" && verify 12 5M "$d/acked.txt" "$d/leg0.img" "$d/leg1.img" &&
		legs_identical "$d/leg0.img" "$d/leg1.img"; then
		record readd PASS "$modified chunks MODIFIED while leg 1 was out, rebuilt from those only; legs identical"
	else
		failed readd "$d/out.log" "$d/back.log"
	fi
}

for s in "${scenarios[@]}"; do
	case " ${all[*]} " in
	*" $s "*) ;;
	*) say "unknown scenario $s (known: ${all[*]})" >&2; exit 2 ;;
	esac
	say "$s: running"
	"scenario_${s//-/_}"
done
say "$passed of $((passed + failed)) scenarios passed"
[ "$failed" -eq 0 ]
