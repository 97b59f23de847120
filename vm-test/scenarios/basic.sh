# basic SECTORS: create with dmsetup, write patterns, read back, status and table.
. /scenarios/lib.sh
sectors=$1
load_ours
dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/vdb" || fail "basic: dmsetup create"
echo "status: $(dmsetup status m)"
echo "table: $(dmsetup table m)"
dd if=/dev/urandom of=/tmp/p bs=1M count=16 2>/dev/null
dd if=/tmp/p of=/dev/mapper/m bs=1M seek=3 oflag=direct || fail "basic: write"
dd if=/tmp/p of=/dev/mapper/m bs=4k seek=9000 count=100 2>/dev/null || fail "basic: buffered write"
sync
dd if=/dev/mapper/m of=/tmp/q bs=1M skip=3 count=16 iflag=direct 2>/dev/null || fail "basic: read"
cmp /tmp/p /tmp/q || fail "basic: read back differs"
echo "status: $(dmsetup status m)"
dmsetup remove m || fail "basic: dmsetup remove"
pass "basic: 16 MiB written and read back; status and table printed"
