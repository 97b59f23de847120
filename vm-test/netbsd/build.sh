#!/usr/bin/env bash
# Builds what make netbsd-test runs: a NetBSD rump kernel (NetBSD 7.99's
# kernel code as libraries, run in a Linux process) from the sources in
# ../shared/third_party/netbsd-rump with buildrump.sh, DIAGNOSTIC and
# LOCKDEBUG on; then the project's parts: the module (adapter, glue, the
# core for the kernel) as a rump component, host-side proplib and the test
# driver, linked into one static binary.
# The rump build is cached outside the clone keyed by the two tarballs and
# the flags (DMM_CACHE, default /var/cache/dm-mirror): a second run builds
# only the project's parts. Output: build/netbsd/nbtest.
# `build.sh tree` unpacks the NetBSD sources only (seconds) and prints
# where; `build.sh rump` builds (or finds) the rump kernel and prints where.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=vm-test/netbsd
third=${NETBSD_RUMP_DIR:-../shared/third_party/netbsd-rump}
src_tgz=$third/src-netbsd-82f3a690.tar.gz
br_tgz=$third/buildrump.sh-6cccd46.tar.gz
cache=${DMM_CACHE:-/var/cache/dm-mirror}
out=build/netbsd
jobs=$(($(nproc) + 1))
say() { echo "netbsd-test: $*" >&2; }
for f in "$src_tgz" "$br_tgz"; do
	[ -f "$f" ] || { say "no NetBSD rump sources at $f"; exit 2; }
done

# The sources alone, for make kmod-check: unpacked once per tarball.
tree=$cache/netbsd-src-$(cat "$src_tgz" | sha256sum | cut -c1-16)
if [ "${1:-}" = tree ]; then
	if [ ! -f "$tree/.done" ]; then
		rm -rf "$tree" && mkdir -p "$tree"
		tar xzf "$src_tgz" -C "$tree"
		touch "$tree/.done"
	fi
	echo "$tree/src-netbsd"
	exit 0
fi

# The flags are part of the key: a change to them is a new kernel.
# -fcommon: the host tools and 2016 sources define globals in headers;
# NOGCCERROR: sp_common.c trips gcc 12's -Wcast-function-type;
# RUMP_LOCKDEBUG: lock order and sleep-under-spin checks (DIAGNOSTIC is on
# by default in Makefile.rump).
flags="HOST_CFLAGS=-O -fcommon|-V NOGCCERROR=1|-F CFLAGS=-fcommon|RUMP_LOCKDEBUG=1"
key() { { cat "$@"; echo "$flags"; } | sha256sum | cut -c1-16; }
rump_key=$(key "$src_tgz" "$br_tgz" "$here/tree-fix.sh")
rump=$cache/netbsd-rump-$rump_key
if [ ! -f "$rump/.done" ]; then
	say "building the NetBSD rump kernel into $rump (about 25 min on 2 cores, once)"
	rm -rf "$rump" && mkdir -p "$rump"
	tar xzf "$src_tgz" -C "$rump"
	tar xzf "$br_tgz" -C "$rump"
	bash "$here/tree-fix.sh" "$rump/src-netbsd"
	start=$(date +%s)
	(cd "$rump/buildrump.sh" &&
		HOST_CFLAGS="-O -fcommon" RUMP_LOCKDEBUG=1 ./buildrump.sh \
			-s "$rump/src-netbsd" -o "$rump/obj" -d "$rump/inst" \
			-T "$rump/obj/tooldir" -j"$jobs" -q -V NOGCCERROR=1 \
			-F CFLAGS=-fcommon tools build install) > "$rump/build.log" 2>&1 ||
		{ tail -n 40 "$rump/build.log"; say "rump build failed ($rump/build.log)"; exit 1; }
	say "rump kernel built in $(($(date +%s) - start)) s"
	touch "$rump/.done"
fi
mkdir -p "$out"
if [ "${1:-}" = rump ]; then
	echo "$rump"
	exit 0
fi

# The core for the kernel (x86_64-unknown-none, kernel code model), as the
# NetBSD module links it.
scripts/check-kernel-build.sh > "$out/kernel-build.log"
core=target/kernel/dmmirror-kernel.o

# The module as a rump component, by the tree's own make (rig/module.mk),
# and the rig's own kernel part (rig/softint.mk).
component() { # component NAME MAKEFILE
	rm -rf "$out/$1" && mkdir -p "$out/$1"
	cp "$2" "$out/$1/Makefile"
	(cd "$out/$1" && "$rump/obj/tooldir/bin/brrumpmake" MKPIC=no MKPROFILE=no \
		DMM_ROOT="$PWD/../../.." DMM_CORE="$PWD/../../../$core" dependall) > "$out/$1.log" 2>&1 ||
		{ tail -n 30 "$out/$1.log"; say "$1 did not build as a rump component"; exit 1; }
}
component component "$here/rig/module.mk"
component rig "$here/rig/softint.mk"

# Host-side proplib from the same tree (no Debian package has it).
prop=$out/prop
rm -rf "$prop" && mkdir -p "$prop/inc/sys"
src=$rump/src-netbsd
cp "$src/sys/sys/rbtree.h" "$prop/inc/sys/"
printf '#include <endian.h>\n' > "$prop/inc/sys/endian.h"
for f in "$src"/common/lib/libprop/*.c "$src/common/lib/libc/gen/rb.c"; do
	gcc -O2 -w -D_GNU_SOURCE -include "$here/host/nbcompat.h" -I"$prop/inc" \
		-I"$src/common/include" -c "$f" -o "$prop/$(basename "$f" .c).o"
done
ar rcs "$prop/libprop.a" "$prop"/*.o

# The driver, with the rump kernel inside (static archives, one binary).
inc=(-I"$rump/inst/include" -I"$src/common/include" -I"$here/host" -I"$here/rig")
for f in nbtest dmctl faultdisk; do
	gcc -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
		-include "$here/host/nbcompat.h" "${inc[@]}" \
		-c "$here/host/$f.c" -o "$out/$f.o"
done
libs=(rumpdev_dmmirror rumpdev_dmmrig rumpdev_dm rumpdev_disk rumpdev rumpvfs rump)
gcc -no-pie -o "$out/nbtest" "$out"/{nbtest,dmctl,faultdisk}.o \
	-Wl,--wrap=rumpuser_bio -Wl,--wrap=rumpuser_syncfd -Wl,--wrap=rumpuser_putchar \
	-L"$out/component" -L"$out/rig" -L"$rump/inst/lib" \
	-Wl,--whole-archive $(printf -- "-l:lib%s.a " "${libs[@]}") -Wl,--no-whole-archive \
	"$rump/inst/lib/librumpuser.a" "$prop/libprop.a" -lpthread -ldl -lrt
say "built $out/nbtest (NetBSD rump kernel $(basename "$rump"), our module inside)"
