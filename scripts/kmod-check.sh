#!/usr/bin/env bash
# make kmod-check: compiles a BSD module's C (adapter, glue), links it with
# the Rust core built for the kernel (ld -r, as the module's own Makefile
# does) and checks what the module still needs from the kernel:
#   - every undefined symbol its relocations use is on
#     kmod/<os>/kernel-symbols.txt (and, with a source tree, defined there);
#   - every relocation type is one the OS's module loader applies;
#   - no relocation section targets a section the loader does not load.
#
# Usage: scripts/kmod-check.sh dragonfly   (DFLY_SRC: a DragonFly tree; by
#                                          default the one in ../shared)
#        scripts/kmod-check.sh netbsd      (NetBSD 10's dm API, against
#                                          kmod/netbsd/check, this project's
#                                          reading of NetBSD 10's headers)
#        scripts/kmod-check.sh netbsd8     (NetBSD 8/9's dm API, against the
#                                          real headers of the rump kernel's
#                                          NetBSD 7.99 tree in ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
os=${1:?usage: kmod-check.sh dragonfly|netbsd|netbsd8}
command -v clang > /dev/null || { echo "kmod-check: clang missing (apt-get install clang)" >&2; exit 2; }
out=build/kmod-check-$os
rm -rf "$out" && mkdir -p "$out"
srcs=("kmod/${os%8}/dm_target_mirror.c" kmod/common/dmm_glue.c kmod/common/dmm_admin.c kmod/common/dmm_bsd.c kmod/common/dmm_claim.c)
# The code generation and warnings of DragonFly's sys/conf/kmod.mk (as
# bmake prints them), which NetBSD's kernel builds mostly share.
cflags=(-D_KERNEL -std=c99 -ffreestanding -nostdinc -fno-common -mcmodel=kernel
	-mno-red-zone -mno-mmx -mno-sse -mno-sse2 -msoft-float -O2
	-fno-asynchronous-unwind-tables -fno-strict-aliasing -fno-stack-protector
	-Wall -Wredundant-decls -Wnested-externs -Wstrict-prototypes
	-Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wold-style-definition
	-Winit-self -Wundef -Werror -Isys/include -Ikmod/common)

