/*
 * make netbsd-test's driver: one process is one boot of a NetBSD (7.99)
 * rump kernel with NetBSD's own dm and our module registered as the
 * "mirror" target by the module framework (MODULE(), as modload would).
 * The legs are host files, block devices of the rump kernel through
 * rumpblk, whose I/O passes the fault hook (faultdisk.c).
 *
 * Usage: nbtest SCENARIO SECTORS SEED FILE...   (FILE i is /dev/dmleg<i>)
 *        nbtest version 0 0 /dev/null          (the kernel's release only)
 * Prints "RESULT PASS" or "RESULT FAIL why"; the host half of each
 * scenario (vm-test/netbsd/run.sh) checks the files with mirrorctl.
 */
#include <sys/types.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>
#include <rump/rumpdefs.h>

#include "dmctl.h"
#include "faultdisk.h"
#include "../../guest/records.h"

/* _IOW('d', 118, int) on NetBSD. */
#define DIOCCACHESYNC	0x80046476UL
#define MIB		(1024UL * 1024)
#define IO_MAX		(256 * 1024)
#define SPAN_BYTES	(64 * MIB)	/* the records' span, as in vm-test */
#define WRITERS		2

struct run {
	uint64_t	 sectors;
	uint64_t	 seed;
	int		 nfiles;
	unsigned	 cut_window_ms;
};

/* The power-loss mirror: chunks clean 300 ms after their last write. */
#define POWER_TABLE	"2 /dev/dmleg0 /dev/dmleg1 2 clean_delay 300"

static pthread_mutex_t ack_lock = PTHREAD_MUTEX_INITIALIZER;
static char text[2048];

