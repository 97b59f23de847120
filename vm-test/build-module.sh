#!/usr/bin/env bash
# Builds dm-dmmirror.ko against the headers of the guest's Debian kernel.
# Usage: vm-test/build-module.sh BUILD_DIR KERNEL_HEADERS_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
headers=$2
scripts/check-kernel-build.sh > /dev/null
rm -rf "$out" && mkdir -p "$out"
cp kmod/linux/Kbuild kmod/linux/*.c kmod/common/*.[ch] sys/include/dm_mirror.h "$out/"
objcopy --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd target/kernel/dmmirror-kernel.o "$out/dmmirror_core.o_shipped"
# modpost wants a .cmd file for every object it sees.
echo "cmd_$out/dmmirror_core.o := cp dmmirror_core.o_shipped dmmirror_core.o" > "$out/.dmmirror_core.o.cmd"
make -s -C "$headers" M="$(realpath "$out")" modules 2>&1 | grep -v "^$" || true
test -f "$out/dm-dmmirror.ko"
