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
	dd if=/dev/mapper/m of=/dev/null bs=1M count=32 iflag=direct 2>/dev/null || fail "oneleg: read"
	dmsetup remove m || fail "oneleg: remove"
	pass "oneleg: phase 2: assembled and read from leg 0 alone"
fi
