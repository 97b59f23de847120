#!/usr/bin/env bash
# Boots the guest once: vm-test/run-guest.sh LOG TIMEOUT_S SCENARIO ARGS LEG...
# ARGS is comma separated ("-" for none). Prints nothing; the serial
# console goes to LOG. Exit status: QEMU's, or 124 on timeout.
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
exec timeout --foreground -s KILL "$timeout_s" qemu-system-x86_64 -accel "$accel" -m 1024 -smp 2 \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel build/vm/vmlinuz -initrd build/vm/initrd.img \
	-append "console=ttyS0 quiet panic=-1 dmm.scenario=$scenario dmm.args=$args dmm.run=${DMM_RUN_ID:-0}" \
	"${drives[@]}" > "$log" 2>&1 < /dev/null
