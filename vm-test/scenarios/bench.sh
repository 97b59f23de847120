# bench ROUNDS SECONDS SECTORS DATA_OFFSET: ours, md raid1 (internal bitmap) and Linux
# dm-mirror (disk log) on the same RAM-backed legs (brd: /dev/ram0 and
# /dev/ram1, /dev/ram2 for dm-mirror's log), interleaved over ROUNDS, each
# workload for SECONDS. Ours gets fresh metadata before each round: the
# first DATA_OFFSET sectors of /dev/vda and /dev/vdb, written by mirrorctl
# create on the host. Prints "bench: ROUND PEER WORKLOAD iops I mbps M".
. /scenarios/lib.sh
rounds=$1 seconds=$2 sectors=$3 data_offset=$4
for m in $(cat /lib/modules/order-peers); do
	name=$(basename "$m" .ko | tr - _)
	[ -d "/sys/module/$name" ] || insmod "/lib/modules/$m"
done
load_ours
# Legs just large enough for the mirror's data and our metadata (KiB).
leg_kib=$(( ($(blockdev --getsz /dev/vda) + 1) / 2 ))
insmod /lib/modules/brd.ko rd_nr=3 rd_size=$leg_kib || fail "bench: brd"
span=$(( sectors * 512 ))
# name mode block-size threads
workloads="seq-write-qd1 seqwrite 1048576 1
seq-write-qd8 seqwrite 1048576 8
rand-write-4k-qd1 randwrite 4096 1
rand-write-4k-qd32 randwrite 4096 32
fsync-records fsync 4096 1
rand-read-4k-qd32 randread 4096 32
seq-read-1m seqread 1048576 8
mix-70-30 mix70 4096 16"
up() { # up PEER: the mirror over the RAM legs, as /dev/mapper/m or /dev/md0
	case $1 in
	ours)
		# Our metadata as mirrorctl create wrote it, before the data.
		dd if=/dev/vda of=/dev/ram0 bs=512 count="$data_offset" 2>/dev/null &&
			dd if=/dev/vdb of=/dev/ram1 bs=512 count="$data_offset" 2>/dev/null &&
			dmsetup create m --table "0 $sectors dmmirror 2 /dev/ram0 /dev/ram1"
		;;
	md)
		mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 \
			--bitmap=internal --bitmap-chunk=1M --assume-clean /dev/ram0 /dev/ram1
		;;
	dm-mirror)
		dd if=/dev/zero of=/dev/ram2 bs=1M count=1 2>/dev/null &&
			dmsetup create m --table "0 $sectors mirror disk 3 /dev/ram2 2048 nosync 2 /dev/ram0 0 /dev/ram1 0 1 handle_errors"
		;;
	esac
}
down() { # down PEER
	case $1 in
	md) mdadm --stop /dev/md0 >/dev/null && mdadm --zero-superblock /dev/ram0 /dev/ram1 ;;
	*) dmsetup remove m ;;
	esac
}
round=1
while [ $round -le "$rounds" ]; do
	for peer in ours md dm-mirror; do
		up $peer || fail "bench: $peer: create"
		dev=/dev/mapper/m
		[ $peer = md ] && dev=/dev/md0
		echo "$workloads" | while read -r name mode bs threads; do
			r=$(ioload $dev "$mode" "$bs" "$threads" "$seconds" "$span") ||
				{ echo "bench: $round $peer $name FAILED"; continue; }
			echo "bench: $round $peer $name $(echo "$r" | awk '{ print "iops", $6, "mbps", $8 }')"
		done
		if [ $peer = ours ]; then
			echo "bench: $round ours status $(dmsetup status m)"
			down ours || fail "bench: ours: remove"
			# Every write reached both legs: their data areas are equal.
			skip=$((data_offset * 512))
			cmp /dev/ram0 /dev/ram1 $skip $skip || fail "bench: round $round: the legs differ"
			echo "bench: $round ours legs identical"
			continue
		fi
		down $peer || fail "bench: $peer: remove"
	done
	round=$((round + 1))
done
pass "bench"
