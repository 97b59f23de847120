# demo SECTORS PHASE: the README's main job, in the guest.
# Phase 1: create a mirror with dmsetup, write, fail a leg (dm-error swapped
# under it), keep writing until the host kills the machine.
# Phase 2: after the crash: assemble, resync, show status, stop cleanly.
. /scenarios/lib.sh
sectors=$1
load_ours
if [ "$2" = 1 ]; then
	size=$(blockdev --getsz /dev/vdb)
	dmsetup create leg1 --table "0 $size linear /dev/vdb 0"
	dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/mapper/leg1" || fail "demo: create"
	echo "demo: created:   $(dmsetup status m)"
	recwrite /dev/mapper/m 21 67108864 300 > /tmp/acks || fail "demo: writes"
	echo "demo: written:   $(dmsetup status m)"
	dmsetup suspend --noflush leg1 && dmsetup load leg1 --table "0 $size error" && dmsetup resume leg1
	echo "demo: leg 1 now returns errors"
	recwrite /dev/mapper/m 22 67108864 100 67108864 > /tmp/acks2 || fail "demo: writes after the failure"
	echo "demo: degraded:  $(dmsetup status m)"
	cat /tmp/acks
	sed 's/^ack /ack2 /' /tmp/acks2
	echo "demo: writing until the host pulls the plug"
	recwrite /dev/mapper/m 23 67108864 100000 134217728 |
		awk '{ sub(/^ack /, "ack3 "); print; fflush() }'
else
	dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/vdb" || fail "demo: assemble"
	echo "demo: assembled: $(dmsetup status m)"
	echo "demo: (leg 1 is back: it gets the chunks MODIFIED without it; the crash's DIRTY chunks are resynced)"
	wait_in_sync m 120 || fail "demo: not in sync"
	echo "demo: in sync:   $(dmsetup status m)"
	dmsetup remove m || fail "demo: remove"
	echo "demo: stopped cleanly"
	pass "demo"
fi
