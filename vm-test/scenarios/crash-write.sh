# crash-write SECTORS SEED SPAN COUNT [MODE]: the crash workload. Numbered
# records, O_DIRECT and fdatasync each, every acknowledged one printed; the
# host kills the VM at a moment of its choosing. MODE (the host draws it
# from the seed, vm-test/run.sh):
#   plain    one writer;
#   busy     beside it a second writer wrapping a 4 MiB span (its records
#            overwrite each other, acknowledged as "ackB N") and a third
#            writing without ever flushing; chunks CLEAN 300 ms after
#            their last write, so kills land in bitmap updates and lazy
#            cleans as well as in first writes and overwrites;
#   rebuild  leg 1 is failed after 200 records and added back after 300
#            with the copy throttled: the kill lands in its rebuild.
. /scenarios/lib.sh
sectors=$1 seed=$2 span=$3 count=$4 mode=${5:-plain}
load_ours
table="0 $sectors dmmirror 2 /dev/vda /dev/vdb"
[ "$mode" = busy ] && table="$table 2 clean_delay 300"
dmsetup create m --table "$table" || fail "crash: dmsetup create"
echo "crash: writing ($mode)"
case $mode in
plain)
	recwrite /dev/mapper/m "$seed" "$span" "$count" || fail "crash-write: a record was not written"
	;;
busy)
	recwrite /dev/mapper/m $((seed + 5000)) 4194304 "$count" 67108864 | sed 's/^ack /ackB /' &
	(i=0; while :; do
		dd if=/dev/urandom of=/dev/mapper/m bs=64k count=4 seek=$((2048 + i % 1024)) oflag=direct 2>/dev/null
		i=$((i + 37))
	done) &
	recwrite /dev/mapper/m "$seed" "$span" "$count" || fail "crash-write: a record was not written"
	;;
rebuild)
	recwrite /dev/mapper/m "$seed" "$span" "$count" > /tmp/acks &
	writer=$!
	acks() { grep -c '^ack ' /tmp/acks; }
	shown=0
	show() { # prints the acknowledgements not printed yet
		n=$(acks)
		[ "$n" -gt "$shown" ] && sed -n "$((shown + 1)),${n}p" /tmp/acks
		shown=$n
	}
	until [ "$(acks)" -ge 200 ]; do kill -0 $writer || fail "crash-write: the writer ended"; sleep 0.05; done
	show
	dmsetup message m 0 fail_leg 1 || fail "crash-write: fail_leg"
	echo "crash: leg 1 out after $shown"
	until [ "$(acks)" -ge 300 ]; do show; sleep 0.05; done
	show
	dmsetup message m 0 resync_rate 1000 2000 && dmsetup message m 0 add_leg 1 ||
		fail "crash-write: add_leg"
	echo "crash: leg 1 back after $shown"
	while kill -0 $writer 2>/dev/null; do show; sleep 0.05; done
	show
	wait $writer || fail "crash-write: a record was not written"
	;;
esac
pass "crash-write: all $count records written before the kill"
