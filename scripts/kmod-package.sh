#!/usr/bin/env bash
# make kmod-dragonfly / make kmod-netbsd: builds the Rust core for the
# kernel and packs what a BSD machine needs to build the module with its
# own make: build/dm_target_mirror-<os>.tar.gz (DragonFly's with mirrorctl
# built for DragonFly). On that OS itself, it builds the module in place.
# Usage: scripts/kmod-package.sh dragonfly|netbsd
set -euo pipefail
cd "$(dirname "$0")/.."
os=${1:?usage: kmod-package.sh dragonfly|netbsd}
[ -f "kmod/$os/Makefile" ] || { echo "kmod-package: no kmod/$os" >&2; exit 2; }
scripts/check-kernel-build.sh
case "$(uname -s)" in
DragonFly | NetBSD)
	make -C "kmod/$os"
	echo "kmod-package: built kmod/$os/dm_target_mirror.ko"
	exit 0
	;;
esac
load="kldload ./dm_target_mirror.ko"
[ "$os" = netbsd ] && load="modload ./dm_target_mirror.kmod"
stage=build/kmod-$os-src/dm-mirror
rm -rf "build/kmod-$os-src" && mkdir -p "$stage/kmod/$os" "$stage/kmod/common" "$stage/sys/include" "$stage/target/kernel"
cp "kmod/$os"/Makefile "kmod/$os"/*.c "$stage/kmod/$os/"
cp kmod/common/*.[ch] "$stage/kmod/common/"
cp sys/include/dm_mirror.h "$stage/sys/include/"
cp target/kernel/dmmirror-kernel.o "$stage/target/kernel/"
# DragonFly's package carries mirrorctl built for it (static): legs are
# created, examined and checked on the machine that holds them.
if [ "$os" = dragonfly ]; then
	mkdir -p "$stage/bin"
	strip -o "$stage/bin/mirrorctl" "$(scripts/mirrorctl-dragonfly.sh)"
fi
tar -C "build/kmod-$os-src" -czf "build/dm_target_mirror-$os.tar.gz" dm-mirror
echo "kmod-package: build/dm_target_mirror-$os.tar.gz; on $os (x86_64/amd64, kernel sources in /usr/src):"
echo "  tar xzf dm_target_mirror-$os.tar.gz && cd dm-mirror/kmod/$os && make && $load"
[ "$os" = dragonfly ] && echo "  mirrorctl: dm-mirror/bin/mirrorctl (static; install it as /usr/local/sbin/mirrorctl)"
exit 0
