# readd SECTORS: leg 1 is taken out online (fail_leg: it stays a member);
# writes continue to a few chunks; leg 1 returns and gets only the chunks
# MODIFIED meanwhile. (remove_leg gives the slot up: a leg added back after
# that is a new member and gets every written chunk.)
. /scenarios/lib.sh
sectors=$1
load_ours
dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/vdb" || fail "readd: create"
# 64 chunks written while both legs are in.
dd if=/dev/urandom of=/dev/mapper/m bs=1M count=64 oflag=direct 2>/dev/null || fail "readd: fill"
# Let the lazy clean return them to CLEAN (5 s without writes).
i=0
while [ $i -lt 200 ] && ! dmsetup status m | grep -q " dirty=0 "; do sleep 0.1; i=$((i + 1)); done
echo "readd: before: $(dmsetup status m)"
dmsetup message m 0 fail_leg 1 || fail "readd: fail_leg"
echo "readd: removed: $(dmsetup status m)"
# Records over the first 5 MiB: 5 chunks change while leg 1 is out.
recwrite /dev/mapper/m 12 5242880 300 > /tmp/acks || fail "readd: writes while degraded"
echo "readd: degraded writes: $(dmsetup status m)"
# What the rebuild writes to leg 1, counted by the block layer.
written() { awk '{ print $7 }' /sys/block/vdb/stat; }
before=$(written)
dmsetup message m 0 add_leg 1 || fail "readd: add_leg"
wait_in_sync m 120 || fail "readd: not in sync: $(dmsetup status m)"
echo "readd: sectors written to leg 1 by the rebuild: $(( $(written) - before ))"
echo "readd: back in sync: $(dmsetup status m)"
dmesg | grep -i 'dmmirror' | sed 's/^/readd: log: /'
grep '^ack ' /tmp/acks
dmsetup remove m || fail "readd: remove"
pass "readd: leg 1 removed and re-added while writes went on"
