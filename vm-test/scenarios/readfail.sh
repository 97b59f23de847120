# readfail SECTORS DATA_OFFSET: reads that fail on leg 1 while the mirror
# is in sync; each read (lock-free, sent to its leg as it is) must return
# the data written. Written with leg 1 a dm-linear over vdb; then leg 1 is
# a copy of vdb on a scsi_debug disk whose sectors from DATA_OFFSET + 1000
# report a medium error (the read fails part way, its first part already
# done): the read is retried on leg 0 and written back, leg 1 stays. Then
# leg 1 is dm-error: the repair fails too and leg 1 is failed (R).
. /scenarios/lib.sh
sectors=$1 data_offset=$2
bad=$((data_offset + 1000))	# in block 1 (mirror sectors 512-1023)
load_ours
for m in $(cat /lib/modules/order-fault); do
	case $m in
	scsi_debug.ko) params="dev_size_mb=80 medium_error_start=$bad medium_error_count=8" ;;
	*) params= ;;
	esac
	# shellcheck disable=SC2086
	[ -d "/sys/module/$(basename "$m" .ko | tr - _)" ] ||
		insmod "/lib/modules/$m" $params || fail "readfail: insmod $m"
done
size=$(blockdev --getsz /dev/vdb)
dmsetup create leg1 --table "0 $size linear /dev/vdb 0" || fail "readfail: leg1"
dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/mapper/leg1" || fail "readfail: create"
blocks=128	# of 256 KiB: under split_read_sectors, so each read goes whole
dd if=/dev/urandom of=/tmp/data bs=256k count=$blocks 2>/dev/null
dd if=/tmp/data of=/dev/mapper/m bs=256k oflag=direct conv=fsync 2>/dev/null || fail "readfail: write"
# Idle: every chunk cleaned, so no metadata write meets a failure first.
settle() {
	i=0
	until in_sync m && dmsetup status m | grep -q ' dirty=0 '; do
		[ $i -lt 600 ] || fail "readfail: the mirror did not settle: $(dmsetup status m)"
		sleep 0.1
		i=$((i + 1))
	done
}
settle
# read_block B OUT: block B of the mirror into the same place of OUT.
read_block() {
	dd if=/dev/mapper/m of="$2" bs=256k skip="$1" seek="$1" count=1 \
	    iflag=direct conv=notrunc 2>/dev/null ||
		fail "readfail: block $1 read failed: $(dmsetup status m)"
}
# Even blocks, then odd: no read starts where the last one ended, so
# round-robin alternates the legs (no sequential affinity).
read_all() { # read_all OUT
	: > "$1"
	for parity in 0 1; do
		b=$parity
		while [ $b -lt $blocks ]; do
			read_block $b "$1"
			b=$((b + 2))
		done
	done
}
# Phase 1: leg 1 is the scsi_debug disk itself (so that the read it
# fails part way is the mirror's own, partly completed).
n=0
until [ -b /dev/sda ]; do
	[ $n -lt 100 ] || fail "readfail: no scsi_debug disk"
	sleep 0.1
	n=$((n + 1))
done
dmsetup remove m || fail "readfail: remove"
dd if=/dev/vdb of=/dev/sda bs=1M iflag=direct oflag=direct 2>/dev/null || fail "readfail: copy to sda"
echo 2 > /sys/bus/pseudo/drivers/scsi_debug/opts || fail "readfail: medium errors"
dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/sda" || fail "readfail: create on sda"
dmsetup message m 0 read_policy round-robin || fail "readfail: read_policy"
: > /tmp/q0
dd if=/tmp/data of=/tmp/p0 bs=256k skip=1 count=1 2>/dev/null
for k in 1 2 3 4; do
	read_block 1 /tmp/q0
	dd if=/tmp/q0 of=/tmp/r0 bs=256k skip=1 count=1 2>/dev/null
	cmp /tmp/p0 /tmp/r0 || fail "readfail: block 1 read $k differs"
done
# Reads of 1 MiB split across the idle legs (512 KiB each, the rest sent
# back by dm), the bad sectors in the first part.
dd if=/tmp/data of=/tmp/p1 bs=1M count=1 2>/dev/null
for k in 1 2 3 4; do
	dd if=/dev/mapper/m of=/tmp/r1 bs=1M count=1 iflag=direct 2>/dev/null ||
		fail "readfail: 1 MiB read $k failed: $(dmsetup status m)"
	cmp /tmp/p1 /tmp/r1 || fail "readfail: 1 MiB read $k differs"
done
repairs=$(dmesg | grep -c "leg 1 failed to read 512 sectors at 512: read from another leg and written back")
split=$(dmesg | grep -c "leg 1 failed to read 1024 sectors at 0: read from another leg and written back")
echo "readfail: block 1 read 4 times, $repairs repairs; 1 MiB read 4 times, $split repairs of its first half; status: $(dmsetup status m)"
[ "$repairs" -ge 1 ] || fail "readfail: no read of leg 1 failed and was repaired"
[ "$split" -ge 1 ] || fail "readfail: no first half of a split read failed on leg 1 and was repaired"
[ "$(health m)" = AA ] || fail "readfail: a repaired leg was failed: $(dmsetup status m)"
read_all /tmp/q1
cmp /tmp/data /tmp/q1 || fail "readfail: data read with medium errors on leg 1 differs"
# Phase 2: leg 1 (a dm-linear over sda now) fails every I/O; the repair
# fails too.
settle
dmsetup remove m || fail "readfail: remove"
dmsetup suspend leg1 && dmsetup load leg1 --table "0 $size linear /dev/sda 0" &&
	dmsetup resume leg1 || fail "readfail: cannot map sda"
dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/mapper/leg1" || fail "readfail: create on leg1"
dmsetup message m 0 read_policy round-robin || fail "readfail: read_policy"
dmsetup suspend --noflush leg1 && dmsetup load leg1 --table "0 $size error" &&
	dmsetup resume leg1 || fail "readfail: cannot swap in dm-error"
read_all /tmp/q2
cmp /tmp/data /tmp/q2 || fail "readfail: data read while leg 1 failed differs"
status=$(dmsetup status m)
echo "readfail: status after failure: $status"
[ "$(health m)" = AR ] || fail "readfail: health is not AR (a read and its repair failed on leg 1): $status"
read_all /tmp/q3
cmp /tmp/data /tmp/q3 || fail "readfail: data read from leg 0 alone differs"
dmsetup remove m && dmsetup remove leg1 || fail "readfail: remove"
pass "readfail: leg 1 failing reads part way: $repairs + $split (split reads) repaired, still in use; failing all I/O: failed (R); every read returned the data written"
