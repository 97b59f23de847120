# oneleg SECTORS PHASE: phase 1 writes, fails leg 1, writes more and stops;
# phase 2 boots with leg 0 alone and reads everything back.
. /scenarios/lib.sh
sectors=$1
load_ours
if [ "$2" = 1 ]; then
	dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/vdb" || fail "oneleg: create"
	recwrite /dev/mapper/m 13 33554432 200 > /tmp/acks || fail "oneleg: writes"
	dmsetup message m 0 fail_leg 1 || fail "oneleg: fail_leg"
	# The second set starts at 64 MiB: no record of the first is overwritten.
	recwrite /dev/mapper/m 14 33554432 200 67108864 > /tmp/acks2 || fail "oneleg: writes on one leg"
	echo "oneleg: degraded: $(dmsetup status m)"
	dmsetup remove m || fail "oneleg: remove"
	grep "^ack " /tmp/acks
	sed "s/^ack /ack2 /" /tmp/acks2
	pass "oneleg: phase 1"
else
	dmsetup create m --table "0 $sectors dmmirror 1 /dev/vda" || fail "oneleg: assemble from leg 0 alone"
	echo "oneleg: from one leg: $(dmsetup status m)"
	# The first records' 32 MiB through the mirror, and the same from leg 0's
	# data area (at 1 MiB): a read through one leg returns that leg's data.
	dd if=/dev/mapper/m of=/tmp/via bs=1M count=32 iflag=direct 2>/dev/null || fail "oneleg: read"
	dd if=/dev/vda of=/tmp/raw bs=1M skip=1 count=32 iflag=direct 2>/dev/null || fail "oneleg: raw read"
	cmp /tmp/via /tmp/raw || fail "oneleg: the mirror read differs from leg 0's data"
	grep -c DMMREC01 /tmp/via > /dev/null || fail "oneleg: no record read back"
	dmsetup remove m || fail "oneleg: remove"
	pass "oneleg: phase 2: assembled from leg 0 alone; 32 MiB read through it equal leg 0's data"
fi
