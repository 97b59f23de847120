/*
 * The running mirrors, by their devices' names ("major:minor"): one
 * device may serve one mirror device at a time. OS-neutral; the adapter
 * supplies the registry's lock (dmm_os_registry_lock/unlock). Used by the
 * BSD adapters and the Linux target.
 */
#ifndef DMM_CLAIM_H
#define DMM_CLAIM_H

#include "dmm_glue.h"

/* A running mirror: its devices (legs, then its log if any). */
struct dmm_running {
	struct dmm_running	*next;
	const char *const	*names;
	uint32_t		 nlegs;
	/* The mirror device it runs for: its own new tables may reuse its
	 * devices (a reload); NULL to share with none. */
	const void		*owner;
	int			 listed;
};

void	dmm_os_registry_lock(void);
void	dmm_os_registry_unlock(void);
/*
 * Lists r unless another mirror device runs on one of its devices: then
 * returns that device's index and lists nothing. -1 when listed.
 */
int	dmm_running_claim(struct dmm_running *r, const char *const *names,
	    uint32_t nlegs, const void *owner);
void	dmm_running_release(struct dmm_running *r);
/* Whether two device names are the same ("major:minor" strings). */
int	dmm_same_name(const char *a, const char *b);
/*
 * One table's devices: the index of the first name that repeats an
 * earlier one (one disk under two names, or as leg and log), or -1; the
 * earlier one's index in *earlier (if not NULL).
 */
int	dmm_first_repeated(const char *const *names, uint32_t n,
	    uint32_t *earlier);

/* A leg below this from its offset has no room for its superblocks. */
#define DMM_MIN_LEG_SECTORS	(2 * DMM_BLOCK_SIZE / 512)

#endif /* DMM_CLAIM_H */
