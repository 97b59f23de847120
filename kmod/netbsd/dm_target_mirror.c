/*
 * dm-mirror as NetBSD's device-mapper "mirror" target: the thin adapter
 * between struct buf and the OS-neutral glue (kmod/common). It serves both
 * dm target APIs of sys/dev/dm/dm.h, chosen at compile time:
 *   8: NetBSD 8 and 9 (and the 7.99 of the rump rig): init(dmv, &config,
 *      params) with the parameters as one string; status() answers the
 *      table query; deps() and upcall() required.
 *  10: NetBSD 10: init(table_en, argc, argv), table(), info(), max_argc.
 * docs/netbsd.md maps every field.
 *
 * NetBSD's dm has no message ioctl: the operator's messages (fail_leg,
 * add_leg, ...) cannot reach a target there. A failing leg is still
 * dropped by the core, and read_policy/resync_rate come from the table.
 *
 * Contexts: init, destroy, strategy, info/table and sync run in thread
 * context; b_iodone callbacks may run in a soft interrupt and only take
 * spin mutexes. Cache flushes (DIOCCACHESYNC) sleep: the worker thread
 * issues them.
 */
#include <sys/types.h>
#include <sys/param.h>
#include <sys/systm.h>
#include <sys/atomic.h>
#include <sys/buf.h>
#include <sys/condvar.h>
#include <sys/cpu.h>
#include <sys/cprng.h>
#include <sys/dkio.h>
#include <sys/kauth.h>
#include <sys/kernel.h>
#include <sys/kmem.h>
#include <sys/kthread.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/time.h>
#include <sys/vnode.h>

#include <miscfs/specfs/specdev.h>
#include <uvm/uvm_extern.h>

#include "dm.h"
#include "dmm_bsd.h"

/* dm.h's init signature changed during 9.99: name it there. */
#ifndef DMM_NETBSD_DM_API
#if __NetBSD_Version__ < 999000000
#define DMM_NETBSD_DM_API	8
#elif __NetBSD_Version__ >= 1000000000
#define DMM_NETBSD_DM_API	10
#else
#error "NetBSD 9.99.x: set DMM_NETBSD_DM_API to 8 or 10 after dm.h's init()"
#endif
#endif

static char dmm_name[] = "mirror";

/* "major:minor" of a leg's device. */
#define DMM_DEVNAME_LEN		24

/* One mirror: the table entry's target_config. */
struct dmm_nb {
	struct dmm_glue		 g;
	dm_table_entry_t	*table_en;
	struct dmm_running	 running;
	kmutex_t		 lock;		/* the core lock (spin, IPL_BIO) */
	kmutex_t		 wlock;		/* everything below */
	kcondvar_t		 wcv;		/* the worker waits here */
	kcondvar_t		 done_cv;	/* sync callers */
	kcondvar_t		 qcv;		/* dmm_os_wait(), on lock */
	struct lwp		*worker;
	struct dmm_worker	 w;
	struct dmm_bsd_legs	 legs;
	char			 devnames[DMM_MAX_LEGS + 1][DMM_DEVNAME_LEN];
	uint32_t		 ndevnames;
};

#define LEG(t, i)	((dm_pdev_t *)(t)->legs.pdevs[i])

/* A parent: a struct buf from dmstrategy, or a cache sync. */
struct dmm_nb_req {
	struct dmm_preq		 pr;
	struct buf		*bp;		/* NULL for a sync */
	int			 done;
	int			 error;
};

/* A child I/O in flight. */
struct dmm_nb_child {
	struct dmm_nb		*t;
	struct dmm_child	 c;
	unsigned int		 pieces;	/* bufs still in flight */
	volatile int		 failed;
	int			 flushing;	/* FUA: the flush after the write */
	struct dmm_bsd_flush	 link;		/* waiting for the worker */
};

/* Guards the running mirrors' list (kmod/common/dmm_bsd.c). */
static kmutex_t dmm_running_lock;

/* ---- memory for the core (its only undefined symbols) ---- */

/*
 * kmem(9) promises no alignment beyond a word: over-allocate, align, and
 * keep the start just below the block. Freed with the same size and align.
 */
