/*
 * dm-mirror as DragonFly BSD's device-mapper "mirror" target: the thin
 * adapter between struct buf/struct bio and the OS-neutral glue
 * (kmod/common). docs/dragonfly.md maps every field.
 *
 * Contexts: strategy, init, destroy, table/info and message run in thread
 * context and may sleep; bio_done callbacks may run in an interrupt
 * thread and only take spinlocks. A kernel thread per mirror runs the
 * glue's worker (timers, resync, metadata, retries).
 */
#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/malloc.h>
#include <sys/buf.h>
#include <sys/buf2.h>
#include <sys/bio.h>
#include <sys/vnode.h>
#include <sys/kthread.h>
#include <sys/objcache.h>
#include <sys/spinlock.h>
#include <sys/spinlock2.h>
#include <sys/time.h>
#include <sys/libkern.h>
#include <sys/thread.h>
#include <sys/globaldata.h>
#include <dev/disk/dm/dm.h>

#include "dmm_bsd.h"

MALLOC_DEFINE(M_DMMIRROR, "dm_mirror", "Device Mapper Target Mirror");

#define DMM_NAME		"mirror"
#define DMM_MSG_WORDS		8

/* One mirror: the table entry's target_config. */
struct dmm_dfly {
	struct dmm_glue		 g;
	dm_table_entry_t	*table_en;
	struct dmm_running	 running;
	struct spinlock		 lock;		/* the core lock */
	struct spinlock		 wlock;		/* guards w */
	struct dmm_worker	 w;
	struct thread		*worker;
	struct dmm_bsd_legs	 legs;
};

/* A child I/O in flight: what the glue needs back, and how far it got. */
struct dmm_dfly_child {
	struct dmm_dfly		*t;
	struct dmm_child	 c;
	uint32_t		 pieces;	/* bufs still in flight */
	u_int			 failed;	/* atomic: pieces end on any CPU */
	int			 flushing;	/* FUA: the flush after the write */
	struct dmm_bsd_flush	 link;		/* waiting for the worker */
};

#define LEG(t, i)	((dm_pdev_t *)(t)->legs.pdevs[i])

static struct objcache *dmm_preq_cache;
static struct objcache *dmm_child_cache;

/* Guards the running mirrors' list (kmod/common/dmm_bsd.c). */
static struct spinlock dmm_running_lock;

/*
 * The rig's stack report (built with -DDMM_STACK_REPORT by make
 * dragonfly-test): the free stack below an entry point is painted, and
 * after the call the deepest byte touched tells what the kernel used
 * before the target, what the target used and what was left. The first
 * page of a kernel stack is its guard (vm_kern.c, KM_STACK): of the
 * 16 KiB, 12 less the pcb at the top are usable.
 */
#ifdef DMM_STACK_REPORT
#define STACK_PAINT_BYTE	0xd5
#define STACK_SLACK		512	/* the painter's own frame */

static __noinline void
stack_paint(char **entry)
{
	char *low = curthread->td_kstack + PAGE_SIZE, here;

	*entry = &here;
	memset(low, STACK_PAINT_BYTE, (size_t)(&here - STACK_SLACK - low));
}

static __noinline void
stack_report(char *entry, const char *what)
{
	char *low = curthread->td_kstack + PAGE_SIZE;
	char *top = (char *)curthread->td_pcb;
	char *c = low;

	while (c < entry && *c == (char)STACK_PAINT_BYTE)
		c++;
	kprintf("dm_target_mirror: stack: %s: kernel %ld bytes, target %ld, "
	    "left %ld of %ld\n", what, (long)(top - entry),
	    (long)(entry - c), (long)(c - low), (long)(top - low));
}
#else
static __inline void stack_paint(char **entry) { *entry = NULL; }
static __inline void stack_report(char *entry, const char *what) { }
#endif

/* ---- memory for the core (its only undefined symbols) ---- */

uint8_t *
dmm_kernel_alloc(size_t size, size_t align)
{
	/*
	 * kern_slaballoc.c: power-of-2 sizes are aligned to their size, and
	 * whole pages from two up come page-aligned (powers of 2, or kmem).
	 */
	if (align > sizeof(void *) * 2) {
		while (align < size && align < PAGE_SIZE)
			align <<= 1;
		if (size < align)
			size = align;
		else
			size = roundup2(size, PAGE_SIZE);
	}
	/* Creation may sleep; a call under a spinlock must not. */
	/* M_NULLOK: past the type's limit kmalloc fails instead of panicking. */
	return (kmalloc(size, M_DMMIRROR, M_NULLOK | (mycpu->gd_spinlocks == 0 &&
	    curthread->td_critcount == 0 ? M_WAITOK : M_NOWAIT)));
}

