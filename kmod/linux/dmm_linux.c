// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0
/*
 * dm-mirror as a Linux device-mapper target: the thin adapter between
 * struct bio and the OS-neutral glue (kmod/common). It exists so that the
 * same core and glue the BSD modules load can be crash-tested in a real
 * kernel under QEMU (vm-test/).
 *
 * Target name: "dmmirror"; with register_as_mirror=1, "mirror" (for LVM,
 * with Linux's own dm-mirror not loaded).
 */
#include <linux/module.h>
#include <linux/device-mapper.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <linux/ktime.h>
#include <linux/delay.h>
#include <linux/random.h>
#include <linux/spinlock.h>

#include "dmm_claim.h"

#define DM_MSG_PREFIX "dmmirror"

static bool register_as_mirror;
module_param(register_as_mirror, bool, 0444);
MODULE_PARM_DESC(register_as_mirror, "register the target as \"mirror\"");

struct dmm_target {
	struct dm_target	*ti;
	struct dmm_glue		 g;
	spinlock_t		 lock;
	unsigned long		 lock_flags;
	struct workqueue_struct	*wq;
	struct work_struct	 work;
	struct delayed_work	 tick;
	struct bio_set		 bs;
	bool			 stopping;
	wait_queue_head_t	 quiesce_wq;	/* dmm_os_wait() */
	unsigned long		 quiesce_gen;
	unsigned int		 nlegs;
	/* Legs by table position; the log (if any) at DMM_LOG_DEVICE. */
	struct dm_dev		*devs[DMM_MAX_LEGS + 1];
	sector_t		 offsets[DMM_MAX_LEGS + 1];
	char			 names[DMM_MAX_LEGS][16];
	char			 log_name[16];
	/* Legs and log, as the running mirrors' registry lists them. */
	const char		*claimed[DMM_MAX_LEGS + 1];
	struct dmm_running	 running;
};

/* A child bio with what the glue needs back on completion. */
struct dmm_child_bio {
	struct dmm_target	*t;
	struct dmm_child	 c;
	struct bio		 bio;
};

/*
 * dm's per-bio data: the glue's request, and where a read sent to a leg
 * as it is (dmm_glue_try_remap_read()) came from, to put it back for a retry.
 */
struct dmm_lpreq {
	struct dmm_preq		 pr;
	struct block_device	*bdev;
	struct bvec_iter	 iter;
	bool			 remapped;
};

/* A leg at this table position, or the log at DMM_LOG_DEVICE, is open. */
static bool
has_device(const struct dmm_target *t, uint32_t position)
{
	return (position < t->nlegs ||
	    (position == DMM_LOG_DEVICE && t->devs[DMM_LOG_DEVICE] != NULL));
}

/* ---- memory for the core (its only undefined symbols) ---- */

uint8_t *
dmm_kernel_alloc(size_t size, size_t align)
{
	gfp_t gfp = (in_atomic() || irqs_disabled()) ? GFP_ATOMIC : GFP_KERNEL;

	if (size >= PAGE_SIZE && align <= PAGE_SIZE && gfp == GFP_KERNEL)
		return kvmalloc(size, gfp);
	/* kmalloc aligns power-of-two sizes naturally. */
	if (align > ARCH_KMALLOC_MINALIGN)
		size = roundup_pow_of_two(max(size, align));
	return kmalloc(size, gfp);
}

void
dmm_kernel_free(uint8_t *ptr, size_t size, size_t align)
{
	kvfree(ptr);
}

/* A mirror larger than the memory available now is refused up front. */
size_t
dmm_kernel_alloc_room(void)
{
	return ((size_t)si_mem_available() * PAGE_SIZE);
}

/* The core's panic handler: never returns. */
void
dmm_kernel_panic(const uint8_t *file, size_t file_len, uint32_t line,
    const uint8_t *msg, size_t msg_len)
{
	panic("dm-dmmirror: the core stopped at %.*s:%u: %.*s",
	    (int)file_len, (const char *)file, line, (int)msg_len,
	    (const char *)msg);
}

