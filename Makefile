# dm-mirror: the front door. Every target installs what it needs (and only
# that: scripts/setup.sh PART...). `make help` lists the targets.
SHELL := /bin/bash
.PHONY: all help build install setup test lint kernel-check fuzz demo demo-engine soak bench bench-kernel vm-test vm-soak dragonfly-test dragonfly-soak netbsd-test netbsd-soak kmod kmod-linux kmod-dragonfly kmod-netbsd kmod-check clean

# Where `make install` puts mirrorctl: /usr/local/bin for root, else ~/.local/bin.
PREFIX ?= $(if $(filter 0,$(shell id -u)),/usr/local,$(HOME)/.local)

all: build

help:
	@echo "make                 build everything (debug; mirrorctl lands in target/debug/mirrorctl)"
	@echo "make install         build mirrorctl (release) and copy it to $(PREFIX)/bin"
	@echo "make demo            the main job: our module in a Linux guest, a leg failed, a crash, recovery"
	@echo "make test            lints, every test, kernel-target check, fuzz, userspace demo, toy benchmarks"
	@echo "make vm-test         every kernel scenario in the Linux guest (CRASH_SEEDS=3)"
	@echo "make dragonfly-test  the module in a DragonFly kernel under QEMU (CRASH_SEEDS=3)"
	@echo "make netbsd-test     the module in a NetBSD rump kernel (POWER_SEEDS=20)"
	@echo "make bench           every benchmark; rewrites docs/bench.md and its plots"
	@echo "make bench-kernel    ours beside md raid1 and dm-mirror in a QEMU guest (ROUNDS=3)"
	@echo "make soak            hours of simulation over fresh seeds (HOURS=1)"
	@echo "make vm-soak, dragonfly-soak, netbsd-soak: the crash scenario over many seeds"
	@echo "make fuzz            the fuzz targets (SECONDS=20 each)"
	@echo "make lint            rustfmt and clippy"
	@echo "make kernel-check    the core for x86_64-unknown-none: no FPU registers, stack per entry point"
	@echo "make kmod            the modules: Linux (test rig), DragonFly and NetBSD packages"
	@echo "make kmod-check      compile and link the BSD modules against their kernels' headers"
	@echo "make demo-engine     the userspace demo (the engine over image files)"
	@echo "make setup           install everything but the BSD rigs' tools"
	@echo "make clean           remove build output (caches under /var/cache/dm-mirror stay)"

setup:
	@scripts/setup.sh

build:
	@scripts/setup.sh base kernel
	cargo build --workspace
	scripts/check-kernel-build.sh
	@echo "built: target/debug/mirrorctl (make install copies a release build to $(PREFIX)/bin)"

install:
	@scripts/setup.sh base
	cargo build --release -p mirrorctl
	install -D -m 755 target/release/mirrorctl $(PREFIX)/bin/mirrorctl
	@echo "installed: $(PREFIX)/bin/mirrorctl"

lint:
	@scripts/setup.sh base
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

kernel-check:
	@scripts/setup.sh base kernel
	scripts/check-kernel-build.sh

fuzz:
	@scripts/setup.sh base fuzz
	scripts/fuzz.sh $(or $(SECONDS),20)

# The README's test command: lints, every test, the kernel-target build,
# a bounded fuzz run and the demo; the last line sums up the test results.
test:
	@scripts/setup.sh base kernel fuzz bench dragonfly
	@$(MAKE) --no-print-directory lint kernel-check
	@mkdir -p build
	scripts/kmod-check.sh dragonfly
	scripts/kmod-check.sh netbsd
	scripts/kmod-check.sh netbsd8
	cargo test --workspace 2>&1 | tee build/test.log; test $${PIPESTATUS[0]} -eq 0
	scripts/fuzz.sh 20
	@echo "test: the userspace demo (its output in build/demo.log)"
	@scripts/demo.sh > build/demo.log 2>&1 || { cat build/demo.log; exit 1; }
	@echo "test: a toy-sized pass of the benchmarks (build/bench-quick.log)"
	@scripts/bench.sh --quick > build/bench-quick.log 2>&1 || { cat build/bench-quick.log; exit 1; }
	@tail -n 1 build/demo.log
	@scripts/test-summary.sh build/test.log

# Hours of simulation over fresh seeds: make soak HOURS=8
soak:
	@scripts/setup.sh base
	scripts/soak.sh $(or $(HOURS),1)