void
dmm_kernel_free(uint8_t *ptr, size_t size, size_t align)
{
	kfree(ptr, M_DMMIRROR);
}

/*
 * kmalloc fails (M_NULLOK) only once the type's use has reached its limit
 * (RAM/10 by default), so one large table could pass it and exhaust the
 * kernel: creation asks for what is left below the limit first.
 */
size_t
dmm_kernel_alloc_room(void)
{
	struct malloc_type *type = M_DMMIRROR;
	size_t used = 0;
	int i;

	for (i = 0; i < ncpus; i++)
		used += type->ks_use[i].memuse;
	if ((ssize_t)used < 0)	/* per-CPU counts race; kmalloc clamps too */
		used = 0;
	return (used >= type->ks_limit ? 0 : type->ks_limit - used);
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
	return (kmalloc(size, M_DMMIRROR, M_WAITOK | M_ZERO | M_NULLOK));
}

void
dmm_os_free(void *p, size_t size)
{
	kfree(p, M_DMMIRROR);
}

void
dmm_os_lock(void *os)
{
	spin_lock(&((struct dmm_dfly *)os)->lock);
}

void
dmm_os_unlock(void *os)
{
	spin_unlock(&((struct dmm_dfly *)os)->lock);
}

static void
child_finish(struct dmm_dfly_child *ch)
{
	struct dmm_dfly *t = ch->t;
	struct dmm_child c = ch->c;
	int ok = !ch->failed;

	objcache_put(dmm_child_cache, ch);
	dmm_glue_child_done(&t->g, &c, ok);
}

/*
 * Whether a buf failed. B_ERROR marks an error, but some drivers set only
 * b_error (dm's flakey target), and a transfer past a device's end ends
 * short with no error at all: dscheck() cuts b_bcount, or leaves b_resid
 * at b_bcount (kern/subr_diskslice.c). A short transfer is a failure.
 */
static int
buf_failed(struct buf *bp, int requested)
{
	if ((bp->b_flags & B_ERROR) != 0 || bp->b_error != 0)
		return (1);
	if (bp->b_cmd != BUF_CMD_READ && bp->b_cmd != BUF_CMD_WRITE)
		return (0);
	return (bp->b_bcount != requested || bp->b_resid != 0);
}

static void
child_biodone(struct bio *bio)
{
	struct buf *bp = bio->bio_buf;
	struct dmm_dfly_child *ch = bio->bio_caller_info1.ptr;
	struct dmm_dfly *t = ch->t;

	if (buf_failed(bp, bio->bio_caller_info2.index))
		atomic_set_int(&ch->failed, 1);
	bp->b_flags &= ~B_ERROR;
	bp->b_error = 0;
	relpbuf(bp, NULL);
	if (atomic_fetchadd_int(&ch->pieces, -1) != 1)
		return;
	/*
	 * DragonFly has no FUA: the worker flushes the leg once every piece
	 * is done. Not here: this may be an interrupt thread, or CAM's
	 * completion path under its SIM lock, and a leg over dm would take
	 * the table lock and block.
	 */
	if (dmm_worker_fua_follow_up(&t->w, &ch->c, ch->failed, &ch->flushing,
	    &ch->link))
		return;
	child_finish(ch);
}

/*
 * Whether the leg's driver takes cmd. Only devices that say they can free
 * (SI_CANFREE: devfs_spec_freeblks checks it too) get BUF_CMD_FREEBLKS:
 * virtio_blk KASSERTs on it, da(4) without TRIM panics. Memory disks
 * (D_MEMDISK: md(4)) panic on BUF_CMD_FLUSH, and have nothing to flush.
 * What a leg does not take completes at once as done: the core's discard
 * is a hint, and a flush of a leg with no cache has nothing to do.
 */
static int
leg_takes(struct dmm_dfly *t, uint32_t position, buf_cmd_t cmd)
{
	cdev_t dev = LEG(t, position)->pdev_vnode->v_rdev;
	struct dev_ops *ops = dev->si_bops != NULL ? dev->si_bops : dev->si_ops;

	if (cmd == BUF_CMD_FREEBLKS)
		return ((dev->si_flags & SI_CANFREE) != 0);
	if (cmd == BUF_CMD_FLUSH)
		return (ops == NULL || (ops->head.flags & D_MEMDISK) == 0);
	return (1);
}

