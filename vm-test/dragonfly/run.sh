#!/usr/bin/env bash
# make dragonfly-test: dm_target_mirror.ko in a DragonFly kernel under QEMU
# (vm-test/dragonfly/build.sh builds it all). Each scenario boots the guest
# with a control disk naming it and the leg images as disks, reads the
# guest's verdict on the serial console and checks the legs from the host
# with mirrorctl. A panic, a DDB prompt or a hang fails the scenario.
# Usage: vm-test/dragonfly/run.sh [--crash-seeds N] [--first-seed S] [SCENARIO...]
set -euo pipefail
cd "$(dirname "$0")/../.."
crash_seeds=3
first_seed=1
while [ $# -gt 0 ]; do
	case $1 in
	--crash-seeds) crash_seeds=$2; shift 2 ;;
	--first-seed) first_seed=$2; shift 2 ;;
	*) break ;;
	esac
done
all=(load create io crash failing-leg readd remove-busy bad-table mirrorctl)
scenarios=("${@:-${all[@]}}")
# shellcheck disable=SC2206
scenarios=(${scenarios[*]})
out=build/dragonfly-test
rm -rf "$out" && mkdir -p "$out"
say() { echo "dragonfly-test: $*"; }
say "building mirrorctl"
cargo build --release -q -p mirrorctl
ctl=target/release/mirrorctl
. vm-test/host-lib.sh
vm-test/dragonfly/build.sh
# The least stack left in any entry point, in bytes: DragonFly's usable
# stack is 10944 bytes; interrupts and deeper kernel paths need the rest.
stack_floor=4096
passed=0
failed=0

