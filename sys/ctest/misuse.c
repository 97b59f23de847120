/*
 * Every call of dm_mirror.h given what a buggy caller could give it: null
 * pointers, null words, short buffers, counts past their limits, slots,
 * positions, children and indexes that name nothing, malformed requests.
 * Each must answer with its documented failure (an error code, false, 0,
 * -1, NULL, DMM_LEG_EMPTY or DMM_IO_INVALID), never crash, and leave the
 * mirror working: a good request still completes afterwards.
 */

#include <stdio.h>
#include <string.h>

#include "dm_mirror.h"

struct images {
	uint8_t	*leg[2];
	uint64_t bytes;
};

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "misuse.c:%d: check failed: %s\n",	\
		    __LINE__, #cond);					\
		failures++;						\
	}								\
} while (0)

static bool
read_block(void *ctx, uint32_t pos, uint64_t sector, uint8_t *block)
{
	struct images *im = ctx;

	if (pos >= 2 || (sector + 8) * 512 > im->bytes)
		return (false);
	memcpy(block, im->leg[pos] + sector * 512, DMM_BLOCK_SIZE);
	return (true);
}

static const char *const table[] = { "2", "leg0", "leg1" };
static const char *const lvm[] = { "disk", "2", "log", "8", "2", "leg0",
    "0", "leg1", "0" };

/* The table and message calls: null words, null outputs, short arrays. */
static void
tables(void)
{
	const char *const holes[] = { "2", NULL, "leg1" };
	const char *many[DMM_MAX_LEGS + 64];
	struct dmm_leg_spec specs[DMM_MAX_LEGS];
	struct dmm_message msg;
	struct dmm_error e;
	uint32_t n, log;
	int i;

	for (i = 0; i < DMM_MAX_LEGS + 64; i++)
		many[i] = "1";
	CHECK(dmm_table_legs(3, NULL, specs, 2, &n, &e) != DMM_OK);
	CHECK(dmm_table_legs(3, holes, specs, 2, &n, &e) != DMM_OK);
	CHECK(dmm_table_legs(DMM_MAX_LEGS + 64, many, specs, DMM_MAX_LEGS, &n,
	    &e) != DMM_OK);
	CHECK(dmm_table_legs(3, table, NULL, 2, &n, &e) != DMM_OK);
	CHECK(dmm_table_legs(3, table, specs, 2, NULL, &e) != DMM_OK);
	CHECK(dmm_table_legs(3, table, specs, 1, &n, &e) == DMM_ERR_SPACE);
	CHECK(dmm_table_legs(3, table, specs, 2, &n, NULL) == DMM_OK && n == 2);
	CHECK(dmm_table_log(3, table, NULL, &e) != DMM_OK);
	CHECK(dmm_table_log(0, NULL, &log, &e) != DMM_OK);
	CHECK(dmm_parse_message(2, NULL, &msg, &e) != DMM_OK);
	CHECK(dmm_parse_message(1, (const char *const[]){ "full_resync" },
	    NULL, &e) != DMM_OK);
	CHECK(dmm_parse_message(1, (const char *const[]){ NULL }, &msg, &e) !=
	    DMM_OK);
	CHECK(dmm_memory_bound(1 << 20, 8, 3, NULL) == 0);
	CHECK(dmm_memory_bound(1 << 20, 0, 3, table) == 0);
	CHECK(dmm_memory_bound(0, 8, 3, table) == 0);
	CHECK(dmm_memory_bound(1 << 20, 8, 3, holes) == 0);
}

/* Creation with what it needs missing. */
static void
creation(struct images *im)
{
	struct dmm_log_args la = { .data_sectors = 1 << 16,
	    .log_sectors = 1 << 13 };
	struct dmm_mirror *m = NULL;
	struct dmm_error e;

	CHECK(dmm_create(3, table, NULL, im, 0, &m, &e) == DMM_ERR_ARG);
	CHECK(dmm_create(3, table, read_block, im, 0, NULL, &e) ==
	    DMM_ERR_ARG);
	CHECK(dmm_create(3, NULL, read_block, im, 0, &m, &e) != DMM_OK);
	CHECK(dmm_create(0, table, read_block, im, 0, &m, &e) != DMM_OK);
	CHECK(dmm_create(9, lvm, read_block, im, 0, &m, &e) != DMM_OK);
	CHECK(dmm_create_with_log(9, lvm, read_block, im, 0, NULL, &m, &e) !=
	    DMM_OK);
	CHECK(dmm_create_with_log(9, lvm, NULL, im, 0, &la, &m, &e) !=
	    DMM_OK);
	CHECK(m == NULL);
	/* No error record at all: still refused, no crash. */
	CHECK(dmm_create(3, table, NULL, im, 0, &m, NULL) == DMM_ERR_ARG);
}

