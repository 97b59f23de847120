#!/usr/bin/env bash
# Builds mirrorctl for DragonFly (x86_64-unknown-dragonfly, Rust tier 3):
# nightly's std rebuilt from source (build-std) against the DragonFly
# sysroot vm-test/dragonfly/userland.sh builds from the tree, linked
# statically with lld. Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-dragonfly
sysroot=$(vm-test/dragonfly/userland.sh)
out=target/dragonfly
mkdir -p "$out"
# The linker: clang for DragonFly over the sysroot; static, so the binary
# needs nothing on the DragonFly machine.
linker=$(realpath "$out")/cc-dragonfly
printf '#!/bin/sh\nexec clang --target=%s --sysroot=%s -B%s/usr/lib -L%s/usr/lib -fuse-ld=lld -static -Wno-unused-command-line-argument "$@" -ldmm_compat\n' \
	"$target" "$sysroot" "$sysroot" "$sysroot" > "$linker"
chmod +x "$linker"
echo "mirrorctl-dragonfly: building mirrorctl for $target (std from source: about 2 minutes the first time)" >&2
CARGO_TARGET_DIR=$out \
	CARGO_TARGET_X86_64_UNKNOWN_DRAGONFLY_LINKER=$linker \
	RUSTFLAGS="-C panic=abort -C relocation-model=static" \
	cargo +nightly build -q --release --target "$target" \
	-Z build-std=std,panic_abort -p mirrorctl
bin=$out/$target/release/mirrorctl
file "$bin" | grep -q "statically linked" || { echo "mirrorctl-dragonfly: $bin is not a static binary" >&2; exit 1; }
echo "$bin"