case $os in
dragonfly)
	# The DragonFly tree of make dragonfly-test, unpacked into its cache,
	# unless DFLY_SRC names another.
	if [ -z "${DFLY_SRC:-}" ]; then
		DFLY_SRC=$(vm-test/dragonfly/build.sh tree)
	fi
	sys=$DFLY_SRC/sys
	[ -d "$sys/kern" ] || { echo "kmod-check: $sys/kern not found" >&2; exit 2; }
	tool=../shared/tools/dfly-kmod-check
	if [ -x "$tool" ]; then # the shared checker, when this machine has it
		DFLY_SRC=$DFLY_SRC "$tool" -I sys/include -I kmod/common "${srcs[@]}" 2>&1 |
			grep -E '^(dfly-kmod-check|kmod/|sys/include/)' || true
		[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "kmod-check: FAIL: compile errors" >&2; exit 1; }
	fi
	# The include layout of sys/conf/kmod.mk.
	mkdir -p "$out/inc/fwd/machine"
	ln -s "$sys/platform/pc64/include" "$out/inc/machine"
	ln -s "$sys/platform/pc64" "$out/inc/machine_base"
	ln -s "$sys/cpu/x86_64/include" "$out/inc/cpu"
	ln -s "$sys/cpu/x86_64" "$out/inc/cpu_base"
	for h in "$sys"/cpu/x86_64/include/*.h; do
		b=$(basename "$h")
		[ -e "$sys/platform/pc64/include/$b" ] || printf '#include <cpu/%s>\n' "$b" > "$out/inc/fwd/machine/$b"
	done
	: > "$out/inc/opt_global.h"
	cflags+=(--target=x86_64-unknown-dragonfly -DKLD_MODULE -Wno-pointer-sign
		-I"$out/inc" -I"$out/inc/fwd" -I"$sys" -include "$out/inc/opt_global.h")
	against=$sys
	loader=$sys/cpu/x86_64/misc/elf_machdep.c
	supported=$(grep -oE 'case R_X86_64_[A-Z0-9]+' "$loader" | awk '{ print $2 }' | sort -u)
	# The kld linker makes the linker sets' bounds itself.
	grep -q "__start_" "$sys/kern/link_elf_obj.c" || { echo "kmod-check: FAIL: this kld linker does not make linker-set bounds" >&2; exit 1; }
	synthesized='^__(start|stop)_set_'
	# kmod/dragonfly/Makefile through the tree's own bsd.kmod.mk (dry run).
	if [ -d "$DFLY_SRC/share/mk" ] && command -v bmake > /dev/null; then
		link=$(cd kmod/dragonfly && bmake -n -m "$DFLY_SRC/share/mk" SYSDIR="$sys" \
			MACHINE=x86_64 MACHINE_ARCH=x86_64 MACHINE_PLATFORM=pc64 2>/dev/null |
			grep -E -- '-o dm_target_mirror\.ko ' || true)
		for o in dmmirror_core.o dm_target_mirror.o dmm_glue.o dmm_admin.o dmm_bsd.o dmm_claim.o; do
			grep -q " $o" <<<"$link" || { echo "kmod-check: FAIL: bsd.kmod.mk does not link $o: ${link:-no link step}"; exit 1; }
		done
		echo "kmod-check: dragonfly: bsd.kmod.mk of that tree links: $link"
	else
		echo "kmod-check: dragonfly: kmod/dragonfly/Makefile not run (needs bmake and $DFLY_SRC/share/mk)"
	fi
	;;
netbsd8)
	# NetBSD's own headers (7.99.34: dm API 8), in the kernel's layout.
	src=$(vm-test/netbsd/build.sh tree)
	sys=$src/sys
	[ -f "$sys/dev/dm/dm.h" ] || { echo "kmod-check: $sys/dev/dm/dm.h not found" >&2; exit 2; }
	mkdir -p "$out/inc"
	ln -s "$sys/arch/amd64/include" "$out/inc/machine"
	ln -s "$sys/arch/x86/include" "$out/inc/x86"
	# -Wno-undef: NetBSD's own headers test undefined macros.
	cflags+=(--target=x86_64-unknown-netbsd -D_MODULE -std=gnu99 -Wno-undef -I"$out/inc"
		-I"$sys" -I"$src/common/include" -I"$sys/dev/dm")
	grep -q 'int (\*init)(dm_dev_t \*, void \*\*, char \*);' "$sys/dev/dm/dm.h" ||
		{ echo "kmod-check: FAIL: $sys/dev/dm/dm.h is not the NetBSD 8 dm API" >&2; exit 1; }
	against="NetBSD $(sed -n 's/.*__NetBSD_Version__\t*\([0-9]*\).*NetBSD \(.*\) \*\//\2/p' "$sys/sys/param.h")'s own headers ($sys)"
	loader="NetBSD's sys/arch/amd64/amd64/kobj_machdep.c"
	supported=$(grep -oE 'case R_X86_64_[A-Z0-9]+' "$sys/arch/amd64/amd64/kobj_machdep.c" | awk '{ print $2 }' | sort -u)
	synthesized='^$'
	;;
netbsd)
	cflags+=(--target=x86_64-unknown-netbsd -D_MODULE -Ikmod/netbsd/check)
	against="kmod/netbsd/check (not NetBSD's own headers: none on this machine)"
	# What sys/arch/amd64/amd64/kobj_machdep.c (1.6) applies; no PLT32.
	loader="NetBSD's sys/arch/amd64/amd64/kobj_machdep.c"
	supported=$(printf 'R_X86_64_%s\n' NONE 64 PC32 32 32S GLOB_DAT JUMP_SLOT RELATIVE | sort -u)
	synthesized='^$'
	;;
*)
	echo "kmod-check: unknown OS $os" >&2
	exit 2
	;;
esac

objs=()
for f in "${srcs[@]}"; do
	o=$out/$(basename "$f" .c).o
	echo "kmod-check: $os: compiling $f against $against"
	clang "${cflags[@]}" -c "$f" -o "$o"
	objs+=("$o")
done
scripts/check-kernel-build.sh > "$out/kernel-build.log"
ld -r -o "$out/module.o" "${objs[@]}" target/kernel/dmmirror-kernel.o
echo "kmod-check: $os: linked $out/module.o (${objs[*]##*/} + the Rust core)"

# What it needs from the kernel: undefined symbols that relocations use
# (DragonFly's mycpu asm names __mycpu__dummy without using it).
fail=0
undefined=$(nm -u "$out/module.o" | awk '{ print $2 }' | sort -u)
relocated=$(readelf -rW "$out/module.o" | awk '$3 ~ /^R_X86_64/ { print $5 }' | sort -u)
need=$(comm -12 <(echo "$undefined") <(echo "$relocated") | grep -Ev "$synthesized" || true)
# NetBSD 8's symbols are checked against its tree, not against a list.
listed=$need
[ "$os" = netbsd8 ] || listed=$(grep -v '^#' "kmod/$os/kernel-symbols.txt" | awk 'NF { print $1 }' | sort -u)
extra=$(comm -23 <(echo "$need") <(echo "$listed"))
if [ -n "$extra" ]; then
	echo "kmod-check: FAIL: undefined symbols not on kmod/$os/kernel-symbols.txt:" $extra
	fail=1
