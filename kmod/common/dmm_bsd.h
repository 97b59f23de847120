/*
 * What the BSD adapters share beyond the glue: the worker thread's
 * bookkeeping and opening a table's devices (with the running mirrors'
 * registry, dmm_claim.h). OS-neutral; each adapter
 * supplies the locks (its worker lock, and dmm_os_registry_lock/unlock).
 */
#ifndef DMM_BSD_H
#define DMM_BSD_H

#include "dmm_claim.h"

#define DMM_WORKER_NEVER	(~(uint64_t)0)

/* A child record's link while it waits for the worker to flush its leg. */
struct dmm_bsd_flush {
	struct dmm_bsd_flush	*next;
};

/* What the worker needs of the adapter. */
struct dmm_bsd_hooks {
	/* The worker lock (guards struct dmm_worker); any context. */
	void	(*lock)(void *os);
	void	(*unlock)(void *os);
	/* With the worker lock held: sleeps at most ns, or until wake(). */
	void	(*sleep)(void *os, uint64_t ns);
	/* Wakes the sleeping worker; called after unlock. */
	void	(*wake)(void *os);
	/*
	 * Thread context: flushes the leg of each child on the list (a flush
	 * child, or a FUA write's follow-up) and ends each child as the
	 * adapter's completion does.
	 */
	void	(*flush)(void *os, struct dmm_bsd_flush *list);
};

/* The worker thread's state, guarded by the adapter's worker lock. */
struct dmm_worker {
	const struct dmm_bsd_hooks *h;
	void		*os;
	struct dmm_glue	*g;
	int		 pending;	/* dmm_glue_work() asked for */
	int		 stopping;
	uint64_t	 deadline;	/* ns; DMM_WORKER_NEVER */
	struct dmm_bsd_flush *flushes;	/* for the worker to issue */
};

void	dmm_worker_init(struct dmm_worker *w, const struct dmm_bsd_hooks *h,
	    void *os, struct dmm_glue *g);
/* The worker thread's body: returns once dmm_worker_stop() was called. */
void	dmm_worker_run(struct dmm_worker *w);
/* Asks the worker to end; the adapter then waits for its thread. */
void	dmm_worker_stop(struct dmm_worker *w);
/* dmm_os_wake_worker() and dmm_os_schedule() of a BSD adapter. */
void	dmm_worker_wake(struct dmm_worker *w);
void	dmm_worker_at(struct dmm_worker *w, uint64_t delay_ns);
/* A child's leg to flush by the worker; any context. */
void	dmm_worker_queue_flush(struct dmm_worker *w, struct dmm_bsd_flush *f);
/*
 * A child's I/O ended (completion context). BSD drivers may ignore FUA
 * (DragonFly has none), and completion context may not issue I/O: a
 * successful FUA write is followed by a flush of its leg, which the worker
 * issues. 1 if queued so (the child is not done yet; *flushing is set and
 * the flush's end is final); 0: the child is done.
 */
int	dmm_worker_fua_follow_up(struct dmm_worker *w,
	    const struct dmm_child *c, int failed, int *flushing,
	    struct dmm_bsd_flush *f);

/* errno values, the same on both BSDs. */
#define DMM_ENOENT	2
#define DMM_ENOMEM	12
#define DMM_EBUSY	16
#define DMM_EINVAL	22

/*
 * The legs of a mirror, in table order; a disk log at DMM_LOG_DEVICE (its
 * name is repeated after the legs' for the list of running mirrors).
 */
struct dmm_bsd_legs {
	uint32_t	 n;
	uint64_t	 offsets[DMM_MAX_LEGS + 1];
	const char	*names[DMM_MAX_LEGS + 1];	/* "major:minor" */
	void		*pdevs[DMM_MAX_LEGS + 1];	/* the OS's dm_pdev_t */
};

/* A leg at this table position, or the log at DMM_LOG_DEVICE, is open. */
static inline int
dmm_bsd_has(const struct dmm_bsd_legs *legs, uint32_t position)
{
	return (position < legs->n || (position == DMM_LOG_DEVICE &&
	    legs->pdevs[DMM_LOG_DEVICE] != NULL));
}

/*
 * Opens the leg device `dev` for the mirror (and records it as a table
 * dependency); returns the OS's handle and sets *name to its
 * "major:minor", or returns NULL.
 */
void	*dmm_os_open_leg(void *os, const char *dev, const char **name);
void	 dmm_os_close_leg(void *os, void *pdev);

/*
 * A BSD target's init between allocating its state and starting its
 * worker: opens the legs the table names, refuses legs a running mirror
 * uses, assembles and checks the table's length (in sectors). 0, or an
 * errno with the reason logged through dmm_os_log(); dmm_bsd_close()
 * undoes what was done either way.
 */
int	dmm_bsd_open(struct dmm_glue *g, void *os, struct dmm_bsd_legs *legs,
	    struct dmm_running *r, int argc, char **argv,
	    uint64_t table_sectors);
void	dmm_bsd_close(struct dmm_glue *g, void *os, struct dmm_bsd_legs *legs,
	    struct dmm_running *r);

#endif /* DMM_BSD_H */
