#!/usr/bin/env bash
# Boots the guest once: vm-test/run-guest.sh LOG TIMEOUT_S SCENARIO ARGS LEG...
# ARGS is comma separated ("-" for none). Prints nothing; the serial
# console goes to LOG. Exit status: QEMU's, or 137 when it was killed (on
# timeout, or on purpose).
#
# DMM_PROGRESS=1 reports on stderr every 10 s while the guest runs;
# DMM_MEM sets its memory in MiB (default 1024); DMM_APPEND adds kernel
# arguments (each followed by a space).
#
# The crash: with DMM_KILL_PATTERN set, QEMU gets SIGKILL once LOG holds
# DMM_KILL_COUNT (default 1) lines matching that pattern, DMM_KILL_DELAY
# seconds (default 0) later; the log then ends with a line
# DMM-KILLED-ON-PURPOSE (DMM-TIMEOUT when the timeout killed it).
set -uo pipefail
cd "$(dirname "$0")/.."
log=$1 timeout_s=$2 scenario=$3 args=$4
shift 4
drives=()
for leg in "$@"; do
	drives+=(-drive "file=$leg,if=virtio,format=raw,cache=none,aio=threads")
done
accel=${DMM_ACCEL:-tcg}
[ "$args" = "-" ] && args=
# The log exists before QEMU starts: the kill check below polls it.
: > "$log"
qemu-system-x86_64 -accel "$accel" -m "${DMM_MEM:-1024}" -smp 2 \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel build/vm/vmlinuz -initrd build/vm/initrd.img \
	-append "console=ttyS0 quiet panic=-1 ${DMM_APPEND:-}dmm.scenario=$scenario dmm.args=$args" \
	"${drives[@]}" > "$log" 2>&1 < /dev/null &
qemu=$!
start=$SECONDS
end=$(( SECONDS + timeout_s ))
report=$(( SECONDS + 10 ))
while kill -0 "$qemu" 2>/dev/null; do
	# DMM_PROGRESS=1 (the demo): every 10 s, how long the guest has run
	# and the last line of its console.
	if [ -n "${DMM_PROGRESS:-}" ] && [ "$SECONDS" -ge "$report" ]; then
		printf '  (guest running %d s; console: %s)\n' $(( SECONDS - start )) \
			"$(tail -n 1 "$log" | tr -d '\r' | cut -c 1-60)" >&2
		report=$(( SECONDS + 10 ))
	fi
	if [ "$SECONDS" -ge "$end" ]; then
		kill -KILL "$qemu"
		{ wait "$qemu"; } 2>/dev/null
		rc=137
		printf "\nDMM-TIMEOUT after %s s\n" "$timeout_s" >> "$log"
		break
	fi
	if [ -n "${DMM_KILL_PATTERN:-}" ] &&
		[ "$(grep -c -- "$DMM_KILL_PATTERN" "$log" || true)" -ge "${DMM_KILL_COUNT:-1}" ]; then
		sleep "${DMM_KILL_DELAY:-0}"
		kill -KILL "$qemu"
		{ wait "$qemu"; } 2>/dev/null
		rc=137
		# Said in the log (after QEMU's last words): the checks tell a
		# kill on purpose from a timeout or an end.
		printf "\nDMM-KILLED-ON-PURPOSE\n" >> "$log"
		break
	fi
	sleep 0.1
done
if [ -z "${rc:-}" ]; then
	{ wait "$qemu"; } 2>/dev/null
	rc=$?
fi
exit "$rc"
