/*
 * The operator's side of the glue: messages, status and table text, clean
 * stop and resume. OS-neutral, like dmm_glue.c; process context only.
 */
#include "dmm_glue.h"

/* How long a clean stop may take, by the clock. */
#define DMM_CLEAN_WAIT_NS	(30ULL * 1000 * 1000 * 1000)
/* How often a waiting stop looks again if no completion woke it. */
#define DMM_QUIESCE_POLL_NS	(100ULL * 1000 * 1000)

struct admin_call {
	struct dmm_message	 msg;
	struct dmm_glue		*g;
	uint8_t			*sb[2];		/* add_leg: its superblocks */
	int			 sb_ok[2];
	struct dmm_error	*err;
};

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
		/* Read before the lock: the core's call allocates nothing. */
		return (dmm_add_leg(m, c->msg.a, c->sb_ok[0] ? c->sb[0] : NULL,
		    c->sb_ok[1] ? c->sb[1] : NULL, uuid,
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

/* Whether the clean stop is done: the superblocks are marked clean. */
static int
clean_stop_done(struct dmm_glue *g)
{
	return (dmm_glue_call(g, is_suspended_fn, NULL));
}

/* Asks for a clean stop and waits for it, by the clock; 1 if done. */
static int
clean_stop(struct dmm_glue *g)
{
	uint64_t start = dmm_os_now_ns();

#ifdef DMM_BREAK_NO_CLEAN_STOP
	/* A test build with a known mistake (vm-test/run.sh --break). */
	return (0);
#endif
	dmm_glue_call(g, suspend_fn, NULL);
	while (!clean_stop_done(g)) {
		if (dmm_os_now_ns() - start >= DMM_CLEAN_WAIT_NS)
			return (0);
		dmm_os_wait(g->os, DMM_QUIESCE_POLL_NS);
	}
	return (1);
}

int
dmm_glue_suspend(struct dmm_glue *g)
{
	int clean;

	__atomic_store_n(&g->quiescing, 1, __ATOMIC_SEQ_CST);
	clean = clean_stop(g);
	__atomic_store_n(&g->quiescing, 0, __ATOMIC_SEQ_CST);
	return (clean);
}

/* Child I/O in flight, read under the lock (see child_gone()). */
static uint32_t
left(struct dmm_glue *g, uint32_t *count)
{
	uint32_t n;

	dmm_os_lock(g->os);
	n = __atomic_load_n(count, __ATOMIC_SEQ_CST);
	dmm_os_unlock(g->os);
	return (n);
}

/* Waits until *count is 0, saying why every 30 s. */
static void
wait_gone(struct dmm_glue *g, uint32_t *count, const char *why)
{
	uint64_t said = dmm_os_now_ns();

	while (left(g, count) > 0) {
		if (dmm_os_now_ns() - said >= DMM_CLEAN_WAIT_NS) {
			dmm_os_log(g->os, why);
			said = dmm_os_now_ns();
		}
		dmm_os_wait(g->os, DMM_QUIESCE_POLL_NS);
	}
}

int
dmm_glue_quiesce(struct dmm_glue *g)
{
	int clean;

	__atomic_store_n(&g->quiescing, 1, __ATOMIC_SEQ_CST);
	/* Requests end when their children do (or fail with every leg). */
	wait_gone(g, &g->parents, "waiting for requests in flight before "
	    "the mirror stops");
	clean = g->m != NULL && clean_stop(g);
	dmm_os_lock(g->os);
	g->fenced = 1;
	dmm_os_unlock(g->os);
	/* A leg that never answers keeps the mirror: say so. */
	wait_gone(g, &g->children, "waiting for I/O on a leg that does not "
	    "answer before the mirror can be freed");
	return (clean);
}

void
dmm_glue_resume(struct dmm_glue *g)
{
	dmm_glue_call(g, resume_fn, NULL);
}