/* ---- the glue's OS interface ---- */

uint64_t
dmm_os_now_ns(void)
{
	return ktime_get_ns();
}

void *
dmm_os_alloc(size_t size)
{
	return kvzalloc(size, GFP_KERNEL);
}

void
dmm_os_free(void *p, size_t size)
{
	kvfree(p);
}

void
dmm_os_lock(void *os)
{
	struct dmm_target *t = os;
	unsigned long flags;

	spin_lock_irqsave(&t->lock, flags);
	t->lock_flags = flags;
}

void
dmm_os_unlock(void *os)
{
	struct dmm_target *t = os;

	spin_unlock_irqrestore(&t->lock, t->lock_flags);
}

static void
child_endio(struct bio *bio)
{
	struct dmm_child_bio *cb = container_of(bio, struct dmm_child_bio, bio);
	struct dmm_target *t = cb->t;
	struct dmm_child c = cb->c;
	int ok = bio->bi_status == BLK_STS_OK;

	bio_put(bio);
	dmm_glue_child_done(&t->g, &c, ok);
}

static struct bio *
parent_bio(struct dmm_preq *pr)
{
	return dm_bio_from_per_bio_data(pr, sizeof(struct dmm_lpreq));
}

static unsigned int
pages_of(const u8 *p, unsigned int len)
{
	return min_t(unsigned int, BIO_MAX_VECS,
	    DIV_ROUND_UP(offset_in_page(p) + len, PAGE_SIZE));
}

/*
 * A bio over a kernel buffer (kmalloc'd or vmalloc'd), page by page. A
 * buffer longer than one bio holds (a resync of a chunk over 1 MiB) is
 * split into bios chained to the last one, which is returned unsubmitted.
 */
static struct bio *
kernel_buf_bio(struct dmm_target *t, struct block_device *bdev,
    blk_opf_t opf, sector_t sector, u8 *p, unsigned int len)
{
	struct bio *bio, *next;

	bio = bio_alloc_bioset(bdev, pages_of(p, len), opf, GFP_NOIO, &t->bs);
	bio->bi_iter.bi_sector = sector;
	while (len > 0) {
		unsigned int off = offset_in_page(p);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		struct page *pg = is_vmalloc_addr(p) ? vmalloc_to_page(p) :
		    virt_to_page(p);

		if (bio_add_page(bio, pg, n, off) != n) {
			next = bio_alloc_bioset(bdev, pages_of(p, len), opf,
			    GFP_NOIO, &t->bs);
			next->bi_iter.bi_sector = bio_end_sector(bio);
			bio_chain(bio, next);
			submit_bio_noacct(bio);
			bio = next;
			continue;
		}
		p += n;
		len -= n;
	}
	return bio;
}