static int
fail(const char *fmt, ...)
{
	va_list ap;

	printf("RESULT FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return (1);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
sleep_ms(unsigned ms)
{
	usleep(ms * 1000U);
}

static int
open_mirror(const char *node)
{
	return (rump_sys_open(node, RUMP_O_RDWR));
}

static int
cache_sync(int fd)
{
	int force = 1;

	return (rump_sys_ioctl(fd, DIOCCACHESYNC, &force));
}

/* The 2-leg native table over /dev/dmleg0 and /dev/dmleg1. */
static int
mirror_up(struct run *run, const char *params, char *node, size_t len)
{
	if (dm_create("m0", run->sectors, "mirror", params, node, len) != 0)
		return (fail("table '%s' refused", params));
	return (0);
}

/* Removed, and this mirror (not an earlier one) said it stopped cleanly. */
static int
mirror_down(const char *name)
{
	char said[128];

	snprintf(said, sizeof(said), "dm_target_mirror: %s: suspended: "
	    "superblocks marked clean", name);
	if (dm_remove(name) != 0)
		return (fail("remove %s refused", name));
	if (!console_wait(said, 10000))
		return (fail("%s: no clean stop on the console", name));
	return (0);
}

/* ---- records: numbered 4 KiB writes, each acknowledged after a flush ---- */

struct writer {
	int		 fd;
	uint64_t	 seed, span, first, count, step;
	int		 stop_on_error;
	int		 result;
};

static void *
write_records(void *arg)
{
	struct writer *w = arg;
	uint8_t *b = aligned_alloc(4096, RECORD_BYTES);
	uint64_t n;

	w->result = 0;
	for (n = w->first; n < w->first + w->count; n += w->step) {
		record(w->seed, n, b);
		if (rump_sys_pwrite(w->fd, b, RECORD_BYTES,
		    (off_t)(record_sector(w->span / 512, n) * 512)) !=
		    RECORD_BYTES || cache_sync(w->fd) != 0) {
			printf("record %" PRIu64 " not written\n", n);
			w->result = 1;
			break;
		}
		pthread_mutex_lock(&ack_lock);
		printf("ack %" PRIu64 "\n", n);
		pthread_mutex_unlock(&ack_lock);
	}
	free(b);
	return (NULL);
}

/* Records first.. in WRITERS threads at once (record n to thread n % W). */
static int
records(int fd, uint64_t seed, uint64_t span, uint64_t first, uint64_t count)
{
	struct writer w[WRITERS];
	pthread_t t[WRITERS];
	int i, failed = 0;

	for (i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ .fd = fd, .seed = seed, .span = span,
		    .first = first + (uint64_t)i, .count = count - (uint64_t)i,
		    .step = WRITERS };
		pthread_create(&t[i], NULL, write_records, &w[i]);
	}
	for (i = 0; i < WRITERS; i++) {
		pthread_join(t[i], NULL);
		failed += w[i].result;
	}
	return (failed);
}

/* ---- the scenarios ---- */

/*
 * lvm-table: the native table and LVM's core log table over legs 0 and 1
 * (ours), LVM's disk log table over blank images 2 and 3 with log 4.
 */
static int
scenario_lvm_table(struct run *run)
{
	static const struct {
		const char *name, *params;
	} tables[] = {
		{ "native", "2 /dev/dmleg0 /dev/dmleg1" },
		{ "core", "core 1 2048 2 /dev/dmleg0 0 /dev/dmleg1 0" },
		{ "disk", "disk 2 /dev/dmleg4 2048 2 /dev/dmleg2 0 /dev/dmleg3 0" },
	};
	uint64_t lvm_sectors = 64 * 2048;	/* the blank images' size */
	unsigned i;
	int r;

	for (i = 0; i < 3; i++) {
		if (dm_create(tables[i].name, i < 2 ? run->sectors :
		    lvm_sectors, "mirror", tables[i].params, NULL, 0) != 0)
			return (fail("%s table refused", tables[i].name));
		if (dm_text(tables[i].name, 1, text, sizeof(text)) != 1)
			return (fail("%s: no table text", tables[i].name));
		printf("table: %s\n", text);
		/* NetBSD 8's dm asks a target for its table only. */
		r = dm_text(tables[i].name, 0, text, sizeof(text));
		printf("status-params: %s\n", r == 1 ? text : "(none)");
		if (i == 2 && !console_wait("resync finished", 120000))
			return (fail("disk log: the first copy did not finish"));
		if (mirror_down(tables[i].name) != 0)
			return (1);
	}
	return (0);
}

struct io_job {
	int		 fd, verify, result;
	uint64_t	 base, bytes, seed;
};

static void *
io_worker(void *arg)
{
	struct io_job *j = arg;
	uint8_t *buf = aligned_alloc(4096, IO_MAX);
	uint8_t *check = aligned_alloc(4096, IO_MAX);
	uint64_t at, len;
	unsigned k = 0;

	j->result = 0;
	for (at = 0; at < j->bytes && j->result == 0; at += len, k++) {
		len = 4096UL << (k % 7);
		if (len > j->bytes - at)
			len = j->bytes - at;
		if (j->verify) {
			if (rump_sys_pread(j->fd, buf, len,
			    (off_t)(j->base + at)) != (ssize_t)len)
				j->result = 1;
			pattern(check, len, j->seed, j->base + at);
			if (j->result == 0 && memcmp(buf, check, len) != 0) {
				printf("io: data differs in [%" PRIu64 ", +%"
				    PRIu64 ")\n", j->base + at, len);
				j->result = 1;
			}
			continue;
		}
		pattern(buf, len, j->seed, j->base + at);
		if (rump_sys_pwrite(j->fd, buf, len, (off_t)(j->base + at)) !=
		    (ssize_t)len)
			j->result = 1;
	}
	free(buf);
	free(check);
	return (NULL);
}

/* Jobs at once, each over its region; the number that failed. */
static int
io_jobs(struct io_job *jobs, int n)
{
	pthread_t t[16];
	int i, failed = 0;

	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, io_worker, &jobs[i]);
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		failed += jobs[i].result;
	}
	return (failed);
}

/*
 * io: region 0 written; then 4 writers (regions 1-4) and 2 readers of
 * region 0 at once over 4 rump CPUs, completions delayed and reordered;
 * then 5 readers of everything. The host finds the legs identical.
 */
