# recover SECTORS: after a crash, assemble (resync of the DIRTY chunks),
# wait until in sync, stop cleanly.
. /scenarios/lib.sh
load_ours
dmsetup create m --table "0 $1 dmmirror 2 /dev/vda /dev/vdb" || fail "recover: dmsetup create"
echo "recover: after assembly: $(dmsetup status m)"
start=$(cat /proc/uptime)
wait_in_sync m 120 || fail "recover: not in sync after 120 s: $(dmsetup status m)"
end=$(cat /proc/uptime)
echo "recover: in sync: $(dmsetup status m)"
echo "recover: seconds $(awk -v a="${start%% *}" -v b="${end%% *}" 'BEGIN { print b - a }')"
dmsetup remove m || fail "recover: dmsetup remove"
pass "recover: in sync, stopped cleanly"
