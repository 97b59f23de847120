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
total=1500
: > /tmp/acks
recwrite /dev/mapper/m 11 67108864 $total > /tmp/acks &
writer=$!
# The leg fails once 300 records are in, whatever the machine's speed, so
# that the rest of the workload runs against the failed leg.
i=0
while [ "$(grep -c '^ack ' /tmp/acks)" -lt 300 ]; do
	[ $i -lt 1200 ] || fail "legfail: the workload made no progress"
	kill -0 $writer 2>/dev/null || fail "legfail: the workload ended early"
	sleep 0.1
	i=$((i + 1))
done
dmsetup suspend --noflush leg1 && dmsetup load leg1 --table "0 $size error" &&
	dmsetup resume leg1 || fail "legfail: cannot swap in dm-error"
at_failure=$(grep -c '^ack ' /tmp/acks)
echo "legfail: leg 1 fails every I/O from record $at_failure on"
[ "$at_failure" -ge 300 ] && [ "$at_failure" -lt $total ] ||
	fail "legfail: the leg failed at record $at_failure, not between 300 and $total"
wait $writer || fail "legfail: the workload saw an error after record $(grep -c '^ack ' /tmp/acks)"
echo "legfail: acked $(grep -c '^ack ' /tmp/acks) records, no error"
status=$(dmsetup status m)
echo "legfail: status after failure: $status"
# D if a data write met the failure first, S if a copy did (a record's
# first write to a never-written chunk copies the rest of that chunk).
case $(health m) in AD|AS) ;; *) fail "legfail: health is not AD or AS: $status" ;; esac
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