static int
scenario_io(struct run *run)
{
	struct io_job jobs[8];
	uint64_t region = 4 * MIB;
	char node[64];
	int fd, i, n = 0, failed;

	if (mirror_up(run, "2 /dev/dmleg0 /dev/dmleg1", node, sizeof(node)))
		return (1);
	if ((fd = open_mirror(node)) < 0)
		return (fail("open %s", node));
	disk_delay(3000, run->seed);
	jobs[0] = (struct io_job){ fd, 0, 0, 0, region, run->seed };
	if (io_jobs(jobs, 1) != 0)
		return (fail("writing region 0"));
	for (i = 1; i <= 4; i++)
		jobs[n++] = (struct io_job){ fd, 0, 0, i * region, region,
		    run->seed };
	for (i = 0; i < 2; i++)
		jobs[n++] = (struct io_job){ fd, 1, 0, 0, region, run->seed };
	if ((failed = io_jobs(jobs, n)) != 0)
		return (fail("%d of 4 writers and 2 readers failed", failed));
	for (i = 0; i <= 4; i++)
		jobs[i] = (struct io_job){ fd, 1, 0, i * region, region,
		    run->seed };
	if ((failed = io_jobs(jobs, 5)) != 0)
		return (fail("%d of 5 readers failed", failed));
	printf("io: 4 writers and 2 readers at once, then 5 readers, over "
	    "%" PRIu64 " MiB, completions reordered: every byte read back\n",
	    5 * region / MIB);
	rump_sys_close(fd);
	return (mirror_down("m0"));
}

/* A thread that makes leg `leg` fail after ms. */
struct later {
	int		 leg, knob, value;
	unsigned	 ms;
};

static void *
set_later(void *arg)
{
	struct later *l = arg;

	sleep_ms(l->ms);
	disk_set(l->leg, (enum disk_knob)l->knob, l->value);
	printf("fault: leg %d knob %d set to %d\n", l->leg, l->knob, l->value);
	return (NULL);
}

/* Records for 3 s while leg 1 goes bad (knob) 150 ms in. */
static int
degrade_under_load(struct run *run, int knob, uint64_t seed, uint64_t span)
{
	struct later l = { 1, knob, 1, 150 };
	struct disk_stats s1;
	pthread_t t;
	char node[64];
	uint64_t start, n;
	int fd;

	if (mirror_up(run, "2 /dev/dmleg0 /dev/dmleg1", node, sizeof(node)))
		return (1);
	if ((fd = open_mirror(node)) < 0)
		return (fail("open %s", node));
	disk_delay(500, run->seed);
	pthread_create(&t, NULL, set_later, &l);
	start = now_ms();
	/* Fewer records than the span has places: none is rewritten. */
	for (n = 0; now_ms() - start < 3000 && n < 12000; n += 100)
		if (records(fd, seed, span, n, 100) != 0)
			return (fail("a write failed while one leg was left"));
	pthread_join(t, NULL);
	rump_sys_close(fd);
	disk_stats(1, &s1);
	printf("leg 1: %" PRIu64 " writes, %" PRIu64 " failed, %" PRIu64
	    " short\n", s1.writes, s1.failed, s1.short_done);
	if (!console_has("leg 1 failed; the mirror goes on without it"))
		return (fail("leg 1 never reported failed"));
	return (mirror_down("m0"));
}

/* failing-leg: leg 1 fails every I/O mid-load; nothing acknowledged lost. */
static int
scenario_failing_leg(struct run *run)
{
	return (degrade_under_load(run, DISK_FAIL, 11, SPAN_BYTES));
}

/* short-transfer: leg 1 completes every I/O half done without an error. */
static int
scenario_short_transfer(struct run *run)
{
	return (degrade_under_load(run, DISK_SHORT, 13, SPAN_BYTES));
}

/* flush-unsupported: flushes answered ENOTTY and EOPNOTSUPP; no leg fails. */
static int
scenario_flush_unsupported(struct run *run)
{
	struct disk_stats s0, s1;
	char node[64];
	int fd;

	disk_set(0, DISK_SYNC_ERRNO, NB_ENOTTY);
	disk_set(1, DISK_SYNC_ERRNO, NB_EOPNOTSUPP);
	if (mirror_up(run, "2 /dev/dmleg0 /dev/dmleg1", node, sizeof(node)))
		return (1);
	if ((fd = open_mirror(node)) < 0)
		return (fail("open %s", node));
	if (records(fd, 14, SPAN_BYTES, 0, 200) != 0)
		return (fail("records with unsupported flushes"));
	rump_sys_close(fd);
	if (console_has("failed; the mirror goes on"))
		return (fail("a leg was failed for its flush"));
	disk_stats(0, &s0);
	disk_stats(1, &s1);
	printf("flush-unsupported: %" PRIu64 " and %" PRIu64 " writes, no leg "
	    "failed\n", s0.writes, s1.writes);
	return (mirror_down("m0"));
}

