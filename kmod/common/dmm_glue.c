/*
 * OS-neutral dispatch for the dm-mirror core: see dmm_glue.h.
 *
 * Contexts: dmm_glue_submit() and dmm_glue_work() run where I/O may be
 * issued; dmm_glue_child_done() may run in an interrupt. Completions only
 * touch the core under the lock and leave everything that issues I/O to
 * the worker.
 */
#include "dmm_glue.h"

#define DMM_BATCH	8
#define DMM_NEVER	(~(uint64_t)0)
/* EIO, the same number on Linux and the BSDs. */
#define DMM_EIO		5
#define DMM_IDLE_TICK_NS	(1000ULL * 1000 * 1000)

/*
 * A child or a parent is gone (count: g->children or g->parents): the last
 * touch of g by its completion. The quiescer reads the counts under the
 * lock, so a completion that sees it quiescing drops the count and wakes
 * it under the lock too.
 */
static void
gone(struct dmm_glue *g, uint32_t *count)
{
	void *os = g->os;

	DMM_ASSERT(__atomic_load_n(count, __ATOMIC_SEQ_CST) > 0);
	if (!__atomic_load_n(&g->quiescing, __ATOMIC_SEQ_CST)) {
		__atomic_sub_fetch(count, 1, __ATOMIC_SEQ_CST);
		return;
	}
	dmm_os_lock(os);
	__atomic_sub_fetch(count, 1, __ATOMIC_SEQ_CST);
	dmm_os_wakeup(os);
	dmm_os_unlock(os);
}

/* The adapter completes the parent; then it no longer counts. */
static void
complete_parent(struct dmm_glue *g, struct dmm_preq *pr, int error)
{
	dmm_os_complete_parent(g->os, pr, error);
	gone(g, &g->parents);
}

static struct dmm_preq *
preq_of(uint64_t id)
{
	return ((struct dmm_preq *)(uintptr_t)id);
}

/* Appends pr to the FIFO of requests waiting for a slot (lock held). */
static void
wait_for_slot(struct dmm_glue *g, struct dmm_preq *pr)
{
	pr->next = NULL;
	*g->waiting_tail = pr;
	g->waiting_tail = &pr->next;
}

/* Submits waiting requests while the core has slots (lock held). */
static void
submit_waiting(struct dmm_glue *g)
{
	struct dmm_preq *pr;

	while ((pr = g->waiting) != NULL) {
		if (dmm_submit(g->m, &pr->req) == DMM_ERR_BUSY)
			return;
		g->waiting = pr->next;
		if (g->waiting == NULL)
			g->waiting_tail = &g->waiting;
	}
}

/* Turns an I/O action into a child descriptor (lock held). */
static int
child_of(struct dmm_glue *g, const struct dmm_action *a, struct dmm_child *c)
{
	int32_t pos;

	pos = dmm_leg_position(g->m, a->leg);
	if (pos < 0)
		return (0);
	c->kind = DMM_CHILD_CORE;
	c->id = a->child;
	c->position = (uint32_t)pos;
	c->op = a->op;
	c->fua = a->fua;
	c->sector = a->sector;
	c->sectors = a->sectors;
	c->parent_offset = 0;
	c->parent = NULL;
	c->kbuf = NULL;
	c->slot = a->leg;
	switch (a->buffer) {
	case DMM_BUF_REQUEST:
		c->data = DMM_DATA_PARENT;
		c->parent = preq_of(a->value);
		c->parent_offset = a->buffer_offset;
		break;
	case DMM_BUF_META:
		c->data = DMM_DATA_KERNEL;
		/* Only ever written from; buf APIs take non-const data. */
		c->kbuf = (uint8_t *)(uintptr_t)dmm_meta_block(g->m,
		    a->buffer_index);
		break;
	case DMM_BUF_RESYNC:
		c->data = DMM_DATA_KERNEL;
		c->kbuf = g->resync_bufs[a->buffer_index] +
		    (size_t)a->buffer_offset * 512;
		break;
	default:
		c->data = DMM_DATA_NONE;
		break;
	}
	return (1);
}

