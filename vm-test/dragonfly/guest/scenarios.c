/*
 * The scenarios the DragonFly guest runs (the host's half is
 * vm-test/dragonfly/run.sh). Each returns 0 or fail(...)'s 1; what the
 * host checks afterwards on the leg images is said at each.
 */
#include "rt.h"
#include "dm.h"
#include "scenario.h"
#include "records.h"

#define MODULE		"/boot/dm_target_mirror.ko"
#define MIB		(1024UL * 1024)
#define IO_MAX		(256 * 1024)
#define SPAN_BYTES	(64 * MIB)	/* the records' span, as in vm-test */

static uint8_t iobuf[IO_MAX] __attribute__((aligned(4096)));
static uint8_t checkbuf[IO_MAX] __attribute__((aligned(4096)));
static char status[2048];
static char table[2048];

static int
load_module(void)
{
	int id = sys_kldload(MODULE);

	if (id < 0)
		out("kldload %s: errno %d\n", MODULE, -id);
	return (id);
}

static const char *
skip_word(const char *p)
{
	while (*p != ' ' && *p != '\0')
		p++;
	while (*p == ' ')
		p++;
	return (p);
}

/* The mirror's status, printed; its health word (e.g. "AA") in health. */
static int
show_status(const char *name, char *health, size_t len)
{
	const char *p = status;
	uint64_t legs, i;
	int r;

	if ((r = dm_status(name, 0, status, sizeof(status))) != 0)
		return (r);
	out("status: %s\n", status);
	legs = parse_u64(&p);
	for (i = 0; i < legs + 2; i++)	/* names, in-sync/total, count */
		p = skip_word(p);
	for (i = 0; i + 1 < len && p[i] != ' ' && p[i] != '\0'; i++)
		health[i] = p[i];
	health[i] = '\0';
	return (0);
}

/* The "in-sync/total" word of the status. */
static int
sync_counts(const char *name, uint64_t *in_sync, uint64_t *total)
{
	const char *p;

	if (dm_status(name, 0, status, sizeof(status)) != 0)
		return (-1);
	for (p = status; *p != '\0'; p++) {
		if (*p == '/' && p > status && p[-1] >= '0' && p[-1] <= '9') {
			while (p > status && p[-1] != ' ')
				p--;
			*in_sync = parse_u64(&p);
			p++;
			*total = parse_u64(&p);
			return (0);
		}
	}
	return (-1);
}

/* Waits until every chunk is in sync; seconds waited, or -1. */
static long
wait_in_sync(const char *name, long limit_s)
{
	uint64_t start = sys_uptime_ms(), in_sync = 0, total = 1;

	while (sys_uptime_ms() - start < (uint64_t)limit_s * 1000) {
		if (sync_counts(name, &in_sync, &total) != 0)
			return (-1);
		if (in_sync == total)
			return ((long)((sys_uptime_ms() - start) / 1000));
		sys_sleep_ms(200);
	}
	out("still %lu/%lu in sync after %ld s\n", in_sync, total, limit_s);
	return (-1);
}

static const char *
leg_params(void)
{
	return ("2 /dev/vbd1 /dev/vbd2");
}

/* load: the target appears with the module and goes with it. */
static int
scenario_load(struct run *run)
{
	int id, r;

	(void)run;
	if ((id = load_module()) < 0)
		return (fail("kldload: errno %d", -id));
	if (!dm_has_target("mirror"))
		return (fail("target 'mirror' not listed after kldload"));
	out("load: loaded as file %d, target listed\n", id);
	if ((r = sys_kldunload(id)) != 0)
		return (fail("kldunload: errno %d", -r));
	if (dm_has_target("mirror"))
		return (fail("target 'mirror' still listed after kldunload"));
	out("load: unloaded, target gone\n");
	if ((id = load_module()) < 0 || !dm_has_target("mirror"))
		return (fail("loading again failed"));
	out("load: loaded again as file %d\n", id);
	return (0);
}

static int
expect_health(const char *name, const char *want)
{
	char health[32];
	int r;

	if ((r = show_status(name, health, sizeof(health))) != 0)
		return (fail("status of %s: errno %d", name, r));
	if (strcmp(health, want) != 0)
		return (fail("%s: health '%s', expected '%s'", name, health,
		    want));
	return (0);
}