/*
 * power-loss: records from 2 writers over a volatile write cache, with
 * completions delayed and reordered, beside a scribbler whose writes are
 * never flushed (chunks go DIRTY and, after 300 ms, lazily CLEAN again),
 * until the power goes at a time drawn from the seed: from the activation
 * on (superblocks, first writes, bitmap updates, lazy cleans). What is
 * acknowledged is what was printed before the cut. recover-cut cuts the
 * power again during the recovery's resync.
 */
static void *
power_cut(void *arg)
{
	struct run *run = arg;
	struct disk_stats s0, s1;
	uint64_t x = run->seed;
	unsigned ms = (unsigned)(splitmix(&x) % run->cut_window_ms);

	sleep_ms(ms);
	pthread_mutex_lock(&ack_lock);	/* no acknowledgement after the cut */
	disk_power_loss(splitmix(&x));
	disk_stats(0, &s0);
	disk_stats(1, &s1);
	printf("power-loss: seed %" PRIu64 ": the power went %u ms after "
	    "activation began; the caches dropped %" PRIu64 " and %" PRIu64
	    " writes\n", run->seed, ms, s0.dropped, s1.dropped);
	printf("RESULT PASS\n");
	fflush(stdout);
	_exit(0);
}

static void
power_cut_later(struct run *run, unsigned window_ms)
{
	pthread_t t;

	disk_cache(1);
	disk_delay(2000, run->seed);
	run->cut_window_ms = window_ms;
	pthread_create(&t, NULL, power_cut, run);
}

/* Unflushed writes of 64 KiB beyond the records' span, forever. */
static void *
scribble(void *arg)
{
	struct io_job *j = arg;
	uint8_t *buf = aligned_alloc(4096, 65536);
	uint64_t x = j->seed, at;

	for (;;) {
		at = j->base + splitmix(&x) % (j->bytes / 65536) * 65536;
		pattern(buf, 65536, j->seed, at);
		if (rump_sys_pwrite(j->fd, buf, 65536, (off_t)at) != 65536)
			sleep_ms(10);
	}
	return (NULL);
}

static int
scenario_power_loss(struct run *run)
{
	static struct io_job job;
	pthread_t t;
	char node[64];
	int fd;

	power_cut_later(run, 3000);
	if (mirror_up(run, POWER_TABLE, node, sizeof(node)))
		return (1);
	if ((fd = open_mirror(node)) < 0)
		return (fail("open %s", node));
	job = (struct io_job){ fd, 0, 0, SPAN_BYTES,
	    run->sectors * 512 - SPAN_BYTES, run->seed };
	pthread_create(&t, NULL, scribble, &job);
	records(fd, run->seed, SPAN_BYTES, 0, 1000000);
	sleep_ms(10000);
	return (fail("the power cut never came"));
}

/* recover: assembly after a crash; the resync it starts runs to its end. */
static int
scenario_recover(struct run *run)
{
	if (mirror_up(run, POWER_TABLE, NULL, 0))
		return (1);
	sleep_ms(500);
	if (console_has("resync of") &&
	    !console_wait("resync finished", 300000))
		return (fail("the resync did not finish"));
	return (mirror_down("m0"));
}

/* recover-cut: the same, with the power cut within its first 1.5 s. */
static int
scenario_recover_cut(struct run *run)
{
	power_cut_later(run, 1500);
	scenario_recover(run);
	sleep_ms(10000);
	return (fail("the power cut never came"));
}

/*
 * remove-busy: rounds of remove while a writer is busy, in odd rounds
 * with leg 1 failing; NetBSD's dm removes an open device (its I/O fails
 * afterwards). No crash, no hang; every round's stop is clean.
 */