# boot NAME LOG TIMEOUT CONTROL-LINE [--kill-after PATTERN N] DISK...
boot() {
	local log=$1 timeout=$2 line=$3 kill=()
	shift 3
	if [ "${1:-}" = --kill-after ]; then
		kill=("$1" "$2" "$3")
		shift 3
	fi
	local control=${log%.log}.control
	truncate -s 1M "$control"
	printf '%s\n' "$line" | dd of="$control" conv=notrunc status=none
	local rc=0
	python3 vm-test/dragonfly/boot.py "$log" "$timeout" "${kill[@]}" "$control" "$@" || rc=$?
	tr -d '\r' < "$log" > "${log%.log}.txt"
	return $rc
}
# The console without carriage returns (boot writes it next to the log).
console() { cat "${1%.log}.txt"; }
# has LOG PATTERN: a console line matches (grep -q on a file: on a pipe it
# would end the writer early, and pipefail would turn a match into a miss).
has() { grep -q -- "$2" "${1%.log}.txt"; }
# first LOG PATTERN: the first console line that matches (from the file,
# for the same reason), or nothing.
first() { grep -m1 -- "$2" "${1%.log}.txt" || true; }
guest_passed() { # guest_passed LOG NAME
	has "$1" "^RESULT PASS" && has "$1" "^DFT-END $2 rc=0"
}
acked() { console "$1" | grep '^ack ' > "$2" || true; }
# stack_ok LOG: no entry point left less than stack_floor bytes.
stack_ok() {
	local least
	least=$(console "$1" | sed -n 's/.*stack: .* left \([0-9]*\) of.*/\1/p' | sort -n | head -n 1)
	[ -z "$least" ] || [ "$least" -ge "$stack_floor" ] || { WHY="only $least bytes of stack left"; return 1; }
}
kernel_said=
record() { # record NAME PASS|FAIL TEXT
	if [ -z "$kernel_said" ]; then # the guest's kern.version, before any result
		kernel=$(cat "$out"/*/*.txt 2>/dev/null | grep -m1 '^DFT kernel:' | sed 's/^DFT kernel: //' || true)
		say "kernel ${kernel:-unknown (no guest reached init)}"
		kernel_said=1
	fi
	printf 'dragonfly-test: %s: %s%s\n' "$1" "$2" "${3:+ ($3)}"
	if [ "$2" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
# failed NAME LOG...: the reason the guest gave, or WHY, and the log's end.
failed() {
	local name=$1 why=${WHY:-} log
	shift
	for log in "$@"; do
		[ -n "$why" ] && break
		if has "$log" "^boot.py: PANIC"; then
			why="kernel panic or DDB ($log)"
		elif has "$log" "^boot.py: TIMEOUT"; then
			why="the guest hung ($log)"
		elif has "$log" "^RESULT FAIL"; then
			why=$(first "$log" "^RESULT FAIL" | sed 's/^RESULT FAIL //')
		fi
	done
	for log in "$@"; do
		echo "--- the end of $log"
		console "$log" | grep -av '^ack ' | tail -n 30
	done
	record "$name" FAIL "${why:-the check of the legs from the host failed}"
	WHY=
}

scenario_load() {
	local d=$out/load
	mkdir -p "$d"
	boot "$d/guest.log" 120 "load 0" || true
	if guest_passed "$d/guest.log" load && stack_ok "$d/guest.log"; then
		record load PASS "kldload, the target listed, kldunload, gone, loaded again"
	else
		failed load "$d/guest.log"
	fi
}

# The status and table lines of the create scenario in the forms
# docs/tables.md gives: the native table, LVM's core and disk log tables,
# the 16-leg mirror.
texts_as_documented() {
	local dev='[0-9]+:[0-9]+' counters='6 dirty=[0-9]+ modified=[0-9]+ bitmap_updates=[0-9]+ superblock_writes=[0-9]+ clean_flushes=[0-9]+ event=[0-9]+'
	local want=(
		"^status: 2 $dev $dev 63/63 1 AA 1 bitmap $counters\$"
		"^table: 2 $dev $dev\$"
		"^status: 2 $dev $dev 63/63 1 AA 1 core $counters\$"
		"^table: core 1 2048 2 $dev 0 $dev 0( 1 handle_errors)?\$"
		"^status: 2 $dev $dev 64/64 1 AA 3 disk /dev/vbd3 A $counters\$"
		"^table: disk 2 /dev/vbd3 2048 2 $dev 0 $dev 0( 1 handle_errors)?\$"
		"^status: 16( $dev){16} 7/7 1 A{16} 1 bitmap $counters\$"
		"message refused: argument 4 \('3'\): unexpected argument after the end\$"
	)
	local w
	for w in "${want[@]}"; do
		grep -Eq -- "$w" "${1%.log}.txt" || { WHY="no console line matches $w"; return 1; }
	done
}

scenario_create() {
	local d=$out/create sectors lvm full
	sectors=$(new_legs "$d" 2 64M)
	for f in log image0 image1; do rm -f "$d/$f.img"; done
	truncate -s 4M "$d/log.img"
	truncate -s 64M "$d/image0.img" "$d/image1.img"
	lvm=$((64 * 2048))
	# A full member table: 16 legs of 8 MiB, one disk for the guest.
	full=$(new_legs "$d/full" 16 8M)
	cat "$d"/full/leg{0..15}.img > "$d/full.img"
	boot "$d/guest.log" 180 "create $sectors $lvm $((8 * 2048)) $full" "$d/leg0.img" "$d/leg1.img" \
		"$d/log.img" "$d/image0.img" "$d/image1.img" "$d/full.img" || true
	split -b 8M -d -a 2 "$d/full.img" "$d/full/back"
	if guest_passed "$d/guest.log" create && stack_ok "$d/guest.log" &&
		texts_as_documented "$d/guest.log" &&
		legs_identical "$d/leg0.img" "$d/leg1.img" &&
		legs_identical "$d"/full/back?? &&
		"$ctl" examine "$d/full/back15" | matches "shutdown: *clean" &&
		"$ctl" examine "$d/leg0.img" | matches "shutdown: *clean" &&
		"$ctl" examine --log-area 1 "$d/log.img" > "$d/log-area1.txt" &&
		cmp -s "$d/image0.img" "$d/image1.img"; then
		record create PASS "native, LVM core and disk-log tables, 16 legs; $(first "$d/guest.log" '^status:' | cut -c1-60)..."
	else
		failed create "$d/guest.log"
	fi
}

scenario_io() {
	local d=$out/io sectors
	sectors=$(new_legs "$d" 2 64M)
	boot "$d/guest.log" 180 "io $sectors" "$d/leg0.img" "$d/leg1.img" || true
	if guest_passed "$d/guest.log" io && stack_ok "$d/guest.log" &&
		legs_identical "$d/leg0.img" "$d/leg1.img" &&
		"$ctl" examine "$d/leg0.img" | matches "shutdown: *clean"; then
		record io PASS "$(first "$d/guest.log" '^io:' | sed 's/^io: //'); legs identical, clean"
	else
		failed io "$d/guest.log"
	fi
}

# One crash: records with fsync, QEMU killed after a seeded number of
# acknowledgements; every acknowledged record must be on both legs before
# recovery (both were in sync), and after it.
crash_once() {
	local seed=$1 d=$out/crash-$1 sectors kill_at n
	sectors=$(new_legs "$d" 2 256M)
	kill_at=$((20 + (seed * 7919) % 600))
	boot "$d/write.log" 300 "crash-write $sectors $seed 100000" --kill-after ack "$kill_at" \
		"$d/leg0.img" "$d/leg1.img" && { WHY="seed $seed: the guest was not killed"; return 1; }
	has "$d/write.log" "^boot.py: KILLED" || { WHY="seed $seed: the guest was not killed"; return 1; }
	acked "$d/write.log" "$d/acked.txt"
	n=$(wc -l < "$d/acked.txt")
	"$ctl" debug verify --seed "$seed" --span 64M --acked "$d/acked.txt" \
		"$d/leg0.img" "$d/leg1.img" > "$d/verify-before.txt" ||
		{ WHY="seed $seed: acknowledged records missing before recovery"; return 1; }
	"$ctl" examine "$d/leg0.img" > "$d/examine-after-crash.txt"
	grep -q "shutdown: *UNCLEAN" "$d/examine-after-crash.txt" ||
		{ WHY="seed $seed: the superblocks claim a clean shutdown after the kill"; return 1; }
	boot "$d/recover.log" 300 "recover $sectors" "$d/leg0.img" "$d/leg1.img" || true
	guest_passed "$d/recover.log" recover && stack_ok "$d/recover.log" || return 1
	"$ctl" debug verify --seed "$seed" --span 64M --acked "$d/acked.txt" \
		"$d/leg0.img" "$d/leg1.img" > "$d/verify-after.txt" &&
		legs_identical "$d/leg0.img" "$d/leg1.img" ||
		{ WHY="seed $seed: the legs after recovery"; return 1; }
	say "  crash seed $seed: killed after $n acknowledged records; all on both legs before and after recovery"
}

scenario_crash() {
	local ok=0 seed last=$((first_seed + crash_seeds - 1))
	for seed in $(seq "$first_seed" "$last"); do
		if crash_once "$seed"; then
			ok=$((ok + 1))
		else
			failed crash "$out/crash-$seed/write.log" "$out/crash-$seed/recover.log"
			return
		fi
	done
	record crash PASS "$ok kills (seeds $first_seed..$last), every acknowledged record on both legs"
}

scenario_failing_leg() {
	local d=$out/failing-leg sectors
	sectors=$(new_legs "$d" 2 256M)
	boot "$d/guest.log" 300 "failing-leg $sectors $((256 * 2048))" "$d/leg0.img" "$d/leg1.img" || true
	acked "$d/guest.log" "$d/acked.txt"
	if guest_passed "$d/guest.log" failing-leg && stack_ok "$d/guest.log" &&
		"$ctl" debug verify --seed 11 --span 64M --acked "$d/acked.txt" "$d/leg0.img" > "$d/verify.txt" &&
		"$ctl" examine "$d/leg0.img" | matches "^ *1 .* failed "; then
		record failing-leg PASS "$(wc -l < "$d/acked.txt") records, none failed; leg 1 recorded failed; $(first "$d/guest.log" 'status after failure' | sed 's/.*bitmap 6 //')"
	else
		failed failing-leg "$d/guest.log"
	fi
}

scenario_readd() {
	local d=$out/readd sectors modified
	sectors=$(new_legs "$d" 2 256M)
	boot "$d/guest.log" 300 "readd $sectors" "$d/leg0.img" "$d/leg1.img" || true
	acked "$d/guest.log" "$d/acked.txt"
	modified=$(first "$d/guest.log" '^readd: degraded writes' | sed -n 's/.*modified=\([0-9]*\).*/\1/p')
	if guest_passed "$d/guest.log" readd && stack_ok "$d/guest.log" &&
		[ -n "$modified" ] && [ "$modified" -gt 0 ] && [ "$modified" -le 6 ] &&
		has "$d/guest.log" "rebuild of leg 1 started (MODIFIED chunks only)" &&
		"$ctl" debug verify --seed 12 --span 5M --acked "$d/acked.txt" "$d/leg0.img" "$d/leg1.img" > "$d/verify.txt" &&
		legs_identical "$d/leg0.img" "$d/leg1.img"; then
		record readd PASS "$modified chunks MODIFIED while leg 1 was out, rebuilt from those only; legs identical"
	else
		failed readd "$d/guest.log"
	fi
}

scenario_remove_busy() {
	local d=$out/remove-busy sectors
	sectors=$(new_legs "$d" 2 256M)
	boot "$d/guest.log" 400 "remove-busy $sectors 6 $((256 * 2048))" "$d/leg0.img" "$d/leg1.img" || true
	if guest_passed "$d/guest.log" remove-busy && stack_ok "$d/guest.log" &&
		"$ctl" examine "$d/leg0.img" | matches "shutdown: *clean"; then
		record remove-busy PASS "$(first "$d/guest.log" 'removes refused' | sed 's/^remove-busy: //'); resyncs and rebuilds cut short by remove"
	else
		failed remove-busy "$d/guest.log"
	fi
}

scenario_bad_table() {
	local d=$out/bad-table sectors refused reasons
	sectors=$(new_legs "$d" 2 64M)
	# A leg of another mirror, for a table that mixes mirrors.
	rm -f "$d/other.img" && truncate -s 64M "$d/other.img"
	"$ctl" create --chunk-size 1M "$d/other.img" > /dev/null
	# 64 GiB (sparse) in 4 KiB chunks: about 750 MiB of tables, more than
	# the malloc type's limit (a tenth of the guest's 1 GiB).
	rm -f "$d/big.img" && truncate -s 64G "$d/big.img"
	big=$("$ctl" create --chunk-size 4K "$d/big.img" | sed -n 's/^data: \([0-9]*\) sectors.*/\1/p')
	boot "$d/guest.log" 180 "bad-table $sectors $big" "$d/leg0.img" "$d/leg1.img" "$d/other.img" "$d/big.img" || true
	refused=$(console "$d/guest.log" | grep -c '^bad-table: .* -> errno [1-9]' || true)
	reasons=$(console "$d/guest.log" | grep -c '^dm_target_mirror: bad: ' || true)
	if guest_passed "$d/guest.log" bad-table && stack_ok "$d/guest.log" &&
		[ "$refused" -ge 12 ] && [ "$reasons" -ge "$refused" ] &&
		has "$d/guest.log" "the log device is the same device" &&
		has "$d/guest.log" "offset 99999999999 leaves it too small" &&
		has "$d/guest.log" "needs up to [0-9]* bytes of kernel memory and [0-9]* are available"; then
		record bad-table PASS "$refused tables refused, each with a reason on the console; a good one loaded after"
	else
		guest_passed "$d/guest.log" bad-table && WHY="$refused refused, $reasons reasons given"
		failed bad-table "$d/guest.log"
	fi
}

# mirrorctl built for DragonFly, run in the guest on blank disks: it makes
# the metadata the kernel then assembles, refuses one disk under two
# names, examines and checks the legs after a clean stop, refuses a resync
# given one leg of two; the host then checks the legs it made.
scenario_mirrorctl() {
	local d=$out/mirrorctl sectors
	# The data size the guest's mirrorctl will choose for legs of this size.
	sectors=$(new_legs "$d" 2 64M)
	rm -f "$d/leg0.img" "$d/leg1.img" && truncate -s 64M "$d/leg0.img" "$d/leg1.img"
	boot "$d/guest.log" 240 "mirrorctl $sectors" "$d/leg0.img" "$d/leg1.img" || true
	if guest_passed "$d/guest.log" mirrorctl && stack_ok "$d/guest.log" &&
		has "$d/guest.log" "same storage" &&
		has "$d/guest.log" "^mirror [0-9a-f-]*: 2 legs, 63 chunks of 1M" &&
		has "$d/guest.log" "chunks compared over 2 legs: 0 differ" &&
		has "$d/guest.log" "members not given: slot 0" &&
		legs_identical "$d/leg0.img" "$d/leg1.img" &&
		"$ctl" examine "$d/leg0.img" | matches "shutdown: *clean"; then
		record mirrorctl PASS "$(first "$d/guest.log" '^mirrorctl: made' | sed 's/^mirrorctl: //'); the host finds the legs identical and clean"
	else
		failed mirrorctl "$d/guest.log"
	fi
}

for s in "${scenarios[@]}"; do
	case $s in
	load | create | io | crash | failing-leg | readd | remove-busy | bad-table | mirrorctl) ;;
	*) say "unknown scenario $s (known: ${all[*]})" >&2; exit 2 ;;
	esac
	say "$s: running"
	"scenario_${s//-/_}"
done
least=$(cat "$out"/*/*.log | tr -d '\r' | sed -n 's/.*stack: .* left \([0-9]*\) of.*/\1/p' | sort -n | head -n 1)
deepest=$(cat "$out"/*/*.log | tr -d '\r' | sed -n 's/.*stack: \([a-z]*\): kernel \([0-9]*\) bytes, target \([0-9]*\).*/\3 \1 (kernel \2 before it)/p' | sort -n | tail -n 1)
say "stack: the deepest entry point used ${deepest:-?}; least left ${least:-?} of 10944 bytes (floor $stack_floor)"
say "$passed of $((passed + failed)) scenarios passed"
[ "$failed" -eq 0 ]
