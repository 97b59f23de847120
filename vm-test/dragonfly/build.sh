#!/usr/bin/env bash
# Builds what make dragonfly-test boots: a DragonFly kernel from the tree in
# ../shared/third_party/dragonfly (config DMMTEST, clang), GRUB with its
# 64-bit relocator fixed, and the project's parts: dm_target_mirror.ko
# through the tree's own bsd.kmod.mk against that kernel's build
# directory, the guest's test driver, mirrorctl for DragonFly
# (scripts/mirrorctl-dragonfly.sh), a root image and a boot ISO.
# The tree and the kernel are cached outside the clone, keyed by their
# inputs (DMM_CACHE, default /var/cache/dm-mirror): a second run rebuilds
# only the project's parts. Output: build/dragonfly/dfly.iso.
# `build.sh tree` unpacks the tree only and prints where it is.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=vm-test/dragonfly
tarball=${DFLY_TARBALL:-../shared/third_party/dragonfly/dragonfly-src-f875a8e.tar.gz}
cache=${DMM_CACHE:-/var/cache/dm-mirror}
out=build/dragonfly
jobs=$(($(nproc) + 1))
say() { echo "dragonfly-test: $*" >&2; }
[ -f "$tarball" ] || { say "no DragonFly tree at $tarball" >&2; exit 2; }

# The tree: unpacked once per tarball, with the one kernel fix the boot
# needs (docs/dragonfly.md: alst_radix_init writes past vm_contig_ameta).
key() { cat "$@" | sha256sum | cut -c1-16; }
src_key=$(key "$tarball" "$here/tree-fix.sh")
tree=$cache/dragonfly-$src_key
if [ ! -f "$tree/.done" ]; then
	say "unpacking the DragonFly tree into $tree"
	rm -rf "$tree" && mkdir -p "$tree"
	tar xzf "$tarball" -C "$tree"
	bash "$here/tree-fix.sh" "$tree/dragonfly"
	touch "$tree/.done"
fi
dfly=$tree/dragonfly
mkdir -p "$cache" "$out"
echo "$dfly" > "$out/tree"
# `build.sh tree`: the unpacked tree only (make kmod-check's DragonFly tree).
if [ "${1:-}" = tree ]; then
	echo "$dfly"
	exit 0
fi

# Shims the kernel build expects of a DragonFly host.
shims=$cache/shims
mkdir -p "$shims/bin" "$shims/lib"
ln -sf /usr/bin/bmake "$shims/bin/make" # newvers.sh runs `make -V`
ln -sf "$(gcc -print-libgcc-file-name)" "$shims/lib/libgcc.a"
export PATH=$shims/bin:$PATH
mk=(bmake -m "$dfly/share/mk" MACHINE_PLATFORM=pc64 MACHINE=x86_64 MACHINE_ARCH=x86_64
	CCVER=clang NO_WERROR=1 SYSDIR="$dfly/sys")
kcc="clang --target=x86_64-unknown-dragonfly -L$shims/lib"

