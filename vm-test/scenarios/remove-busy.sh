# remove-busy SECTORS: 6 rounds of `dmsetup remove` and a table reload
# while a writer is busy; in odd rounds leg 1 (dm-flakey over vdb) fails
# every I/O a second after its load. Linux refuses to remove an open
# device (EBUSY): the reload swaps the table under the writer instead, and
# the device goes once the writer is done. No oops, no hang, no warning.
. /scenarios/lib.sh
sectors=$1
load_ours
size=$(blockdev --getsz /dev/vdb)
table="0 $sectors dmmirror 2 /dev/vda /dev/mapper/leg1"
refused=0
for round in 1 2 3 4 5 6; do
	if [ $((round % 2)) = 1 ]; then
		leg="0 $size flakey /dev/vdb 0 1 100000"
	else
		leg="0 $size linear /dev/vdb 0"
	fi
	dmsetup create leg1 --table "$leg" || fail "remove-busy: round $round: leg 1"
	dmsetup create m --table "$table" || fail "remove-busy: round $round: create"
	# Held open by this shell as well as by the writer: the remove below
	# meets an open device whatever the writer's speed.
	exec 3< /dev/mapper/m
	dd if=/dev/urandom of=/dev/mapper/m bs=64k count=600 oflag=direct 2>/dev/null &
	writer=$!
	sleep 1.5
	if dmsetup remove m 2>/dev/null; then
		fail "remove-busy: round $round: an open device was removed"
	fi
	refused=$((refused + 1))
	dmsetup reload m --table "$table" && dmsetup resume m ||
		fail "remove-busy: round $round: reload under the writer"
	wait $writer || fail "remove-busy: round $round: a write failed"
	exec 3<&-
	echo "remove-busy: round $round: $(dmsetup status m)"
	dmsetup remove m || fail "remove-busy: round $round: remove once idle"
	dmsetup remove leg1 || fail "remove-busy: round $round: remove leg 1"
done
dmesg | grep -E "WARNING:|BUG:|Oops|hung_task|leak" && fail "remove-busy: the kernel complained"
pass "remove-busy: 6 rounds: remove refused while open ($refused), reload under the writer, 3 with leg 1 failing; removed once idle"