# Every benchmark; rewrites docs/bench.md and its plots (a few minutes),
# then the kernel comparison with md and dm-mirror (bench-kernel).
bench:
	@scripts/setup.sh base kernel vm bench
	scripts/bench.sh

# Ours beside md raid1 and dm-mirror in one QEMU guest on RAM disks:
# docs/bench/kernel.md (ROUNDS, SECONDS_EACH).
bench-kernel:
	@scripts/setup.sh base kernel vm bench
	vm-test/bench-kernel.sh

# The kernel path for real: the Linux dm module in a QEMU guest, crashed
# and failed on purpose (vm-test/run.sh). CRASH_SEEDS sets the kills,
# PEERS_ROUNDS the rounds of the side-by-side with md and dm-mirror.
vm-test:
	@scripts/setup.sh base kernel vm
	PEERS_ROUNDS=$(or $(PEERS_ROUNDS),1) vm-test/run.sh --crash-seeds $(or $(CRASH_SEEDS),3)

# The crash scenario over many kills: make vm-soak CRASH_SEEDS=100
vm-soak:
	@scripts/setup.sh base kernel vm
	vm-test/run.sh --crash-seeds $(or $(CRASH_SEEDS),50) --first-seed $(or $(FIRST_SEED),1) crash

# The user's kernel: dm_target_mirror.ko in a DragonFly kernel built from
# ../shared/third_party/dragonfly, under QEMU (vm-test/dragonfly/run.sh;
# docs/dragonfly.md). CRASH_SEEDS sets the kills.
dragonfly-test:
	@scripts/setup.sh base kernel dragonfly
	vm-test/dragonfly/run.sh --crash-seeds $(or $(CRASH_SEEDS),3)

# The crash scenario over many kills: make dragonfly-soak CRASH_SEEDS=50
dragonfly-soak:
	@scripts/setup.sh base kernel dragonfly
	vm-test/dragonfly/run.sh --crash-seeds $(or $(CRASH_SEEDS),30) --first-seed $(or $(FIRST_SEED),100) crash

# The NetBSD module in a NetBSD kernel: a rump kernel built from
# ../shared/third_party/netbsd-rump with NetBSD's own dm, legs behind a
# fault hook (vm-test/netbsd/run.sh; docs/netbsd.md). POWER_SEEDS sets the
# power losses.
netbsd-test:
	@scripts/setup.sh base kernel netbsd
	vm-test/netbsd/run.sh --power-seeds $(or $(POWER_SEEDS),20)

# The power-loss scenario over many seeds: make netbsd-soak POWER_SEEDS=200
netbsd-soak:
	@scripts/setup.sh base kernel netbsd
	vm-test/netbsd/run.sh --power-seeds $(or $(POWER_SEEDS),100) --first-seed $(or $(FIRST_SEED),1000) power-loss

# Kernel modules. Linux: the test rig's dm-dmmirror.ko (built against the
# guest's Debian kernel). DragonFly, NetBSD: the core for the kernel plus
# the module's sources, packed for that OS's make (on the OS itself, built
# in place); docs/dragonfly.md, docs/netbsd.md.
kmod: kmod-linux kmod-dragonfly kmod-netbsd

kmod-linux:
	@scripts/setup.sh base kernel vm
	vm-test/build.sh

kmod-dragonfly:
	@scripts/setup.sh base kernel dragonfly
	scripts/kmod-package.sh dragonfly

kmod-netbsd:
	@scripts/setup.sh base kernel
	scripts/kmod-package.sh netbsd

# Compile and link checks of the BSD modules: DragonFly against its tree
# (the one make dragonfly-test boots; DFLY_SRC=/path for another), NetBSD
# against kmod/netbsd/check (its NetBSD 10 API) and against the real
# headers of the rump kernel's NetBSD 7.99 tree (its NetBSD 8/9 API);
# make test runs them all.
kmod-check:
	@scripts/setup.sh base kernel dragonfly
	DFLY_SRC=$(DFLY_SRC) scripts/kmod-check.sh dragonfly
	scripts/kmod-check.sh netbsd
	scripts/kmod-check.sh netbsd8

# The README's main job: the kernel module in a QEMU guest, written to,
# failed, crashed and recovered (vm-test/demo.sh).
demo:
	@scripts/setup.sh base kernel vm
	vm-test/demo.sh

# The same story in userspace, through the engine (make test runs it).
demo-engine:
	scripts/demo.sh

clean:
	cargo clean
	rm -rf build fuzz/target fuzz/corpus fuzz/artifacts
