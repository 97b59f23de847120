/*
 * A whole mirror's life through dm_mirror.h, as a kernel adapter would
 * drive it: parse the table, assemble two legs, write and read through
 * the lock and lock-free, fail a leg, bring it back and let it resync,
 * print status and table, and check the legs hold the same bytes.
 * Child I/O runs at once on two in-memory leg images.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm_mirror.h"

#define SECTOR	512
#define NREQ	16

struct leg {
	uint8_t	*bytes;
	uint64_t size;
};

struct rig {
	struct leg	 legs[2];
	struct leg	 log;		/* a disk log's device, if any */
	struct dmm_mirror *m;
	const struct dmm_fast *fast;
	struct dmm_info	 info;
	uint8_t		**resync;
	/* Data of requests in flight, by id (ids are small). */
	uint8_t		*data[NREQ];
	int		 result[NREQ];
	int		 completed[NREQ];
	uint64_t	 now;
	int		 failures;
	int		 failed_leg;	/* writes to this slot fail; -1 none */
	unsigned	 logs[16];
};

#define CHECK(r, cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "scenario.c:%d: check failed: %s\n",	\
		    __LINE__, #cond);					\
		(r)->failures++;					\
	}								\
} while (0)

/* The device at a table position: a leg, or the log. */
static struct leg *
device(struct rig *r, uint32_t pos)
{
	if (pos == DMM_LOG_DEVICE)
		return (r->log.bytes != NULL ? &r->log : NULL);
	return (pos < 2 ? &r->legs[pos] : NULL);
}

static bool
read_block(void *ctx, uint32_t pos, uint64_t sector, uint8_t *block)
{
	struct leg *d = device(ctx, pos);

	if (d == NULL || (sector + 8) * SECTOR > d->size)
		return (false);
	memcpy(block, d->bytes + sector * SECTOR, DMM_BLOCK_SIZE);
	return (true);
}

/* Runs one child I/O on its leg; false if it fails. */
static bool
run_io(struct rig *r, const struct dmm_action *a)
{
	struct leg *leg = device(r, (uint32_t)dmm_leg_position(r->m, a->leg));
	uint8_t *media;
	size_t len = (size_t)a->sectors * SECTOR;
	uint8_t *mem = NULL;

	if (leg == NULL || (a->sector + a->sectors) * SECTOR > leg->size) {
		fprintf(stderr, "I/O beyond its device: leg %u sector %llu\n",
		    a->leg, (unsigned long long)a->sector);
		r->failures++;
		return (false);
	}
	media = leg->bytes + a->sector * SECTOR;

	if (a->op == DMM_OP_FLUSH)
		return (true);
	if (a->op == DMM_OP_WRITE && (int)a->leg == r->failed_leg)
		return (false);
	switch (a->buffer) {
	case DMM_BUF_REQUEST:
		mem = r->data[a->value % NREQ] + (size_t)a->buffer_offset * SECTOR;
		break;
	case DMM_BUF_META:
		mem = (uint8_t *)dmm_meta_block(r->m, a->buffer_index);
		break;
	case DMM_BUF_RESYNC:
		mem = r->resync[a->buffer_index];
		break;
	}
	if (a->op == DMM_OP_DISCARD)
		memset(media, 0, len);
	else if (a->op == DMM_OP_WRITE)
		memcpy(media, mem, len);
	else
		memcpy(mem, media, len);
	return (true);
}

/* Drains every action, running child I/O at once. */
static void
pump(struct rig *r)
{
	struct dmm_action a;

	while (dmm_poll(r->m, &a)) {
		switch (a.kind) {
		case DMM_ACTION_IO:
			CHECK(r, dmm_complete(r->m, a.child, run_io(r, &a)) ==
			    DMM_OK);
			break;
		case DMM_ACTION_COMPLETE:
			r->completed[a.value % NREQ] = 1;
			r->result[a.value % NREQ] = a.result;
			break;
		case DMM_ACTION_LOG:
			if (a.result > 0 && a.result < 16)
				r->logs[a.result]++;
			fprintf(stderr, "dm-mirror: %s\n", (const char *)a.text);
			break;
		}
	}
}