static void
issue_buf(struct dmm_dfly_child *ch, buf_cmd_t cmd, char *data, off_t offset,
    int bytes)
{
	struct buf *bp;

	bp = getpbuf(NULL);
	BUF_KERNPROC(bp);
	bp->b_cmd = cmd;
	bp->b_data = data;
	bp->b_bcount = bytes;
	bp->b_resid = bytes;
	bp->b_bio1.bio_offset = offset;
	bp->b_bio1.bio_done = child_biodone;
	bp->b_bio1.bio_caller_info1.ptr = ch;
	bp->b_bio1.bio_caller_info2.index = bytes;
	vn_strategy(LEG(ch->t, ch->c.position)->pdev_vnode, &bp->b_bio1);
}

void
dmm_os_issue(void *os, const struct dmm_child *c)
{
	struct dmm_dfly *t = os;
	struct dmm_dfly_child *ch;
	struct buf *parent;
	buf_cmd_t cmd;
	char *data = NULL;
	off_t offset;
	int bytes, piece;

	ch = objcache_get(dmm_child_cache, M_WAITOK);
	ch->t = t;
	ch->c = *c;
	ch->failed = 0;
	ch->flushing = 0;
	offset = (off_t)(c->sector + t->legs.offsets[c->position]) * DEV_BSIZE;
	bytes = (int)c->sectors * DEV_BSIZE;
	switch (c->op) {
	case DMM_OP_READ:
		cmd = BUF_CMD_READ;
		break;
	case DMM_OP_WRITE:
		cmd = BUF_CMD_WRITE;
		break;
	case DMM_OP_FLUSH:
		cmd = BUF_CMD_FLUSH;
		offset = 0;
		bytes = 0;
		break;
	default:
		cmd = BUF_CMD_FREEBLKS;
		break;
	}
	if (c->data == DMM_DATA_PARENT) {
		parent = c->parent->parent;
		data = parent->b_data + (size_t)c->parent_offset * DEV_BSIZE;
	} else if (c->data == DMM_DATA_KERNEL) {
		data = (char *)c->kbuf;
	}
	if (!leg_takes(t, c->position, cmd)) {
		child_finish(ch);
		return;
	}
	if (c->data != DMM_DATA_KERNEL || bytes <= MAXPHYS) {
		ch->pieces = 1;
		issue_buf(ch, cmd, data, offset, bytes);
		return;
	}
	/* A resync copy of a large chunk: pieces of at most MAXPHYS. */
	ch->pieces = howmany(bytes, MAXPHYS);
	while (bytes > 0) {
		piece = MIN(bytes, MAXPHYS);
		issue_buf(ch, cmd, data, offset, piece);
		data += piece;
		offset += piece;
		bytes -= piece;
	}
}

void
dmm_os_complete_parent(void *os, struct dmm_preq *pr, int error)
{
	struct buf *bp = pr->parent;

	if (error) {
		bp->b_error = error;
		bp->b_flags |= B_ERROR;
		bp->b_resid = bp->b_bcount;
	} else {
		bp->b_resid = 0;
	}
	objcache_put(dmm_preq_cache, pr);
	biodone(&bp->b_bio1);
}

void
dmm_os_wake_worker(void *os)
{
	dmm_worker_wake(&((struct dmm_dfly *)os)->w);
}

void
dmm_os_schedule(void *os, uint64_t delay_ns)
{
	dmm_worker_at(&((struct dmm_dfly *)os)->w, delay_ns);
}

void
dmm_os_log(void *os, const char *text)
{
	struct dmm_dfly *t = os;

	kprintf("dm_target_mirror: %s: %s\n", t->table_en->dev->name, text);
}