void
dmm_os_issue(void *os, const struct dmm_child *c)
{
	struct dmm_target *t = os;
	struct block_device *bdev = t->devs[c->position]->bdev;
	sector_t sector = c->sector + t->offsets[c->position];
	struct dmm_child_bio *cb;
	struct bio *bio;
	blk_opf_t opf;
	unsigned int bytes = c->sectors << SECTOR_SHIFT;

#ifdef DMM_BREAK_DROP_LEG0_WRITES
	/*
	 * A test build with a known mistake (vm-test/run.sh --break): user
	 * data written to leg 0 never reaches it, yet the write succeeds.
	 */
	if (c->position == 0 && c->op == DMM_OP_WRITE &&
	    c->data == DMM_DATA_PARENT) {
		dmm_glue_child_done(&t->g, c, 1);
		return;
	}
#endif
	switch (c->op) {
	case DMM_OP_READ:
		opf = REQ_OP_READ;
		break;
	case DMM_OP_WRITE:
		opf = REQ_OP_WRITE | REQ_SYNC | (c->fua ? REQ_FUA : 0);
		break;
	case DMM_OP_FLUSH:
		opf = REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC;
		break;
	default:
		opf = REQ_OP_DISCARD;
		break;
	}
	if (c->data == DMM_DATA_PARENT) {
		bio = bio_alloc_clone(bdev, parent_bio(c->parent), GFP_NOIO,
		    &t->bs);
		bio->bi_opf = opf;
		if (c->parent_offset != 0 || bio_sectors(bio) != c->sectors)
			bio_trim(bio, c->parent_offset, c->sectors);
		bio->bi_iter.bi_sector = sector;
	} else if (c->data == DMM_DATA_KERNEL) {
		bio = kernel_buf_bio(t, bdev, opf, sector, c->kbuf, bytes);
	} else {
		bio = bio_alloc_bioset(bdev, 0, opf, GFP_NOIO, &t->bs);
		bio->bi_iter.bi_sector = sector;
		if (c->op == DMM_OP_DISCARD)
			bio->bi_iter.bi_size = bytes;
	}
	cb = container_of(bio, struct dmm_child_bio, bio);
	cb->t = t;
	cb->c = *c;
	bio->bi_end_io = child_endio;
	submit_bio_noacct(bio);
}

void
dmm_os_complete_parent(void *os, struct dmm_preq *pr, int error)
{
	struct bio *bio = parent_bio(pr);

	bio->bi_status = error ? BLK_STS_IOERR : BLK_STS_OK;
	bio_endio(bio);
}

void
dmm_os_wake_worker(void *os)
{
	struct dmm_target *t = os;

	if (!READ_ONCE(t->stopping))
		queue_work(t->wq, &t->work);
}

void
dmm_os_schedule(void *os, uint64_t delay_ns)
{
	struct dmm_target *t = os;

	if (!READ_ONCE(t->stopping))
		mod_delayed_work(t->wq, &t->tick, nsecs_to_jiffies(delay_ns));
}

void
dmm_os_log(void *os, const char *text)
{
	struct dmm_target *t = os;

	DMINFO("%s: %s", dm_table_device_name(t->ti->table), text);
}

static void
work_fn(struct work_struct *w)
{
	dmm_glue_work(&container_of(w, struct dmm_target, work)->g);
}

static void
tick_fn(struct work_struct *w)
{
	dmm_glue_work(&container_of(to_delayed_work(w), struct dmm_target,
	    tick)->g);
}

/* ---- synchronous reads and the rest of the admin interface ---- */

int
dmm_os_read_block(void *os, uint32_t position, uint64_t sector, uint8_t *block)
{
	struct dmm_target *t = os;
	struct page *pg;
	struct bio *bio;
	int ok;

	if (!has_device(t, position))
		return 0;
	pg = alloc_page(GFP_KERNEL);
	if (pg == NULL)
		return 0;
	bio = bio_alloc(t->devs[position]->bdev, 1, REQ_OP_READ, GFP_KERNEL);
	bio->bi_iter.bi_sector = sector + t->offsets[position];
	__bio_add_page(bio, pg, DMM_BLOCK_SIZE, 0);
	ok = submit_bio_wait(bio) == 0;
	if (ok)
		memcpy(block, page_address(pg), DMM_BLOCK_SIZE);
	bio_put(bio);
	__free_page(pg);
	return ok;
}

uint64_t
dmm_os_leg_sectors(void *os, uint32_t position)
{
	struct dmm_target *t = os;

	if (!has_device(t, position))
		return 0;
	/* An offset at or past the end leaves nothing (not a wrap-around). */
	if (bdev_nr_sectors(t->devs[position]->bdev) <= t->offsets[position])
		return 0;
	return bdev_nr_sectors(t->devs[position]->bdev) - t->offsets[position];
}