fi
stale=$(comm -13 <(echo "$need") <(echo "$listed"))
if [ -n "$stale" ]; then
	echo "kmod-check: FAIL: on kmod/$os/kernel-symbols.txt but no longer needed:" $stale
	fail=1
fi
if [ "$os" = dragonfly ]; then
	for s in $need; do
		# A definition: "name(" at the start of a line (style(9)), a
		# global variable, a malloc type or an assembler global.
		if ! grep -rhE --include='*.c' --include='*.s' \
			"^$s\(|^MALLOC_DEFINE\($s,|^[a-z_][a-z_0-9[:space:]]*[[:space:]*]$s( = [^;]*)?;|^[[:space:]]*\.globl[[:space:]]+$s\$" \
			"$sys/kern" "$sys/vm" "$sys/libkern" "$sys/dev/disk/dm" "$sys/platform/pc64" "$sys/cpu/x86_64" |
			grep -qv '^extern'; then
			echo "kmod-check: FAIL: $s is not defined in $sys"
			fail=1
		fi
	done
	echo "kmod-check: $os: $(echo "$need" | wc -w) kernel symbols needed, each defined in the tree:" $need
elif [ "$os" = netbsd8 ]; then
	for s in $need; do
		# libprop makes prop_array_add_uint64 and kin with TEMPLATE(64).
		if [[ $s =~ ^prop_array_add_u?int([0-9]+)$ ]] &&
			grep -q "^TEMPLATE(${BASH_REMATCH[1]})" "$src/common/lib/libprop/prop_array_util.c"; then
			continue
		fi
		# "name(" at a line's start (style(9)), a variable, or an
		# alias (kmem, atomics, mutexes are strong aliases on amd64).
		if ! grep -rqE --include='*.c' --include='*.S' --include='*.h' \
			"^$s\(|^[a-z][a-z_0-9[:space:]]*[[:space:]*]$s( = [^;]*)?;|(ALIAS|alias)\(\s*$s\s*,|^(ENTRY|NENTRY)\($s\)" \
			"$sys/kern" "$sys/uvm" "$sys/dev/dm" "$sys/arch/amd64/amd64" "$sys/arch/x86/x86" \
			"$sys/miscfs/specfs" "$sys/conf" "$sys/crypto/cprng_fast" "$sys/../common/lib/libc" "$sys/../common/lib/libprop" "$sys/lib/libkern"; then
			echo "kmod-check: FAIL: $s is not defined in $sys"
			fail=1
		fi
	done
	echo "kmod-check: $os: $(echo "$need" | wc -w) kernel symbols needed, each defined in the tree:" $need
else
	echo "kmod-check: $os: $(echo "$need" | wc -w) kernel symbols needed, all on kmod/$os/kernel-symbols.txt:" $need
fi

# NetBSD compiles the C itself (its toolchain's relocations are its own):
# what must suit its loader is the prebuilt core.
checked=$out/module.o
[ "$os" != dragonfly ] && checked=target/kernel/dmmirror-kernel.o
used=$(readelf -rW "$checked" | awk '$3 ~ /^R_X86_64/ { print $3 }' | sort -u)
bad=$(comm -23 <(echo "$used") <(echo "$supported"))
if [ -n "$bad" ]; then
	echo "kmod-check: FAIL: relocations the $os module loader does not apply:" $bad
	fail=1
fi
echo "kmod-check: $os: relocations in ${checked##*/}:" $used "(all applied by $loader)"

# A relocation section whose target the loader did not load: DragonFly's
# link_elf_obj.c panics ("lost base for relatab"); only PROGBITS and
# NOBITS sections are loaded.
orphans=$(readelf -SW "$out/module.o" | perl -ne '
	next unless /^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S*)\s+(\d+)\s+(\d+)\s+\d+\s*$/;
	$type{$1} = $3;
	push @rel, [$2, $6] if $3 eq "RELA" || $3 eq "REL";
	END { for (@rel) { my ($n, $t) = @$_; print "$n " unless $type{$t} =~ /^(PROGBITS|NOBITS)$/ } }')
if [ -n "$orphans" ]; then
	echo "kmod-check: FAIL: relocation sections for sections a module loader does not load: $orphans"
	fail=1
fi
[ $fail -eq 0 ] || exit 1
if [ "$os" = dragonfly ]; then
	echo "kmod-check: $os: PASS (compiled and linked; make dragonfly-test loads it into a DragonFly kernel)"
elif [ "$os" = netbsd8 ]; then
	echo "kmod-check: $os: PASS (compiled against NetBSD 7.99's headers and linked; make netbsd-test runs it in that kernel)"
else
	echo "kmod-check: $os: PASS (compiled and linked here; never loaded: no $os kernel on this machine)"
fi
