#!/usr/bin/env bash
# Builds the test guest from Debian packages: the kernel image and its
# modules, the matching headers (for dm-dmmirror.ko), busybox-static,
# dmsetup, lvm2 and mdadm; an initramfs whose /init runs the scenario named
# on the kernel command line. Everything downloaded is cached under
# build/vm, so a second run only rebuilds the module and the initramfs.
# Nothing is installed on the host except by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
vm=build/vm
# Current package lists name the kernel whose packages can be downloaded.
if [ ! -f "$vm/.lists-updated" ] || [ -n "$(find "$vm/.lists-updated" -mmin +1440)" ]; then
	mkdir -p "$vm"
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq && touch "$vm/.lists-updated"
fi
abi=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { sub("linux-image-", "", $2); print $2; exit }')
[ -n "$abi" ] || { echo "vm-test: no linux-image-amd64 in apt's lists" >&2; exit 1; }
root=$vm/root-$abi
headers=$root/usr/src/linux-headers-$abi
if [ ! -f "$root/.done" ]; then
	echo "vm-test: fetching the Debian kernel $abi (image, headers, kbuild)"
	rm -rf "$root" "$vm/debs" && mkdir -p "$root" "$vm/debs"
	common=$(apt-cache depends "linux-headers-$abi" | awk '/Depends: linux-(headers|kbuild)-/ { print $2 }')
	(cd "$vm/debs" && apt-get download -q "linux-image-$abi" "linux-headers-$abi" $common 2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
	for d in "$vm"/debs/*.deb; do dpkg -x "$d" "$root"; done
	# The headers include their common half by absolute path.
	sed -i "s|^include /usr/src/|include $(realpath "$root")/usr/src/|" "$headers/Makefile"
	touch "$root/.done"
fi
cp "$root/boot/vmlinuz-$abi" "$vm/vmlinuz"

echo "vm-test: building dm-dmmirror.ko against $abi"
vm-test/build-module.sh "$vm/module" "$headers" > "$vm/module.log" 2>&1 || { cat "$vm/module.log"; exit 1; }

initrd=$vm/initrd
rm -rf "$initrd" && mkdir -p "$initrd"/{bin,sbin,lib/modules,proc,sys,dev,tmp,etc,run,scenarios}
cp /bin/busybox "$initrd/bin/busybox"
for applet in $("$initrd/bin/busybox" --list); do
	[ -e "$initrd/bin/$applet" ] || ln -s busybox "$initrd/bin/$applet"
done
# Modules in load order, each after what it depends on.
mods=$root/lib/modules/$abi/kernel
declare -A seen=()
order=()
add_module() { # add_module NAME
	local name=$1 path deps d
	[ -n "${seen[$name]:-}" ] && return
	seen[$name]=1
	path=$(find "$mods" -name "$name.ko" -o -name "${name//_/-}.ko" | head -n 1)
	[ -n "$path" ] || { echo "vm-test: module $name not found" >&2; exit 1; }
	deps=$(readelf -p .modinfo "$path" | sed -n 's/.*depends=//p' | tr ',' ' ')
	for d in $deps; do add_module "$d"; done
	order+=("$path")
}
# The base set loads at boot; Linux's dm-mirror and md raid1 only in the
# scenarios that compare with them (LVM needs "mirror" to be ours).
write_order() { # write_order FILE
	: > "$initrd/lib/modules/$1"
	for p in "${order[@]}"; do
		cp "$p" "$initrd/lib/modules/"
		basename "$p" >> "$initrd/lib/modules/$1"
	done
	order=()
}
for m in virtio_pci virtio_blk dm_mod dm_flakey; do add_module "$m"; done
write_order order
for m in dm_mirror raid1; do add_module "$m"; done
write_order order-peers
# RAM disks for the kernel benchmark (loaded there, with its sizes).
add_module brd
write_order order-bench
# A disk that fails reads part way (readfail), 80 MiB, medium errors set
# by the scenario.
for m in scsi_debug sd_mod; do add_module "$m"; done
write_order order-fault
cp "$vm/module/dm-dmmirror.ko" "$initrd/lib/modules/"
# dmsetup, lvm and mdadm with the libraries they link.
for bin in /usr/sbin/dmsetup /usr/sbin/lvm /usr/sbin/mdadm; do
	cp "$bin" "$initrd/sbin/"
	for lib in $(ldd "$bin" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
		mkdir -p "$initrd$(dirname "$lib")"
		cp -L "$lib" "$initrd$lib"
	done
done
mkdir -p "$initrd/lib64" && cp -L /lib64/ld-linux-x86-64.so.2 "$initrd/lib64/"
for tool in pvcreate pvs vgcreate vgs vgchange lvcreate lvs lvchange lvconvert lvremove; do ln -s lvm "$initrd/sbin/$tool"; done
# No udev and no dmeventd in the guest: LVM makes the nodes itself and
# does not monitor mirrors.
mkdir -p "$initrd/etc/lvm" && printf 'global {\n\tuse_lvmetad = 0\n}\nactivation {\n\tudev_sync = 0\n\tudev_rules = 0\n\tmonitoring = 0\n}\ndevices {\n\tobtain_device_list_from_udev = 0\n}\n' > "$initrd/etc/lvm/lvm.conf"
gcc -O2 -static -Wall -o "$initrd/bin/recwrite" vm-test/guest/recwrite.c
gcc -O2 -static -Wall -pthread -o "$initrd/bin/ioload" vm-test/guest/ioload.c
cp vm-test/guest/init "$initrd/init"
cp vm-test/scenarios/*.sh "$initrd/scenarios/"
chmod +x "$initrd/init" "$initrd/scenarios/"*.sh
(cd "$initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$vm/initrd.img"
echo "vm-test: guest ready: $vm/vmlinuz, $vm/initrd.img ($(du -h "$vm/initrd.img" | cut -f1))"