void
dmm_os_random(void *buf, size_t len)
{
	get_random_bytes(buf, len);
}

void
dmm_os_wait(void *os, uint64_t ns)
{
	struct dmm_target *t = os;
	unsigned long gen = READ_ONCE(t->quiesce_gen);

	wait_event_timeout(t->quiesce_wq, READ_ONCE(t->quiesce_gen) != gen,
	    nsecs_to_jiffies(ns) + 1);
}

void
dmm_os_wakeup(void *os)
{
	struct dmm_target *t = os;

	WRITE_ONCE(t->quiesce_gen, t->quiesce_gen + 1);
	wake_up_all(&t->quiesce_wq);
}

void
dmm_os_assert_failed(const char *expr, const char *file, int line)
{
	WARN(1, "dm-dmmirror: %s:%d: assertion %s failed", file, line, expr);
}

/* ---- the target ---- */

static void
dmm_free_target(struct dmm_target *t)
{
	unsigned int i;

	/* No child may outlive the mirror (dm suspended it already). */
	if (t->g.m != NULL && t->g.started)
		dmm_glue_quiesce(&t->g);
	if (t->wq != NULL) {
		WRITE_ONCE(t->stopping, true);
		cancel_delayed_work_sync(&t->tick);
		cancel_work_sync(&t->work);
		cancel_delayed_work_sync(&t->tick);
		destroy_workqueue(t->wq);
	}
	/* No I/O of ours is left: another mirror device may have the legs. */
	dmm_running_release(&t->running);
	dmm_glue_destroy(&t->g);
	bioset_exit(&t->bs);
	for (i = 0; i < t->nlegs; i++)
		if (t->devs[i] != NULL)
			dm_put_device(t->ti, t->devs[i]);
	if (t->devs[DMM_LOG_DEVICE] != NULL)
		dm_put_device(t->ti, t->devs[DMM_LOG_DEVICE]);
	kfree(t);
}

/*
 * The legs' and the log's device numbers, as the running mirrors'
 * registry lists them ("major:minor"); how many.
 */
static unsigned int
list_devices(struct dmm_target *t, bool has_log)
{
	unsigned int i, n = t->nlegs;

	for (i = 0; i < t->nlegs; i++) {
		format_dev_t(t->names[i], t->devs[i]->bdev->bd_dev);
		t->claimed[i] = t->names[i];
	}
	if (has_log) {
		format_dev_t(t->log_name, t->devs[DMM_LOG_DEVICE]->bdev->bd_dev);
		t->claimed[n++] = t->log_name;
	}
	return n;
}

/*
 * Before any I/O: every leg has room for its superblocks past its offset,
 * and no device is named twice (by device number, not by name: a disk
 * under two names, or a leg as the log, would be one copy counted as two).
 */
static int
check_devices(struct dmm_target *t, unsigned int n, struct dm_target *ti)
{
	uint32_t i, j;
	int twice;

	for (i = 0; i < t->nlegs; i++) {
		if (dmm_os_leg_sectors(t, i) >= DMM_MIN_LEG_SECTORS)
			continue;
		DMERR("leg %u (%s): offset %llu leaves it too small for a mirror "
		    "leg (%llu sectors)", i, t->names[i],
		    (unsigned long long)t->offsets[i],
		    (unsigned long long)bdev_nr_sectors(t->devs[i]->bdev));
		ti->error = "a leg's offset leaves it too small";
		return -EINVAL;
	}
	twice = dmm_first_repeated(t->claimed, n, &j);
	if (twice < 0)
		return 0;
	i = (uint32_t)twice;
	if (i == t->nlegs)
		DMERR("the log device (%s) is the same device as leg %u",
		    t->claimed[i], j);
	else
		DMERR("leg %u (%s) is the same device as leg %u", i,
		    t->claimed[i], j);
	ti->error = "one device named twice";
	return -EINVAL;
}

