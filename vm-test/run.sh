#!/usr/bin/env bash
# make vm-test: builds the guest, then runs each scenario in QEMU and checks
# the legs from the host with mirrorctl. Prints PASS/FAIL per scenario with
# its figures and a summary table; exits 1 if any failed.
# Usage: vm-test/run.sh [--crash-seeds N] [--first-seed S] [--no-kill]
#                       [--break drop-leg0-writes|no-clean-stop] [SCENARIO...]
set -euo pipefail
cd "$(dirname "$0")/.."
crash_seeds=3
first_seed=1
# --no-kill: the crash scenario's writer is never killed (it writes 300
# records and ends): the scenario must then FAIL, which shows its check
# of the kill can fail.
no_kill=0
# --break drop-leg0-writes: a module built with a known mistake (user data
# written to leg 0 is dropped, the write succeeds): the scenarios that
# check data must then FAIL. --break no-clean-stop: stops never mark the
# superblocks clean: the scenarios that check a clean stop must FAIL.
export DMM_BREAK=
while [ $# -gt 0 ]; do
	case $1 in
	--crash-seeds) crash_seeds=$2; shift 2 ;;
	--first-seed) first_seed=$2; shift 2 ;;
	--no-kill) no_kill=1; shift ;;
	--break) DMM_BREAK=$2; shift 2 ;;
	*) break ;;
	esac
done
scenarios=("${@:-basic bad-table crash legfail readfail reload readd oneleg remove-busy lvm peers}")
# shellcheck disable=SC2206
scenarios=(${scenarios[*]})
out=build/vm-test
rm -rf "$out" && mkdir -p "$out"
cargo build --release -q -p mirrorctl
ctl=target/release/mirrorctl
vm-test/build.sh
[ -z "$DMM_BREAK" ] || echo "vm-test: the module is broken on purpose: $DMM_BREAK (scenarios should FAIL)"

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
# failed NAME LOG...: records NAME as failed with $WHY or else the first
# reason the guest logs give, and shows their ends (CI keeps only this).
failed() {
	local name=$1 log why=${WHY:-}
	shift
	for log in "$@"; do
		[ -z "$why" ] || break
		if grep -q "RESULT FAIL" "$log"; then
			why=$(grep -m1 "RESULT FAIL" "$log" | tr -d '\r' | sed 's/^RESULT FAIL //')
		elif ! grep -q "DMM-END" "$log"; then
			why="the guest did not finish ($log)"
		fi
	done
	for log in "$@"; do
		echo "--- end of $log"
		grep -v '^ack' "$log" | tr -d '\r' | tail -n 25
	done
	record "$name" FAIL "${why:-the host check of the legs failed}; see $*"
}
guest_passed() { # guest_passed LOG SCENARIO
	grep -q "DMM-END $2 rc=0" "$1" && grep -q "RESULT PASS" "$1"
}
legs_identical() { # legs_identical LEG...: every leg compared, none differs
	"$ctl" check "$@" | tail -n 1 | grep -c "over $# legs: 0 differ," > /dev/null
}

scenario_basic() {
	local d=$out/basic sectors
	sectors=$(new_legs "$d" 2 256M)
	vm-test/run-guest.sh "$d/guest.log" 120 basic "$sectors" "$d/leg0.img" "$d/leg1.img" || true
	if guest_passed "$d/guest.log" basic && legs_identical "$d"/leg*.img &&
		"$ctl" examine "$d/leg0.img" | grep -q "shutdown:      clean"; then
		record basic PASS "write/read back 16 MiB; $(grep -m1 '^status:' "$d/guest.log" | cut -c1-60)...; legs identical, clean"
	else
		failed basic "$d/guest.log"
	fi
}

