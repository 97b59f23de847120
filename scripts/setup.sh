#!/usr/bin/env bash
# Installs what the build and tests need on a fresh Debian machine with
# rustup. Idempotent: each step is skipped when already done.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

apt_install() { # apt_install PKG...: install the Debian packages that are missing
	local missing=()
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "setup: apt-get install ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install binutils gcc libc6-dev make gnuplot-nox clang
# The QEMU rig (make vm-test): the emulator, and what the guest is built from.
apt_install qemu-system-x86 cpio busybox-static dmsetup lvm2 mdadm

if ! rustup target list --installed | grep -qx x86_64-unknown-none; then
	echo "setup: rustup target add x86_64-unknown-none"
	rustup target add x86_64-unknown-none
fi
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

# Fuzzing needs a nightly compiler (sanitizer coverage flags) and cargo-fuzz.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
	echo "setup: rustup toolchain install nightly"
	rustup toolchain install nightly --profile minimal
fi
# The kernel build rebuilds core and alloc from source (build-std).
rustup component list --toolchain nightly --installed | grep -q '^rust-src' ||
	rustup component add rust-src --toolchain nightly
if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "setup: cargo install cargo-fuzz"
	cargo install --locked cargo-fuzz
fi
# The DragonFly rig (make dragonfly-test) and kmod-check's DragonFly part:
# config(8) and the kernel built with clang and bmake, GRUB for the ISO.
if [ "${1:-}" = dragonfly ]; then
	apt_install clang lld bmake byacc flex libfl-dev libbsd-dev python3 \
		grub-pc-bin grub-common xorriso mtools makefs qemu-system-x86
fi
# The NetBSD rig (make netbsd-test): buildrump.sh builds NetBSD's own
# tools and the rump kernel with the host's C compiler.
if [ "${1:-}" = netbsd ]; then
	apt_install gcc libc6-dev make zlib1g-dev python3 coreutils
fi
echo "setup: done"
