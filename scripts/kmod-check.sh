#!/usr/bin/env bash
# make kmod-check DFLY_SRC=...: compiles the DragonFly module's C (adapter,
# glue) against a real DragonFly kernel tree, links it with the Rust core
# built for the kernel (ld -r, as the module's own Makefile does) and
# checks what the module still needs from the kernel:
#   - every undefined symbol is on kmod/dragonfly/kernel-symbols.txt and
#     is defined somewhere in that tree's sys/;
#   - every relocation type is one DragonFly's kld loader applies
#     (sys/cpu/x86_64/misc/elf_machdep.c of the same tree).
# Without DFLY_SRC (CI has no DragonFly tree) it says so and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DFLY_SRC:-}" ]; then
	echo "kmod-check: SKIPPED: no DragonFly source tree given (make kmod-check DFLY_SRC=/path; docs/dragonfly.md says how to get one)"
	exit 0
fi
sys=$DFLY_SRC/sys
[ -d "$sys/kern" ] || { echo "kmod-check: $sys/kern not found" >&2; exit 2; }
command -v clang > /dev/null || { echo "kmod-check: clang missing (apt-get install clang)" >&2; exit 2; }
tool=../shared/tools/dfly-kmod-check
out=build/kmod-dragonfly
rm -rf "$out" && mkdir -p "$out/inc/fwd/machine"
srcs=(kmod/dragonfly/dm_target_mirror.c kmod/common/dmm_glue.c kmod/common/dmm_admin.c)

# 1. The shared checker, when this machine has it (the reference layout).
if [ -x "$tool" ]; then
	DFLY_SRC=$DFLY_SRC "$tool" -I sys/include -I kmod/common "${srcs[@]}" 2>&1 |
		grep -E '^(dfly-kmod-check|kmod/|sys/include/)' || true
	[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "kmod-check: FAIL: compile errors" >&2; exit 1; }
fi

# 2. Objects for the link: the include layout of sys/conf/kmod.mk.
ln -s "$sys/platform/pc64/include" "$out/inc/machine"
ln -s "$sys/platform/pc64" "$out/inc/machine_base"
ln -s "$sys/cpu/x86_64/include" "$out/inc/cpu"
ln -s "$sys/cpu/x86_64" "$out/inc/cpu_base"
for h in "$sys"/cpu/x86_64/include/*.h; do
	b=$(basename "$h")
	[ -e "$sys/platform/pc64/include/$b" ] || printf '#include <cpu/%s>\n' "$b" > "$out/inc/fwd/machine/$b"
done
: > "$out/inc/opt_global.h"
objs=()
for f in "${srcs[@]}"; do
	o=$out/$(basename "$f" .c).o
	echo "kmod-check: compiling $f against $sys"
	clang --target=x86_64-unknown-dragonfly -D_KERNEL -DKLD_MODULE -std=gnu99 \
		-ffreestanding -nostdinc -fno-common -mcmodel=kernel -mno-red-zone \
		-mno-mmx -mno-sse -mno-sse2 -msoft-float -O2 -Wall -Wno-pointer-sign -Werror \
		-I"$out/inc" -I"$out/inc/fwd" -I"$sys" -Isys/include -Ikmod/common \
		-include "$out/inc/opt_global.h" -c "$f" -o "$o"
	objs+=("$o")
done

# 3. The Rust core for the kernel, and the module's partial link.
scripts/check-kernel-build.sh > "$out/kernel-build.log"
ld -r -o "$out/module.o" "${objs[@]}" target/kernel/dmmirror-kernel.o
echo "kmod-check: linked $out/module.o (${objs[*]##*/} + the Rust core)"

# 4. What it needs from the kernel: the undefined symbols relocations
# refer to (mycpu's asm names __mycpu__dummy without using it), except
# the linker sets' bounds, which the kld linker makes itself
# (link_elf_obj_fix_link_set in sys/kern/link_elf_obj.c).
grep -q "__start_" "$sys/kern/link_elf_obj.c" || { echo "kmod-check: FAIL: this kld linker does not make linker-set bounds" >&2; exit 1; }
listed=$(grep -v '^#' kmod/dragonfly/kernel-symbols.txt | awk 'NF { print $1 }' | sort -u)
undefined=$(nm -u "$out/module.o" | awk '{ print $2 }' | sort -u)
relocated=$(readelf -rW "$out/module.o" | awk '$3 ~ /^R_X86_64/ { print $5 }' | sort -u)
need=$(comm -12 <(echo "$undefined") <(echo "$relocated") | grep -Ev '^__(start|stop)_set_' || true)
fail=0
extra=$(comm -23 <(echo "$need") <(echo "$listed"))
if [ -n "$extra" ]; then
	echo "kmod-check: FAIL: undefined symbols not on kmod/dragonfly/kernel-symbols.txt:" $extra
	fail=1
fi
for s in $need; do
	# A definition: "name(" at the start of a line (style(9)), a global
	# variable, a malloc type or an assembler global.
	if ! grep -rhE --include='*.c' --include='*.s' \
		"^$s\(|^MALLOC_DEFINE\($s,|^[a-z][a-z_0-9[:space:]]*[[:space:]*]$s( = [^;]*)?;|^[[:space:]]*\.globl[[:space:]]+$s\$" \
		"$sys/kern" "$sys/vm" "$sys/libkern" "$sys/dev/disk/dm" "$sys/platform/pc64" "$sys/cpu/x86_64" |
		grep -qv '^extern'; then
		echo "kmod-check: FAIL: $s is not defined in $sys"
		fail=1
	fi
done
echo "kmod-check: $(echo "$need" | wc -w) kernel symbols needed, each defined in the tree:" $need
supported=$(grep -oE 'case R_X86_64_[A-Z0-9]+' "$sys/cpu/x86_64/misc/elf_machdep.c" | awk '{ print $2 }' | sort -u)
used=$(readelf -rW "$out/module.o" | awk '$3 ~ /^R_X86_64/ { print $3 }' | sort -u)
bad=$(comm -23 <(echo "$used") <(echo "$supported"))
if [ -n "$bad" ]; then
	echo "kmod-check: FAIL: relocations DragonFly's kld loader does not apply:" $bad
	fail=1
fi
echo "kmod-check: relocations used:" $used "(all applied by $sys/cpu/x86_64/misc/elf_machdep.c)"
# link_elf_obj.c panics ("lost base for relatab") on a relocation section
# whose target it did not load: only PROGBITS and NOBITS are loaded.
orphans=$(readelf -SW "$out/module.o" | perl -ne '
	next unless /^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S*)\s+(\d+)\s+(\d+)\s+\d+\s*$/;
	$type{$1} = $3; $name{$1} = $2;
	push @rel, [$2, $6] if $3 eq "RELA" || $3 eq "REL";
	END { for (@rel) { my ($n, $t) = @$_; print "$n " unless $type{$t} =~ /^(PROGBITS|NOBITS)$/ } }')
if [ -n "$orphans" ]; then
	echo "kmod-check: FAIL: relocation sections for sections the kld loader does not load: $orphans"
	fail=1
fi
[ $fail -eq 0 ] || exit 1
echo "kmod-check: PASS (compiled and linked here; not loaded: no DragonFly kernel on this machine)"
