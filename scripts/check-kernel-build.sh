#!/usr/bin/env bash
# Proves that the core and the C ABI build for the kernel target
# (x86_64-unknown-none, kernel code model, static relocation, soft-float)
# and that the archive uses no SSE/AVX registers, which kernel code must not.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-none
export RUSTFLAGS="-C code-model=kernel -C relocation-model=static"
export CARGO_TARGET_DIR=target/kernel
cargo build -q --release --target "$target" -p dmmirror-core -p dmmirror-sys
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
disasm=$(objdump -d "$obj")
sse=$(grep -E '%(x|y|z)mm[0-9]' <<<"$disasm" || true)
if [ -n "$sse" ]; then
	echo "kernel-check: FAIL: $obj uses SSE/AVX registers:" >&2
	head <<<"$sse" >&2
	exit 1
fi
undefined=$(readelf -sW "$obj" | awk '$7 == "UND" && $8 != "" { print $8 }' | sort -u | tr '\n' ' ')
echo "kernel-check: ok: $(wc -w <<<"$exports") exports, $(stat -c %s "$obj") bytes linked for $target, no SSE/AVX; undefined: ${undefined:-none}"
