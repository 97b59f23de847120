#!/usr/bin/env bash
# Builds dm-dmmirror.ko against the headers of the guest's Debian kernel.
# Usage: vm-test/build-module.sh BUILD_DIR KERNEL_HEADERS_DIR
# DMM_BREAK=drop-leg0-writes or no-clean-stop builds it with that mistake
# on purpose.
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
flags=
case ${DMM_BREAK:-} in
"") ;;
drop-leg0-writes) flags=-DDMM_BREAK_DROP_LEG0_WRITES ;;
no-clean-stop) flags=-DDMM_BREAK_NO_CLEAN_STOP ;;
*) echo "build-module: unknown DMM_BREAK ${DMM_BREAK}" >&2; exit 2 ;;
esac
make -s -C "$headers" M="$(realpath "$out")" DMM_BREAK_CFLAGS="$flags" modules 2>&1 | grep -v "^$" || true
test -f "$out/dm-dmmirror.ko"