int
dmm_os_read_block(void *os, uint32_t position, uint64_t sector,
    uint8_t *block)
{
	struct dmm_dfly *t = os;
	struct buf *bp;
	int error;

	if (!dmm_bsd_has(&t->legs, position))
		return (0);
	bp = getpbuf(NULL);
	bp->b_cmd = BUF_CMD_READ;
	bp->b_data = (char *)block;
	bp->b_bcount = DMM_BLOCK_SIZE;
	bp->b_resid = DMM_BLOCK_SIZE;
	bp->b_bio1.bio_offset =
	    (off_t)(sector + t->legs.offsets[position]) * DEV_BSIZE;
	bp->b_bio1.bio_done = biodone_sync;
	bp->b_bio1.bio_flags |= BIO_SYNC;
	vn_strategy(LEG(t, position)->pdev_vnode, &bp->b_bio1);
	error = biowait(&bp->b_bio1, "dmmrd");
	if (error == 0 && buf_failed(bp, DMM_BLOCK_SIZE))
		error = EIO;
	bp->b_flags &= ~B_ERROR;
	bp->b_error = 0;
	relpbuf(bp, NULL);
	return (error == 0);
}

uint64_t
dmm_os_leg_sectors(void *os, uint32_t position)
{
	struct dmm_dfly *t = os;
	uint64_t bytes;

	if (!dmm_bsd_has(&t->legs, position))
		return (0);
	bytes = LEG(t, position)->pdev_pinfo.media_size;
	if (bytes / DEV_BSIZE < t->legs.offsets[position])
		return (0);
	return (bytes / DEV_BSIZE - t->legs.offsets[position]);
}

void
dmm_os_random(void *buf, size_t len)
{
	karc4rand(buf, len);
}

/* The quiescer sleeps on the core lock, so no wakeup is lost under it. */
void
dmm_os_wait(void *os, uint64_t ns)
{
	struct dmm_dfly *t = os;

	spin_lock(&t->lock);
	ssleep(&t->g.quiescing, &t->lock, 0, "dmmqsc",
	    (int)(ns * hz / 1000000000ULL) + 1);
	spin_unlock(&t->lock);
}

void
dmm_os_wakeup(void *os)
{
	struct dmm_dfly *t = os;

	wakeup(&t->g.quiescing);
}

void
dmm_os_assert_failed(const char *expr, const char *file, int line)
{
	panic("dm_target_mirror: %s:%d: assertion %s failed", file, line, expr);
}

/* ---- the worker thread (kmod/common/dmm_bsd.c runs it) ---- */

static void
worker_lock(void *os)
{
	spin_lock(&((struct dmm_dfly *)os)->wlock);
}

static void
worker_unlock(void *os)
{
	spin_unlock(&((struct dmm_dfly *)os)->wlock);
}

static void
worker_sleep(void *os, uint64_t ns)
{
	struct dmm_dfly *t = os;

	ssleep(&t->w, &t->wlock, 0, "dmmwk", (int)(ns * hz / 1000000000ULL) + 1);
}

static void
worker_wake(void *os)
{
	wakeup(&((struct dmm_dfly *)os)->w);
}

/* The worker issues the flushes completions queued (thread context). */
static void
worker_flush(void *os, struct dmm_bsd_flush *f)
{
	struct dmm_dfly *t = os;
	struct dmm_dfly_child *ch;
	struct dmm_bsd_flush *next;

	for (; f != NULL; f = next) {
		next = f->next;
		ch = (struct dmm_dfly_child *)((char *)f -
		    offsetof(struct dmm_dfly_child, link));
		if (!leg_takes(t, ch->c.position, BUF_CMD_FLUSH)) {
			child_finish(ch);
			continue;
		}
		ch->pieces = 1;
		issue_buf(ch, BUF_CMD_FLUSH, NULL, 0, 0);
	}
}

static const struct dmm_bsd_hooks worker_hooks = {
	.lock = worker_lock,
	.unlock = worker_unlock,
	.sleep = worker_sleep,
	.wake = worker_wake,
	.flush = worker_flush,
};

/* Nothing after the loop but the exit: see stop_worker(). */
static void
worker_main(void *arg)
{
	dmm_worker_run(&((struct dmm_dfly *)arg)->w);
	kthread_exit();
}

/*
 * Stops the worker and returns once it runs no more module code, so that
 * kldunload may follow. The thread is held (lwkt_hold) from its creation:
 * lwkt_exit() then sleeps on the thread itself ("tdreap",
 * kern/lwkt_thread.c) until the hold is released, and nothing else puts
 * this thread to sleep on itself. Seen there, it is in the kernel's exit
 * path for good; lwkt_rele() lets it finish.
 */