/* Every handle call with a null handle. */
static void
null_handle(void)
{
	struct dmm_request r = { .id = 1, .op = DMM_OP_READ, .sectors = 8 };
	struct dmm_fast_write w;
	struct dmm_fast_read rd;
	struct dmm_action a;
	struct dmm_info info;
	struct dmm_error e;
	uint8_t uuid[16] = { 1 };
	uint32_t slot;
	char buf[256];

	dmm_destroy(NULL);
	CHECK(dmm_get_info(NULL, &info) == DMM_ERR_ARG);
	CHECK(dmm_submit(NULL, &r) == DMM_ERR_ARG);
	CHECK(dmm_complete(NULL, 0, true) == DMM_ERR_ARG);
	CHECK(dmm_tick(NULL, 0) == DMM_ERR_ARG);
	CHECK(dmm_kick(NULL) == DMM_ERR_ARG);
	CHECK(!dmm_poll(NULL, &a));
	CHECK(dmm_meta_block(NULL, 0) == NULL);
	CHECK(dmm_fast_path(NULL) == NULL);
	CHECK(!dmm_fast_try_write(NULL, &r, &w));
	CHECK(!dmm_fast_try_read(NULL, &r, &rd));
	CHECK(dmm_fast_write_done(NULL, &w, 0) < 0);
	dmm_fast_read_done(NULL, &rd);
	CHECK(dmm_adopt_write(NULL, &w, 0) == DMM_ERR_ARG);
	CHECK(dmm_retry_read(NULL, &rd) == DMM_ERR_ARG);
	CHECK(dmm_status(NULL, NULL, buf, sizeof(buf)) == DMM_ERR_ARG);
	CHECK(dmm_table(NULL, NULL, buf, sizeof(buf)) == DMM_ERR_ARG);
	CHECK(dmm_leg_health(NULL, 0) == DMM_LEG_EMPTY);
	CHECK(dmm_leg_position(NULL, 0) == -1);
	CHECK(dmm_fail_leg(NULL, 0, &e) == DMM_ERR_ARG);
	CHECK(dmm_remove_leg(NULL, 0, &e) == DMM_ERR_ARG);
	CHECK(dmm_add_leg(NULL, 0, NULL, NULL, uuid, 1 << 16, &slot, &e) ==
	    DMM_ERR_ARG);
	CHECK(dmm_set_read_policy(NULL, DMM_POLICY_PREFER) == DMM_ERR_ARG);
	CHECK(dmm_set_resync_rate(NULL, 1, 2) == DMM_ERR_ARG);
	CHECK(dmm_start_full_resync(NULL) == DMM_ERR_ARG);
	CHECK(dmm_suspend(NULL) == DMM_ERR_ARG);
	CHECK(dmm_resume(NULL) == DMM_ERR_ARG);
	CHECK(!dmm_is_suspended(NULL));
	CHECK(dmm_chunks_needing_resync(NULL) == 0);
	CHECK(!dmm_is_idle(NULL));
}

/* Runs every action at once (child I/O succeeds without moving data);
 * returns the result of request `id`'s completion, or -1 if none came. */
static int
drain(struct dmm_mirror *m, uint64_t id)
{
	struct dmm_action a;
	int result = -1, rounds;

	for (rounds = 0; rounds < 10000 && dmm_poll(m, &a); rounds++) {
		if (a.kind == DMM_ACTION_IO)
			CHECK(dmm_complete(m, a.child, true) == DMM_OK);
		else if (a.kind == DMM_ACTION_COMPLETE && a.value == id)
			result = (int)a.result;
	}
	return (result);
}