/* Prints the device's `dmsetup table` line (the host checks its form). */
static int
show_table(const char *name)
{
	int r;

	if ((r = dm_status(name, 1, table, sizeof(table))) != 0)
		return (fail("table of %s: errno %d", name, r));
	out("table: %s\n", table);
	return (0);
}

static int
create_native(struct run *run, int id)
{
	int r;

	if ((r = dm_load("m0", run->sectors, "mirror", leg_params())) != 0)
		return (fail("native table refused: errno %d", r));
	if (expect_health("m0", "AA") != 0)
		return (1);
	if (show_table("m0") != 0)
		return (1);
	if (strncmp(table, "2 ", 2) != 0)
		return (fail("table text does not start with the leg count"));
	if ((r = sys_kldunload(id)) != -16)
		return (fail("kldunload while a table uses the target: %d, "
		    "expected EBUSY", r));
	if ((r = dm_message("m0", "resync_rate 1000 4000")) != 0)
		return (fail("message resync_rate refused: errno %d", r));
	if ((r = dm_message("m0", "resync_rate fast")) == 0)
		return (fail("message 'resync_rate fast' accepted"));
	/* Eight words and a blank: the parser's refusal, not "too long". */
	if ((r = dm_message("m0", "resync_rate 1 2 3 4 5 6 7 ")) == 0)
		return (fail("a message with words left over accepted"));
	if ((r = dm_remove("m0")) != 0)
		return (fail("remove m0: errno %d", r));
	return (0);
}

/*
 * A full member table: 16 legs, dm-linear slices of /dev/vbd6 (one image
 * the host made of 16 legs), each leg_sectors long.
 */
static int
create_full(uint64_t leg_sectors, uint64_t data_sectors)
{
	static char params[1024];
	char name[8], slice[64];
	size_t at;
	int i, r;

	at = (size_t)format(params, sizeof(params), "16");
	for (i = 0; i < 16; i++) {
		format(name, sizeof(name), "l%d", i);
		format(slice, sizeof(slice), "/dev/vbd6 %lu",
		    (uint64_t)i * leg_sectors);
		if ((r = dm_load(name, leg_sectors, "linear", slice)) != 0)
			return (fail("linear slice %d: errno %d", i, r));
		at += (size_t)format(params + at, sizeof(params) - at,
		    " /dev/mapper/%s", name);
	}
	if ((r = dm_load("m16", data_sectors, "mirror", params)) != 0)
		return (fail("16-leg table refused: errno %d", r));
	if (expect_health("m16", "AAAAAAAAAAAAAAAA") != 0)
		return (1);
	if ((r = dm_remove("m16")) != 0)
		return (fail("remove m16: errno %d", r));
	for (i = 0; i < 16; i++) {
		format(name, sizeof(name), "l%d", i);
		if ((r = dm_remove(name)) != 0)
			return (fail("remove %s: errno %d", name, r));
	}
	out("create: a mirror of 16 legs loaded and stopped cleanly\n");
	return (0);
}

/* create LVM_SECTORS FULL_LEG_SECTORS FULL_DATA_SECTORS: the native table,
 * LVM's core and disk log tables, a full member table. */
static int
scenario_create(struct run *run)
{
	const char *a = run->args;
	char params[256];
	uint64_t lvm_sectors = parse_u64(&a);
	uint64_t full_leg = parse_u64(&a), full_data = parse_u64(&a);
	long secs;
	int id, r;

	if ((id = load_module()) < 0)
		return (fail("kldload failed"));
	if (create_native(run, id) != 0)
		return (1);
	if ((r = dm_load("m1", run->sectors, "mirror",
	    "core 1 2048 2 /dev/vbd1 0 /dev/vbd2 0")) != 0)
		return (fail("LVM core-log table refused: errno %d", r));
	if (expect_health("m1", "AA") != 0 || !strstr(status, " 1 core "))
		return (fail("m1: no core log in the status"));
	if (show_table("m1") != 0)
		return (1);
	if ((r = dm_remove("m1")) != 0)
		return (fail("remove m1: errno %d", r));
	/* A new LVM log (all zeros) over blank images: the first copy. */
	format(params, sizeof(params),
	    "disk 2 /dev/vbd3 2048 2 /dev/vbd4 0 /dev/vbd5 0");
	if ((r = dm_load("m2", lvm_sectors, "mirror", params)) != 0)
		return (fail("LVM disk-log table refused: errno %d", r));
	if ((secs = wait_in_sync("m2", 120)) < 0)
		return (fail("m2: the first copy did not finish"));
	if (expect_health("m2", "AA") != 0 || !strstr(status, " 3 disk "))
		return (fail("m2: no disk log in the status"));
	if (show_table("m2") != 0)
		return (1);
	out("create: disk-log mirror copied in %ld s\n", secs);
	if ((r = dm_remove("m2")) != 0)
		return (fail("remove m2: errno %d", r));
	if (create_full(full_leg, full_data) != 0)
		return (1);
	/* Every mirror's worker gone: the module unloads at once. */
	if ((r = sys_kldunload(id)) != 0)
		return (fail("kldunload after the mirrors were removed: %d", r));
	if (dm_has_target("mirror"))
		return (fail("target 'mirror' still listed after kldunload"));
	out("create: every mirror removed, the module unloaded\n");
	return (0);
}

