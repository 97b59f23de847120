# lvm PHASE: LVM's own mirror type on our module registered as "mirror"
# (Linux's dm-mirror is not loaded). Phase 1: pvcreate, vgcreate,
# lvcreate --type mirror -m1 with a disk log on vdc; lvs shows the first
# copy's progress; records written; image 1 fails under the mirror (an
# error table swapped under its LV); records go on; the status shows the
# failure. Phase 2 (a fresh boot, image 1's disk working again):
# vgchange -ay assembles from the log, image 1 gets only the chunks
# written while it was out, the images end identical; then image 1's disk
# dies: lvs shows the LV partial, and LVM's repair (lvconvert --repair,
# as dmeventd would run it) reads the failure from our status and drops
# the image. The PVs are dm-linear devices over the disks (pv0..pv2), so
# that a disk can die under LVM's eyes.
. /scenarios/lib.sh
phase=$1
load_ours register_as_mirror=1
for i in 0 1 2; do
	disk=/dev/vd$(echo abc | cut -c$(( i + 1 )))
	dmsetup create "pv$i" --table "0 $(blockdev --getsz "$disk") linear $disk 0" ||
		fail "lvm: cannot make pv$i"
done
# LVM sees the wrappers only (not the disks under them).
sed -i 's|^devices {|devices {\n\tfilter = [ "a\|^/dev/mapper/pv\|", "r\|.*\|" ]|' /etc/lvm/lvm.conf
percent() { lvs --noheadings -o copy_percent vg/lv 2>/dev/null | tr -d ' '; }
# samples SECONDS: copy_percent every 0.5 s until 100.00 (or SECONDS pass).
samples() {
	i=0
	while [ $i -lt $(( $1 * 2 )) ]; do
		p=$(percent)
		echo "$p"
		[ "$p" = "100.00" ] && return 0
		sleep 0.5
		i=$(( i + 1 ))
	done
	return 1
}
# Image 1's LV becomes dm-error under the running mirror.
fail_image_1() {
	n=$(dmsetup table vg-lv_mimage_1 | awk '{ print $2 }')
	dmsetup suspend vg-lv_mimage_1 &&
		dmsetup reload vg-lv_mimage_1 --table "0 $n error" &&
		dmsetup resume vg-lv_mimage_1 || fail "lvm: cannot swap an error table under image 1"
}
# Where a sub-LV (lv_mimage_0, lv_mlog, ...) starts on its PV, in sectors.
lv_at() {
	dev=$(lvs -a --noheadings -o devices "vg/$1" | tr -d ' ')
	pv=${dev%%(*}
	extent=${dev#*(}
	extent=${extent%)}
	pe_start=$(pvs --noheadings --units s --nosuffix -o pe_start "$pv" | tr -d ' ')
	size=$(vgs --noheadings --units s --nosuffix -o vg_extent_size vg | tr -d ' ')
	echo "$pv at sector $(( pe_start + extent * size ))"
}
image_at() { echo "lvm: image $1 on $(lv_at "lv_mimage_$1")"; }
if [ "$phase" = 1 ]; then
	pvcreate -ff -y /dev/mapper/pv0 /dev/mapper/pv1 /dev/mapper/pv2 > /dev/null || fail "lvm: pvcreate"
	vgcreate vg /dev/mapper/pv0 /dev/mapper/pv1 /dev/mapper/pv2 > /dev/null || fail "lvm: vgcreate"
	lvcreate -y --type mirror -m 1 --mirrorlog disk --regionsize 512k -L 96M -n lv \
		vg /dev/mapper/pv0 /dev/mapper/pv1 /dev/mapper/pv2 || fail "lvm: lvcreate --type mirror"
	# Slow the first copy so that lvs can be seen following it.
	dmsetup message vg-lv 0 resync_rate 2000 2000 || fail "lvm: resync_rate"
	echo "lvm: table: $(dmsetup table vg-lv)"
	echo "lvm: status: $(dmsetup status vg-lv)"
	dmsetup status vg-lv | grep -q " dirty=" || fail "lvm: vg-lv is not run by our module"
	image_at 0
	image_at 1
	echo "lvm: log on $(lv_at lv_mlog)"
	first=$(percent)
	# At 2 MB/s a 512 KiB region takes 0.25 s; a busy host may starve the
	# guest for a while, so look for progress over up to 10 s.
	i=0
	second=$first
	while [ $i -lt 10 ] && [ "$second" = "$first" ]; do
		sleep 1
		second=$(percent)
		i=$((i + 1))
	done
	echo "lvm: copy_percent while throttled: $first then $second"
	dmsetup message vg-lv 0 resync_rate 100000 1000000 || fail "lvm: resync_rate"
	samples 300 > /tmp/samples || fail "lvm: first copy did not finish: $(dmsetup status vg-lv)"
	echo "lvm: copy_percent then: $(tr '\n' ' ' < /tmp/samples)"
	awk -v a="$first" -v b="$second" 'BEGIN { exit !(a < b && b < 100) }' ||
		fail "lvm: lvs did not show the first copy progressing ($first, $second)"
	recwrite /dev/vg/lv 41 33554432 200 > /tmp/acks1 || fail "lvm: records"
	# Once the records' chunks are CLEAN again, only what is written while
	# image 1 is out is MODIFIED.
	i=0
	while [ $i -lt 300 ] && ! dmsetup status vg-lv | grep -q " dirty=0 "; do sleep 0.1; i=$((i + 1)); done
	dmsetup status vg-lv | grep -q " dirty=0 " ||
		fail "lvm: the records' chunks never came back to CLEAN: $(dmsetup status vg-lv)"
	fail_image_1
	recwrite /dev/vg/lv 42 33554432 200 50331648 > /tmp/acks2 ||
		fail "lvm: a write failed after image 1 failed"
	echo "lvm: status after failure: $(dmsetup status vg-lv)"
	[ "$(health vg-lv)" = AD ] || fail "lvm: status does not show image 1 failed: $(health vg-lv)"
	lvs -a -o name,attr,copy_percent,devices vg | sed 's/^/lvm: lvs: /'
	sed 's/^ack /ack1 /' /tmp/acks1
	sed 's/^ack /ack2 /' /tmp/acks2
	vgchange -an vg > /dev/null || fail "lvm: vgchange -an"
	pass "lvm: phase 1"
else
	vgchange -ay vg > /dev/null || fail "lvm: vgchange -ay"
	echo "lvm: status at activation: $(dmsetup status vg-lv)"
	samples 300 > /tmp/samples || fail "lvm: image 1 not rebuilt: $(dmsetup status vg-lv)"
	echo "lvm: copy_percent: $(tr '\n' ' ' < /tmp/samples)"
	echo "lvm: status in sync: $(dmsetup status vg-lv)"
	dmesg | grep -i 'dmmirror' | sed 's/^/lvm: log: /'
	dmesg | grep -q "rebuild of leg 1 started (MODIFIED chunks only)" ||
		fail "lvm: the rebuild did not copy only the MODIFIED chunks"
	cmp /dev/mapper/vg-lv_mimage_0 /dev/mapper/vg-lv_mimage_1 ||
		fail "lvm: images differ after the rebuild"
	# Image 1's disk dies. LVM's own repair (what dmeventd runs) reads our
	# status, finds the failed image and drops it: the LV goes on, linear.
	n=$(dmsetup table pv1 | awk '{ print $2 }')
	dmsetup suspend pv1 && dmsetup reload pv1 --table "0 $n error" &&
		dmsetup resume pv1 || fail "lvm: cannot fail pv1"
	recwrite /dev/vg/lv 43 16777216 100 83886080 > /tmp/acks3 ||
		fail "lvm: a write failed after image 1's disk died"
	echo "lvm: status after the disk died: $(dmsetup status vg-lv)"
	[ "$(health vg-lv)" = AD ] || fail "lvm: status does not show image 1 failed: $(health vg-lv)"
	lvs -a -o name,attr,copy_percent,devices vg 2>&1 | sed 's/^/lvm: lvs: /'
	attr=$(lvs --noheadings -o lv_attr vg/lv 2> /dev/null | tr -d ' ')
	echo "lvm: lv_attr after the disk died: $attr"
	case $attr in
	????????p*) ;;
	*) fail "lvm: lvs does not show the LV partial (attr $attr)" ;;
	esac
	rc=0
	lvconvert --repair --use-policies -y vg/lv > /tmp/repair 2>&1 || rc=$?
	sed 's/^/lvm: repair: /' /tmp/repair
	[ "$rc" -eq 0 ] || fail "lvm: lvconvert --repair exited $rc"
	grep -q "1 of 2 images failed" /tmp/repair ||
		fail "lvm: lvconvert --repair did not see image 1 failed in our status"
	lvs -a -o name,attr,segtype,devices vg | sed 's/^/lvm: lvs after repair: /'
	[ "$(lvs --noheadings -o segtype vg/lv | tr -d ' ')" = linear ] ||
		fail "lvm: the repaired LV is not linear"
	sed 's/^ack /ack3 /' /tmp/acks3
	vgchange -an vg > /dev/null || fail "lvm: vgchange -an"
	pass "lvm: phase 2: image 1 rebuilt from the log's bitmap, images identical; failed again and repaired by LVM"
fi