/*
 * Drains the core's actions: collects a batch under the lock, runs it with
 * the lock dropped, and goes on until none is left. Called and returns
 * with the lock held.
 */
static void
drain(struct dmm_glue *g)
{
	struct dmm_action a;
	struct dmm_child io[DMM_BATCH];
	struct dmm_preq *done[DMM_BATCH];
	int errs[DMM_BATCH];
	char logs[2][DMM_MESSAGE_LEN];
	int nio, ndone, nlog, i, more;

	/* Until dmm_glue_start(), the core's actions wait in it. */
	if (!g->started)
		return;
	do {
		nio = ndone = nlog = 0;
		more = 0;
		while (nio < DMM_BATCH && ndone < DMM_BATCH && nlog < 2) {
			if (!dmm_poll(g->m, &a))
				break;
			more = 1;
			switch (a.kind) {
			case DMM_ACTION_IO:
				if (child_of(g, &a, &io[nio]))
					nio++;
				else
					dmm_complete(g->m, a.child, false);
				break;
			case DMM_ACTION_COMPLETE:
				done[ndone] = preq_of(a.value);
				errs[ndone++] = a.result == DMM_IO_OK ? 0 : DMM_EIO;
				break;
			case DMM_ACTION_WAKE:
				if (a.value < g->wake_at)
					g->wake_at = a.value;
				break;
			case DMM_ACTION_LOG:
				for (i = 0; i < DMM_MESSAGE_LEN - 1 && a.text[i]; i++)
					logs[nlog][i] = (char)a.text[i];
				logs[nlog++][i] = '\0';
				break;
			}
		}
		if (ndone > 0)
			submit_waiting(g);
		if (nio + ndone + nlog == 0)
			continue;
		if (g->fenced) {
			/* Quiescing past its deadline: nothing reaches a leg. */
			for (i = 0; i < nio; i++)
				if (io[i].kind == DMM_CHILD_CORE)
					dmm_complete(g->m, io[i].id, false);
			nio = 0;
		}
		/* Counted before they can complete. */
		__atomic_add_fetch(&g->children, (uint32_t)nio, __ATOMIC_SEQ_CST);
		dmm_os_unlock(g->os);
		for (i = 0; i < nlog; i++)
			dmm_os_log(g->os, logs[i]);
		for (i = 0; i < nio; i++)
			dmm_os_issue(g->os, &io[i]);
		for (i = 0; i < ndone; i++)
			complete_parent(g, done[i], errs[i]);
		dmm_os_lock(g->os);
	} while (more);
}

static bool
read_block(void *os, uint32_t position, uint64_t sector, uint8_t *block)
{
	return (dmm_os_read_block(os, position, sector, block) != 0);
}

/* The mirror's own memory and the core's handle; the words stay. */
static void
stop_mirror(struct dmm_glue *g)
{
	uint32_t i;

	/* Nothing in flight points into what is freed. */
	DMM_ASSERT(__atomic_load_n(&g->children, __ATOMIC_SEQ_CST) == 0);
	DMM_ASSERT(__atomic_load_n(&g->parents, __ATOMIC_SEQ_CST) == 0);
	if (g->resync_bufs != NULL) {
		for (i = 0; i < g->info.resync_buffers; i++)
			if (g->resync_bufs[i] != NULL)
				dmm_os_free(g->resync_bufs[i],
				    (size_t)g->info.chunk_sectors * 512);
		dmm_os_free(g->resync_bufs,
		    g->info.resync_buffers * sizeof(uint8_t *));
		g->resync_bufs = NULL;
	}
	if (g->m != NULL)
		dmm_destroy(g->m);
	g->m = NULL;
}

