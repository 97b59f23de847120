# legfail SECTORS: leg 1 (a dm-linear over vdb) turns into dm-error in the
# middle of a workload; no error reaches the workload; status and the
# superblocks record the failure; the leg is then replaced by vdc (blank)
# and rebuilt.
. /scenarios/lib.sh
sectors=$1
load_ours
size=$(blockdev --getsz /dev/vdb)
dmsetup create leg1 --table "0 $size linear /dev/vdb 0" || fail "legfail: leg1"
dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/mapper/leg1" || fail "legfail: create"
recwrite /dev/mapper/m 11 67108864 1500 > /tmp/acks &
writer=$!
sleep 3
dmsetup suspend --noflush leg1 && dmsetup load leg1 --table "0 $size error" &&
	dmsetup resume leg1 || fail "legfail: cannot swap in dm-error"
echo "legfail: leg 1 now fails every I/O"
wait $writer || fail "legfail: the workload saw an error"
echo "legfail: acked $(grep -c '^ack ' /tmp/acks) records, no error"
status=$(dmsetup status m)
echo "legfail: status after failure: $status"
case $(health m) in AD) ;; *) fail "legfail: health is not AD: $status" ;; esac
grep '^ack ' /tmp/acks
echo "legfail: replacing the disk"
# Replace the disk: leg 1 now maps a blank disk; remove the failed member
# and add the new one, which is rebuilt from leg 0.
dmsetup suspend --noflush leg1 && dmsetup load leg1 --table "0 $size linear /dev/vdc 0" &&
	dmsetup resume leg1 || fail "legfail: cannot map the new disk"
dmsetup message m 0 remove_leg 1 || fail "legfail: remove_leg"
echo "legfail: removed: $(dmsetup status m)"
dmsetup message m 0 add_leg 1 || fail "legfail: add_leg"
echo "legfail: added: $(dmsetup status m)"
wait_in_sync m 60 || fail "legfail: rebuild did not finish: $(dmsetup status m)"
echo "legfail: after rebuild: $(dmsetup status m)"
dmsetup remove m && dmsetup remove leg1 || fail "legfail: remove"
pass "legfail: workload unharmed, failure shown, disk replaced and rebuilt"