static void
stop_worker(struct dmm_dfly *t)
{
	thread_t td = t->worker;

	dmm_worker_stop(&t->w);
	while (td->td_wchan != td)
		tsleep(&t->worker, 0, "dmmstp", 1);
	t->worker = NULL;
	lwkt_rele(td);
}

/* ---- the target ---- */

void
dmm_os_registry_lock(void)
{
	spin_lock(&dmm_running_lock);
}

void
dmm_os_registry_unlock(void)
{
	spin_unlock(&dmm_running_lock);
}

static void
free_mirror(struct dmm_dfly *t)
{
	if (t->worker != NULL)
		stop_worker(t);
	dmm_bsd_close(&t->g, t, &t->legs, &t->running);
	spin_uninit(&t->lock);
	spin_uninit(&t->wlock);
	kfree(t, M_DMMIRROR);
}

void *
dmm_os_open_leg(void *os, const char *dev, const char **name)
{
	struct dmm_dfly *t = os;
	dm_pdev_t *pdev;

	if ((pdev = dm_pdev_insert(dev)) == NULL)
		return (NULL);
	dm_table_add_deps(t->table_en, pdev);
	*name = pdev->udev_name;
	return (pdev);
}

void
dmm_os_close_leg(void *os, void *pdev)
{
	dm_pdev_decr(pdev);
}

static int
target_init(dm_table_entry_t *table_en, int argc, char **argv)
{
	struct dmm_dfly *t;
	int rc;

	t = kmalloc(sizeof(*t), M_DMMIRROR, M_WAITOK | M_ZERO);
	t->table_en = table_en;
	dmm_worker_init(&t->w, &worker_hooks, t, &t->g);
	spin_init(&t->lock, "dmmcore");
	spin_init(&t->wlock, "dmmwork");
	rc = dmm_bsd_open(&t->g, t, &t->legs, &t->running, argc, argv,
	    table_en->length);
	if (rc == 0 &&
	    (rc = kthread_create(worker_main, t, &t->worker, "dmmirror")) != 0)
		t->worker = NULL;
	if (t->worker != NULL)
		lwkt_hold(t->worker);	/* for stop_worker() */
	if (rc != 0) {
		free_mirror(t);
		return (rc);
	}
	dmm_glue_start(&t->g);
	dm_table_init_target(table_en, t);
	return (0);
}

static int
dmm_target_init(dm_table_entry_t *table_en, int argc, char **argv)
{
	char *entry;
	int rc;

	stack_paint(&entry);
	rc = target_init(table_en, argc, argv);
	stack_report(entry, "init");
	return (rc);
}

static int
dmm_target_destroy(dm_table_entry_t *table_en)
{
	struct dmm_dfly *t = table_en->target_config;
	char *entry;
	bool clean;

	if (t == NULL)
		return (0);
	/* dm has no suspend hook for targets: stop cleanly here. */
	stack_paint(&entry);
	clean = dmm_glue_quiesce(&t->g);
	stack_report(entry, "destroy");
	if (!clean)
		kprintf("dm_target_mirror: %s: the superblocks were not "
		    "marked clean\n", table_en->dev->name);
	free_mirror(t);
	table_en->target_config = NULL;
	return (0);
}

static int
dmm_target_strategy(dm_table_entry_t *table_en, struct buf *bp)
{
	struct dmm_dfly *t = table_en->target_config;
	struct dmm_preq *pr;
	uint32_t op, flags;

	switch (bp->b_cmd) {
	case BUF_CMD_READ:
		op = DMM_OP_READ;
		break;
	case BUF_CMD_WRITE:
		op = DMM_OP_WRITE;
		break;
	case BUF_CMD_FREEBLKS:
		op = DMM_OP_DISCARD;
		break;
	case BUF_CMD_FLUSH:
		op = DMM_OP_FLUSH;
		break;
	default:
		op = ~0U;
		break;
	}
	if (t == NULL || op == ~0U || bp->b_bcount % DEV_BSIZE != 0 ||
	    bp->b_bio1.bio_offset % DEV_BSIZE != 0) {
		bp->b_error = EINVAL;
		bp->b_flags |= B_ERROR;
		bp->b_resid = bp->b_bcount;
		biodone(&bp->b_bio1);
		return (0);
	}
	pr = objcache_get(dmm_preq_cache, M_WAITOK);
	bzero(pr, sizeof(*pr));
	/*
	 * vfs_busy_pages() may have mapped pages of a read's buffer that were
	 * already valid to bogus_page (B_HASBOGUS, passed down by dm): such a
	 * buffer must never be written back to a leg as a read repair.
	 */
	flags = op == DMM_OP_READ && (bp->b_flags & B_HASBOGUS) != 0 ?
	    DMM_REQ_NO_REPAIR : 0;
	dmm_glue_submit(&t->g, pr, bp, op, flags,
	    (uint64_t)bp->b_bio1.bio_offset / DEV_BSIZE,
	    (uint32_t)(bp->b_bcount / DEV_BSIZE));
	return (0);
}