/* Reads the legs' metadata and assembles from the saved table words. */
static int
start_mirror(struct dmm_glue *g, struct dmm_error *err)
{
	struct dmm_log_args log;
	uint32_t i;
	int rc;

	DMM_ASSERT(__atomic_load_n(&g->children, __ATOMIC_SEQ_CST) == 0);
	DMM_ASSERT(__atomic_load_n(&g->parents, __ATOMIC_SEQ_CST) == 0);
	g->fenced = 0;
	g->waiting = NULL;
	g->waiting_tail = &g->waiting;
	g->handoff = NULL;
	g->wake_at = DMM_NEVER;
	g->use_fast = 1;
	g->kick = 0;
	log.data_sectors = g->length;
	/* 0 when the table names no log (the adapter opened none). */
	log.log_sectors = dmm_os_leg_sectors(g->os, DMM_LOG_DEVICE);
	/* The identity of a mirror a blank log starts. */
	dmm_os_random(log.uuid, sizeof(log.uuid));
	rc = dmm_create_with_log(g->argc, (const char *const *)g->words,
	    read_block, g->os, dmm_os_now_ns(), &log, &g->m, err);
	if (rc != DMM_OK)
		return (rc);
	dmm_get_info(g->m, &g->info);
	g->fast = dmm_fast_path(g->m);
	g->resync_bufs = dmm_os_alloc(g->info.resync_buffers * sizeof(uint8_t *));
	if (g->resync_bufs == NULL)
		goto nomem;
	for (i = 0; i < g->info.resync_buffers; i++) {
		g->resync_bufs[i] = dmm_os_alloc((size_t)g->info.chunk_sectors * 512);
		if (g->resync_bufs[i] == NULL)
			goto nomem;
	}
	return (DMM_OK);
nomem:
	stop_mirror(g);
	err->code = DMM_ERR_NOMEM;
	err->message[0] = '\0';
	return (DMM_ERR_NOMEM);
}

int
dmm_glue_create(struct dmm_glue *g, void *os, uint32_t argc,
    const char *const *argv, uint64_t length, struct dmm_error *err)
{
	size_t size, n;
	uint32_t i;
	char *p;
	int rc;

	g->os = os;
	g->m = NULL;
	g->resync_bufs = NULL;
	g->started = 0;
	g->children = 0;
	g->parents = 0;
	g->quiescing = 0;
	g->fenced = 0;
	g->length = length;
	/* A copy of the words, for dmm_glue_reassemble(). */
	size = (size_t)argc * sizeof(char *);
	for (i = 0; i < argc; i++) {
		for (n = 0; argv[i][n] != '\0'; n++)
			;
		size += n + 1;
	}
	g->words = dmm_os_alloc(size);
	if (g->words == NULL) {
		err->code = DMM_ERR_NOMEM;
		err->message[0] = '\0';
		return (DMM_ERR_NOMEM);
	}
	g->words_size = size;
	g->argc = argc;
	p = (char *)(g->words + argc);
	for (i = 0; i < argc; i++) {
		g->words[i] = p;
		for (n = 0; argv[i][n] != '\0'; n++)
			*p++ = argv[i][n];
		*p++ = '\0';
	}
	rc = start_mirror(g, err);
	if (rc != DMM_OK)
		dmm_glue_destroy(g);
	return (rc);
}

void
dmm_glue_destroy(struct dmm_glue *g)
{
	stop_mirror(g);
	if (g->words != NULL)
		dmm_os_free(g->words, g->words_size);
	g->words = NULL;
}

int
dmm_glue_reassemble(struct dmm_glue *g, struct dmm_error *err)
{
	stop_mirror(g);
	return (start_mirror(g, err));
}

void
dmm_glue_start(struct dmm_glue *g)
{
	dmm_os_lock(g->os);
	g->started = 1;
	dmm_os_unlock(g->os);
	dmm_os_wake_worker(g->os);
}

/* One child of a lock-free request: the parent's data on one leg. */
static void
issue_fast_child(struct dmm_glue *g, struct dmm_preq *pr, uint32_t kind,
    uint32_t position, uint32_t op, uint64_t sector, uint32_t slot)
{
	struct dmm_child c = { 0 };

	c.kind = kind;
	c.position = position;
	c.op = op;
	c.fua = op == DMM_OP_WRITE && (pr->req.flags & DMM_REQ_FUA) != 0;
	c.data = DMM_DATA_PARENT;
	c.sector = sector;
	c.sectors = pr->req.sectors;
	c.parent = pr;
	c.slot = slot;
	__atomic_add_fetch(&g->children, 1, __ATOMIC_SEQ_CST);
	dmm_os_issue(g->os, &c);
}

