/*
 * The worker's bookkeeping and opening a table's devices: see dmm_bsd.h.
 */
#include "dmm_bsd.h"

/* The longest sleep: the worker also looks at time passing. */
#define DMM_WORKER_MAX_WAIT_NS	(1000ULL * 1000 * 1000)

void
dmm_worker_init(struct dmm_worker *w, const struct dmm_bsd_hooks *h,
    void *os, struct dmm_glue *g)
{
	w->h = h;
	w->os = os;
	w->g = g;
	w->pending = 0;
	w->stopping = 0;
	w->deadline = DMM_WORKER_NEVER;
	w->flushes = NULL;
}

/* 1: run dmm_glue_work() now; 0: sleep at most *wait_ns, then look again. */
static int
worker_next(struct dmm_worker *w, uint64_t now, uint64_t *wait_ns)
{
	if (!w->pending && w->deadline > now) {
		*wait_ns = w->deadline - now;
		if (*wait_ns > DMM_WORKER_MAX_WAIT_NS)
			*wait_ns = DMM_WORKER_MAX_WAIT_NS;
		return (0);
	}
	w->pending = 0;
	if (w->deadline <= now)
		w->deadline = DMM_WORKER_NEVER;
	return (1);
}

void
dmm_worker_run(struct dmm_worker *w)
{
	struct dmm_bsd_flush *f;
	uint64_t wait;

	w->h->lock(w->os);
	while (!w->stopping) {
		if ((f = w->flushes) != NULL) {
			w->flushes = NULL;
			w->h->unlock(w->os);
			w->h->flush(w->os, f);
			w->h->lock(w->os);
			continue;
		}
		if (!worker_next(w, dmm_os_now_ns(), &wait)) {
			w->h->sleep(w->os, wait);
			continue;
		}
		w->h->unlock(w->os);
		dmm_glue_work(w->g);
		w->h->lock(w->os);
	}
	/* Destroy quiesced first: no child is left to flush. */
	DMM_ASSERT(w->flushes == NULL);
	w->h->unlock(w->os);
}

void
dmm_worker_stop(struct dmm_worker *w)
{
	w->h->lock(w->os);
	w->stopping = 1;
	w->h->unlock(w->os);
	w->h->wake(w->os);
}

void
dmm_worker_wake(struct dmm_worker *w)
{
	w->h->lock(w->os);
	w->pending = 1;
	w->h->unlock(w->os);
	w->h->wake(w->os);
}

void
dmm_worker_at(struct dmm_worker *w, uint64_t delay_ns)
{
	uint64_t when = dmm_os_now_ns() + delay_ns;
	int sooner;

	w->h->lock(w->os);
	sooner = when < w->deadline;
	if (sooner)
		w->deadline = when;
	w->h->unlock(w->os);
	if (sooner)
		w->h->wake(w->os);
}

void
dmm_worker_queue_flush(struct dmm_worker *w, struct dmm_bsd_flush *f)
{
	w->h->lock(w->os);
	f->next = w->flushes;
	w->flushes = f;
	w->h->unlock(w->os);
	w->h->wake(w->os);
}

int
dmm_worker_fua_follow_up(struct dmm_worker *w, const struct dmm_child *c,
    int failed, int *flushing, struct dmm_bsd_flush *f)
{
	if (!c->fua || c->op != DMM_OP_WRITE || failed || *flushing)
		return (0);
	*flushing = 1;
	dmm_worker_queue_flush(w, f);
	return (1);
}

/* A log line built without printf (the glue names no OS). */
struct line {
	char	b[DMM_MESSAGE_LEN + 128];
	size_t	n;
};

static void
put(struct line *l, const char *s)
{
	while (*s != '\0' && l->n + 1 < sizeof(l->b))
		l->b[l->n++] = *s++;
	l->b[l->n] = '\0';
}

static void
put_u64(struct line *l, uint64_t v)
{
	char d[21];
	int i = 20;

	d[i] = '\0';
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(l, d + i);
}

int
dmm_bsd_open(struct dmm_glue *g, void *os, struct dmm_bsd_legs *legs,
    struct dmm_running *r, int argc, char **argv, uint64_t table_sectors)
{
	struct dmm_leg_spec specs[DMM_MAX_LEGS];
	struct dmm_error err;
	struct line l = { .n = 0 };
	uint32_t n, i, log, claimed;
	int rc;