/* A live handle given nulls, short buffers and names of nothing. */
static void
live_handle(struct dmm_mirror *m)
{
	const struct dmm_fast *f = dmm_fast_path(m);
	struct dmm_request r = { .id = 7, .op = DMM_OP_READ, .sectors = 8 };
	struct dmm_info info;
	struct dmm_error e;
	uint8_t block[DMM_BLOCK_SIZE] = { 0 }, uuid[16] = { 1 };
	uint32_t slot;
	char buf[512];

	CHECK(f != NULL);
	CHECK(dmm_get_info(m, NULL) == DMM_ERR_ARG);
	CHECK(dmm_get_info(m, &info) == DMM_OK);
	CHECK(dmm_submit(m, NULL) == DMM_ERR_ARG);
	CHECK(!dmm_poll(m, NULL));
	CHECK(dmm_complete(m, 123456, true) != DMM_OK);
	CHECK(dmm_meta_block(m, 65535) == NULL);
	CHECK(!dmm_fast_try_write(f, NULL, NULL));
	CHECK(!dmm_fast_try_read(f, &r, NULL));
	CHECK(dmm_fast_write_done(f, NULL, 0) < 0);
	dmm_fast_read_done(f, NULL);
	CHECK(dmm_adopt_write(m, NULL, 0) == DMM_ERR_ARG);
	CHECK(dmm_retry_read(m, NULL) == DMM_ERR_ARG);
	CHECK(dmm_status(m, NULL, NULL, sizeof(buf)) != DMM_OK);
	CHECK(dmm_status(m, NULL, buf, 0) == DMM_ERR_SPACE);
	CHECK(dmm_status(m, NULL, buf, 4) == DMM_ERR_SPACE);
	CHECK(dmm_table(m, NULL, buf, 3) == DMM_ERR_SPACE);
	CHECK(dmm_table(m, (const char *const[]){ NULL, NULL }, buf,
	    sizeof(buf)) != DMM_OK);
	CHECK(dmm_leg_health(m, DMM_MAX_LEGS + 5) == DMM_LEG_EMPTY);
	CHECK(dmm_leg_position(m, DMM_MAX_LEGS + 5) == -1);
	CHECK(dmm_fail_leg(m, DMM_MAX_LEGS + 5, &e) != DMM_OK);
	CHECK(dmm_fail_leg(m, DMM_MAX_LEGS + 5, NULL) != DMM_OK);
	CHECK(dmm_remove_leg(m, 9, &e) != DMM_OK);
	CHECK(dmm_add_leg(m, 0, block, block, NULL, 1 << 16, &slot, &e) ==
	    DMM_ERR_ARG);
	CHECK(dmm_add_leg(m, 40, NULL, NULL, uuid, 1 << 16, &slot, &e) !=
	    DMM_OK);
	CHECK(dmm_set_read_policy(m, 77) == DMM_ERR_ARG);

	/* Requests that are malformed or outside the data area. */
	r.op = 99;
	CHECK(dmm_submit(m, &r) != DMM_OK || drain(m, r.id) == DMM_IO_INVALID);
	r.op = DMM_OP_WRITE;
	r.sector = info.data_sectors;
	CHECK(dmm_submit(m, &r) != DMM_OK || drain(m, r.id) == DMM_IO_INVALID);
	r.sector = 0;
	r.sectors = 0;
	CHECK(dmm_submit(m, &r) != DMM_OK || drain(m, r.id) == DMM_IO_INVALID);
	r.sectors = UINT32_MAX;
	CHECK(dmm_submit(m, &r) != DMM_OK || drain(m, r.id) == DMM_IO_INVALID);
	r.sector = UINT64_MAX - 4;
	r.sectors = 8;
	CHECK(dmm_submit(m, &r) != DMM_OK || drain(m, r.id) == DMM_IO_INVALID);

	/* The mirror still works. */
	r.id = 8;
	r.sector = 0;
	r.sectors = 8;
	CHECK(dmm_submit(m, &r) == DMM_OK && drain(m, r.id) == DMM_IO_OK);
	CHECK(dmm_leg_health(m, 0) == DMM_LEG_ALIVE);
	CHECK(dmm_leg_health(m, 1) == DMM_LEG_ALIVE);
}

int
dmm_c_misuse(uint8_t *leg0, uint8_t *leg1, uint64_t leg_bytes)
{
	struct images im = { { leg0, leg1 }, leg_bytes };
	struct dmm_mirror *m = NULL;
	struct dmm_error e;

	failures = 0;
	tables();
	creation(&im);
	null_handle();
	if (dmm_create(3, table, read_block, &im, 0, &m, &e) != DMM_OK) {
		fprintf(stderr, "misuse.c: the good table failed: %s\n",
		    (const char *)e.message);
		return (failures + 1);
	}
	live_handle(m);
	dmm_destroy(m);
	return (failures);
}