/* One writer (or reader) process of the io scenario over its region. */
static int
io_worker(int fd, uint64_t base, uint64_t bytes, uint64_t seed, int verify)
{
	uint64_t at, len;
	unsigned k = 0;

	for (at = 0; at < bytes; at += len, k++) {
		len = 4096UL << (k % 7);
		if (len > bytes - at)
			len = bytes - at;
		if (verify) {
			if (sys_pread(fd, iobuf, len, base + at) != (ssize_t)len)
				return (1);
			pattern(checkbuf, len, seed, base + at);
			if (memcmp(iobuf, checkbuf, len) != 0) {
				out("io: data differs in [%lu, +%lu)\n",
				    base + at, len);
				return (1);
			}
			continue;
		}
		pattern(iobuf, len, seed, base + at);
		if (sys_pwrite(fd, iobuf, len, base + at) != (ssize_t)len)
			return (1);
	}
	return (0);
}

static int
spawn(int fd, uint64_t base, uint64_t bytes, uint64_t seed, int verify)
{
	int pid = sys_fork();

	if (pid == 0)
		sys_exit(io_worker(fd, base, bytes, seed, verify));
	return (pid);
}

static int
reap(int n)
{
	int status, failed = 0;

	while (n-- > 0)
		if (sys_wait(&status) < 0 || status != 0)
			failed++;
	return (failed);
}

/*
 * The module loaded and mirror m0 of params up; with fd, /dev/mapper/m0
 * opened for direct I/O into *fd. 0, or fail()'s 1.
 */
static int
mirror_up(struct run *run, const char *params, int *fd)
{
	int r;

	if (load_module() < 0)
		return (fail("kldload failed"));
	if ((r = dm_load("m0", run->sectors, "mirror", params)) != 0)
		return (fail("table '%s' refused: errno %d", params, r));
	if (fd != NULL &&
	    (*fd = sys_open("/dev/mapper/m0", O_RDWR | O_DIRECT)) < 0)
		return (fail("open /dev/mapper/m0: errno %d", -*fd));
	return (0);
}

/* m0 healthy on both legs, then removed (its superblocks marked clean). */
static int
healthy_stop(void)
{
	int r;

	if (expect_health("m0", "AA") != 0)
		return (1);
	if ((r = dm_remove("m0")) != 0)
		return (fail("remove m0: errno %d", r));
	return (0);
}

/*
 * io, with 2 vCPUs: region 0 written, then 3 writers (regions 1-3) and 2
 * readers checking region 0 at once, then 4 readers checking everything.
 * The host finds the legs identical afterwards.
 */
static int
scenario_io(struct run *run)
{
	uint64_t region, seed = 0x5eed;
	int fd, i, failed;

	if (mirror_up(run, leg_params(), &fd) != 0)
		return (1);
	region = run->sectors * 512 / 4 / MIB * MIB;
	if (region > 8 * MIB)
		region = 8 * MIB;
	if (io_worker(fd, 0, region, seed, 0) != 0)
		return (fail("writing region 0"));
	for (i = 1; i < 4; i++)
		spawn(fd, i * region, region, seed, 0);
	for (i = 0; i < 2; i++)
		spawn(fd, 0, region, seed, 1);
	if ((failed = reap(5)) != 0)
		return (fail("%d of 3 writers and 2 readers at once failed",
		    failed));
	for (i = 0; i < 4; i++)
		spawn(fd, i * region, region, seed, 1);
	if ((failed = reap(4)) != 0)
		return (fail("%d of 4 readers failed", failed));
	out("io: 3 writers and 2 readers at once, then 4 readers, over %lu "
	    "MiB: every byte read back\n", 4 * region / MIB);
	sys_close(fd);
	return (healthy_stop());
}

