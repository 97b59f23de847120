/*
 * OS-neutral dispatch between the dm-mirror core (dm_mirror.h) and a
 * kernel's block layer. The glue turns the core's actions into child I/O
 * on the legs, feeds completions back, completes parent requests and runs
 * the worker (timers, retries, adopted writes). One lock guards every core
 * call; child I/O is issued with the lock dropped.
 *
 * An adapter (kmod/<os>/) supplies the dmm_os_* functions below and calls
 * the dmm_glue_* entry points. Nothing here names an OS.
 */
#ifndef DMM_GLUE_H
#define DMM_GLUE_H

#include "dm_mirror.h"

#ifndef NULL
#define NULL	((void *)0)
#endif

/* Why a child I/O exists. */
#define DMM_CHILD_CORE		0	/* the core issued it (id in child) */
#define DMM_CHILD_FAST_WRITE	1	/* one leg of a lock-free write */
#define DMM_CHILD_FAST_READ	2	/* a lock-free read */

/* What a child I/O reads into or writes from. */
#define DMM_DATA_NONE		0	/* flush, discard */
#define DMM_DATA_PARENT		1	/* part of the parent's data */
#define DMM_DATA_KERNEL		2	/* a kernel buffer (metadata, resync) */

struct dmm_preq;

/* One child I/O, as the adapter must issue it and hand back on completion. */
struct dmm_child {
	uint32_t	 kind;		/* DMM_CHILD_* */
	uint32_t	 id;		/* the core's child id (DMM_CHILD_CORE) */
	uint32_t	 position;	/* the leg's table position */
	uint32_t	 op;		/* DMM_OP_* */
	uint32_t	 fua;
	uint32_t	 data;		/* DMM_DATA_* */
	uint64_t	 sector;	/* on the leg, before the table offset */
	uint32_t	 sectors;
	uint32_t	 parent_offset;	/* sectors into the parent's data */
	struct dmm_preq	*parent;	/* DMM_DATA_PARENT, and fast children */
	uint8_t		*kbuf;		/* DMM_DATA_KERNEL */
	uint32_t	 slot;		/* a fast write's member slot */
};

/* Parent request states. */
#define DMM_PREQ_SLOW		0	/* submitted to the core */
#define DMM_PREQ_FAST_WRITE	1
#define DMM_PREQ_FAST_READ	2
#define DMM_PREQ_ADOPT		3	/* fast write handed to the core */
#define DMM_PREQ_RETRY		4	/* fast read handed to the core */

/*
 * A parent request. The adapter provides the memory (per-request data)
 * and keeps it until dmm_os_complete_parent(); its address is the core's
 * request id.
 */
struct dmm_preq {
	void			*parent;	/* the adapter's request */
	struct dmm_preq		*next;		/* waiting lists */
	struct dmm_request	 req;
	uint32_t		 state;		/* DMM_PREQ_* */
	uint32_t		 pending;	/* fast children in flight */
	uint32_t		 failed;	/* fast write: failed slots */
	struct dmm_fast_write	 fw;
	struct dmm_fast_read	 fr;
};

struct dmm_glue {
	struct dmm_mirror	*m;
	const struct dmm_fast	*fast;
	void			*os;		/* the adapter's target state */
	struct dmm_info		 info;
	uint8_t			**resync_bufs;	/* info.resync_buffers of a chunk */
	struct dmm_preq		*waiting;	/* for a request slot (FIFO) */
	struct dmm_preq		**waiting_tail;
	struct dmm_preq		*handoff;	/* fast requests for the worker */
	uint64_t		 wake_at;	/* earliest tick asked for (ns) */
	int			 use_fast;
	int			 remap_reads;	/* see dmm_glue_submit() */
	int			 kick;		/* a fast write asked for dmm_kick() */
	int			 started;	/* dmm_glue_start() was called */
	uint32_t		 children;	/* child I/O in flight (atomic) */
	uint32_t		 parents;	/* requests not yet completed (atomic) */
	int			 quiescing;	/* completions wake the quiescer */
	int			 fenced;	/* no new child I/O is issued */
	char			**words;	/* the table, for reassembly */
	size_t			 words_size;
	uint32_t		 argc;
	uint64_t		 length;	/* the table's length (sectors) */
};

