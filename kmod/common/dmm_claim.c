/*
 * The running mirrors' registry (dmm_claim.h). OS-neutral.
 */
#include "dmm_claim.h"

static struct dmm_running *dmm_running_list;

int
dmm_same_name(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (*a == *b);
}

int
dmm_first_repeated(const char *const *names, uint32_t n, uint32_t *earlier)
{
	uint32_t i, j;

	for (i = 1; i < n; i++)
		for (j = 0; j < i; j++)
			if (dmm_same_name(names[i], names[j])) {
				if (earlier != NULL)
					*earlier = j;
				return ((int)i);
			}
	return (-1);
}

/* The index of r's first device another owner's mirror runs on, or -1. */
static int
in_use(const char *const *names, uint32_t n, const void *owner)
{
	struct dmm_running *o;
	uint32_t i, j;

	for (o = dmm_running_list; o != NULL; o = o->next) {
		if (owner != NULL && o->owner == owner)
			continue;
		for (i = 0; i < n; i++)
			for (j = 0; j < o->nlegs; j++)
				if (dmm_same_name(names[i], o->names[j]))
					return ((int)i);
	}
	return (-1);
}

int
dmm_running_claim(struct dmm_running *r, const char *const *names,
    uint32_t nlegs, const void *owner)
{
	int busy;

	DMM_ASSERT(!r->listed);
	dmm_os_registry_lock();
	busy = in_use(names, nlegs, owner);
	if (busy < 0) {
		r->names = names;
		r->nlegs = nlegs;
		r->owner = owner;
		r->next = dmm_running_list;
		dmm_running_list = r;
		r->listed = 1;
	}
	dmm_os_registry_unlock();
	return (busy);
}

void
dmm_running_release(struct dmm_running *r)
{
	struct dmm_running **pp;

	if (!r->listed)
		return;
	dmm_os_registry_lock();
	for (pp = &dmm_running_list; *pp != r; pp = &(*pp)->next)
		DMM_ASSERT(*pp != NULL);
	*pp = r->next;
	r->listed = 0;
	dmm_os_registry_unlock();
}