/* bad-table: each refused, with no device left behind; then a good one. */
static int
scenario_bad_table(struct run *run)
{
	static const char *bad[] = {
		"",
		"2 /dev/vbd1",
		"x /dev/vbd1 /dev/vbd2",
		"2 /dev/vbd1 /dev/vbd1",
		"2 /dev/vbd1 /dev/nosuchdisk",
		"2 /dev/vbd1 /dev/vbd2 1 chunk_size",
		"2 /dev/vbd1 /dev/vbd2 2 bogus 1",
		"2 /dev/vbd1 /dev/vbd3",	/* vbd3: another mirror's leg */
		"core 1 2048 2 /dev/vbd1 99999999999 /dev/vbd2 0",
		"disk 2 /dev/vbd1 2048 2 /dev/vbd1 0 /dev/vbd2 0",
		NULL
	};
	const char *a = run->args;
	uint64_t big_sectors = parse_u64(&a);
	int i, r, refused = 0;

	if (load_module() < 0)
		return (fail("kldload failed"));
	for (i = 0; bad[i] != NULL; i++) {
		r = dm_load("bad", run->sectors, "mirror", bad[i]);
		out("bad-table: '%s' -> errno %d\n", bad[i], r);
		if (r == 0)
			return (fail("table '%s' accepted", bad[i]));
		refused++;
	}
	/* vbd4: one leg of 4 KiB chunks, more than the malloc type's limit. */
	r = dm_load("bad", big_sectors, "mirror", "1 /dev/vbd4");
	out("bad-table: a mirror of %lu sectors in 4 KiB chunks -> errno %d\n",
	    big_sectors, r);
	if (r == 0)
		return (fail("a mirror larger than the kernel can hold accepted"));
	r = dm_load("bad", run->sectors + 1, "mirror", leg_params());
	out("bad-table: length %lu (one past the data) -> errno %d\n",
	    run->sectors + 1, r);
	if (r == 0)
		return (fail("a table longer than the data accepted"));
	if ((r = dm_load("good", run->sectors, "mirror", leg_params())) != 0)
		return (fail("the good table after the bad ones: errno %d", r));
	if (expect_health("good", "AA") != 0 || dm_remove("good") != 0)
		return (1);
	out("bad-table: %d bad tables refused, then a good one loaded\n",
	    refused + 2);
	return (0);
}

/* Records first..first+count-1 over span bytes: "ack N" once each is durable. */
static int
write_records(int fd, uint64_t seed, uint64_t span, uint64_t first,
    uint64_t count)
{
	uint64_t n;

	for (n = first; n < first + count; n++) {
		record(seed, n, iobuf);
		if (sys_pwrite(fd, iobuf, RECORD_BYTES,
		    record_sector(span / 512, n) * 512) != RECORD_BYTES ||
		    sys_fsync(fd) != 0) {
			out("record %lu not written\n", n);
			return (1);
		}
		out("ack %lu\n", n);
	}
	return (0);
}

/* crash-write SEED COUNT: records with fsync, "ack N" once durable. */
static int
scenario_crash_write(struct run *run)
{
	const char *a = run->args;
	uint64_t seed = parse_u64(&a), count = parse_u64(&a);
	int fd;

	if (mirror_up(run, leg_params(), &fd) != 0)
		return (1);
	out("crash-write: writing\n");
	if (write_records(fd, seed, SPAN_BYTES, 0, count) != 0)
		return (fail("a record was not written"));
	return (0);
}

/* recover: assembly after the crash, resync to the end, clean stop. */
static int
scenario_recover(struct run *run)
{
	long secs;

	if (mirror_up(run, leg_params(), NULL) != 0)
		return (1);
	if (dm_status("m0", 0, status, sizeof(status)) == 0)
		out("status after assembly: %s\n", status);
	if ((secs = wait_in_sync("m0", 300)) < 0)
		return (fail("resync did not finish"));
	out("recover: seconds %ld\n", secs);
	return (healthy_stop());
}