# One crash: boot the workload, kill QEMU after a number of acknowledged
# records drawn from the seed, boot again to recover, check from the host.
# The seed also picks the workload (crash-write.sh): plain; busy (a second
# writer overwriting its own records, a third that never flushes, lazy
# cleans; its recovery is killed again mid-resync); early (killed within
# the first two seconds of the boot's work: module load, create, first
# records); rebuild (killed while leg 1 is being rebuilt).
crash_once() { # crash_once SEED
	local seed=$1 d=$out/crash-$1 sectors target acked secs mode out_at=
	local modes=(plain busy early rebuild)
	mode=${modes[$((seed % 4))]}
	sectors=$(new_legs "$d" 2 256M)
	# The kill: after a number of acknowledgements, or (rebuild) a time
	# after leg 1 came back, both from the seed.
	local pattern='^ack ' delay=0
	case $mode in
	# early: within the first second of the boot's work (the module's
	# load, dmsetup create's assembly and superblock writes, first records).
	early) target=1 pattern='DMM-START crash-write' delay=$(((seed / 4) % 2)).$((seed % 10)) ;;
	rebuild) target=1 pattern='^crash: leg 1 back' delay=0.$((3 + seed % 7)) ;;
	*) target=$((50 + (seed * 7919) % 400)) ;;
	esac
	local guest_mode=$mode
	[ "$mode" = early ] && guest_mode=plain
	if [ "$no_kill" = 1 ]; then
		vm-test/run-guest.sh "$d/write.log" 300 crash-write "$sectors,$seed,67108864,300,$guest_mode" \
			"$d/leg0.img" "$d/leg1.img" || true
	else
		DMM_KILL_PATTERN=$pattern DMM_KILL_COUNT=$target DMM_KILL_DELAY=$delay vm-test/run-guest.sh \
			"$d/write.log" 300 crash-write "$sectors,$seed,67108864,100000,$guest_mode" \
			"$d/leg0.img" "$d/leg1.img" || true
	fi
	[ "$mode" = rebuild ] && target=300
	[ "$mode" = early ] && target=0
	acked=$(grep -c '^ack ' "$d/write.log" || true)
	# The kill must have come mid-write, on purpose: not after the writer
	# ended (or failed), not on the timeout of a guest that hung.
	if grep -q "RESULT" "$d/write.log" || ! grep -q "^DMM-KILLED-ON-PURPOSE" "$d/write.log" ||
		[ "${acked:-0}" -lt "$target" ]; then
		echo "  seed $seed ($mode): FAILED: not killed mid-write ($acked of $target acknowledgements; see $d)"
		return 1
	fi
	tr -d '\r' < "$d/write.log" | sed -n 's/^ackB /ack /p' > "$d/acksB"
	# Every acknowledged record is on every leg in sync when it was
	# acknowledged, before recovery copies anything: both legs; in the
	# rebuild mode leg 1 only those before it was failed.
	local legs_then=("$d/leg0.img" "$d/leg1.img")
	if [ "$mode" = rebuild ]; then
		out_at=$(tr -d '\r' < "$d/write.log" | sed -n 's/^crash: leg 1 out after \([0-9]*\).*/\1/p')
		[ -n "$out_at" ] && grep -q "^crash: leg 1 back after" "$d/write.log" ||
			{ echo "  seed $seed ($mode): FAILED: leg 1 was not failed and added back before the kill"; return 1; }
		tr -d '\r' < "$d/write.log" | grep '^ack ' | head -n "$out_at" > "$d/acks-both"
		"$ctl" debug verify --seed "$seed" --span 64M --acked "$d/acks-both" \
			"$d/leg0.img" "$d/leg1.img" > "$d/verify-before-both.txt" ||
			{ echo "  seed $seed ($mode): FAILED: records from before leg 1 failed missing ($d)"; return 1; }
		legs_then=("$d/leg0.img")
	fi
	if ! "$ctl" debug verify --seed "$seed" --span 64M --acked "$d/write.log" \
		"${legs_then[@]}" > "$d/verify-before.txt" ||
		! "$ctl" debug verify --seed $((seed + 5000)) --span 4M --base 64M --acked "$d/acksB" \
		"${legs_then[@]}" > "$d/verify-before-B.txt"; then
		echo "  seed $seed ($mode): FAILED: acknowledged records missing before recovery ($d)"
		return 1
	fi
	"$ctl" examine "$d/leg0.img" > "$d/examine-after-crash.txt" || true
	# A write was acknowledged: the mirror had marked itself in use.
	if [ "$acked" -gt 0 ] && ! grep -q "shutdown: *UNCLEAN" "$d/examine-after-crash.txt"; then
		echo "  seed $seed ($mode): FAILED: the superblocks claim a clean shutdown after the kill"
		return 1
	fi
	local again=
	if [ "$mode" = busy ]; then
		# The recovery's resync of the scribbled chunks, killed too.
		DMM_KILL_PATTERN='^recover: after assembly' DMM_KILL_DELAY=0.$((2 + seed % 8)) \
			vm-test/run-guest.sh "$d/recover-cut.log" 300 recover "$sectors" "$d/leg0.img" "$d/leg1.img" || true
		if grep -q "^DMM-KILLED-ON-PURPOSE" "$d/recover-cut.log" && ! grep -q RESULT "$d/recover-cut.log"; then
			again=" and again during the recovery's resync"
		fi
		"$ctl" debug verify --seed "$seed" --span 64M --acked "$d/write.log" "$d/leg0.img" "$d/leg1.img" \
			> "$d/verify-cut.txt" || { echo "  seed $seed ($mode): FAILED: records missing after the second kill"; return 1; }
	fi
	vm-test/run-guest.sh "$d/recover.log" 300 recover "$sectors" "$d/leg0.img" "$d/leg1.img" || true
	secs=$(sed -n 's/^recover: seconds //p' "$d/recover.log" | tr -d '\r')
	if guest_passed "$d/recover.log" recover &&
		"$ctl" debug verify --seed "$seed" --span 64M --acked "$d/write.log" \
			"$d/leg0.img" "$d/leg1.img" > "$d/verify.txt" &&
		"$ctl" debug verify --seed $((seed + 5000)) --span 4M --base 64M --acked "$d/acksB" \
			"$d/leg0.img" "$d/leg1.img" > "$d/verify-B.txt" &&
		legs_identical "$d"/leg*.img; then
		echo "  seed $seed ($mode): killed after $acked acknowledged records${again}; all present before and after recovery; in sync after ${secs:-?} s"
		return 0
	fi
	echo "  seed $seed ($mode): FAILED ($acked acknowledged; see $d)"
	grep -h -v '^ack' "$d/write.log" "$d/recover.log" | tr -d '\r' | tail -n 25
	return 1
}