uint8_t *
dmm_kernel_alloc(size_t size, size_t align)
{
	size_t total;
	uintptr_t p;
	void *raw;

	if (align < sizeof(void *))
		align = sizeof(void *);
	total = size + align + sizeof(void *);
	/* Only dmm_create allocates: thread context, no lock held. */
	DMM_ASSERT(!cpu_intr_p() && !cpu_softintr_p());
	raw = kmem_alloc(total, KM_SLEEP);
	if (raw == NULL)
		return (NULL);
	p = roundup((uintptr_t)raw + sizeof(void *), align);
	((void **)p)[-1] = raw;
	return ((uint8_t *)p);
}

void
dmm_kernel_free(uint8_t *ptr, size_t size, size_t align)
{
	if (align < sizeof(void *))
		align = sizeof(void *);
	kmem_free(((void **)ptr)[-1], size + align + sizeof(void *));
}

/*
 * KM_SLEEP never fails: it waits for memory, forever if none comes, so a
 * mirror larger than the free memory is refused before it allocates.
 */
size_t
dmm_kernel_alloc_room(void)
{
#if DMM_NETBSD_DM_API >= 10
	return ((size_t)uvm_availmem(false) * PAGE_SIZE);
#else
	return ((size_t)uvmexp.free * PAGE_SIZE);
#endif
}

/* The core's panic handler: never returns. */
void
dmm_kernel_panic(const uint8_t *file, size_t file_len, uint32_t line,
    const uint8_t *msg, size_t msg_len)
{
	panic("dm_target_mirror: the core stopped at %.*s:%u: %.*s",
	    (int)file_len, (const char *)file, line, (int)msg_len,
	    (const char *)msg);
}

/* ---- the glue's OS interface ---- */