static void
issue_fast_write(struct dmm_glue *g, struct dmm_preq *pr)
{
	uint32_t slot, n;

	n = 0;
	for (slot = 0; slot < DMM_MAX_LEGS; slot++)
		if (pr->fw.legs & (1U << slot))
			n++;
	pr->state = DMM_PREQ_FAST_WRITE;
	pr->failed = 0;
	/* Every child counts before the first can complete. */
	__atomic_store_n(&pr->pending, n, __ATOMIC_SEQ_CST);
	for (slot = 0; slot < DMM_MAX_LEGS; slot++)
		if (pr->fw.legs & (1U << slot))
			issue_fast_child(g, pr, DMM_CHILD_FAST_WRITE,
			    pr->fw.positions[slot], DMM_OP_WRITE,
			    pr->fw.leg_sector, slot);
}

static void
issue_fast_read(struct dmm_glue *g, struct dmm_preq *pr)
{
	pr->state = DMM_PREQ_FAST_READ;
	issue_fast_child(g, pr, DMM_CHILD_FAST_READ, pr->fr.position,
	    DMM_OP_READ, pr->fr.leg_sector, pr->fr.leg);
}

void
dmm_glue_submit(struct dmm_glue *g, struct dmm_preq *pr, void *parent,
    uint32_t op, uint32_t flags, uint64_t sector, uint32_t sectors)
{
	DMM_ASSERT(!__atomic_load_n(&g->quiescing, __ATOMIC_SEQ_CST));
	pr->parent = parent;
	pr->next = NULL;
	pr->req.id = (uint64_t)(uintptr_t)pr;
	pr->req.op = op;
	pr->req.flags = flags;
	pr->req.sector = sector;
	pr->req.sectors = sectors;
	pr->state = DMM_PREQ_SLOW;
	__atomic_add_fetch(&g->parents, 1, __ATOMIC_SEQ_CST);
	if (g->use_fast && op == DMM_OP_WRITE &&
	    dmm_fast_try_write(g->fast, &pr->req, &pr->fw)) {
		issue_fast_write(g, pr);
		return;
	}
	if (g->use_fast && op == DMM_OP_READ && !g->remap_reads &&
	    dmm_fast_try_read(g->fast, &pr->req, &pr->fr)) {
		issue_fast_read(g, pr);
		return;
	}
	dmm_os_lock(g->os);
	if (g->waiting != NULL || dmm_submit(g->m, &pr->req) == DMM_ERR_BUSY)
		wait_for_slot(g, pr);
	drain(g);
	dmm_os_unlock(g->os);
}

/* Hands a fast request to the worker (it needs the core). */
static void
hand_off(struct dmm_glue *g, struct dmm_preq *pr, uint32_t state)
{
	pr->state = state;
	dmm_os_lock(g->os);
	pr->next = g->handoff;
	g->handoff = pr;
	dmm_os_unlock(g->os);
	dmm_os_wake_worker(g->os);
}

/* The parent of a fast child, once its last child ended. */
static void
fast_write_done(struct dmm_glue *g, struct dmm_preq *pr)
{
	int32_t rc;

	rc = dmm_fast_write_done(g->fast, &pr->fw,
	    __atomic_load_n(&pr->failed, __ATOMIC_SEQ_CST));
	if (rc == DMM_FAST_ADOPT) {
		hand_off(g, pr, DMM_PREQ_ADOPT);
		return;
	}
	if (rc == DMM_FAST_COMPLETE_KICK) {
		/* The core waits for this chunk to go quiet. */
		__atomic_store_n(&g->kick, 1, __ATOMIC_SEQ_CST);
		dmm_os_wake_worker(g->os);
	}
	complete_parent(g, pr, 0);
}