# config(8), built for Linux: byacc wants newdev() declared before use.
config=$cache/config-$src_key/config
if [ ! -x "$config" ]; then
	say "building config(8)"
	c=$dfly/usr.sbin/config
	d=$(dirname "$config") && rm -rf "$d" && mkdir -p "$d"
	sed 's/^static int connect(char \*, int);/&\nstatic void newdev(struct device *);/' "$c/config.y" > "$d/config.y"
	(cd "$d" && yacc -d config.y && lex -o lang.c "$c/lang.l" &&
		for f in y.tab.c lang.c "$c"/{main,mkioconf,mkmakefile,mkheaders,mkoptions}.c; do
			gcc -c -w -D_GNU_SOURCE -include bsd/string.h -I. -I"$c" "$f"
		done && gcc -o config ./*.o -lfl -lbsd)
fi

# The kernel.
kern_key=$(key "$tarball" "$here/tree-fix.sh" "$here/DMMTEST")
kbuild=$cache/kernel-$kern_key
if [ ! -f "$kbuild/.done" ]; then
	say "building the DragonFly kernel (config DMMTEST, clang; about 30 s on 2 cores)"
	rm -rf "$kbuild"
	cp "$here/DMMTEST" "$dfly/sys/config/DMMTEST"
	(cd "$dfly/sys/config" && "$config" -d "$kbuild" DMMTEST > /dev/null)
	(cd "$kbuild" && "${mk[@]}" NO_MODULES=1 CC="$kcc" assym.s > build.log 2>&1 &&
		"${mk[@]}" NO_MODULES=1 CC="$kcc" -j"$jobs" >> build.log 2>&1) ||
		{ tail -n 30 "$kbuild/build.log"; say "kernel build failed ($kbuild/build.log)" >&2; exit 1; }
	touch "$kbuild/.done"
fi
echo "$kbuild" > "$out/kernel-build"

# GRUB's i386-pc modules with the 64-bit relocator's jump fixed
# (docs/dragonfly.md): without it every kfreebsd boot of a 64-bit kernel
# triple-faults.
grub=$cache/grub-$(key /usr/lib/grub/i386-pc/relocator.mod "$here/grub-fix.py")
if [ ! -f "$grub/.done" ]; then
	rm -rf "$grub" && mkdir -p "$grub"
	cp -a /usr/lib/grub/i386-pc "$grub/"
	python3 "$here/grub-fix.py" "$grub/i386-pc/relocator.mod"
	touch "$grub/.done"
fi

# Ours: the core for the kernel, then the module through bsd.kmod.mk.
say "building dm_target_mirror.ko with the tree's bsd.kmod.mk against $kbuild"
scripts/check-kernel-build.sh > "$out/kernel-check.log"
mod=$out/module && rm -rf "$mod" && mkdir -p "$mod"
(cd kmod/dragonfly && MAKEOBJDIR="$(realpath "../../$mod")" "${mk[@]}" \
	CC="$kcc" DMM_CFLAGS=-DDMM_STACK_REPORT BUILDING_WITH_KERNEL="$kbuild" DMM_ROOT="$(realpath ../..)" > "../../$mod/build.log" 2>&1) ||
	{ cat "$mod/build.log"; say "module build failed" >&2; exit 1; }
[ -f "$mod/dm_target_mirror.ko" ] || { cat "$mod/build.log"; say "no dm_target_mirror.ko" >&2; exit 1; }

# The guest's /sbin/init: our test driver (freestanding, raw syscalls).
say "building the guest's test driver"
g=$here/guest
clang --target=x86_64-unknown-dragonfly -O1 -ffreestanding -fno-builtin -fno-stack-protector \
	-fno-pic -nostdlib -static -fuse-ld=lld -Wl,--no-pie -Wl,-e,_start \
	-Wall -Wextra -Werror -Ivm-test/guest \
	-o "$out/init" "$g/start.S" "$g"/*.c

# mirrorctl for DragonFly (std built against a sysroot from the tree).
say "building mirrorctl for DragonFly"
ctl_dfly=$(scripts/mirrorctl-dragonfly.sh)

# Root image and ISO: GRUB preloads the root image as md0.
root=$out/rootdir && rm -rf "$root" && mkdir -p "$root"/{sbin,dev,boot}
cp "$out/init" "$root/sbin/init"
strip -o "$root/sbin/mirrorctl" "$ctl_dfly"
cp "$mod/dm_target_mirror.ko" "$root/boot/"
rm -f "$out/root.img"
makefs -t ffs -o version=1 -B le -s 16m -f 256 "$out/root.img" "$root" > /dev/null
iso=$out/iso && rm -rf "$iso" && mkdir -p "$iso/boot/grub"
cp "$kbuild/kernel.stripped" "$iso/boot/kernel"
cp "$out/root.img" "$iso/boot/root.img"
cp "$here/grub.cfg" "$iso/boot/grub/grub.cfg"
grub-mkrescue -d "$grub/i386-pc" -o "$out/dfly.iso" "$iso" > "$out/grub.log" 2>&1 ||
	{ cat "$out/grub.log"; exit 1; }
say "built $out/dfly.iso"
