# crash-write SECTORS SEED SPAN COUNT: the crash workload. Numbered records,
# O_DIRECT and fdatasync each, every acknowledged one printed; the host
# kills the VM at a moment of its choosing.
. /scenarios/lib.sh
load_ours
dmsetup create m --table "0 $1 dmmirror 2 /dev/vda /dev/vdb" || fail "crash: dmsetup create"
echo "crash: writing"
recwrite /dev/mapper/m "$2" "$3" "$4" || fail "crash-write: a record was not written"
pass "crash-write: all $4 records written before the kill"