/* Lets time pass until the mirror is at rest. */
static void
settle(struct rig *r)
{
	int i;

	for (i = 0; i < 200; i++) {
		r->now += 100000000;	/* 100 ms */
		dmm_tick(r->m, r->now);
		pump(r);
	}
}

static void
fill(uint8_t *buf, size_t len, uint64_t id)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(id * 31 + i / SECTOR);
}

/* A request through the lock; returns its result. */
static int
slow(struct rig *r, uint64_t id, uint32_t op, uint64_t sector, uint32_t n)
{
	struct dmm_request q = { id, op, 0, sector, n };

	r->completed[id % NREQ] = 0;
	if (op == DMM_OP_WRITE)
		fill(r->data[id % NREQ], (size_t)n * SECTOR, id);
	CHECK(r, dmm_submit(r->m, &q) == DMM_OK);
	pump(r);
	CHECK(r, r->completed[id % NREQ]);
	return (r->result[id % NREQ]);
}

/* A write lock-free, if the mirror allows it; returns whether it ran. */
static bool
fast_write(struct rig *r, uint64_t id, uint64_t sector, uint32_t n)
{
	struct dmm_request q = { id, DMM_OP_WRITE, 0, sector, n };
	struct dmm_fast_write w;
	int slot;

	if (!dmm_fast_try_write(r->fast, &q, &w))
		return (false);
	fill(r->data[id % NREQ], (size_t)n * SECTOR, id);
	for (slot = 0; slot < DMM_MAX_LEGS; slot++) {
		if (w.legs & (1u << slot)) {
			struct leg *leg = &r->legs[w.positions[slot]];

			memcpy(leg->bytes + w.leg_sector * SECTOR,
			    r->data[id % NREQ], (size_t)n * SECTOR);
		}
	}
	CHECK(r, dmm_fast_write_done(r->fast, &w, 0) == DMM_FAST_COMPLETE);
	return (true);
}

static bool
legs_equal(struct rig *r)
{
	size_t off = r->info.data_offset * SECTOR;

	return (memcmp(r->legs[0].bytes + off, r->legs[1].bytes + off,
	    r->info.data_sectors * SECTOR) == 0);
}

/* The mirror's shape and its resync buffers, once it is created. */
static void
take_info(struct rig *r)
{
	uint32_t i;

	CHECK(r, dmm_get_info(r->m, &r->info) == DMM_OK);
	r->resync = calloc(r->info.resync_buffers, sizeof(*r->resync));
	for (i = 0; i < r->info.resync_buffers; i++)
		r->resync[i] = calloc(r->info.chunk_sectors, SECTOR);
}

static void
free_buffers(struct rig *r)
{
	uint32_t i;

	for (i = 0; i < r->info.resync_buffers; i++)
		free(r->resync[i]);
	free(r->resync);
	for (i = 0; i < NREQ; i++)
		free(r->data[i]);
}

static void
bad_tables(struct rig *r)
{
	const char *missing[] = { "3", "leg0", "leg1" };
	const char *twice[] = { "2", "leg0", "leg0" };
	struct dmm_mirror *m = NULL;
	struct dmm_error err;

	CHECK(r, dmm_create(3, missing, read_block, r, 0, &m, &err) ==
	    DMM_ERR_TABLE);
	CHECK(r, err.code == DMM_ERR_TABLE && m == NULL);
	CHECK(r, strstr((const char *)err.message, "argument") != NULL);
	fprintf(stderr, "refused as it should: %s\n",
	    (const char *)err.message);
	CHECK(r, dmm_create(3, twice, read_block, r, 0, &m, &err) ==
	    DMM_ERR_TABLE);
	CHECK(r, dmm_create(3, missing, NULL, r, 0, &m, &err) == DMM_ERR_ARG);
}

