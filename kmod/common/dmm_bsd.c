/*
 * The worker's bookkeeping and the running mirrors' list: see dmm_bsd.h.
 */
#include "dmm_bsd.h"

/* The longest sleep: the worker also looks at time passing. */
#define DMM_WORKER_MAX_WAIT_NS	(1000ULL * 1000 * 1000)

static struct dmm_running *dmm_running_list;

void
dmm_worker_init(struct dmm_worker *w)
{
	w->pending = 0;
	w->stopping = 0;
	w->deadline = DMM_WORKER_NEVER;
}

int
dmm_worker_next(struct dmm_worker *w, uint64_t now, uint64_t *wait_ns)
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

int
dmm_worker_schedule(struct dmm_worker *w, uint64_t when)
{
	if (when >= w->deadline)
		return (0);
	w->deadline = when;
	return (1);
}

static int
same_name(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (*a == *b);
}

int
dmm_running_claim(struct dmm_running *r, const char *const *names,
    uint32_t nlegs)
{
	struct dmm_running *o;
	uint32_t i, j;

	dmm_os_registry_lock();
	for (o = dmm_running_list; o != NULL; o = o->next)
		for (i = 0; i < nlegs; i++)
			for (j = 0; j < o->nlegs; j++)
				if (same_name(names[i], o->names[j])) {
					dmm_os_registry_unlock();
					return ((int)i);
				}
	r->names = names;
	r->nlegs = nlegs;
	r->next = dmm_running_list;
	dmm_running_list = r;
	r->listed = 1;
	dmm_os_registry_unlock();
	return (-1);
}

void
dmm_running_release(struct dmm_running *r)
{
	struct dmm_running **pp;

	if (!r->listed)
		return;
	dmm_os_registry_lock();
	for (pp = &dmm_running_list; *pp != r; pp = &(*pp)->next)
		;
	*pp = r->next;
	r->listed = 0;
	dmm_os_registry_unlock();
}