/* A lock-free read ended: 1 if it read, else it went to the core. */
static int
fast_read_ended(struct dmm_glue *g, struct dmm_preq *pr, int ok)
{
	DMM_ASSERT(pr->state == DMM_PREQ_FAST_READ);
	if (pr->fr.counted)
		dmm_fast_read_done(g->fast, &pr->fr);
	if (!ok)
		hand_off(g, pr, DMM_PREQ_RETRY);
	return (ok);
}

int
dmm_glue_remapped_read_done(struct dmm_glue *g, struct dmm_preq *pr, int ok)
{
	DMM_ASSERT(g->remap_reads);
	DMM_ASSERT(pr->state == DMM_PREQ_FAST_READ);
	/* A retry completes through complete_parent(): it counts from now. */
	if (!ok)
		__atomic_add_fetch(&g->parents, 1, __ATOMIC_SEQ_CST);
	return (fast_read_ended(g, pr, ok));
}

void
dmm_glue_child_done(struct dmm_glue *g, const struct dmm_child *c, int ok)
{
	struct dmm_preq *pr = c->parent;

	DMM_ASSERT(__atomic_load_n(&g->children, __ATOMIC_SEQ_CST) > 0);
	switch (c->kind) {
	case DMM_CHILD_CORE:
		dmm_os_lock(g->os);
		dmm_complete(g->m, c->id, ok != 0);
		dmm_os_unlock(g->os);
		dmm_os_wake_worker(g->os);
		break;
	case DMM_CHILD_FAST_WRITE:
		if (!ok)
			__atomic_fetch_or(&pr->failed, 1U << c->slot,
			    __ATOMIC_SEQ_CST);
		if (__atomic_sub_fetch(&pr->pending, 1, __ATOMIC_SEQ_CST) == 0)
			fast_write_done(g, pr);
		break;
	case DMM_CHILD_FAST_READ:
		if (fast_read_ended(g, pr, ok))
			complete_parent(g, pr, 0);
		break;
	}
	gone(g, &g->children);
}

/* Gives the core the fast requests handed off to it (lock held). */
static void
take_handoffs(struct dmm_glue *g)
{
	struct dmm_preq *pr, *busy;
	int rc;

	busy = NULL;
	while ((pr = g->handoff) != NULL) {
		g->handoff = pr->next;
		if (pr->state == DMM_PREQ_ADOPT)
			rc = dmm_adopt_write(g->m, &pr->fw, pr->failed);
		else
			rc = dmm_retry_read(g->m, &pr->fr);
		if (rc == DMM_ERR_BUSY) {
			pr->next = busy;
			busy = pr;
		}
	}
	/* No slot now: the next completion runs the worker again. */
	g->handoff = busy;
}

void
dmm_glue_work(struct dmm_glue *g)
{
	uint64_t now;

	dmm_os_lock(g->os);
	if (g->m == NULL || !g->started) {
		dmm_os_unlock(g->os);
		return;
	}
	now = dmm_os_now_ns();
	g->wake_at = DMM_NEVER;
	dmm_tick(g->m, now);
	if (__atomic_exchange_n(&g->kick, 0, __ATOMIC_SEQ_CST))
		dmm_kick(g->m);
	take_handoffs(g);
	submit_waiting(g);
	drain(g);
	now = dmm_os_now_ns();
	if (g->wake_at == DMM_NEVER)
		dmm_os_schedule(g->os, DMM_IDLE_TICK_NS);
	else
		dmm_os_schedule(g->os, g->wake_at > now ? g->wake_at - now : 0);
	dmm_os_unlock(g->os);
}

int
dmm_glue_call(struct dmm_glue *g, int (*f)(struct dmm_mirror *, void *),
    void *arg)
{
	int rc;

	dmm_os_lock(g->os);
	rc = f(g->m, arg);
	drain(g);
	dmm_os_unlock(g->os);
	dmm_os_wake_worker(g->os);
	return (rc);
}
