#!/usr/bin/env bash
# Installs what a target needs on a fresh Debian machine with rustup:
#   scripts/setup.sh [PART...]
# Parts: base (compilers, rustfmt, clippy), kernel (nightly with rust-src
# for the kernel-target core), vm (QEMU and what the Linux guest is built
# from), fuzz (cargo-fuzz), bench (gnuplot), dragonfly, netbsd (what
# their rigs build with). No part: base kernel vm fuzz bench. Idempotent:
# each step is skipped when already done, and says what it does when not.
set -euo pipefail

apt_install() { # apt_install PKG...: install the Debian packages that are missing
	local missing=()
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "setup: apt-get install ${missing[*]} (a minute or two)"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

rustup_component() { # rustup_component NAME [TOOLCHAIN]
	local tc=${2:+--toolchain $2}
	# shellcheck disable=SC2086
	rustup component list $tc --installed | grep -q "^$1" && return 0
	echo "setup: rustup component add $1 ${2:-}"
	# shellcheck disable=SC2086
	rustup component add "$1" $tc
}

nightly() {
	rustup run nightly rustc --version >/dev/null 2>&1 && return 0
	echo "setup: rustup toolchain install nightly (about a minute)"
	rustup toolchain install nightly --profile minimal
}

part_base() {
	apt_install binutils gcc libc6-dev make clang
	rustup_component clippy
	rustup_component rustfmt
}

# The core for the kernel: x86_64-unknown-none, core and alloc rebuilt
# from source (build-std).
part_kernel() {
	if ! rustup target list --installed | grep -qx x86_64-unknown-none; then
		echo "setup: rustup target add x86_64-unknown-none"
		rustup target add x86_64-unknown-none
	fi
	nightly
	rustup_component rust-src nightly
}

# The QEMU rig (make vm-test, make demo): the emulator, and what the
# guest is built from.
part_vm() {
	apt_install qemu-system-x86 cpio busybox-static dmsetup lvm2 mdadm
}

# Fuzzing needs a nightly compiler (sanitizer coverage flags) and cargo-fuzz.
part_fuzz() {
	nightly
	cargo fuzz --version >/dev/null 2>&1 && return 0
	echo "setup: cargo install cargo-fuzz (about two minutes)"
	cargo install --locked --quiet cargo-fuzz
}

part_bench() {
	apt_install gnuplot-nox
}

# The DragonFly rig and kmod-check's DragonFly part: config(8) and the
# kernel built with clang and bmake, GRUB for the ISO.
# Its userland (libc and the rest of mirrorctl's sysroot) needs rpcgen.
part_dragonfly() {
	apt_install clang lld bmake byacc flex libfl-dev libbsd-dev python3 \
		grub-pc-bin grub-common xorriso mtools makefs qemu-system-x86 \
		rpcsvc-proto file
}

# The NetBSD rig: buildrump.sh builds NetBSD's own tools and the rump
# kernel with the host's C compiler.
part_netbsd() {
	apt_install gcc libc6-dev make zlib1g-dev python3 coreutils
}

[ $# -gt 0 ] || set -- base kernel vm fuzz bench
for part in "$@"; do
	case $part in
	base | kernel | vm | fuzz | bench | dragonfly | netbsd) "part_$part" ;;
	*) echo "setup: unknown part '$part'" >&2; exit 2 ;;
	esac
done