scenario_crash() {
	local ok=0 seed
	for seed in $(seq "$first_seed" $((first_seed + crash_seeds - 1))); do
		crash_once "$seed" && ok=$(( ok + 1 ))
	done
	if [ "$ok" -eq "$crash_seeds" ]; then
		record crash PASS "$ok/$crash_seeds kills (seeds $first_seed..$((first_seed + crash_seeds - 1)); plain, busy, early, rebuild): every acknowledged record on every leg in sync, legs identical after resync"
	else
		record crash FAIL "$ok/$crash_seeds kills survived"
	fi
}

scenario_legfail() {
	local d=$out/legfail sectors
	sectors=$(new_legs "$d" 2 256M)
	truncate -s 256M "$d/new.img"
	vm-test/run-guest.sh "$d/guest.log" 300 legfail "$sectors" "$d/leg0.img" "$d/leg1.img" "$d/new.img" || true
	local acked after at
	acked=$(grep -c '^ack ' "$d/guest.log" || true)
	after=$(grep -m1 'status after failure' "$d/guest.log" | tr -d '\r' | sed 's/.*dmmirror //' || true)
	at=$(sed -n 's/.*fails every I\/O from record \([0-9]*\) on.*/\1/p' "$d/guest.log" | head -n 1)
	if guest_passed "$d/guest.log" legfail &&
		"$ctl" debug verify --seed 11 --span 64M --acked "$d/guest.log" "$d/leg0.img" "$d/new.img" > "$d/verify.txt" &&
		legs_identical "$d/leg0.img" "$d/new.img"; then
		record legfail PASS "$acked records, leg 1 failing from record $at on, none failed; status: $after; new disk rebuilt, identical"
	else
		failed legfail "$d/guest.log"
	fi
}