uint64_t
dmm_os_now_ns(void)
{
	struct timespec ts;

	nanouptime(&ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

void *
dmm_os_alloc(size_t size)
{
	return (kmem_zalloc(size, KM_SLEEP));
}

void
dmm_os_free(void *p, size_t size)
{
	kmem_free(p, size);
}

void
dmm_os_lock(void *os)
{
	mutex_spin_enter(&((struct dmm_nb *)os)->lock);
}

void
dmm_os_unlock(void *os)
{
	mutex_spin_exit(&((struct dmm_nb *)os)->lock);
}

static void
child_finish(struct dmm_nb_child *ch)
{
	struct dmm_nb *t = ch->t;
	struct dmm_child c = ch->c;
	int ok = !ch->failed;

	/* Maybe in a soft interrupt: kmem_free asserts it is not. */
	kmem_intr_free(ch, sizeof(*ch));
	dmm_glue_child_done(&t->g, &c, ok);
}

static void
child_iodone(struct buf *bp)
{
	struct dmm_nb_child *ch = bp->b_private;

	/* A transfer cut short (past a device's end) failed too. */
	if (bp->b_error != 0 || bp->b_resid != 0)
		ch->failed = 1;
	putiobuf(bp);
	if (atomic_dec_uint_nv(&ch->pieces) != 0)
		return;
	/* NetBSD drivers may ignore B_MEDIA_FUA: a cache flush follows. */
	if (dmm_worker_fua_follow_up(&ch->t->w, &ch->c, ch->failed,
	    &ch->flushing, &ch->link))
		return;
	child_finish(ch);
}

static struct buf *
leg_buf(struct dmm_nb *t, uint32_t position, uint64_t sector, void *data,
    uint32_t bytes, u_int flags)
{
	struct buf *bp;

	bp = getiobuf(NULL, true);
	bp->b_flags = flags;
	bp->b_oflags = 0;
	/* Ours until biodone: biowait asserts it (vfs_bio.c). */
	bp->b_cflags = BC_BUSY;
	bp->b_dev = LEG(t, position)->pdev_vnode->v_rdev;
	bp->b_data = data;
	bp->b_bufsize = bytes;
	bp->b_bcount = bytes;
	bp->b_resid = bytes;
	bp->b_blkno = bp->b_rawblkno = (daddr_t)(sector + t->legs.offsets[position]);
	bp->b_proc = NULL;
	bp->b_iodone = NULL;
	bp->b_private = NULL;
	return (bp);
}

void
dmm_os_issue(void *os, const struct dmm_child *c)
{
	struct dmm_nb *t = os;
	struct dmm_nb_child *ch;
	struct buf *bp, *parent;
	void *data = NULL;
	uint32_t bytes, done, piece;

	ch = kmem_intr_zalloc(sizeof(*ch), KM_SLEEP);
	ch->t = t;
	ch->c = *c;
	if (c->op == DMM_OP_FLUSH) {	/* DIOCCACHESYNC may sleep */
		dmm_worker_queue_flush(&t->w, &ch->link);
		return;
	}
	if (c->op == DMM_OP_DISCARD) {
		/* NetBSD's dm passes no discards down: nothing to do. */
		child_finish(ch);
		return;
	}
	if (c->data == DMM_DATA_PARENT) {
		parent = ((struct dmm_nb_req *)c->parent)->bp;
		data = (char *)parent->b_data + (size_t)c->parent_offset * DEV_BSIZE;
	} else if (c->data == DMM_DATA_KERNEL) {
		data = c->kbuf;
	}
	/* At most MAXPHYS per buf: a resync of a large chunk goes in pieces. */
	bytes = c->sectors * DEV_BSIZE;
	ch->pieces = howmany(bytes, MAXPHYS);
	for (done = 0; done < bytes; done += piece) {
		piece = MIN(bytes - done, MAXPHYS);
		bp = leg_buf(t, c->position, c->sector + done / DEV_BSIZE,
		    (char *)data + done, piece,
		    c->op == DMM_OP_READ ? B_READ : B_WRITE);
		bp->b_iodone = child_iodone;
		bp->b_private = ch;
		VOP_STRATEGY(LEG(t, c->position)->pdev_vnode, bp);
	}
}

void
dmm_os_complete_parent(void *os, struct dmm_preq *pr, int error)
{
	struct dmm_nb *t = os;
	struct dmm_nb_req *r = (struct dmm_nb_req *)pr;
	struct buf *bp = r->bp;

	if (bp != NULL) {
		/* Maybe in a soft interrupt (a child's b_iodone). */
		kmem_intr_free(r, sizeof(*r));
		bp->b_error = error;
		bp->b_resid = error ? bp->b_bcount : 0;
		biodone(bp);
		return;
	}
	/* A sync: its caller waits. */
	mutex_spin_enter(&t->wlock);
	r->done = 1;
	r->error = error;
	cv_broadcast(&t->done_cv);
	mutex_spin_exit(&t->wlock);
}

void
dmm_os_wake_worker(void *os)
{
	dmm_worker_wake(&((struct dmm_nb *)os)->w);
}

void
dmm_os_schedule(void *os, uint64_t delay_ns)
{
	dmm_worker_at(&((struct dmm_nb *)os)->w, delay_ns);
}

void
dmm_os_log(void *os, const char *text)
{
	struct dmm_nb *t = os;

	printf("dm_target_mirror: %s: %s\n", t->table_en->dm_dev->name, text);
}

int
dmm_os_read_block(void *os, uint32_t position, uint64_t sector,
    uint8_t *block)
{
	struct dmm_nb *t = os;
	struct buf *bp;
	int error;

	if (!dmm_bsd_has(&t->legs, position))
		return (0);
	bp = leg_buf(t, position, sector, block, DMM_BLOCK_SIZE, B_READ);
	VOP_STRATEGY(LEG(t, position)->pdev_vnode, bp);
	error = biowait(bp);
	putiobuf(bp);
	return (error == 0);
}

uint64_t
dmm_os_leg_sectors(void *os, uint32_t position)
{
	struct dmm_nb *t = os;
	uint64_t sectors;

	if (!dmm_bsd_has(&t->legs, position))
		return (0);
	sectors = LEG(t, position)->pdev_numsec *
	    (LEG(t, position)->pdev_secsize / DEV_BSIZE);
	return (sectors < t->legs.offsets[position] ? 0 :
	    sectors - t->legs.offsets[position]);
}

void
dmm_os_random(void *buf, size_t len)
{
	cprng_fast(buf, len);
}

/* The quiescer waits on the core lock, so no wakeup is lost under it. */
void
dmm_os_wait(void *os, uint64_t ns)
{
	struct dmm_nb *t = os;

	mutex_spin_enter(&t->lock);
	cv_timedwait(&t->qcv, &t->lock, MAX(1, mstohz(ns / 1000000)));
	mutex_spin_exit(&t->lock);
}

void
dmm_os_wakeup(void *os)
{
	struct dmm_nb *t = os;

	cv_broadcast(&t->qcv);
}

void
dmm_os_assert_failed(const char *expr, const char *file, int line)
{
	panic("dm_target_mirror: %s:%d: assertion %s failed", file, line, expr);
}

/* ---- the worker thread ---- */

/*
 * A leg's cache flushed: 0, or the error. A driver without a cache to
 * flush says so (xbd EOPNOTSUPP, md ENOTTY, old wd ENODEV): that is not a
 * failed leg, and NetBSD's own dm ignores sync errors altogether.
 */
static int
leg_cache_sync(struct dmm_nb *t, uint32_t position)
{
	int cmd = 1, error;

	error = VOP_IOCTL(LEG(t, position)->pdev_vnode, DIOCCACHESYNC,
	    &cmd, FREAD | FWRITE, kauth_cred_get());
	if (error == EOPNOTSUPP || error == ENOTTY || error == ENODEV)
		return (0);
	return (error);
}

static void
worker_lock(void *os)
{
	mutex_spin_enter(&((struct dmm_nb *)os)->wlock);
}

static void
worker_unlock(void *os)
{
	mutex_spin_exit(&((struct dmm_nb *)os)->wlock);
}

static void
worker_sleep(void *os, uint64_t ns)
{
	struct dmm_nb *t = os;

	cv_timedwait(&t->wcv, &t->wlock, (int)(ns * hz / 1000000000ULL) + 1);
}

static void
worker_wake(void *os)
{
	struct dmm_nb *t = os;

	mutex_spin_enter(&t->wlock);
	cv_broadcast(&t->wcv);
	mutex_spin_exit(&t->wlock);
}

/* Thread context: DIOCCACHESYNC may sleep. */
static void
worker_flush(void *os, struct dmm_bsd_flush *f)
{
	struct dmm_nb *t = os;
	struct dmm_nb_child *ch;
	struct dmm_bsd_flush *next;

	for (; f != NULL; f = next) {
		next = f->next;
		ch = (struct dmm_nb_child *)((char *)f -
		    offsetof(struct dmm_nb_child, link));
		if (leg_cache_sync(t, ch->c.position) != 0)
			ch->failed = 1;
		child_finish(ch);
	}
}

static const struct dmm_bsd_hooks worker_hooks = {
	.lock = worker_lock,
	.unlock = worker_unlock,
	.sleep = worker_sleep,
	.wake = worker_wake,
	.flush = worker_flush,
};

static void
worker_main(void *arg)
{
	dmm_worker_run(&((struct dmm_nb *)arg)->w);
	kthread_exit(0);
}

/* ---- the target ---- */

void
dmm_os_registry_lock(void)
{
	mutex_enter(&dmm_running_lock);
}

void
dmm_os_registry_unlock(void)
{
	mutex_exit(&dmm_running_lock);
}

static void
free_mirror(struct dmm_nb *t)
{
	if (t->worker != NULL) {
		dmm_worker_stop(&t->w);
		kthread_join(t->worker);
	}
	dmm_bsd_close(&t->g, t, &t->legs, &t->running);
	cv_destroy(&t->wcv);
	cv_destroy(&t->done_cv);
	cv_destroy(&t->qcv);
	mutex_destroy(&t->lock);
	mutex_destroy(&t->wlock);
	kmem_free(t, sizeof(*t));
}

void *
dmm_os_open_leg(void *os, const char *dev, const char **name)
{
	struct dmm_nb *t = os;
	dm_pdev_t *pdev;

	DMM_ASSERT(t->ndevnames < DMM_MAX_LEGS + 1);
	if ((pdev = dm_pdev_insert(dev)) == NULL)
		return (NULL);
#if DMM_NETBSD_DM_API >= 10
	dm_table_add_deps(t->table_en, pdev);
#endif
	/* The device's identity, whatever name the table used for it. */
	snprintf(t->devnames[t->ndevnames], DMM_DEVNAME_LEN, "%llu:%llu",
	    (unsigned long long)major(pdev->pdev_vnode->v_rdev),
	    (unsigned long long)minor(pdev->pdev_vnode->v_rdev));
	*name = t->devnames[t->ndevnames++];
	return (pdev);
}

void
dmm_os_close_leg(void *os, void *pdev)
{
	dm_pdev_decr(pdev);
}

static int
mirror_init(dm_table_entry_t *table_en, int argc, char **argv)
{
	struct dmm_nb *t;
	int rc;

	if (argc > DMM_MAX_TABLE_WORDS) {
		printf("dm_target_mirror: %s: bad table: more than %d words\n",
		    table_en->dm_dev->name, DMM_MAX_TABLE_WORDS);
		return (EINVAL);
	}
	t = kmem_zalloc(sizeof(*t), KM_SLEEP);
	t->table_en = table_en;
	dmm_worker_init(&t->w, &worker_hooks, t, &t->g);
	mutex_init(&t->lock, MUTEX_DEFAULT, IPL_BIO);
	mutex_init(&t->wlock, MUTEX_DEFAULT, IPL_BIO);
	cv_init(&t->wcv, "dmmwk");
	cv_init(&t->done_cv, "dmmdone");
	cv_init(&t->qcv, "dmmqsc");
	rc = dmm_bsd_open(&t->g, t, &t->legs, &t->running, argc, argv,
	    table_en->length);
	if (rc == 0 && (rc = kthread_create(PRI_BIO,
	    KTHREAD_MPSAFE | KTHREAD_MUSTJOIN, NULL, worker_main, t,
	    &t->worker, "dmmirror")) != 0)
		t->worker = NULL;
	if (rc != 0) {
		free_mirror(t);
		return (rc);
	}
	dmm_glue_start(&t->g);
	table_en->target_config = t;
	return (0);
}

#if DMM_NETBSD_DM_API >= 10
static int
dmm_target_init(dm_table_entry_t *table_en, int argc, char **argv)
{
	/* dm drops words past max_argc: one more than we take shows them. */
	return (mirror_init(table_en, argc, argv));
}
#else
/* The table entry dm is loading: the one whose target_config we fill. */
static dm_table_entry_t *
loading_entry(dm_dev_t *dmv, void **target_config)
{
	dm_table_entry_t *te, *found = NULL;
	dm_table_t *tbl;

	tbl = dm_table_get_entry(&dmv->table_head, DM_TABLE_INACTIVE);
	SLIST_FOREACH(te, tbl, next)
		if (&te->target_config == target_config)
			found = te;
	dm_table_release(&dmv->table_head, DM_TABLE_INACTIVE);
	return (found);
}

/* NetBSD 8's one string, split in place into words. */
static int
dmm_target_init(dm_dev_t *dmv, void **target_config, char *params)
{
	char *argv[DMM_MAX_TABLE_WORDS + 1], *word;
	dm_table_entry_t *table_en;
	int argc = 0;

	if ((table_en = loading_entry(dmv, target_config)) == NULL) {
		printf("dm_target_mirror: %s: no table entry is being loaded\n",
		    dmv->name);
		return (EINVAL);
	}
	while (params != NULL && argc <= DMM_MAX_TABLE_WORDS &&
	    (word = strsep(&params, " \t")) != NULL)
		if (*word != '\0')
			argv[argc++] = word;
	return (mirror_init(table_en, argc, argv));
}

/* Every device the mirror uses, for dmsetup deps. */
static int
dmm_target_deps(dm_table_entry_t *table_en, prop_array_t prop_array)
{
	struct dmm_nb *t = table_en->target_config;
	uint32_t i;

	for (i = 0; t != NULL && i <= DMM_LOG_DEVICE; i++)
		if (dmm_bsd_has(&t->legs, i))
			prop_array_add_uint64(prop_array,
			    (uint64_t)LEG(t, i)->pdev_vnode->v_rdev);
	return (0);
}

static int
dmm_target_upcall(dm_table_entry_t *table_en, struct buf *bp)
{
	return (0);
}
#endif

static int
dmm_target_destroy(dm_table_entry_t *table_en)
{
	struct dmm_nb *t = table_en->target_config;

	if (t != NULL) {
		/* dm has no suspend hook for targets: stop cleanly here. */
		if (!dmm_glue_quiesce(&t->g))
			printf("dm_target_mirror: %s: the superblocks were not "
			    "marked clean\n", table_en->dm_dev->name);
		free_mirror(t);
		table_en->target_config = NULL;
	}
#if DMM_NETBSD_DM_API < 10
	/* A failed init: dm's load ioctl unbusies the target itself. */
	if (t == NULL)
		return (0);
#endif
	/* Unbusy the target so that it can be unloaded. */
	dm_target_unbusy(table_en->target);
	return (0);
}

static int
dmm_target_strategy(dm_table_entry_t *table_en, struct buf *bp)
{
	struct dmm_nb *t = table_en->target_config;
	struct dmm_nb_req *r;
	uint32_t flags = 0;

	if (t == NULL || bp->b_bcount % DEV_BSIZE != 0) {
		bp->b_error = EINVAL;
		bp->b_resid = bp->b_bcount;
		biodone(bp);
		return (0);
	}
#ifdef B_MEDIA_FUA	/* NetBSD 8.99 on; before it, only syncs */
	if (BUF_ISWRITE(bp) && (bp->b_flags & B_MEDIA_FUA))
		flags |= DMM_REQ_FUA;
#endif
	r = kmem_intr_zalloc(sizeof(*r), KM_SLEEP);
	r->bp = bp;
	dmm_glue_submit(&t->g, &r->pr, r, BUF_ISREAD(bp) ? DMM_OP_READ :
	    DMM_OP_WRITE, flags, (uint64_t)bp->b_blkno,
	    (uint32_t)(bp->b_bcount / DEV_BSIZE));
	return (0);
}

/* DIOCCACHESYNC on the mirror: a flush through the core, waited for. */
static int
dmm_target_sync(dm_table_entry_t *table_en)
{
	struct dmm_nb *t = table_en->target_config;
	struct dmm_nb_req *r;
	int error;

	if (t == NULL)
		return (ENXIO);
	r = kmem_zalloc(sizeof(*r), KM_SLEEP);
	dmm_glue_submit(&t->g, &r->pr, r, DMM_OP_FLUSH, 0, 0, 0);
	mutex_spin_enter(&t->wlock);
	while (!r->done)
		cv_wait(&t->done_cv, &t->wlock);
	error = r->error;
	mutex_spin_exit(&t->wlock);
	kmem_free(r, sizeof(*r));
	return (error);
}

/* The mirror's sector size: the largest of its legs'. */
static int
dmm_target_secsize(dm_table_entry_t *table_en, unsigned int *secsizep)
{
	struct dmm_nb *t = table_en->target_config;
	unsigned int secsize = 0;
	uint32_t i;

	for (i = 0; t != NULL && i < t->legs.n; i++)
		secsize = MAX(secsize, LEG(t, i)->pdev_secsize);
	*secsizep = secsize;
	return (0);
}

static char *
status_text(void *target_config, int table)
{
	struct dmm_nb *t = target_config;
	char *params;

	params = kmem_alloc(DM_MAX_PARAMS_SIZE, KM_SLEEP);
	if (t == NULL || dmm_glue_status(&t->g, table, t->legs.names, params,
	    DM_MAX_PARAMS_SIZE) != DMM_OK)
		params[0] = '\0';
	return (params);
}

/* dmsetup table (NetBSD 8's dm asks status() for it). */
static char *
dmm_target_table(void *target_config)
{
	return (status_text(target_config, 1));
}

#if DMM_NETBSD_DM_API >= 10
/* dmsetup status: NetBSD 8's dm never asks a target for it. */
static char *
dmm_target_info(void *target_config)
{
	return (status_text(target_config, 0));
}
#endif

MODULE(MODULE_CLASS_MISC, dm_target_mirror, "dm");

static int
dm_target_mirror_modcmd(modcmd_t cmd, void *arg)
{
	dm_target_t *dmt;
	int rc;

	switch (cmd) {
	case MODULE_CMD_INIT:
		if ((dmt = dm_target_lookup(dmm_name)) != NULL) {
			dm_target_unbusy(dmt);
			return (EEXIST);
		}
		mutex_init(&dmm_running_lock, MUTEX_DEFAULT, IPL_NONE);
		dmt = dm_target_alloc(dmm_name);
		/* NetBSD 8's dm_target_alloc leaves the name to the caller. */
		strlcpy(dmt->name, dmm_name, sizeof(dmt->name));
		dmt->version[0] = 1;
		dmt->version[1] = 0;
		dmt->version[2] = 0;
		dmt->init = dmm_target_init;
		dmt->destroy = dmm_target_destroy;
		dmt->strategy = dmm_target_strategy;
		dmt->sync = dmm_target_sync;
		dmt->secsize = dmm_target_secsize;
#if DMM_NETBSD_DM_API >= 10
		dmt->table = dmm_target_table;
		dmt->info = dmm_target_info;
		dmt->max_argc = DMM_MAX_TABLE_WORDS + 1;
#else
		dmt->status = dmm_target_table;
		dmt->deps = dmm_target_deps;
		dmt->upcall = dmm_target_upcall;
#endif
		if ((rc = dm_target_insert(dmt)) != 0) {
			/* dm_target_alloc's kmem_zalloc, freed as dm_target_rem does. */
			kmem_free(dmt, sizeof(*dmt));
			mutex_destroy(&dmm_running_lock);
		}
		return (rc);
	case MODULE_CMD_FINI:
		/* EBUSY while a table uses the target. */
		if ((rc = dm_target_rem(dmm_name)) == 0)
			mutex_destroy(&dmm_running_lock);
		return (rc);
	default:
		return (ENOTTY);
	}
}
