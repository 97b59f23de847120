# dm-mirror: the front door. Every target installs what it needs.
SHELL := /bin/bash
.PHONY: all build setup test lint kernel-check fuzz demo demo-engine soak bench vm-test vm-soak dragonfly-test dragonfly-soak netbsd-test netbsd-soak kmod kmod-linux kmod-dragonfly kmod-netbsd kmod-check clean

all: build

setup:
	@scripts/setup.sh

build: setup
	cargo build --workspace
	scripts/check-kernel-build.sh

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

kernel-check: setup
	scripts/check-kernel-build.sh

fuzz: setup
	scripts/fuzz.sh $(or $(SECONDS),20)

# The README's test command: lints, every test, the kernel-target build,
# a bounded fuzz run and the demo; the last line sums up the test results.
test: setup lint kernel-check
	@mkdir -p build
	scripts/setup.sh dragonfly
	scripts/kmod-check.sh dragonfly
	scripts/kmod-check.sh netbsd
	scripts/kmod-check.sh netbsd8
	cargo test --workspace 2>&1 | tee build/test.log; test $${PIPESTATUS[0]} -eq 0
	scripts/fuzz.sh 20
	scripts/demo.sh > build/demo.log 2>&1 || { cat build/demo.log; exit 1; }
	scripts/bench.sh --quick > build/bench-quick.log 2>&1 || { cat build/bench-quick.log; exit 1; }
	@tail -n 1 build/demo.log
	@scripts/test-summary.sh build/test.log

# Hours of simulation over fresh seeds: make soak HOURS=8
soak: setup
	scripts/soak.sh $(or $(HOURS),1)

# Every benchmark; rewrites docs/bench.md and its plots (a few minutes).
bench: setup
	scripts/bench.sh

# The kernel path for real: the Linux dm module in a QEMU guest, crashed
# and failed on purpose (vm-test/run.sh). CRASH_SEEDS sets the kills,
# PEERS_ROUNDS the rounds of the side-by-side with md and dm-mirror.
vm-test: setup
	PEERS_ROUNDS=$(or $(PEERS_ROUNDS),1) vm-test/run.sh --crash-seeds $(or $(CRASH_SEEDS),3)

# The crash scenario over many kills: make vm-soak CRASH_SEEDS=100
vm-soak: setup
	vm-test/run.sh --crash-seeds $(or $(CRASH_SEEDS),50) --first-seed $(or $(FIRST_SEED),1) crash

# The user's kernel: dm_target_mirror.ko in a DragonFly kernel built from
# ../shared/third_party/dragonfly, under QEMU (vm-test/dragonfly/run.sh;
# docs/dragonfly.md). CRASH_SEEDS sets the kills.
dragonfly-test: setup
	scripts/setup.sh dragonfly
	vm-test/dragonfly/run.sh --crash-seeds $(or $(CRASH_SEEDS),3)

# The crash scenario over many kills: make dragonfly-soak CRASH_SEEDS=50
dragonfly-soak: setup
	scripts/setup.sh dragonfly
	vm-test/dragonfly/run.sh --crash-seeds $(or $(CRASH_SEEDS),30) --first-seed $(or $(FIRST_SEED),100) crash

# The NetBSD module in a NetBSD kernel: a rump kernel built from
# ../shared/third_party/netbsd-rump with NetBSD's own dm, legs behind a
# fault hook (vm-test/netbsd/run.sh; docs/netbsd.md). POWER_SEEDS sets the
# power losses.
netbsd-test: setup
	scripts/setup.sh netbsd
	vm-test/netbsd/run.sh --power-seeds $(or $(POWER_SEEDS),20)

# The power-loss scenario over many seeds: make netbsd-soak POWER_SEEDS=200
netbsd-soak: setup
	scripts/setup.sh netbsd
	vm-test/netbsd/run.sh --power-seeds $(or $(POWER_SEEDS),100) --first-seed $(or $(FIRST_SEED),1000) power-loss

# Kernel modules. Linux: the test rig's dm-dmmirror.ko (built against the
# guest's Debian kernel). DragonFly, NetBSD: the core for the kernel plus
# the module's sources, packed for that OS's make (on the OS itself, built
# in place); docs/dragonfly.md, docs/netbsd.md.
kmod: kmod-linux kmod-dragonfly kmod-netbsd

kmod-linux: setup
	vm-test/build.sh

kmod-dragonfly: setup
	scripts/kmod-package.sh dragonfly

kmod-netbsd: setup
	scripts/kmod-package.sh netbsd

# Compile and link checks of the BSD modules: DragonFly against its tree
# (the one make dragonfly-test boots; DFLY_SRC=/path for another), NetBSD
# against kmod/netbsd/check (its NetBSD 10 API) and against the real
# headers of the rump kernel's NetBSD 7.99 tree (its NetBSD 8/9 API);
# make test runs them all.
kmod-check: setup
	scripts/setup.sh dragonfly
	DFLY_SRC=$(DFLY_SRC) scripts/kmod-check.sh dragonfly
	scripts/kmod-check.sh netbsd
	scripts/kmod-check.sh netbsd8

# The README's main job: the kernel module in a QEMU guest, written to,
# failed, crashed and recovered (vm-test/demo.sh).
demo: setup
	vm-test/demo.sh

# The same story in userspace, through the engine (make test runs it).
demo-engine:
	scripts/demo.sh

clean:
	cargo clean
	rm -rf build fuzz/target fuzz/corpus fuzz/artifacts