scenario_readfail() {
	local d=$out/readfail sectors offset
	sectors=$(new_legs "$d" 2 64M)
	offset=$("$ctl" examine --json "$d/leg0.img" | sed -n 's/.*"data_offset":\([0-9]*\).*/\1/p')
	vm-test/run-guest.sh "$d/guest.log" 300 readfail "$sectors,$offset" "$d/leg0.img" "$d/leg1.img" || true
	if guest_passed "$d/guest.log" readfail &&
		"$ctl" examine "$d/leg0.img" | grep -Eq "^ +1 [0-9a-f-]+ failed "; then
		record readfail PASS "$(grep -m1 'RESULT PASS' "$d/guest.log" | tr -d '\r' | sed 's/.*readfail: //'); leg 0's superblock records leg 1 failed"
	else
		failed readfail "$d/guest.log"
	fi
}

# A table reloaded under load (the second assembles while the first still
# writes), then a crash; every phase's acknowledged records must survive.
scenario_reload() {
	local d=$out/reload sectors p ok=1 why=
	sectors=$(new_legs "$d" 2 256M)
	DMM_KILL_PATTERN='^ack ' DMM_KILL_COUNT=1050 vm-test/run-guest.sh "$d/write.log" 300 \
		reload "$sectors" "$d/leg0.img" "$d/leg1.img" || true
	# Killed on purpose in phase 4, not ended, failed or hung before it.
	if grep -q "RESULT" "$d/write.log" || ! grep -q "^DMM-KILLED-ON-PURPOSE" "$d/write.log"; then
		ok=0
		why="the write boot was not killed mid-write: $(grep -m1 -e RESULT -e DMM-TIMEOUT "$d/write.log" | tr -d '\r')"
	fi
	# Killed within clean_delay of a write: the chunks it wrote are DIRTY
	# in the bitmap assembly will read, and the shutdown was not clean.
	local exam dirty
	exam=$("$ctl" examine --json "$d/leg0.img" || true)
	dirty=$(sed -n 's/.*"bitmap":{[^}]*"dirty":\([0-9]*\).*/\1/p' <<<"$exam")
	grep -q '"clean_shutdown":false' <<<"$exam" && [ "${dirty:-0}" -ge 1 ] ||
		{ ok=0; [ -n "$why" ] || why="after the kill the superblocks say $(grep -o '"clean_shutdown":[a-z]*' <<<"$exam"), dirty=${dirty:-?}"; }
	vm-test/run-guest.sh "$d/recover.log" 300 recover "$sectors" "$d/leg0.img" "$d/leg1.img" || true
	for p in 1 2 3 4; do
		tr -d '\r' < "$d/write.log" | awk -v p="$p" '/^reload: phase / { cur = $3 } /^ack / && cur == p' > "$d/acks$p"
		"$ctl" debug verify --seed $((20 + p)) --span 16M --base $((p * 48))M --acked "$d/acks$p" \
			"$d/leg0.img" "$d/leg1.img" > "$d/verify$p.txt" || { ok=0; why="${why:-phase $p: acknowledged records missing ($d/verify$p.txt)}"; }
	done
	if [ "$ok" = 1 ] && [ "$(wc -l < "$d/acks3")" -eq 300 ] && [ -s "$d/acks4" ] &&
		guest_passed "$d/recover.log" recover && legs_identical "$d"/leg*.img; then
		record reload PASS "reloaded under load, then killed after $(wc -l < "$d/acks4") records of phase 4: all 4 phases' records on both legs, legs identical"
	else
		WHY=$why failed reload "$d/recover.log" "$d/write.log"
	fi
}

