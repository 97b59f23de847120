/*
 * The operator's side of the glue: messages, status and table text, clean
 * stop and resume. OS-neutral, like dmm_glue.c; process context only.
 */
#include "dmm_glue.h"

#define DMM_SUSPEND_WAIT_MS	30000

struct admin_call {
	struct dmm_message	 msg;
	struct dmm_glue		*g;
	uint8_t			*sb[2];		/* add_leg: its superblocks */
	int			 sb_ok[2];
	struct dmm_error	*err;
};

/* Serves add_leg's superblock reads from the blocks read before the lock. */
static bool
read_prefetched(void *ctx, uint32_t position, uint64_t sector, uint8_t *block)
{
	struct admin_call *c = ctx;
	int k = sector == 0 ? 0 : 1;
	uint32_t i;

	if (position != c->msg.a || !c->sb_ok[k])
		return (false);
	for (i = 0; i < DMM_BLOCK_SIZE; i++)
		block[i] = c->sb[k][i];
	return (true);
}

static int
admin_fn(struct dmm_mirror *m, void *arg)
{
	struct admin_call *c = arg;
	uint8_t uuid[16];
	uint32_t slot;

	switch (c->msg.kind) {
	case DMM_MSG_FAIL_LEG:
		return (dmm_fail_leg(m, c->msg.a, c->err));
	case DMM_MSG_REMOVE_LEG:
		return (dmm_remove_leg(m, c->msg.a, c->err));
	case DMM_MSG_ADD_LEG:
		dmm_os_random(uuid, sizeof(uuid));
		return (dmm_add_leg(m, c->msg.a, read_prefetched, c, uuid,
		    dmm_os_leg_sectors(c->g->os, c->msg.a), &slot, c->err));
	case DMM_MSG_READ_POLICY:
		return (dmm_set_read_policy(m, c->msg.a));
	case DMM_MSG_RESYNC_RATE:
		return (dmm_set_resync_rate(m, c->msg.a, c->msg.b));
	default:
		return (dmm_start_full_resync(m));
	}
}

int
dmm_glue_message(struct dmm_glue *g, uint32_t argc, const char *const *argv,
    struct dmm_error *err)
{
	struct admin_call c = { .g = g, .err = err };
	int k, rc;

	rc = dmm_parse_message(argc, argv, &c.msg, err);
	if (rc != DMM_OK)
		return (rc);
	if (c.msg.kind == DMM_MSG_ADD_LEG) {
		/* Its superblocks are read here: the core's call runs locked. */
		for (k = 0; k < 2; k++) {
			c.sb[k] = dmm_os_alloc(DMM_BLOCK_SIZE);
			c.sb_ok[k] = c.sb[k] != NULL &&
			    dmm_os_read_block(g->os, c.msg.a,
			    (uint64_t)k * (DMM_BLOCK_SIZE / 512), c.sb[k]);
		}
	}
	err->code = DMM_OK;
	err->message[0] = '\0';
	rc = dmm_glue_call(g, admin_fn, &c);
	for (k = 0; k < 2; k++)
		if (c.sb[k] != NULL)
			dmm_os_free(c.sb[k], DMM_BLOCK_SIZE);
	return (rc);
}

struct status_call {
	const char *const	*names;
	char			*buf;
	size_t			 len;
	int			 table;
};

static int
status_fn(struct dmm_mirror *m, void *arg)
{
	struct status_call *s = arg;

	return (s->table ? dmm_table(m, s->names, s->buf, s->len) :
	    dmm_status(m, s->names, s->buf, s->len));
}

int
dmm_glue_status(struct dmm_glue *g, int table, const char *const *names,
    char *buf, size_t len)
{
	struct status_call s = { names, buf, len, table };
	int rc;

	rc = dmm_glue_call(g, status_fn, &s);
	if (rc != DMM_OK && len > 0)
		buf[0] = '\0';
	return (rc);
}

static int
suspend_fn(struct dmm_mirror *m, void *arg)
{
	return (dmm_suspend(m));
}

static int
is_suspended_fn(struct dmm_mirror *m, void *arg)
{
	return (dmm_is_suspended(m) ? 1 : 0);
}

static int
resume_fn(struct dmm_mirror *m, void *arg)
{
	return (dmm_resume(m));
}

int
dmm_glue_suspend(struct dmm_glue *g)
{
	int i;

	dmm_glue_call(g, suspend_fn, NULL);
	for (i = 0; i < DMM_SUSPEND_WAIT_MS; i++) {
		if (dmm_glue_call(g, is_suspended_fn, NULL))
			return (1);
		dmm_os_sleep_ms(1);
	}
	return (0);
}

void
dmm_glue_resume(struct dmm_glue *g)
{
	dmm_glue_call(g, resume_fn, NULL);
}