/* The running mirrors' registry: table loads and removals only. */
static DEFINE_MUTEX(dmm_registry);

void
dmm_os_registry_lock(void)
{
	mutex_lock(&dmm_registry);
}

void
dmm_os_registry_unlock(void)
{
	mutex_unlock(&dmm_registry);
}

/*
 * Claims the legs and the log for this mirror device: two mirror devices
 * over one disk would each believe they own its metadata (a crash then
 * loses acknowledged writes). dm opens every device with one holder for
 * all of dm, so it does not stop this. A new table of the same device (a
 * reload) may reuse them.
 */
static int
claim_devices(struct dmm_target *t, unsigned int n, struct dm_target *ti)
{
	int busy;

	busy = dmm_running_claim(&t->running, t->claimed, n,
	    dm_table_get_md(ti->table));
	if (busy < 0)
		return 0;
	DMERR("%s %s is in use by another mirror device (remove that one "
	    "first)", (unsigned int)busy == t->nlegs ? "the log device" : "leg",
	    t->claimed[busy]);
	ti->error = "a device is in use by another mirror";
	return -EBUSY;
}

static int
dmm_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dmm_leg_spec specs[DMM_MAX_LEGS];
	struct dmm_error err = { 0 };
	struct dmm_target *t;
	u32 n, i, log;
	unsigned int ndev;
	int rc;

	if (dmm_table_legs(argc, (const char *const *)argv, specs,
	    DMM_MAX_LEGS, &n, &err) != DMM_OK ||
	    dmm_table_log(argc, (const char *const *)argv, &log, &err) !=
	    DMM_OK) {
		DMERR("bad table: %s", err.message);
		ti->error = "bad table (see the kernel log)";
		return -EINVAL;
	}
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (t == NULL) {
		ti->error = "out of memory";
		return -ENOMEM;
	}
	t->ti = ti;
	spin_lock_init(&t->lock);
	init_waitqueue_head(&t->quiesce_wq);
	INIT_WORK(&t->work, work_fn);
	INIT_DELAYED_WORK(&t->tick, tick_fn);
	rc = bioset_init(&t->bs, 64, offsetof(struct dmm_child_bio, bio),
	    BIOSET_NEED_BVECS);
	if (rc != 0) {
		ti->error = "out of memory";
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		rc = dm_get_device(ti, argv[specs[i].argv_index],
		    dm_table_get_mode(ti->table), &t->devs[i]);
		t->nlegs = i + 1;
		if (rc != 0) {
			t->devs[i] = NULL;
			ti->error = "cannot open a leg";
			goto fail;
		}
		t->offsets[i] = specs[i].offset;
	}
	if (log != DMM_NO_LOG) {
		rc = dm_get_device(ti, argv[log], dm_table_get_mode(ti->table),
		    &t->devs[DMM_LOG_DEVICE]);
		if (rc != 0) {
			t->devs[DMM_LOG_DEVICE] = NULL;
			ti->error = "cannot open the log device";
			goto fail;
		}
	}
	ndev = list_devices(t, log != DMM_NO_LOG);
	rc = check_devices(t, ndev, ti);
	if (rc == 0)
		rc = claim_devices(t, ndev, ti);
	if (rc != 0)
		goto fail;
	/* dm's clone of a read goes to the leg itself: see dmm_map(). */
	t->g.remap_reads = 1;
	rc = dmm_glue_create(&t->g, t, argc, (const char *const *)argv,
	    ti->len, &err);
	if (rc != DMM_OK) {
		DMERR("cannot create the mirror: %s", err.message);
		ti->error = "cannot create the mirror (see the kernel log)";
		rc = rc == DMM_ERR_NOMEM ? -ENOMEM : -EINVAL;
		goto fail;
	}
	if (ti->len > t->g.info.data_sectors) {
		DMERR("table length %llu exceeds the mirror's %llu sectors",
		    (unsigned long long)ti->len,
		    (unsigned long long)t->g.info.data_sectors);
		ti->error = "table length exceeds the mirror's data size";
		rc = -EINVAL;
		goto fail;
	}
	t->wq = alloc_ordered_workqueue("dmmirror", WQ_MEM_RECLAIM);
	if (t->wq == NULL) {
		ti->error = "cannot create a workqueue";
		rc = -ENOMEM;
		goto fail;
	}
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->per_io_data_size = sizeof(struct dmm_lpreq);
	ti->private = t;
	/* Started at the first resume: see dmm_preresume(). */
	return 0;
