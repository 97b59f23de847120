#!/usr/bin/env bash
# Proves that the core and the C ABI build for the kernel target
# (x86_64-unknown-none, kernel code model, static relocation, soft-float)
# and that the archive uses no SSE/AVX registers, which kernel code must not.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-none
# Nightly, to rebuild core and alloc with the same flags (the prebuilt ones
# are position independent) and to call through PLT32 relocations: module
# loaders (Linux 6.1, the BSDs' kernel linkers) know 64, 32S, PC32 and
# PLT32, not the GOTPCREL that stable's default -Z plt=no emits.
export RUSTFLAGS="-C code-model=kernel -C relocation-model=static -C embed-bitcode=no -Z plt=yes"
export CARGO_TARGET_DIR=target/kernel
echo "kernel-check: building the core for $target (core and alloc from source: about 2 minutes the first time)" >&2
cargo +nightly build --release --target "$target" \
	-Z build-std=core,alloc,compiler_builtins -Z build-std-features=compiler-builtins-mem \
	-p dmmirror-sys
lib="$CARGO_TARGET_DIR/$target/release/libdmmirror.a"
[ -f "$lib" ] || { echo "kernel-check: FAIL: $lib not built" >&2; exit 1; }
# A kernel module links only what its C side calls: partial-link the
# archive with the exported dmm_* symbols as roots, as kmod/ will, and check
# that object. (The archive also carries compiler-builtins members, such as
# complex-float division, that no caller pulls in.)
# readelf, not nm: GNU nm may load an LLVM plugin that chokes on bitcode.
symbols=$(readelf -sW "$lib")
exports=$(awk '$4 == "FUNC" && $5 == "GLOBAL" && $7 != "UND" && $8 ~ /^dmm_/ { print $8 }' <<<"$symbols" | sort -u)
[ -n "$exports" ] || { echo "kernel-check: FAIL: no dmm_* symbols exported" >&2; exit 1; }
obj="$CARGO_TARGET_DIR/dmmirror-kernel.o"
ld -r $(printf -- '-u %s ' $exports) -o "$obj" "$lib"
# Capture before grepping: grep -q on a pipe ends the producer early, and
# with pipefail that would turn a found register into a silent pass.
disasm=$(objdump -dr "$obj")
sse=$(grep -E '%(x|y|z)mm[0-9]' <<<"$disasm" || true)
if [ -n "$sse" ]; then
	echo "kernel-check: FAIL: $obj uses SSE/AVX registers:" >&2
	head <<<"$sse" >&2
	exit 1
fi
stack=$(perl scripts/stack-depth.pl <<<"$disasm")
# Kernel stacks are 16 KiB (8 KiB on some BSD configurations): no frame
# may take more than 4 KiB.
big=$(grep '^frame ' <<<"$stack" || true)
if [ -n "$big" ]; then
	echo "kernel-check: FAIL: stack frames over 4 KiB:" >&2
	echo "$big" >&2
	exit 1
fi
# Frames add up along a call chain. DragonFly, measured in its kernel by
# make dragonfly-test (docs/dragonfly.md, "The stack"): of a 16 KiB kernel
# stack the first page is a guard and the pcb sits at the top, leaving
# 10944 bytes; dm's ioctl path uses 1177 before the target's init; the
# adapter, the glue and the kernel's own I/O path below our read callback
# come on top of the core's chain. With the core's chains at most 3 KiB
# the whole table load peaked at 4071 bytes, 5.6 KiB left. Every exported
# entry point must stay within that budget.
budget=3072
deep=$(grep '^chain ' <<<"$stack" | cut -d' ' -f2- | sort -rn | sed -n 1p)
over=$(grep '^chain ' <<<"$stack" | awk -v b=$budget '$2 > b { print "  " $2 " bytes from " $3 ": " substr($0, index($0, $4)) }')
if [ -n "$over" ]; then
	echo "kernel-check: FAIL: stack along direct calls over the budget of $budget bytes:" >&2
	echo "$over" >&2
	exit 1
fi
# What a module ships: no debug info, no embedded bitcode, no unwind
# tables (panic=abort; and DragonFly's kld loader panics on a relocation
# section whose target it did not load, such as .rela.eh_frame).
objcopy --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd \
	--remove-section=.eh_frame --remove-section=.rela.eh_frame "$obj"
unloaded=$(readelf -SW "$obj" | awk '/^ *\[ *[0-9]+\]/ { sub(/^ *\[ *[0-9]+\] */, ""); print $1, $2 }' |
	awk '$2 != "PROGBITS" && $2 != "NOBITS" && $2 != "RELA" && $2 != "REL" && $2 != "SYMTAB" && $2 != "STRTAB" && $1 != "NULL" && $1 != ".note.GNU-stack" { print $1 " (" $2 ")" }')
if [ -n "$unloaded" ]; then
	echo "kernel-check: FAIL: sections a BSD kld loader does not load (their relocations panic it):" $unloaded >&2
	exit 1
fi
# One set of relocations for every loader: PLT32 (no PLT in a module) as
# PC32, which NetBSD's amd64 kobj applies and PLT32 it does not.
scripts/elf-plt32-to-pc32.py "$obj" > /dev/null
relocs=$(readelf -rW "$obj" | awk '/^ *[0-9a-f]+ +[0-9a-f]+ R_X86/ { print $3 }' | sort -u)
odd=$(grep -vxE 'R_X86_64_(64|32S|PC32)' <<<"$relocs" || true)
if [ -n "$odd" ]; then
	echo "kernel-check: FAIL: relocations a module loader refuses: $odd" >&2
	exit 1
fi
undefined=$(readelf -sW "$obj" | awk '$7 == "UND" && $8 != "" { print $8 }' | sort -u | tr '\n' ' ')
# What the adapter provides (docs/abi.md); anything else would be a
# symbol no kernel has.
foreign=$(tr ' ' '\n' <<<"$undefined" | grep -vxE 'dmm_kernel_(alloc|free|alloc_room|panic)|' || true)
if [ -n "$foreign" ]; then
	echo "kernel-check: FAIL: undefined symbols the adapters do not provide:" $foreign >&2
	exit 1
fi
read -r deep_bytes deep_from _ <<<"$deep"
echo "kernel-check: deepest stack along direct calls: $deep_bytes bytes, from $deep_from (budget $budget per entry point)"
echo "kernel-check: ok: $(wc -w <<<"$exports") exports, $(stat -c %s "$obj") bytes linked for $target, no SSE/AVX, relocations $(tr '\n' ' ' <<<"$relocs"); undefined: ${undefined:-none}"
