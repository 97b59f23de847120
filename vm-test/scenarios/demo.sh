# demo SECTORS PHASE: the README's main job, in the guest.
# Phase 1: create a mirror with dmsetup, write, fail a leg (dm-error swapped
# under it), keep writing until the host kills the machine.
# Phase 2: after the crash: assemble, resync, show status, stop cleanly.
. /scenarios/lib.sh
sectors=$1
# explain WHEN NAME: the status line in words, then the raw line.
explain() {
	line=$(dmsetup status "$2")
	echo "demo: $1:"
	echo "$line" | awk '{
		n = $4; split($(5 + n), r, "/"); health = $(7 + n)
		printf "demo:   %d of %d chunks in sync on every %sleg", r[1], r[2], health ~ /^A+$/ ? "" : "live "
		if (r[1] < r[2]) printf " (the others are being copied: a resync after a crash, a rebuild, or chunks first written in part, whose rest was never mirrored)"
		printf "\ndemo:   legs:"
		for (i = 1; i <= length(health); i++) {
			c = substr(health, i, 1)
			w = c == "A" ? "alive" : c == "D" ? "failed (write error or missing)" : c == "F" ? "failed (flush error)" : c == "S" ? "failed while copying" : "failed (read error)"
			printf " leg %d %s%s", i - 1, w, i < length(health) ? "," : "\n"
		}
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^dirty=/) dirty = substr($i, 7)
			if ($i ~ /^modified=/) modified = substr($i, 10)
		}
		printf "demo:   bitmap: %d chunks DIRTY (written lately, not cleaned yet: resynced if the machine crashes)", dirty
		if (modified == 0) printf ", none MODIFIED\n"
		else if (health ~ /^A+$/ && r[1] == r[2]) printf ", %d still marked MODIFIED from when a leg was out (no longer needed: every leg is in sync; cleared as they are cleaned)\n", modified
		else printf ", %d MODIFIED (written while a leg was out: copied to it when it returns)\n", modified
	}'
	echo "demo:   raw dmsetup status: $line"
}
load_ours
if [ "$2" = 1 ]; then
	size=$(blockdev --getsz /dev/vdb)
	dmsetup create leg1 --table "0 $size linear /dev/vdb 0"
	dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/mapper/leg1" || fail "demo: create"
	explain "created" m
	recwrite /dev/mapper/m 21 67108864 300 > /tmp/acks || fail "demo: writes"
	explain "300 records written" m
	dmsetup suspend --noflush leg1 && dmsetup load leg1 --table "0 $size error" && dmsetup resume leg1
	echo "demo: leg 1 now returns errors"
	recwrite /dev/mapper/m 22 67108864 100 67108864 > /tmp/acks2 || fail "demo: writes after the failure"
	explain "100 more records written with leg 1 failed (degraded)" m
	cat /tmp/acks
	sed 's/^ack /ack2 /' /tmp/acks2
	echo "demo: writing until the host pulls the plug"
	recwrite /dev/mapper/m 23 67108864 100000 134217728 |
		awk '{ sub(/^ack /, "ack3 "); print; fflush() }'
else
	dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/vdb" || fail "demo: assemble"
	explain "assembled after the crash, both legs attached" m
	echo "demo: (leg 1 is back: it gets the chunks MODIFIED without it; the crash's DIRTY chunks are resynced)"
	wait_in_sync m 120 || fail "demo: not in sync"
	explain "in sync" m
	dmsetup remove m || fail "demo: remove"
	echo "demo: stopped cleanly"
	pass "demo"
fi