fail:
	dmm_free_target(t);
	return rc;
}

static void
dmm_dtr(struct dm_target *ti)
{
	dmm_free_target(ti->private);
}

/* Sends dm's clone of a lock-free read to the leg the glue chose. */
static int
remap_read(struct dmm_target *t, struct dmm_lpreq *lp, struct bio *bio)
{
	uint32_t position = lp->pr.fr.position;

	/* Split across idle legs: dm sends the rest back to dmm_map(). */
	if (lp->pr.req.sectors < bio_sectors(bio))
		dm_accept_partial_bio(bio, lp->pr.req.sectors);
	lp->bdev = bio->bi_bdev;
	lp->iter = bio->bi_iter;
	lp->remapped = true;
	bio_set_dev(bio, t->devs[position]->bdev);
	bio->bi_iter.bi_sector = lp->pr.fr.leg_sector + t->offsets[position];
	return DM_MAPIO_REMAPPED;
}

static int
dmm_map(struct dm_target *ti, struct bio *bio)
{
	struct dmm_target *t = ti->private;
	struct dmm_lpreq *lp = dm_per_bio_data(bio, sizeof(*lp));
	sector_t sector;
	u32 op, flags = 0;

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		op = DMM_OP_READ;
		break;
	case REQ_OP_WRITE:
		if (bio_sectors(bio) == 0) {
			op = DMM_OP_FLUSH;
			break;
		}
		op = DMM_OP_WRITE;
		if (bio->bi_opf & REQ_FUA)
			flags |= DMM_REQ_FUA;
		if (bio->bi_opf & REQ_PREFLUSH)
			flags |= DMM_REQ_PREFLUSH;
		break;
	case REQ_OP_DISCARD:
		op = DMM_OP_DISCARD;
		break;
	default:
		return DM_MAPIO_KILL;
	}
	lp->remapped = false;
	sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	if (op == DMM_OP_READ &&
	    dmm_glue_try_remap_read(&t->g, &lp->pr, bio, sector, bio_sectors(bio)))
		return remap_read(t, lp, bio);
	dmm_glue_submit(&t->g, &lp->pr, bio, op, flags, sector, bio_sectors(bio));
	return DM_MAPIO_SUBMITTED;
}

/*
 * Every clone ends here. A remapped read that failed is put back as dm
 * gave it and goes to the core, which completes it later (and this runs
 * again, with remapped clear).
 */
static int
dmm_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct dmm_target *t = ti->private;
	struct dmm_lpreq *lp = dm_per_bio_data(bio, sizeof(*lp));
	bool ok = *error == BLK_STS_OK;

	if (!lp->remapped)
		return DM_ENDIO_DONE;
	lp->remapped = false;
	if (dmm_glue_remapped_read_quiet(&lp->pr, ok))
		return DM_ENDIO_DONE;
	if (!ok) {
		/* As dm's own record/restore does: completion context. */
		bio->bi_bdev = lp->bdev;
		bio_clear_flag(bio, BIO_REMAPPED);
		bio->bi_iter = lp->iter;
		bio->bi_status = BLK_STS_OK;
	}
	if (dmm_glue_remapped_read_done(&t->g, &lp->pr, ok))
		return DM_ENDIO_DONE;
	return DM_ENDIO_INCOMPLETE;
}