static int
scenario_remove_busy(struct run *run)
{
	struct io_job job;
	pthread_t t;
	char node[64];
	int fd, round;

	/* Slow completions: requests are in flight when remove comes. */
	disk_delay(30000, run->seed);
	for (round = 0; round < 6; round++) {
		disk_set(1, DISK_FAIL, 0);
		if (mirror_up(run, "2 /dev/dmleg0 /dev/dmleg1", node,
		    sizeof(node)))
			return (1);
		if ((fd = open_mirror(node)) < 0)
			return (fail("open %s", node));
		job = (struct io_job){ fd, 0, 0, 0, 24 * MIB, (uint64_t)round };
		pthread_create(&t, NULL, io_worker, &job);
		sleep_ms(200);
		if (round % 2 == 1)
			disk_set(1, DISK_FAIL, 1);
		sleep_ms(100);
		if (dm_remove("m0") != 0)
			return (fail("round %d: remove refused", round));
		pthread_join(t, NULL);
		rump_sys_close(fd);
		printf("remove-busy: round %d: removed under a writer%s; the "
		    "writer %s\n", round, round % 2 ? " and a failing leg" : "",
		    job.result ? "saw its I/O fail" : "finished");
	}
	disk_set(1, DISK_FAIL, 0);
	return (0);
}

/* bad-table: each refused with a reason; the kernel goes on; a good one. */
static int
scenario_bad_table(struct run *run)
{
	static const char *bad[] = {
		"",
		"2 /dev/dmleg0",
		"x /dev/dmleg0 /dev/dmleg1",
		"2 /dev/dmleg0 /dev/dmleg0",
		/* Leg 0 under another name: specfs refuses a second open. */
		"2 /dev/dmleg0 /dev/dmalias",
		"2 /dev/dmleg0 /dev/nosuchdisk",
		"2 /dev/dmleg0 /dev/dmleg1 1 chunk_size",
		"2 /dev/dmleg0 /dev/dmleg1 2 bogus 1",
		"2 /dev/dmleg0 /dev/dmleg2",	/* another mirror's leg */
		"core 1 2048 2 /dev/dmleg0 99999999999 /dev/dmleg1 0",
		"disk 2 /dev/dmleg0 2048 2 /dev/dmleg0 0 /dev/dmleg1 0",
		NULL,				/* 70 words */
	};
	char many[1024];
	uint8_t sb[256];
	uint64_t rdev;
	int i, n, refused = 0;

	/* A second name for leg 0's device: its own block device node. */
	if (rump_sys_stat("/dev/dmleg0", (void *)sb) != 0)
		return (fail("stat /dev/dmleg0"));
	memcpy(&rdev, sb + 40, sizeof(rdev));
	if (rump_sys_mknod("/dev/dmalias", 0060000 | 0600, rdev) != 0)
		return (fail("mknod /dev/dmalias"));
	n = snprintf(many, sizeof(many), "2 /dev/dmleg0 /dev/dmleg1 67");
	for (i = 0; i < 67; i++)
		n += snprintf(many + n, sizeof(many) - (size_t)n, " x");
	for (i = 0; i < 12; i++) {
		const char *t = bad[i] != NULL ? bad[i] : many;

		if (dm_create("bad", run->sectors, "mirror", t, NULL, 0) == 0)
			return (fail("table '%.60s' accepted", t));
		printf("bad-table: '%.60s' -> refused\n", t);
		refused++;
	}
	if (dm_create("bad", run->sectors + 1, "mirror",
	    "2 /dev/dmleg0 /dev/dmleg1", NULL, 0) == 0)
		return (fail("a table longer than the data accepted"));
	printf("bad-table: length %" PRIu64 " (one past the data) -> refused\n",
	    run->sectors + 1);
	if (dm_create("good", run->sectors, "mirror",
	    "2 /dev/dmleg0 /dev/dmleg1", NULL, 0) != 0)
		return (fail("the good table after the bad ones was refused"));
	printf("bad-table: %d bad tables refused, then a good one loaded\n",
	    refused + 1);
	return (mirror_down("good"));
}

