/* NetBSD's device-mapper through its real ioctls, from the test driver. */
#ifndef NBT_DMCTL_H
#define NBT_DMCTL_H

#include <stddef.h>
#include <stdint.h>

/* Opens /dev/mapper/control in the rump kernel; 0 or -1. */
int	dm_open_control(void);
/* create, reload with one target, resume; the raw device node made at
 * node. 0 once the table is active; -1 (nothing left behind) if not. */
int	dm_create(const char *name, uint64_t sectors, const char *type,
	    const char *params, char *node, size_t nodelen);
/* 0 once the device is gone. */
int	dm_remove(const char *name);
int	dm_exists(const char *name);
int	dm_has_target(const char *type);
/* The target's "params" of the table (table = 1) or status reply into
 * buf: 1, 0 when the reply has none, -1 when there is no such table. */
int	dm_text(const char *name, int table, char *buf, size_t len);

#endif