static void
dmm_status_cb(struct dm_target *ti, status_type_t type,
    unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct dmm_target *t = ti->private;
	const char *names[DMM_MAX_LEGS];
	unsigned int i;

	for (i = 0; i < t->nlegs; i++)
		names[i] = t->names[i];
	if (type == STATUSTYPE_INFO || type == STATUSTYPE_TABLE)
		dmm_glue_status(&t->g, type == STATUSTYPE_TABLE, names, result,
		    maxlen);
	else if (maxlen > 0)
		result[0] = '\0';
}

static int
dmm_message(struct dm_target *ti, unsigned int argc, char **argv,
    char *result, unsigned int maxlen)
{
	struct dmm_target *t = ti->private;
	struct dmm_error err;

	if (dmm_glue_message(&t->g, argc, (const char *const *)argv,
	    &err) != DMM_OK) {
		DMWARN("%s: message refused: %s",
		    dm_table_device_name(ti->table), err.message);
		return -EINVAL;
	}
	return 0;
}

/*
 * Before the first resume, the table may have been loaded while another
 * table still ran on these legs (dmsetup reload, as LVM does): that one
 * has stopped now, so assemble again from what the legs hold, and only
 * then write anything.
 */
static int
dmm_preresume(struct dm_target *ti)
{
	struct dmm_target *t = ti->private;
	struct dmm_error err;

	if (t->g.started)
		return 0;
	if (dmm_glue_reassemble(&t->g, &err) != DMM_OK) {
		DMERR("%s: cannot assemble at resume: %s",
		    dm_table_device_name(ti->table), err.message);
		return -EIO;
	}
	if (ti->len > t->g.info.data_sectors) {
		DMERR("%s: the legs changed: %llu sectors of data, the table "
		    "has %llu", dm_table_device_name(ti->table),
		    (unsigned long long)t->g.info.data_sectors,
		    (unsigned long long)ti->len);
		return -EIO;
	}
	dmm_glue_start(&t->g);
	return 0;
}

/* After dm has drained the I/O: a clean shutdown of the metadata. */
static void
dmm_postsuspend(struct dm_target *ti)
{
	struct dmm_target *t = ti->private;

	if (!dmm_glue_suspend(&t->g))
		DMWARN("%s: the superblocks were not marked clean",
		    dm_table_device_name(ti->table));
}

static void
dmm_resume_cb(struct dm_target *ti)
{
	struct dmm_target *t = ti->private;

	dmm_glue_resume(&t->g);
}

static int
dmm_iterate_devices(struct dm_target *ti, iterate_devices_callout_fn fn,
    void *data)
{
	struct dmm_target *t = ti->private;
	unsigned int i;
	int rc = 0;

	for (i = 0; i < t->nlegs && rc == 0; i++)
		rc = fn(ti, t->devs[i], t->offsets[i], ti->len, data);
	return rc;
}

static struct target_type dmm_target_type = {
	.name = "dmmirror",
	.version = { 1, 0, 0 },
	.module = THIS_MODULE,
	.ctr = dmm_ctr,
	.dtr = dmm_dtr,
	.map = dmm_map,
	.end_io = dmm_end_io,
	.status = dmm_status_cb,
	.message = dmm_message,
	.postsuspend = dmm_postsuspend,
	.preresume = dmm_preresume,
	.resume = dmm_resume_cb,
	.iterate_devices = dmm_iterate_devices,
};

static int __init
dmm_init(void)
{
	if (register_as_mirror)
		dmm_target_type.name = "mirror";
	return dm_register_target(&dmm_target_type);
}

static void __exit
dmm_exit(void)
{
	dm_unregister_target(&dmm_target_type);
}

module_init(dmm_init);
module_exit(dmm_exit);
MODULE_DESCRIPTION("dm-mirror: RAID1 with a write-intent bitmap (test rig)");
MODULE_LICENSE("Dual BSD/GPL");