/* readd-out: leg 1 fails while records go to 5 MiB; then a clean stop. */
static int
scenario_readd_out(struct run *run)
{
	char node[64];
	int fd;

	if (mirror_up(run, "2 /dev/dmleg0 /dev/dmleg1", node, sizeof(node)))
		return (1);
	if ((fd = open_mirror(node)) < 0)
		return (fail("open %s", node));
	disk_set(1, DISK_FAIL, 1);
	if (records(fd, 12, 5 * MIB, 0, 300) != 0)
		return (fail("writes with leg 1 out"));
	rump_sys_close(fd);
	if (!console_has("leg 1 failed; the mirror goes on without it"))
		return (fail("leg 1 never reported failed"));
	return (mirror_down("m0"));
}

/* readd-back: leg 1 named again; rebuilt from its MODIFIED chunks only. */
static int
scenario_readd_back(struct run *run)
{
	if (mirror_up(run, "2 /dev/dmleg0 /dev/dmleg1", NULL, 0))
		return (1);
	if (!console_wait("rebuild of leg 1 started (MODIFIED chunks only)",
	    10000))
		return (fail("no rebuild of leg 1 from MODIFIED chunks"));
	if (!console_wait("leg 1 rebuilt: in sync", 120000))
		return (fail("leg 1 was not rebuilt"));
	return (mirror_down("m0"));
}

static const struct {
	const char	*name;
	int		(*run)(struct run *);
} scenarios[] = {
	{ "lvm-table", scenario_lvm_table },
	{ "io", scenario_io },
	{ "failing-leg", scenario_failing_leg },
	{ "short-transfer", scenario_short_transfer },
	{ "flush-unsupported", scenario_flush_unsupported },
	{ "power-loss", scenario_power_loss },
	{ "recover", scenario_recover },
	{ "recover-cut", scenario_recover_cut },
	{ "remove-busy", scenario_remove_busy },
	{ "bad-table", scenario_bad_table },
	{ "readd-out", scenario_readd_out },
	{ "readd-back", scenario_readd_back },
};

/* The kernel's own version string (sysctl kern.version). */
static void
say_kernel(void)
{
	int mib[2] = { 1, 4 };
	char version[256];
	size_t len = sizeof(version) - 1;

	memset(version, 0, sizeof(version));
	if (rump_sys___sysctl(mib, 2, version, &len, NULL, 0) != 0)
		snprintf(version, sizeof(version), "(sysctl failed)");
	version[strcspn(version, "\n")] = '\0';
	printf("nbtest kernel: %s\n", version);
}

int
main(int argc, char **argv)
{
	struct run run;
	char dev[32];
	unsigned i;
	int k, rc;

	if (argc < 5) {
		fprintf(stderr, "usage: nbtest SCENARIO SECTORS SEED FILE...\n");
		return (2);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	run.sectors = strtoull(argv[2], NULL, 0);
	run.seed = strtoull(argv[3], NULL, 0);
	run.nfiles = argc - 4;
	for (k = 0; k < run.nfiles; k++)
		disk_add_leg(k, argv[4 + k]);
	setenv("RUMP_NCPU", "4", 1);
	if ((rc = rump_init()) != 0)
		return (fail("rump_init: %d", rc));
	say_kernel();
	if (strcmp(argv[1], "version") == 0)	/* the release string only */
		return (0);
	for (k = 0; k < run.nfiles; k++) {
		snprintf(dev, sizeof(dev), "/dev/dmleg%d", k);
		if (rump_pub_etfs_register(dev, argv[4 + k], RUMP_ETFS_BLK))
			return (fail("etfs %s", dev));
	}
	if (dm_open_control() != 0)
		return (fail("no /dev/mapper/control"));
	if (!dm_has_target("mirror"))
		return (fail("dm lists no 'mirror' target: the module did "
		    "not register"));
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(scenarios[i].name, argv[1]) != 0)
			continue;
		rc = scenarios[i].run(&run);
		if (rc == 0)
			printf("RESULT PASS\n");
		fflush(stdout);
		return (rc);
	}
	return (fail("unknown scenario %s", argv[1]));
}