static void
messages(struct rig *r)
{
	const char *rate[] = { "resync_rate", "100", "2000" };
	const char *policy[] = { "read_policy", "prefer" };
	const char *bad[] = { "add_leg", "sixteen" };
	struct dmm_message msg;
	struct dmm_error err;

	CHECK(r, dmm_parse_message(3, rate, &msg, &err) == DMM_OK);
	CHECK(r, msg.kind == DMM_MSG_RESYNC_RATE && msg.a == 100 &&
	    msg.b == 2000);
	CHECK(r, dmm_parse_message(2, policy, &msg, &err) == DMM_OK);
	CHECK(r, msg.kind == DMM_MSG_READ_POLICY &&
	    msg.a == DMM_POLICY_PREFER);
	CHECK(r, dmm_parse_message(2, bad, &msg, &err) == DMM_ERR_TABLE);
	CHECK(r, strstr((const char *)err.message, "not a number") != NULL);
}

int
dmm_c_scenario(uint8_t *leg0, uint8_t *leg1, uint64_t leg_bytes)
{
	const char *table[] = { "2", "leg0", "leg1", "2", "read_policy",
	    "round-robin" };
	const char *devs[] = { "254:0", "254:16" };
	struct dmm_leg_spec specs[DMM_MAX_LEGS];
	struct dmm_request q;
	struct dmm_fast_read rd;
	struct dmm_error err;
	struct rig rig, *r = &rig;
	char text[512];
	uint8_t uuid[16] = { 7 };
	static uint8_t block[2][DMM_BLOCK_SIZE];
	uint32_t count, slot, i;
	uint64_t chunk;

	memset(r, 0, sizeof(*r));
	r->legs[0].bytes = leg0;
	r->legs[1].bytes = leg1;
	r->legs[0].size = r->legs[1].size = leg_bytes;
	r->failed_leg = -1;
	for (i = 0; i < NREQ; i++)
		r->data[i] = calloc(64, SECTOR);

	bad_tables(r);
	messages(r);

	/* The adapter learns which words name devices, then opens them. */
	CHECK(r, dmm_table_legs(6, table, specs, DMM_MAX_LEGS, &count,
	    &err) == DMM_OK);
	CHECK(r, count == 2 && specs[0].argv_index == 1 &&
	    specs[1].argv_index == 2 && specs[1].offset == 0);
	CHECK(r, dmm_memory_bound(leg_bytes / SECTOR, 8, 6, table) > 0);
	if (dmm_create(6, table, read_block, r, 0, &r->m, &err) != DMM_OK) {
		fprintf(stderr, "create: %s\n", (const char *)err.message);
		return (r->failures + 1);
	}
	r->fast = dmm_fast_path(r->m);
	take_info(r);
	chunk = r->info.chunk_sectors;
	pump(r);

	/* Writes: the first to a chunk goes through the lock... */
	CHECK(r, slow(r, 1, DMM_OP_WRITE, 0, (uint32_t)chunk) == DMM_IO_OK);
	CHECK(r, slow(r, 2, DMM_OP_WRITE, 3 * chunk, (uint32_t)chunk) ==
	    DMM_IO_OK);
	/* ...later ones to a DIRTY chunk may skip it. */
	CHECK(r, fast_write(r, 3, 2, 4));
	CHECK(r, legs_equal(r));

	/* Reads, lock-free, from either leg. */
	q = (struct dmm_request){ 4, DMM_OP_READ, 0, 2, 4 };
	CHECK(r, dmm_fast_try_read(r->fast, &q, &rd));
	CHECK(r, rd.leg < 2 && rd.leg_sector == r->info.data_offset + 2);
	dmm_fast_read_done(r->fast, &rd);
	CHECK(r, slow(r, 5, DMM_OP_READ, 0, 8) == DMM_IO_OK);
	fill(r->data[6], 4 * SECTOR, 3);
	CHECK(r, memcmp(r->data[5] + 2 * SECTOR, r->data[6], 4 * SECTOR) == 0);

	/* Leg 1 starts failing writes: the mirror drops it and goes on. */
	r->failed_leg = 1;
	CHECK(r, slow(r, 7, DMM_OP_WRITE, 5 * chunk, 8) == DMM_IO_OK);
	CHECK(r, dmm_leg_health(r->m, 1) == DMM_LEG_FAILED);
	CHECK(r, r->logs[DMM_LOG_LEG_FAILED] == 1);
	CHECK(r, dmm_status(r->m, NULL, text, sizeof(text)) == DMM_OK);
	fprintf(stderr, "status, degraded: %s\n", text);
	CHECK(r, strncmp(text, "2 leg0 leg1 ", 12) == 0);
	CHECK(r, strstr(text, " 1 AD ") != NULL);
	CHECK(r, slow(r, 8, DMM_OP_WRITE, 7 * chunk, 8) == DMM_IO_OK);
	CHECK(r, !legs_equal(r));

	/* Refusals carry a reason. */
	CHECK(r, dmm_fail_leg(r->m, 0, &err) == DMM_ERR_ADMIN);
	fprintf(stderr, "refused as it should: %s\n",
	    (const char *)err.message);

	/* The leg is replaced by itself: it returns and is resynced. */
	r->failed_leg = -1;
	CHECK(r, dmm_remove_leg(r->m, 1, &err) == DMM_OK);
	pump(r);
	/* A position the table does not have is named as such. */
	CHECK(r, dmm_add_leg(r->m, 7, NULL, NULL, uuid, leg_bytes / SECTOR,
	    &slot, &err) == DMM_ERR_ADMIN);
	CHECK(r, strstr((const char *)err.message,
	    "no device at table position 7") != NULL);
	CHECK(r, read_block(r, 1, 0, block[0]) && read_block(r, 1, 8, block[1]));
	CHECK(r, dmm_add_leg(r->m, 1, block[0], block[1], uuid,
	    leg_bytes / SECTOR, &slot, &err) == DMM_OK);
	pump(r);
	CHECK(r, dmm_leg_health(r->m, slot) == DMM_LEG_REBUILDING);
	settle(r);
	CHECK(r, dmm_leg_health(r->m, slot) == DMM_LEG_ALIVE);
	CHECK(r, r->logs[DMM_LOG_REBUILD_FINISHED] == 1);
	CHECK(r, legs_equal(r));
	CHECK(r, dmm_is_idle(r->m));
	CHECK(r, dmm_chunks_needing_resync(r->m) == 0);

	/* Status and table as dmsetup prints them. */
	CHECK(r, dmm_status(r->m, NULL, text, sizeof(text)) == DMM_OK);
	fprintf(stderr, "status, in sync: %s\n", text);
	CHECK(r, strstr(text, " 1 AA ") != NULL);
	CHECK(r, dmm_status(r->m, NULL, text, 8) == DMM_ERR_SPACE);
	CHECK(r, dmm_table(r->m, NULL, text, sizeof(text)) == DMM_OK);
	CHECK(r, strcmp(text, "2 leg0 leg1 2 read_policy round-robin") == 0);
	/* With the device numbers the kernel knows the legs by. */
	CHECK(r, dmm_table(r->m, devs, text, sizeof(text)) == DMM_OK);
	CHECK(r, strcmp(text, "2 254:0 254:16 2 read_policy round-robin") == 0);
	CHECK(r, dmm_status(r->m, devs, text, sizeof(text)) == DMM_OK);
	CHECK(r, strncmp(text, "2 254:0 254:16 ", 15) == 0);

	/* A clean stop marks the superblocks clean. */
	CHECK(r, dmm_suspend(r->m) == DMM_OK);
	settle(r);
	CHECK(r, dmm_is_suspended(r->m));
	CHECK(r, dmm_complete(r->m, 12345, true) == DMM_ERR_ARG);

	dmm_destroy(r->m);
	free_buffers(r);
	return (r->failures);
}