scenario_bad_table() {
	local d=$out/bad-table sectors
	sectors=$(new_legs "$d" 2 256M)
	vm-test/run-guest.sh "$d/guest.log" 120 bad-table "$sectors" "$d/leg0.img" "$d/leg1.img" || true
	if guest_passed "$d/guest.log" bad-table &&
		"$ctl" examine "$d/leg0.img" | grep -c "shutdown: *clean" > /dev/null; then
		record bad-table PASS "$(grep -c '^bad-table: refused' "$d/guest.log") tables naming one disk twice, a leg past its end or a running mirror's leg refused with their reasons; a leg smaller than the geometry left out; a good one loaded"
	else
		failed bad-table "$d/guest.log"
	fi
}

scenario_readd() {
	local d=$out/readd sectors
	sectors=$(new_legs "$d" 2 256M)
	vm-test/run-guest.sh "$d/guest.log" 300 readd "$sectors" "$d/leg0.img" "$d/leg1.img" || true
	local modified rebuilt copied
	modified=$(grep -m1 'readd: degraded writes' "$d/guest.log" | sed -n 's/.*modified=\([0-9]*\).*/\1/p')
	rebuilt=$(grep 'readd: log:.*rebuil' "$d/guest.log" | tail -n 1 | tr -d '\r' | sed 's/.*readd: log: //')
	# The rebuild wrote the MODIFIED chunks (1 MiB each) and a few 4 KiB
	# metadata blocks to leg 1, not the 64 chunks written before.
	copied=$(sed -n 's/^readd: sectors written to leg 1 by the rebuild: \([0-9]*\).*/\1/p' "$d/guest.log" | tr -d '\r')
	if guest_passed "$d/guest.log" readd && [ -n "$modified" ] && [ "$modified" -ge 1 ] && [ "$modified" -le 6 ] &&
		[ -n "$copied" ] && [ "$copied" -ge $((modified * 2048)) ] && [ "$copied" -le $((modified * 2048 + 512)) ] &&
		grep -q "rebuild of leg 1 started (MODIFIED chunks only)" "$d/guest.log" &&
		"$ctl" debug verify --seed 12 --span 5M --acked "$d/guest.log" "$d/leg0.img" "$d/leg1.img" > "$d/verify.txt" &&
		legs_identical "$d"/leg*.img; then
		record readd PASS "64 chunks written, $modified MODIFIED while out; $rebuilt: $copied sectors written to leg 1; legs identical"
	else
		failed readd "$d/guest.log"
	fi
}

# Remove and reload under a busy writer, a failing leg in odd rounds
# (issue 16's proof): the guest's verdict, no kernel complaint on the
# console, superblocks clean at the end.
scenario_remove_busy() {
	local d=$out/remove-busy sectors
	sectors=$(new_legs "$d" 2 256M)
	vm-test/run-guest.sh "$d/guest.log" 400 remove-busy "$sectors" "$d/leg0.img" "$d/leg1.img" || true
	if guest_passed "$d/guest.log" remove-busy &&
		! tr -d '\r' < "$d/guest.log" | grep -Eq "WARNING:|BUG:|Oops|general protection|hung_task" &&
		"$ctl" examine "$d/leg0.img" | grep -q "shutdown: *clean"; then
		record remove-busy PASS "$(grep -m1 'RESULT PASS' "$d/guest.log" | tr -d '\r' | sed 's/.*remove-busy: //')"
	else
		failed remove-busy "$d/guest.log"
	fi
}

scenario_oneleg() {
	local d=$out/oneleg sectors
	sectors=$(new_legs "$d" 2 256M)
	vm-test/run-guest.sh "$d/phase1.log" 300 oneleg "$sectors,1" "$d/leg0.img" "$d/leg1.img" || true
	vm-test/run-guest.sh "$d/phase2.log" 300 oneleg "$sectors,2" "$d/leg0.img" || true
	sed -n 's/^ack2 /ack /p' "$d/phase1.log" > "$d/acks2"
	if guest_passed "$d/phase1.log" oneleg && guest_passed "$d/phase2.log" oneleg &&
		"$ctl" debug verify --seed 13 --span 32M --acked "$d/phase1.log" "$d/leg0.img" > "$d/verify1.txt" &&
		"$ctl" debug verify --seed 14 --span 32M --base 64M --acked "$d/acks2" "$d/leg0.img" > "$d/verify2.txt" &&
		[ "$(grep -c '^ack ' "$d/acks2")" -eq 200 ]; then
		record oneleg PASS "leg 1 failed; 200 + 200 records on leg 0; rebooted from leg 0 alone: $(grep -m1 'from one leg' "$d/phase2.log" | tr -d '\r' | sed 's/.*dmmirror //')"
	else
		failed oneleg "$d/phase1.log" "$d/phase2.log"
	fi
}

