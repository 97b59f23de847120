# basic SECTORS: create with dmsetup, write patterns, read back, status and table.
. /scenarios/lib.sh
sectors=$1
load_ours
dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/vdb" || fail "basic: dmsetup create"
status=$(dmsetup status m)
table=$(dmsetup table m)
echo "status: $status"
echo "table: $table"
# As docs/tables.md documents them: the table normalised with the legs'
# device numbers; the status in dm-mirror's fields, then our counters.
dev='[0-9]+:[0-9]+'
echo "$table" | grep -Eqx "0 $sectors dmmirror 2 $dev $dev" || fail "basic: table not as documented: $table"
echo "$status" | grep -Eqx "0 $sectors dmmirror 2 $dev $dev ([0-9]+)/[0-9]+ 1 AA 1 bitmap 6 dirty=[0-9]+ modified=0 bitmap_updates=[0-9]+ superblock_writes=[0-9]+ clean_flushes=[0-9]+ event=[0-9]+" ||
	fail "basic: status not as documented: $status"
# Messages: a bad one is refused, a good one taken.
dmsetup message m 0 grow 2 2>/dev/null && fail "basic: an unknown message was accepted"
dmsetup message m 0 read_policy round-robin || fail "basic: read_policy refused"
dmesg | grep -q "message refused: argument 1 ('grow'): unknown message" || fail "basic: no reason logged for the refused message"
dd if=/dev/urandom of=/tmp/p bs=1M count=16 2>/dev/null
dd if=/tmp/p of=/dev/mapper/m bs=1M seek=3 oflag=direct || fail "basic: write"
dd if=/tmp/p of=/dev/mapper/m bs=4k seek=9000 count=100 2>/dev/null || fail "basic: buffered write"
sync
dd if=/dev/mapper/m of=/tmp/q bs=1M skip=3 count=16 iflag=direct 2>/dev/null || fail "basic: read"
cmp /tmp/p /tmp/q || fail "basic: read back differs"
# The buffered write, read back past the page cache (after sync, so from the legs).
dd if=/tmp/p of=/tmp/p2 bs=4k count=100 2>/dev/null
dd if=/dev/mapper/m of=/tmp/q2 bs=4k skip=9000 count=100 iflag=direct 2>/dev/null || fail "basic: read of the buffered write"
cmp /tmp/p2 /tmp/q2 || fail "basic: the buffered write reads back differently"
echo "status: $(dmsetup status m)"
dmsetup remove m || fail "basic: dmsetup remove"
pass "basic: 16 MiB direct and 400 KiB buffered written and read back; status, table and messages as documented"