/*
 * LVM's disk log: the table names a log device, which the adapter opens as
 * DMM_LOG_DEVICE; the legs hold data only. A blank log starts a new mirror
 * that copies leg 0 to leg 1; a second start finds the mirror on the log.
 */
int
dmm_c_lvm_scenario(void)
{
	const char *table[] = { "disk", "2", "log", "8", "2", "leg0", "0",
	    "leg1", "0" };
	struct dmm_log_args args = { 512, 0, { 3 } };
	struct dmm_leg_spec specs[DMM_MAX_LEGS];
	struct dmm_error err;
	struct rig rig, *r = &rig;
	char text[512];
	uint32_t count, log, i;

	memset(r, 0, sizeof(*r));
	r->failed_leg = -1;
	for (i = 0; i < 2; i++) {
		r->legs[i].size = args.data_sectors * SECTOR;
		r->legs[i].bytes = calloc(args.data_sectors, SECTOR);
	}
	/* Leg 1 holds other bytes: the first copy must replace them. */
	memset(r->legs[1].bytes, 0x5a, r->legs[1].size);
	r->log.size = 1024 * SECTOR;
	r->log.bytes = calloc(1024, SECTOR);
	for (i = 0; i < NREQ; i++)
		r->data[i] = calloc(64, SECTOR);

	CHECK(r, dmm_table_log(9, table, &log, &err) == DMM_OK && log == 2);
	CHECK(r, dmm_table_legs(9, table, specs, DMM_MAX_LEGS, &count,
	    &err) == DMM_OK && count == 2 && specs[1].argv_index == 7);
	CHECK(r, dmm_table_log(3, (const char *[]){ "2", "a", "b" }, &log,
	    &err) == DMM_OK && log == DMM_NO_LOG);
	/* Without the sizes, and with a log too small: refused, with why. */
	CHECK(r, dmm_create(9, table, read_block, r, 0, &r->m, &err) ==
	    DMM_ERR_ARG);
	fprintf(stderr, "refused as it should: %s\n", (const char *)err.message);
	args.log_sectors = 8;
	CHECK(r, dmm_create_with_log(9, table, read_block, r, 0, &args, &r->m,
	    &err) == DMM_ERR_ASSEMBLY);
	fprintf(stderr, "refused as it should: %s\n", (const char *)err.message);

	args.log_sectors = r->log.size / SECTOR;
	if (dmm_create_with_log(9, table, read_block, r, 0, &args, &r->m,
	    &err) != DMM_OK) {
		fprintf(stderr, "create: %s\n", (const char *)err.message);
		return (r->failures + 1);
	}
	CHECK(r, dmm_leg_position(r->m, DMM_LOG_DEVICE) == DMM_LOG_DEVICE);
	take_info(r);
	CHECK(r, r->info.data_offset == 0 && r->info.data_sectors == 512);
	CHECK(r, dmm_chunks_needing_resync(r->m) == r->info.chunk_count);
	pump(r);
	CHECK(r, slow(r, 1, DMM_OP_WRITE, 16, 8) == DMM_IO_OK);
	settle(r);
	CHECK(r, dmm_chunks_needing_resync(r->m) == 0);
	CHECK(r, legs_equal(r));
	/* Our superblock went to the log, at slot 0's area. */
	CHECK(r, memcmp(r->log.bytes, "DMMIRROR", 8) == 0);
	CHECK(r, dmm_status(r->m, NULL, text, sizeof(text)) == DMM_OK);
	fprintf(stderr, "status, disk log: %s\n", text);
	CHECK(r, strstr(text, " 1 AA 3 disk log A ") != NULL);
	CHECK(r, dmm_suspend(r->m) == DMM_OK);
	settle(r);
	CHECK(r, dmm_is_suspended(r->m));
	dmm_destroy(r->m);

	/* Started again: the log holds the mirror; nothing to copy. */
	CHECK(r, dmm_create_with_log(9, table, read_block, r, 0, &args, &r->m,
	    &err) == DMM_OK);
	CHECK(r, dmm_chunks_needing_resync(r->m) == 0);
	dmm_destroy(r->m);

	free_buffers(r);
	free(r->legs[0].bytes);
	free(r->legs[1].bytes);
	free(r->log.bytes);
	return (r->failures);
}
