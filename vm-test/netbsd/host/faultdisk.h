/*
 * The rig's disks (faultdisk.c): every block I/O and cache flush the rump
 * kernel sends to a leg's host file passes through the hypercalls
 * rumpuser_bio and rumpuser_syncfd, wrapped here, where a scenario makes a
 * leg fail, complete short, refuse flushes, delay and reorder completions,
 * or keep a volatile write cache that a power loss drops.
 */
#ifndef NBT_FAULTDISK_H
#define NBT_FAULTDISK_H

#include <stdint.h>

#define DISK_MAX_LEGS	20

/* NetBSD's errno values (the kernel's, not the host's). */
#define NB_EIO		5
#define NB_ENOTTY	25
#define NB_EOPNOTSUPP	45

enum disk_knob {
	DISK_FAIL,	/* 1: every read, write and flush fails with EIO */
	DISK_SHORT,	/* 1: reads and writes complete half done, no error */
	DISK_SYNC_ERRNO,	/* a flush's answer; non-zero: no write cache */
};

struct disk_stats {
	uint64_t	reads, writes, flushes, failed, short_done;
	uint64_t	cached;		/* writes not yet made durable */
	uint64_t	dropped;	/* writes a power loss dropped */
};

/* Leg `leg` is the host file at path (before its first I/O). */
void	disk_add_leg(int leg, const char *path);
void	disk_set(int leg, enum disk_knob knob, int value);
/* Completions up to max_us late, in an order drawn from seed. */
void	disk_delay(unsigned max_us, uint64_t seed);
/* A volatile write cache on every leg that supports flushes. */
void	disk_cache(int on);
/*
 * Power loss: each write a flush did not make durable is kept or dropped
 * by a coin drawn from seed, the files are written so and synced, and no
 * I/O completes afterwards. The caller then ends the process.
 */
void	disk_power_loss(uint64_t seed);
void	disk_stats(int leg, struct disk_stats *s);

/* The rump kernel's console: every line also kept for console_has. */
int	console_has(const char *text);
/* Waits up to ms for a console line containing text; 1 if seen. */
int	console_wait(const char *text, unsigned ms);

#endif