/* Waits until the status says no chunk is DIRTY (the lazy clean ran). */
static int
wait_clean(const char *name, long limit_s)
{
	uint64_t start = sys_uptime_ms();

	while (sys_uptime_ms() - start < (uint64_t)limit_s * 1000) {
		if (dm_status(name, 0, status, sizeof(status)) != 0)
			return (-1);
		if (strstr(status, " dirty=0 ") != NULL)
			return (0);
		sys_sleep_ms(200);
	}
	return (-1);
}

/* A flakey dm device over the leg at vbdN: fine for up_s seconds (0: not
 * at all), then every read and write fails (DragonFly's flakey target). */
static int
flakey_leg(const char *name, uint64_t sectors, int vbd, int up_s)
{
	char params[128];

	format(params, sizeof(params), "/dev/vbd%d 0 %d 100000", vbd, up_s);
	return (dm_load(name, sectors, "flakey", params));
}

/* failing-leg LEG_SECTORS: leg 1 starts failing under load; writes go on. */
static int
scenario_failing_leg(struct run *run)
{
	const char *a = run->args;
	uint64_t leg_sectors = parse_u64(&a), start, n;
	char health[32];
	int fd, r;

	if ((r = flakey_leg("f1", leg_sectors, 2, 2)) != 0)
		return (fail("flakey device under leg 1: errno %d", r));
	if (mirror_up(run, "2 /dev/vbd1 /dev/mapper/f1", &fd) != 0)
		return (1);
	out("failing-leg: leg 1 fails every I/O 2 s after its table load\n");
	start = sys_uptime_ms();
	/* 8 s, and fewer records than the span has places (none rewritten). */
	for (n = 0; sys_uptime_ms() - start < 8000 && n < 12000; n += 50)
		if (write_records(fd, 11, SPAN_BYTES, n, 50) != 0)
			return (fail("a write failed while one leg was left"));
	sys_close(fd);
	if (show_status("m0", health, sizeof(health)) != 0)
		return (fail("no status"));
	out("failing-leg: status after failure: %s\n", status);
	if (strcmp(health, "AD") != 0)
		return (fail("health '%s', expected AD", health));
	if ((r = dm_remove("m0")) != 0 || (r = dm_remove("f1")) != 0)
		return (fail("remove: errno %d", r));
	return (0);
}

/* readd: leg 1 out (fail_leg) while records go to 5 chunks, then back. */
static int
scenario_readd(struct run *run)
{
	uint64_t at;
	long secs;
	int fd, r;

	if (mirror_up(run, leg_params(), &fd) != 0)
		return (1);
	for (at = 0; at < 64 * MIB; at += IO_MAX) {
		pattern(iobuf, IO_MAX, 3, at);
		if (sys_pwrite(fd, iobuf, IO_MAX, at) != IO_MAX)
			return (fail("fill: write at %lu", at));
	}
	if (wait_clean("m0", 60) != 0)
		return (fail("the chunks never came back to CLEAN"));
	out("readd: before: %s\n", status);
	if ((r = dm_message("m0", "fail_leg 1")) != 0)
		return (fail("fail_leg 1: errno %d", r));
	if (write_records(fd, 12, 5 * MIB, 0, 300) != 0)
		return (fail("writes while degraded"));
	dm_status("m0", 0, status, sizeof(status));
	out("readd: degraded writes: %s\n", status);
	if ((r = dm_message("m0", "add_leg 1")) != 0)
		return (fail("add_leg 1: errno %d", r));
	if ((secs = wait_in_sync("m0", 120)) < 0)
		return (fail("not in sync after add_leg"));
	out("readd: back in sync after %ld s\n", secs);
	sys_close(fd);
	return (healthy_stop());
}

/* remove-busy ROUNDS LEG_SECTORS: remove while a writer and a full resync
 * run over a failing leg; refused while open, clean once closed. */