# LVM's mirror type on our module: PVs on three blank disks, the log on
# the third; the host finds each image on its PV (where the guest says)
# and checks every acknowledged record there.
scenario_lvm() {
	local d=$out/lvm ok=1 why= at0 at1 pv0 pv1
	rm -rf "$d" && mkdir -p "$d"
	truncate -s 256M "$d/pv0.img" "$d/pv1.img" "$d/pv2.img"
	vm-test/run-guest.sh "$d/phase1.log" 600 lvm 1 "$d/pv0.img" "$d/pv1.img" "$d/pv2.img" || true
	# Our metadata on LVM's log, read from the host: slot 0's area says
	# the mirror stopped cleanly and slot 1 failed.
	local log exam
	log=$(tr -d '\r' < "$d/phase1.log" | sed -n 's/^lvm: log on \/dev\/mapper\/pv\([0-2]\) at sector \([0-9]*\)/\1 \2/p')
	if [ -n "$log" ]; then
		dd if="$d/pv${log% *}.img" of="$d/log.img" bs=512 skip="${log#* }" count=8192 status=none
		exam=$("$ctl" examine --json --log-area 0 "$d/log.img" || true)
		echo "$exam" > "$d/examine-log.json"
		grep -q '"clean_shutdown":true' <<<"$exam" &&
			grep -q '"slot":1,"state":"failed"' <<<"$exam" ||
			{ ok=0; why="the log's slot 0 area does not say clean with slot 1 failed ($d/examine-log.json)"; }
	else
		ok=0 why="the guest did not say where the log is"
	fi
	vm-test/run-guest.sh "$d/phase2.log" 600 lvm 2 "$d/pv0.img" "$d/pv1.img" "$d/pv2.img" || true
	tr -d '\r' < "$d/phase1.log" | sed -n 's/^ack1 /ack /p' > "$d/acks1"
	tr -d '\r' < "$d/phase1.log" | sed -n 's/^ack2 /ack /p' > "$d/acks2"
	tr -d '\r' < "$d/phase2.log" | sed -n 's/^ack3 /ack /p' > "$d/acks3"
	# "lvm: image N on /dev/mapper/pvK at sector S": pvK is pvK.img.
	image() { tr -d '\r' < "$d/phase1.log" | sed -n "s/^lvm: image $1 on \/dev\/mapper\/pv\([0-2]\) at sector \([0-9]*\)/\1 \2/p"; }
	read -r pv0 at0 <<<"$(image 0)"
	read -r pv1 at1 <<<"$(image 1)"
	if [ -z "$at0" ] || [ -z "$at1" ]; then
		ok=0 why="${why:-the guest did not say where the images are}"
	else
		pv0=$d/pv$pv0.img
		pv1=$d/pv$pv1.img
		for leg in "$pv0:$at0" "$pv1:$at1"; do
			"$ctl" debug verify --seed 41 --span 32M --raw-at $(( ${leg#*:} * 512 )) \
				--acked "$d/acks1" "${leg%:*}" >> "$d/verify.txt" &&
			"$ctl" debug verify --seed 42 --span 32M --base 48M --raw-at $(( ${leg#*:} * 512 )) \
				--acked "$d/acks2" "${leg%:*}" >> "$d/verify.txt" ||
				{ ok=0; why="acknowledged records missing on ${leg%:*} ($d/verify.txt)"; }
		done
		# Written after image 1 failed again: on image 0, which LVM's
		# repair kept as the linear LV.
		"$ctl" debug verify --seed 43 --span 16M --base 80M --raw-at $(( at0 * 512 )) \
			--acked "$d/acks3" "$pv0" >> "$d/verify.txt" ||
			{ ok=0; why="records written before the repair missing on $pv0 ($d/verify.txt)"; }
	fi
	if [ "$ok" = 1 ] && [ "$(grep -c '^ack ' "$d/acks1")" -eq 200 ] && [ "$(grep -c '^ack ' "$d/acks2")" -eq 200 ] &&
		[ "$(grep -c '^ack ' "$d/acks3")" -eq 100 ] &&
		guest_passed "$d/phase1.log" lvm && guest_passed "$d/phase2.log" lvm; then
		record lvm PASS "lvcreate --type mirror on ours; copy_percent $(grep -m1 'copy_percent while throttled' "$d/phase1.log" | tr -d '\r' | sed 's/.*throttled: //') then 100.00; image 1 failed under 200 records (AD); after reboot only MODIFIED chunks rebuilt, images identical, 400 records on both; image 1's disk died: lvs attr $(grep -m1 'lv_attr after the disk died' "$d/phase2.log" | tr -d '\r' | sed 's/.*died: //'), lvconvert --repair read '$(grep -m1 'lvm: repair: .*images failed' "$d/phase2.log" | tr -d '\r' | sed 's/.*repair: *//')' and went linear, 100 more records kept"
	else
		WHY=$why failed lvm "$d/phase1.log" "$d/phase2.log"
	fi
}

# The same crash workload on md raid1 (internal bitmap) and Linux dm-mirror
# (disk log), on the same disks; figures go to $out/peers.md (and to
# docs/bench/peers.md with DMM_WRITE_DOCS=1).
peers_once() { # peers_once PEER: prints "seq fsync bytes seconds"
	local peer=$1 d=$out/peers-$1 sectors
	rm -rf "$d" && mkdir -p "$d"
	truncate -s 256M "$d/leg0.img" "$d/leg1.img"
	truncate -s 8M "$d/log.img"
	sectors=$("$ctl" create --json --chunk-size 1M "$d/leg0.img" "$d/leg1.img" | sed -n 's/.*"data_sectors":\([0-9]*\).*/\1/p')
	if [ "$peer" != ours ]; then
		# The peers get blank disks; the same data size.
		rm -f "$d/leg0.img" "$d/leg1.img"
		truncate -s 256M "$d/leg0.img" "$d/leg1.img"
	fi
	DMM_KILL_PATTERN="until the host pulls the plug" DMM_KILL_DELAY=3 \
		vm-test/run-guest.sh "$d/phase1.log" 300 peers "$peer,1,$sectors" \
		"$d/leg0.img" "$d/leg1.img" "$d/log.img" || true
	vm-test/run-guest.sh "$d/phase2.log" 400 peers "$peer,2,$sectors" \
		"$d/leg0.img" "$d/leg1.img" "$d/log.img" || true
	guest_passed "$d/phase2.log" peers || return 1
	# Killed mid-write on purpose; every acknowledged record on both legs
	# after the recovery (ours: its data area; md: past its data offset;
	# dm-mirror: the legs hold data only).
	grep -q "^DMM-KILLED-ON-PURPOSE" "$d/phase1.log" && grep -q "^ack " "$d/phase1.log" || return 1
	local where=()
	case $peer in
	md) where=(--raw-at $(( $(sed -n 's/^peers: md data_offset \([0-9]*\).*/\1/p' "$d/phase2.log" | tr -d '\r') * 512 ))) ;;
	dm-mirror) where=(--raw-at 0) ;;
	esac
	"$ctl" debug verify --seed 32 --span 64M "${where[@]}" --acked "$d/phase1.log" \
		"$d/leg0.img" "$d/leg1.img" > "$d/verify.txt" 2>&1 || return 1
	local fig
	fig() { sed -n "s/^peers: $peer $1 //p" "$d/$2" | tr -d '\r' | head -n 1; }
	echo "$(fig seq_mbps phase1.log) $(fig fsync_records_per_s phase1.log) $(fig resync_bytes phase2.log) $(fig in_sync_seconds phase2.log)"
}

# Median, and min-max, of the space-separated numbers in $1.
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { printf "%s", v[int((NR + 1) / 2)] }'; }
spread() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }

# PEERS_ROUNDS rounds (default 3), the three mirrors in turn in each, so
# that drift of the host hits all of them; ratios to ours within a round,
# then the median over rounds with its range.
scenario_peers() {
	local rounds=${PEERS_ROUNDS:-3} round peer figs ok=1 md=$out/peers.md
	local -A seq rec bytes secs rseq rrec
	for round in $(seq 1 "$rounds"); do
		local base_seq= base_rec=
		for peer in ours md dm-mirror; do
			if ! figs=$(peers_once "$peer"); then
				ok=0
				echo "peers: round $round: $peer failed (see $out/peers-$peer)"
				continue
			fi
			# shellcheck disable=SC2086
			set -- $figs
			echo "peers: round $round: $peer $figs"
			[ "$peer" != ours ] || { base_seq=$1; base_rec=$2; }
			seq[$peer]+="$1 " rec[$peer]+="$2 " bytes[$peer]+="$(( $3 / 1048576 )) " secs[$peer]+="$4 "
			[ -z "$base_seq" ] || {
				rseq[$peer]+="$(awk -v a="$1" -v b="$base_seq" 'BEGIN { printf "%.2f", a / b }') "
				rrec[$peer]+="$(awk -v a="$2" -v b="$base_rec" 'BEGIN { printf "%.2f", a / b }') "
			}
		done
	done
	{
		echo "| mirror | sequential MB/s | × ours (range) | fsync'd 4 KiB records/s | × ours (range) | copied after the crash | time to in sync (s) |"
		echo "|---|---|---|---|---|---|---|"
		for peer in ours md dm-mirror; do
			[ -n "${seq[$peer]:-}" ] || { echo "| $peer | failed | | | | | |"; continue; }
			echo "| $peer | $(median "${seq[$peer]}") | $(median "${rseq[$peer]}") ($(spread "${rseq[$peer]}")) | $(median "${rec[$peer]}") | $(median "${rrec[$peer]}") ($(spread "${rrec[$peer]}")) | $(median "${bytes[$peer]}") MiB ($(spread "${bytes[$peer]}")) | $(median "${secs[$peer]}") |"
		done
	} > "$md"
	cat "$md"
	# The same medians as rows for results.json (DMM_WRITE_DOCS).
	local tsv=$out/peers.tsv
	: > "$tsv"
	for peer in ours md dm-mirror; do
		[ -n "${seq[$peer]:-}" ] || continue
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$(median "${seq[$peer]}")" \
			"$(median "${rseq[$peer]}")" "$(median "${rec[$peer]}")" "$(median "${rrec[$peer]}")" \
			"$(median "${bytes[$peer]}")" "$(median "${secs[$peer]}")" >> "$tsv"
	done
	if [ "${DMM_WRITE_DOCS:-0}" = 1 ]; then
		python3 vm-test/peers-json.py "$tsv" "$DMM_ACCEL" "$rounds" docs/bench/results.json
		{
			echo "Measured by \`DMM_WRITE_DOCS=1 vm-test/run.sh peers\` in a QEMU guest ($DMM_ACCEL, 2 vCPUs): $rounds rounds, each running ours, md raid1 (internal bitmap) and Linux dm-mirror (disk log) in turn on the same 256 MiB virtio disks (files on the host, cache=none), 1 MiB regions/chunks everywhere: 48 MiB of 1 MiB O_DIRECT writes, then 200 4 KiB records each followed by fdatasync, then the crash workload until SIGKILL; after the reboot, what each copied and how long until in sync. Ratios are taken to ours within each round; the table gives the median over the rounds and the range. Under TCG every figure is emulation-bound: the ratios are the point, and even they move between rounds."
			echo
			cat "$md"
		} > docs/bench/peers.md
	fi
	if [ "$ok" = 1 ]; then
		record peers PASS "md raid1 and dm-mirror measured beside ours, $rounds rounds ($md)"
	else
		record peers FAIL "see $md"
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
