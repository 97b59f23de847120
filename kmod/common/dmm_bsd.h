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

/* The worker's state, guarded by the adapter's worker lock. */
struct dmm_worker {
	int		pending;	/* dmm_glue_work() asked for */
	int		stopping;
	uint64_t	deadline;	/* ns; DMM_WORKER_NEVER */
};

void	dmm_worker_init(struct dmm_worker *w);
/* 1: run dmm_glue_work() now; 0: sleep at most *wait_ns, then ask again. */
int	dmm_worker_next(struct dmm_worker *w, uint64_t now, uint64_t *wait_ns);
/* dmm_os_schedule(): 1 if that moved the deadline (wake the worker). */
int	dmm_worker_schedule(struct dmm_worker *w, uint64_t when);

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