/* The glue's invariants: the adapter reports a broken one (its KASSERT). */
void	 dmm_os_assert_failed(const char *expr, const char *file, int line);
#define DMM_ASSERT(x)	((x) ? (void)0 : \
	dmm_os_assert_failed(#x, __FILE__, __LINE__))

/* ---- supplied by the adapter ---- */
uint64_t dmm_os_now_ns(void);
void	*dmm_os_alloc(size_t size);	/* may sleep; zeroed */
void	 dmm_os_free(void *p, size_t size);
void	 dmm_os_lock(void *os);		/* the core lock; usable from completions */
void	 dmm_os_unlock(void *os);
/* Issue a child I/O; when it ends, call dmm_glue_child_done(). */
void	 dmm_os_issue(void *os, const struct dmm_child *c);
/* Complete a parent request: 0 or an errno. */
void	 dmm_os_complete_parent(void *os, struct dmm_preq *pr, int error);
/* Run dmm_glue_work() soon, from a context that may issue I/O. */
void	 dmm_os_wake_worker(void *os);
/* Run dmm_glue_work() in about delay_ns (replaces a later request). */
void	 dmm_os_schedule(void *os, uint64_t delay_ns);
void	 dmm_os_log(void *os, const char *text);
/*
 * Reads the 4 KiB block at `sector` (before the table offset) of the leg
 * at table `position`, or of the log device (DMM_LOG_DEVICE), waiting for
 * it; process context. 1 if read. (Child I/O names the log the same way.)
 */
int	 dmm_os_read_block(void *os, uint32_t position, uint64_t sector,
	    uint8_t *block);
/*
 * The leg's (or the log's) size in sectors from its table offset on; 0
 * for a position with no device open.
 */
uint64_t dmm_os_leg_sectors(void *os, uint32_t position);
void	 dmm_os_random(void *buf, size_t len);
/*
 * Sleeps at most ns, or until dmm_os_wakeup(); spurious returns are fine.
 * Process context. dmm_os_wakeup() may be called from any context the
 * adapter's completions run in, with the core lock held.
 */
void	 dmm_os_wait(void *os, uint64_t ns);
void	 dmm_os_wakeup(void *os);

/* ---- entry points ---- */
/*
 * Creates the mirror from a table of `length` sectors, reading the legs'
 * metadata (or the log's, if the table names one: the adapter has opened
 * it as DMM_LOG_DEVICE) with dmm_os_read_block(). Returns a DMM_ERR_*
 * code with err filled in. Nothing is written until dmm_glue_start().
 */
int	dmm_glue_create(struct dmm_glue *g, void *os, uint32_t argc,
	    const char *const *argv, uint64_t length, struct dmm_error *err);
void	dmm_glue_destroy(struct dmm_glue *g);
/*
 * Drops the running mirror and assembles again from what the legs hold
 * now: for a table loaded while another table still ran on the same
 * legs (the first assembly is stale by the time this one starts). No
 * request may be in flight, and the worker must not run meanwhile.
 */
int	dmm_glue_reassemble(struct dmm_glue *g, struct dmm_error *err);
/* From now on the core's actions are carried out; wakes the worker. */
void	dmm_glue_start(struct dmm_glue *g);
/*
 * A new parent request (req->id is set here). It completes through
 * dmm_os_complete_parent(), perhaps before this returns.
 */
void	dmm_glue_submit(struct dmm_glue *g, struct dmm_preq *pr, void *parent,
	    uint32_t op, uint32_t flags, uint64_t sector, uint32_t sectors);
/*
 * Before dmm_glue_submit(), only if the adapter set g->remap_reads: 1 if
 * a read may run lock-free with the adapter sending the parent itself to
 * the leg at pr->fr.position, pr->fr.leg_sector (a child costs a second
 * request per read); when it ends, dmm_glue_remapped_read_done(), unless
 * dmm_glue_remapped_read_quiet(). If pr->req.sectors is now less than
 * asked, the read is split across legs: the adapter keeps only that first
 * part and submits the rest as a new request (dm_accept_partial_bio on
 * Linux). Such a read is not counted: only an adapter whose OS waits for
 * a target's requests before it suspends or destroys it (dm on Linux) may
 * remap. Inline: every read of the Linux rig starts here.
 */
static inline int
dmm_glue_try_remap_read(struct dmm_glue *g, struct dmm_preq *pr,
    void *parent, uint64_t sector, uint32_t sectors)
{
	if (!g->use_fast || !g->remap_reads)
		return (0);
	pr->req.id = (uint64_t)(uintptr_t)pr;
	pr->req.op = DMM_OP_READ;
	pr->req.flags = 0;
	pr->req.sector = sector;
	pr->req.sectors = sectors;
	if (!dmm_fast_try_read_part(g->fast, &pr->req, &pr->fr))
		return (0);
	pr->parent = parent;
	pr->state = DMM_PREQ_FAST_READ;
	pr->req.sectors = pr->fr.request.sectors;
	return (1);
}
/*
 * A read the adapter remapped (dmm_glue_try_remap_read()) ended; any completion
 * context. 1: it read; the adapter completes the parent itself, and no
 * dmm_os_complete_parent() follows. 0: it failed and goes to the core,
 * which reads another leg and completes the parent through
 * dmm_os_complete_parent(); the adapter must first have restored the
 * parent as it was submitted.
 */
int	dmm_glue_remapped_read_done(struct dmm_glue *g, struct dmm_preq *pr,
	    int ok);
/*
 * A remapped read that read and was not counted in its leg's reads in
 * flight (the striped policy's reads) needs no dmm_glue_remapped_read_done().
 */
static inline int
dmm_glue_remapped_read_quiet(const struct dmm_preq *pr, int ok)
{
	return (ok && pr->fr.counted == 0);
}
/* A child I/O ended; any context the adapter's completions run in. */
void	dmm_glue_child_done(struct dmm_glue *g, const struct dmm_child *c,
	    int ok);
/* The worker: time, hand-offs and actions. Process context. */
void	dmm_glue_work(struct dmm_glue *g);
/* Runs f(m, arg) under the lock, then issues what it asked for. */
int	dmm_glue_call(struct dmm_glue *g,
	    int (*f)(struct dmm_mirror *, void *), void *arg);

/* ---- the operator's side (dmm_admin.c); process context ---- */
/*
 * Carries out a `dmsetup message` (words as given, see docs/tables.md).
 * DMM_OK, or a DMM_ERR_* code with err saying why.
 */
int	dmm_glue_message(struct dmm_glue *g, uint32_t argc,
	    const char *const *argv, struct dmm_error *err);
/*
 * The `dmsetup status` (table == 0) or `dmsetup table` line into buf;
 * names: each leg's device name in table order. DMM_OK or DMM_ERR_SPACE.
 */
int	dmm_glue_status(struct dmm_glue *g, int table, const char *const *names,
	    char *buf, size_t len);
/*
 * A clean stop: waits, 30 s by the clock at most, until the superblocks
 * are marked clean. 1 if they are. Requests may come again after
 * dmm_glue_resume().
 */
int	dmm_glue_suspend(struct dmm_glue *g);
/*
 * Before the mirror is freed (no new request may come): waits for every
 * request submitted to complete; a clean stop as dmm_glue_suspend(); then
 * no new child I/O is issued, and it waits for every child in flight,
 * however long that takes (a child points into the mirror). Afterwards
 * only the worker may still run: stop it, then dmm_glue_destroy(). 1 if
 * the superblocks were marked clean.
 */
int	dmm_glue_quiesce(struct dmm_glue *g);
void	dmm_glue_resume(struct dmm_glue *g);

#endif /* DMM_GLUE_H */