static int
scenario_remove_busy(struct run *run)
{
	const char *a = run->args;
	uint64_t rounds = parse_u64(&a), leg_sectors = parse_u64(&a), i;
	int fd, pid, st, r, busy = 0;

	if (load_module() < 0)
		return (fail("kldload failed"));
	for (i = 0; i < rounds; i++) {
		if ((r = flakey_leg("f1", leg_sectors, 2, (int)(i % 3))) != 0 ||
		    (r = dm_load("m0", run->sectors, "mirror",
		    "2 /dev/vbd1 /dev/mapper/f1")) != 0)
			return (fail("round %lu: tables: errno %d", i, r));
		dm_message("m0", "full_resync");
		if ((fd = sys_open("/dev/mapper/m0", O_RDWR | O_DIRECT)) < 0)
			return (fail("open: errno %d", -fd));
		if ((pid = sys_fork()) == 0)
			sys_exit(io_worker(fd, 0, 24 * MIB, i, 0) == 0 ? 0 : 3);
		sys_sleep_ms(300);
		r = dm_remove("m0");
		if (r != 16 && r != 0)
			return (fail("remove while open: errno %d", r));
		busy += r == 16;
		if (sys_wait(&st) != pid)
			return (fail("the writer was lost"));
		sys_close(fd);
		if (dm_status("m0", 0, status, sizeof(status)) == 0)
			out("remove-busy: round %lu: %s\n", i, status);
		if (r == 16 && (r = dm_remove("m0")) != 0)
			return (fail("round %lu: remove once closed: errno %d", i, r));
		if ((r = dm_remove("f1")) != 0)
			return (fail("round %lu: remove f1: errno %d", i, r));
		out("remove-busy: round %lu: writer exit %d\n", i, st >> 8);
	}
	out("remove-busy: %lu rounds, %d removes refused while open\n",
	    rounds, busy);
	return (0);
}

/* Runs /sbin/mirrorctl with argv; 0 if it exited with `want`, else fail()'s 1. */
static int
mirrorctl(int want, const char *const argv[])
{
	char line[256];
	size_t at = 0;
	int i, rc;

	for (i = 0; argv[i] != NULL; i++)
		at += format(line + at, sizeof(line) - at, " %s", argv[i]);
	out("mirrorctl:%s\n", line);
	rc = run_program(argv);
	out("mirrorctl: exit %d\n", rc);
	if (rc != want)
		return (fail("mirrorctl%s: exit %d, expected %d", line, rc,
		    want));
	return (0);
}

/*
 * mirrorctl, built for DragonFly, used where a DragonFly user is: it
 * refuses one disk under two names, makes the metadata on the guest's
 * disks, the kernel assembles the mirror from it, and after writes and a
 * clean stop it examines and checks the legs; resync given one leg of two
 * refuses (the host then checks the legs were left as they were).
 */
static int
scenario_mirrorctl(struct run *run)
{
	static const char *const version[] = { "/sbin/mirrorctl", "--version",
	    NULL };
	static const char *const alias[] = { "/sbin/mirrorctl", "create",
	    "/dev/vbd1", "/dev/../dev/vbd1", NULL };
	static const char *const create[] = { "/sbin/mirrorctl", "create",
	    "--chunk-size", "1M", "/dev/vbd1", "/dev/vbd2", NULL };
	static const char *const examine[] = { "/sbin/mirrorctl", "examine",
	    "/dev/vbd1", NULL };
	static const char *const check[] = { "/sbin/mirrorctl", "check",
	    "/dev/vbd1", "/dev/vbd2", NULL };
	static const char *const part[] = { "/sbin/mirrorctl", "resync",
	    "/dev/vbd2", NULL };
	int fd;

	if (mirrorctl(0, version) || mirrorctl(2, alias) ||
	    mirrorctl(0, create))
		return (1);
	if (mirror_up(run, leg_params(), &fd) != 0)
		return (1);
	if (io_worker(fd, 0, 4 * MIB, 0x5eed, 0) != 0 ||
	    io_worker(fd, 0, 4 * MIB, 0x5eed, 1) != 0)
		return (fail("writing and reading back 4 MiB"));
	sys_close(fd);
	if (healthy_stop() != 0)
		return (1);
	if (mirrorctl(0, examine) || mirrorctl(0, check) ||
	    mirrorctl(1, part))
		return (1);
	out("mirrorctl: made the legs, the kernel ran them, examined, "
	    "checked, refused a partial resync\n");
	return (0);
}

const struct scenario scenarios[] = {
	{ "load", scenario_load },
	{ "create", scenario_create },
	{ "io", scenario_io },
	{ "bad-table", scenario_bad_table },
	{ "crash-write", scenario_crash_write },
	{ "recover", scenario_recover },
	{ "failing-leg", scenario_failing_leg },
	{ "readd", scenario_readd },
	{ "remove-busy", scenario_remove_busy },
	{ "mirrorctl", scenario_mirrorctl },
	{ NULL, NULL }
};
