# bad-table SECTORS: tables that name one disk twice, or a leg past its
# device's end, are refused before any I/O, each with its reason in the
# kernel log; the legs are untouched and a good table loads after; a
# second mirror device over its legs is refused while it runs.
. /scenarios/lib.sh
sectors=$1
load_ours
major_minor() { printf '%d:%d' "$(stat -L -c '0x%t' "$1")" "$(stat -L -c '0x%T' "$1")"; }
vdb=$(major_minor /dev/vdb)
# The metadata area: a refused table must not have written a byte of it.
meta() { dd if=/dev/vda bs=1M count=4 2>/dev/null | md5sum; }
md5_before=$(meta)
refuse() { # refuse REASON TABLE...: the table is refused and REASON logged
	reason=$1
	shift
	dmsetup create bad --table "$*" 2>/dev/null && { dmsetup remove bad; fail "bad-table: accepted: $*"; }
	dmesg | grep -q "$reason" || fail "bad-table: no '$reason' logged for: $*"
	echo "bad-table: refused: $* ($reason)"
}
refuse "the log device (.*) is the same device as leg 0" \
	"0 $sectors dmmirror disk 2 /dev/vda 2048 2 /dev/vda 0 /dev/vdb 0"
refuse "leg 1 (.*) is the same device as leg 0" \
	"0 $sectors dmmirror 2 /dev/vdb $vdb"
refuse "leg 0 (.*): offset 99999999999 leaves it too small" \
	"0 $sectors dmmirror core 1 2048 2 /dev/vda 99999999999 /dev/vdb 0"
refuse "table length $((sectors + 1)) exceeds" \
	"0 $((sectors + 1)) dmmirror 2 /dev/vda /dev/vdb"
[ "$(meta)" = "$md5_before" ] || fail "bad-table: a refused table wrote to a leg"
# A leg smaller than the mirror's geometry, under a table short enough
# for dm's own size check: left out at assembly with the reason, never
# written past its end (a resync used to fail it there).
dmsetup create short --table "0 $((sectors / 2)) linear /dev/vdb 0" || fail "bad-table: dm-linear"
dmsetup create m --table "0 $((sectors / 4)) dmmirror 2 /dev/vda /dev/mapper/short" || fail "bad-table: a short leg refused the whole mirror"
[ "$(health m)" = AD ] || fail "bad-table: a short leg in use: $(health m)"
dmesg | grep -q "leg 1: the end of its data area cannot be read" || fail "bad-table: no reason for the short leg"
echo "bad-table: a leg of $((sectors / 2)) sectors left out: $(dmsetup status m)"
dmsetup remove m && dmsetup remove short || fail "bad-table: remove"

dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/vdb" || fail "bad-table: the good table"
[ "$(health m)" = AA ] || fail "bad-table: health $(health m)"
# A second mirror device over legs a running one uses.
refuse "leg .* is in use by another mirror device" \
	"0 $sectors dmmirror 2 /dev/vdb /dev/vda"
dmsetup remove m || fail "bad-table: remove"
pass "bad-table: 5 tables refused with their reasons, no leg written; a good one loaded"