	if (argc < 1 || dmm_table_legs((uint32_t)argc,
	    (const char *const *)argv, specs, DMM_MAX_LEGS, &n, &err) !=
	    DMM_OK || dmm_table_log((uint32_t)argc, (const char *const *)argv,
	    &log, &err) != DMM_OK) {
		put(&l, "bad table: ");
		put(&l, argc < 1 ? "no arguments" : (const char *)err.message);
		dmm_os_log(os, l.b);
		return (DMM_EINVAL);
	}
	for (i = 0; i < n; i++) {
		legs->pdevs[i] = dmm_os_open_leg(os, argv[specs[i].argv_index],
		    &legs->names[i]);
		if (legs->pdevs[i] == NULL) {
			put(&l, "cannot open leg ");
			put_u64(&l, i);
			put(&l, " (");
			put(&l, argv[specs[i].argv_index]);
			put(&l, ")");
			dmm_os_log(os, l.b);
			return (DMM_ENOENT);
		}
		legs->n = i + 1;
		legs->offsets[i] = specs[i].offset;
		/* Before any I/O: an offset past the end reads elsewhere. */
		if (dmm_os_leg_sectors(os, i) < DMM_MIN_LEG_SECTORS) {
			put(&l, "leg ");
			put_u64(&l, i);
			put(&l, " (");
			put(&l, argv[specs[i].argv_index]);
			put(&l, "): offset ");
			put_u64(&l, specs[i].offset);
			put(&l, " leaves it too small for a mirror leg");
			dmm_os_log(os, l.b);
			return (DMM_EINVAL);
		}
	}
	if (log != DMM_NO_LOG) {
		legs->offsets[DMM_LOG_DEVICE] = 0;
		legs->pdevs[DMM_LOG_DEVICE] = dmm_os_open_leg(os, argv[log],
		    &legs->names[DMM_LOG_DEVICE]);
		if (legs->pdevs[DMM_LOG_DEVICE] == NULL) {
			put(&l, "cannot open the log device (");
			put(&l, argv[log]);
			put(&l, ")");
			dmm_os_log(os, l.b);
			return (DMM_ENOENT);
		}
	}
	/* The log is claimed with the legs: its name follows theirs. */
	claimed = legs->n;
	if (log != DMM_NO_LOG)
		legs->names[claimed++] = legs->names[DMM_LOG_DEVICE];
	/* One disk under two names (or as leg and log) is one copy, not two. */
	if ((rc = dmm_first_repeated(legs->names, claimed, NULL)) >= 0) {
		put(&l, (uint32_t)rc == legs->n ? "the log device" : "leg ");
		if ((uint32_t)rc < legs->n)
			put_u64(&l, (uint64_t)rc);
		put(&l, " is the same device (");
		put(&l, legs->names[rc]);
		put(&l, ") as an earlier leg");
		dmm_os_log(os, l.b);
		return (DMM_EINVAL);
	}
	if ((rc = dmm_running_claim(r, legs->names, claimed, NULL)) >= 0) {
		put(&l, (uint32_t)rc == legs->n ? "log device " : "leg ");
		put(&l, legs->names[rc]);
		put(&l, " is in use by a running mirror (to reload a table: "
		    "dmsetup remove, then create)");
		dmm_os_log(os, l.b);
		return (DMM_EBUSY);
	}
	rc = dmm_glue_create(g, os, (uint32_t)argc, (const char *const *)argv,
	    table_sectors, &err);
	if (rc != DMM_OK) {
		put(&l, "cannot create the mirror: ");
		/* A shortage found by the core says what it needed. */
		put(&l, err.message[0] == '\0' && rc == DMM_ERR_NOMEM ?
		    "out of memory" : (const char *)err.message);
		dmm_os_log(os, l.b);
		return (rc == DMM_ERR_NOMEM ? DMM_ENOMEM : DMM_EINVAL);
	}
	if (table_sectors > g->info.data_sectors) {
		put(&l, "table length ");
		put_u64(&l, table_sectors);
		put(&l, " exceeds the mirror's ");
		put_u64(&l, g->info.data_sectors);
		put(&l, " sectors");
		dmm_os_log(os, l.b);
		return (DMM_EINVAL);
	}
	return (0);
}

void
dmm_bsd_close(struct dmm_glue *g, void *os, struct dmm_bsd_legs *legs,
    struct dmm_running *r)
{
	uint32_t i;

	dmm_running_release(r);
	dmm_glue_destroy(g);
	for (i = 0; i < legs->n; i++)
		if (legs->pdevs[i] != NULL)
			dmm_os_close_leg(os, legs->pdevs[i]);
	if (legs->pdevs[DMM_LOG_DEVICE] != NULL)
		dmm_os_close_leg(os, legs->pdevs[DMM_LOG_DEVICE]);
	legs->pdevs[DMM_LOG_DEVICE] = NULL;
	legs->n = 0;
}
