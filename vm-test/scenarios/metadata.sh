# metadata SECONDS TAIL RATE CHUNK_KIB SPAN_SECTORS: how many metadata
# writes each mirror makes for the same 4 KiB write traces (ioload at RATE
# writes per second, 16 in flight, for SECONDS, then TAIL seconds idle):
# ours and Linux dm-mirror with their metadata on a log device, md raid1
# with its internal bitmap, all in service (every chunk in sync and clean:
# nosync, --assume-clean, then written once whole and left to clean),
# CHUNK_KIB chunks/regions, on RAM disks. Counts
# the write I/Os each RAM disk completed; the data writes (one per leg per
# request) taken off, the rest is metadata. Prints "meta: PEER WORKLOAD
# ops N ram0 W0 ram1 W1 ram2 W2".
. /scenarios/lib.sh
seconds=$1 tail=$2 rate=$3 chunk_kib=$4 span_sectors=$5
for m in $(cat /lib/modules/order-peers); do
	name=$(basename "$m" .ko | tr - _)
	[ -d "/sys/module/$name" ] || insmod "/lib/modules/$m"
done
load_ours
leg_kib=$(( span_sectors / 2 + 8192 ))
insmod /lib/modules/brd.ko rd_nr=3 rd_size=$leg_kib || fail "metadata: brd"
# brd keeps no I/O counts: each RAM disk behind a dm-linear device,
# which does.
for i in 0 1 2; do
	dmsetup create "c$i" --table "0 $(blockdev --getsz /dev/ram$i) linear /dev/ram$i 0" ||
		fail "metadata: linear"
done
leg=$(blockdev --getsz /dev/mapper/c0)
writes() { # writes NAME: write I/Os the dm device completed
	awk '{ print $5 }' "/sys/block/dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')/stat"
}
region=$(( chunk_kib * 2 ))
span=$(( span_sectors * 512 ))
up() { # up PEER
	case $1 in
	md)
		mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 \
			--bitmap=internal --bitmap-chunk="${chunk_kib}K" --assume-clean \
			/dev/mapper/c0 /dev/mapper/c1
		;;
	*)
		# A blank log: a new mirror, every region in sync (nosync).
		dd if=/dev/zero of=/dev/mapper/c2 bs=1M count=8 2>/dev/null &&
			dmsetup create m --table "0 $leg $( [ "$1" = ours ] && echo dmmirror || echo mirror ) disk 3 /dev/mapper/c2 $region nosync 2 /dev/mapper/c0 0 /dev/mapper/c1 0 1 handle_errors"
		;;
	esac
}
down() { # down PEER
	case $1 in
	md) mdadm --stop /dev/md0 >/dev/null && mdadm --zero-superblock /dev/mapper/c0 /dev/mapper/c1 ;;
	*) dmsetup remove m ;;
	esac
}
for workload in streamwrite randwrite hotwrite; do
	for peer in ours md dm-mirror; do
		up $peer || fail "metadata: $peer: create"
		dev=/dev/mapper/m
		[ $peer = md ] && dev=/dev/md0
		[ "$(blockdev --getsz $dev)" -ge "$span_sectors" ] || fail "metadata: $peer: smaller than the span"
		# In service: every chunk written once (whole) and cleaned since
		# (md clears on its daemon's second 5 s pass). What this wrote
		# is not counted.
		ioload $dev streamwrite 1048576 4 1 "$span" > /dev/null ||
			fail "metadata: $peer: fill"
		sleep 16
		w0=$(writes c0) w1=$(writes c1) w2=$(writes c2)
		[ -n "$w0" ] && [ -n "$w2" ] || fail "metadata: no I/O counts"
		r=$(ioload $dev "$workload" 4096 16 "$seconds" "$span" "$rate" $(( chunk_kib * 1024 ))) ||
			fail "metadata: $peer $workload: ioload"
		sleep "$tail"
		ops=$(echo "$r" | awk '{ print $2 }')
		echo "meta: $peer $workload ops $ops ram0 $(( $(writes c0) - w0 )) ram1 $(( $(writes c1) - w1 )) ram2 $(( $(writes c2) - w2 ))"
		[ $peer = ours ] && echo "meta: ours status $(dmsetup status m)"
		down $peer || fail "metadata: $peer: remove"
	done
done
pass "metadata"
