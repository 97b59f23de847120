# peers PEER PHASE SECTORS: the crash workload on ours, md raid1 with an
# internal bitmap, or Linux dm-mirror with a disk log (vdc), same disks.
# Phase 1 measures write throughput, then writes until the host kills the
# VM; phase 2 measures what recovery copies and how long it takes.
. /scenarios/lib.sh
peer=$1 phase=$2 sectors=$3
now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
if [ "$peer" = dm-mirror ] || [ "$peer" = md ]; then
	for m in $(cat /lib/modules/order-peers); do
		name=$(basename "$m" .ko | tr - _)
		[ -d "/sys/module/$name" ] || insmod "/lib/modules/$m"
	done
else
	load_ours
fi
case $peer in
ours) dev=/dev/mapper/m ;;
md) dev=/dev/md0 ;;
dm-mirror) dev=/dev/mapper/m ;;
esac
if [ "$phase" = 1 ]; then
	case $peer in
	ours) dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/vdb" ;;
	md) mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 \
		--bitmap=internal --bitmap-chunk=1M --assume-clean /dev/vda /dev/vdb ;;
	# nosync: fresh disks are taken as in sync, as md --assume-clean and ours.
	dm-mirror) dmsetup create m --table "0 $sectors mirror disk 3 /dev/vdc 2048 nosync 2 /dev/vda 0 /dev/vdb 0 1 handle_errors" ;;
	esac || fail "peers: $peer: create"
	t=$(now)
	dd if=/dev/zero of=$dev bs=1M count=48 oflag=direct 2>/dev/null || fail "peers: dd"
	echo "peers: $peer seq_mbps $(awk -v s="$(elapsed "$t")" 'BEGIN { printf "%.1f", 48 / s }')"
	t=$(now)
	recwrite $dev 31 67108864 200 > /dev/null || fail "peers: records"
	echo "peers: $peer fsync_records_per_s $(awk -v s="$(elapsed "$t")" 'BEGIN { printf "%.1f", 200 / s }')"
	echo "peers: writing until the host pulls the plug"
	recwrite $dev 32 67108864 100000
else
	t=$(now)
	case $peer in
	ours)
		dmsetup create m --table "0 $sectors dmmirror 2 /dev/vda /dev/vdb" || fail "peers: assemble"
		dirty=$(dmsetup status m | sed -n 's/.* dirty=\([0-9]*\).*/\1/p')
		echo "peers: ours resync_bytes $(( dirty * 1048576 ))"
		wait_in_sync m 300 || fail "peers: ours not in sync"
		;;
	md)
		bits=$(mdadm -X /dev/vda | sed -n 's/.*Bitmap : .* bits (chunks), \([0-9]*\) dirty.*/\1/p')
		chunk=$(mdadm -X /dev/vda | sed -n 's/.*Chunksize : \([0-9]*\) \([KM]\)B.*/\1 \2/p')
		case $chunk in *K) mult=1024 ;; *) mult=1048576 ;; esac
		echo "peers: md resync_bytes $(( bits * ${chunk% *} * mult ))"
		echo "peers: md data_offset $(mdadm -E /dev/vda | sed -n 's/.*Data Offset : \([0-9]*\) sectors.*/\1/p')"
		mdadm --assemble --run /dev/md0 /dev/vda /dev/vdb || fail "peers: md assemble"
		mdadm --wait /dev/md0
		;;
	dm-mirror)
		dmsetup create m --table "0 $sectors mirror disk 2 /dev/vdc 2048 2 /dev/vda 0 /dev/vdb 0 1 handle_errors" || fail "peers: dm-mirror"
		r=$(dmsetup status m | awk '{ print $(5 + $4) }')
		echo "peers: dm-mirror resync_bytes $(( (${r#*/} - ${r%/*}) * 1048576 ))"
		i=0
		while [ $i -lt 3000 ]; do
			r=$(dmsetup status m | awk '{ print $(5 + $4) }')
			[ "${r%/*}" = "${r#*/}" ] && break
			sleep 0.1; i=$((i + 1))
		done
		[ "${r%/*}" = "${r#*/}" ] || fail "peers: dm-mirror not in sync after 300 s"
		;;
	esac
	echo "peers: $peer in_sync_seconds $(elapsed "$t")"
	pass "peers: $peer recovered"
fi
