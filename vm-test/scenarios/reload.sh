# reload SECTORS: a table reloaded under load, as LVM does. Phase 1 writes
# through the first table; `dmsetup reload` loads a second one (the first
# still runs); phase 2 writes through the first; `dmsetup resume` swaps
# them; phase 3 writes through the second; phase 4 writes until the host
# kills the VM. Each phase has its own seed and 16 MiB region.
. /scenarios/lib.sh
sectors=$1
table="0 $sectors dmmirror 2 /dev/vda /dev/vdb"
load_ours
dmsetup create m --table "$table" || fail "reload: create"
phase() { # phase N COUNT
	echo "reload: phase $1"
	recwrite /dev/mapper/m $((20 + $1)) 16777216 "$2" $(($1 * 50331648)) || fail "reload: phase $1 writes"
}
phase 1 300
dmsetup reload m --table "$table" || fail "reload: reload"
phase 2 300
dmsetup resume m || fail "reload: resume"
echo "reload: resumed: $(dmsetup status m)"
phase 3 300
phase 4 100000
pass "reload: all records written before the kill"
