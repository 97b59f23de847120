/*
 * Kernel side of the rig's disks: completions delivered in a soft
 * interrupt. On hardware a disk completes in a hard interrupt and NetBSD's
 * biodone() hands b_iodone to a soft interrupt; rumpuser's I/O thread
 * would call it in thread context instead, where what must not run in
 * completion context (kmem_free, sleeping) goes unnoticed. The hook
 * (host/faultdisk.c) calls dmmrig_complete() with a rump CPU held.
 */
#include <sys/param.h>
#include <sys/intr.h>
#include <sys/kmem.h>
#include <sys/mutex.h>
#include <sys/systm.h>

#include <rump-sys/kern.h>

#include "softint.h"

struct rig_done {
	struct rig_done	*next;
	void		(*done)(void *, size_t, int);
	void		*arg;
	size_t		 count;
	int		 error;
};

static kmutex_t rig_lock;
static struct rig_done *rig_head, **rig_tail = &rig_head;
static void *rig_sih;

static void
rig_softint(void *unused)
{
	struct rig_done *d, *next;

	mutex_spin_enter(&rig_lock);
	d = rig_head;
	rig_head = NULL;
	rig_tail = &rig_head;
	mutex_spin_exit(&rig_lock);
	for (; d != NULL; d = next) {
		next = d->next;
		KASSERT(cpu_softintr_p());
		(*d->done)(d->arg, d->count, d->error);
		kmem_intr_free(d, sizeof(*d));
	}
}

void
dmmrig_complete(void (*done)(void *, size_t, int), void *arg, size_t count,
    int error)
{
	struct rig_done *d;

	d = kmem_intr_alloc(sizeof(*d), KM_NOSLEEP);
	if (d == NULL)
		panic("dmmrig: no memory for a completion");
	d->next = NULL;
	d->done = done;
	d->arg = arg;
	d->count = count;
	d->error = error;
	mutex_spin_enter(&rig_lock);
	*rig_tail = d;
	rig_tail = &d->next;
	mutex_spin_exit(&rig_lock);
	kpreempt_disable();
	softint_schedule(rig_sih);
	kpreempt_enable();
}

RUMP_COMPONENT(RUMP_COMPONENT_POSTINIT)
{
	mutex_init(&rig_lock, MUTEX_DEFAULT, IPL_BIO);
	rig_sih = softint_establish(SOFTINT_BIO | SOFTINT_MPSAFE, rig_softint,
	    NULL);
	if (rig_sih == NULL)
		panic("dmmrig: no soft interrupt");
}