static char *
status_text(void *target_config, int table)
{
	struct dmm_dfly *t = target_config;
	char *params, *entry;

	if (t == NULL)
		return (NULL);
	params = dm_alloc_string(DM_MAX_PARAMS_SIZE);
	stack_paint(&entry);
	if (params != NULL &&
	    dmm_glue_status(&t->g, table, t->legs.names, params,
	    DM_MAX_PARAMS_SIZE) != DMM_OK) {
		kfree(params, M_DM);
		params = NULL;
	}
	stack_report(entry, table ? "table" : "status");
	return (params);
}

/* dmsetup table */
static char *
dmm_target_table(void *target_config)
{
	return (status_text(target_config, 1));
}

/* dmsetup status */
static char *
dmm_target_info(void *target_config)
{
	return (status_text(target_config, 0));
}

static int
dmm_target_message(dm_table_entry_t *table_en, char *message)
{
	struct dmm_dfly *t = table_en->target_config;
	const char *words[DMM_MSG_WORDS];
	struct dmm_error err;
	char *w, *entry;
	uint32_t n = 0;
	int rc;

	if (t == NULL)
		return (ENXIO);
	while (n < DMM_MSG_WORDS && (w = strsep(&message, " \t")) != NULL)
		if (*w != '\0')
			words[n++] = w;
	/* Blanks after the last word are no word (8 words and a blank). */
	while (message != NULL && (*message == ' ' || *message == '\t'))
		message++;
	if (message != NULL && *message == '\0')
		message = NULL;
	if (message != NULL) {
		kprintf("dm_target_mirror: message too long\n");
		return (EINVAL);
	}
	stack_paint(&entry);
	rc = dmm_glue_message(&t->g, n, words, &err);
	stack_report(entry, "message");
	if (rc != DMM_OK) {
		kprintf("dm_target_mirror: %s: message refused: %s\n",
		    table_en->dev->name, err.message);
		return (EINVAL);
	}
	return (0);
}

static int
dmm_modevent(module_t mod, int type, void *unused)
{
	dm_target_t *dmt;
	int err = 0;

	switch (type) {
	case MOD_LOAD:
		if ((dmt = dm_target_lookup(DMM_NAME)) != NULL) {
			dm_target_unbusy(dmt);
			return (EEXIST);
		}
		spin_init(&dmm_running_lock, "dmmrun");
		dmm_preq_cache = objcache_create_simple(M_DMMIRROR,
		    sizeof(struct dmm_preq));
		dmm_child_cache = objcache_create_simple(M_DMMIRROR,
		    sizeof(struct dmm_dfly_child));
		dmt = dm_target_alloc(DMM_NAME);
		dmt->version[0] = 1;
		dmt->version[1] = 0;
		dmt->version[2] = 0;
		dmt->init = dmm_target_init;
		dmt->destroy = dmm_target_destroy;
		dmt->strategy = dmm_target_strategy;
		dmt->table = dmm_target_table;
		dmt->info = dmm_target_info;
		dmt->message = dmm_target_message;
		/* The core's limit: room for the longest valid table. */
		dmt->max_argc = DMM_MAX_TABLE_WORDS;
		err = dm_target_insert(dmt);
		if (err != 0) {
			dm_target_free(dmt);
			objcache_destroy(dmm_preq_cache);
			objcache_destroy(dmm_child_cache);
			spin_uninit(&dmm_running_lock);
		}
		break;
	case MOD_UNLOAD:
		/* EBUSY while a table uses the target. */
		err = dm_target_remove(__DECONST(char *, DMM_NAME));
		if (err == 0) {
			objcache_destroy(dmm_preq_cache);
			objcache_destroy(dmm_child_cache);
			spin_uninit(&dmm_running_lock);
		}
		break;
	}
	return (err);
}

DM_TARGET_MODULE(dm_target_mirror, dmm_modevent);
