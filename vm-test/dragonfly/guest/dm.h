/*
 * DragonFly's dm ioctl (NetBSD's interface): one NETBSD_DM_IOCTL carrying a
 * property list in XML, the reply mapped into the caller by the kernel.
 */
#ifndef DFT_DM_H
#define DFT_DM_H

#include "rt.h"

int	dm_open(void);
/* Each returns 0 or an errno; a reply's text goes to reply (may be NULL). */
int	dm_command(const char *cmd, const char *name, const char *extra,
	    char *reply, size_t len);
int	dm_load(const char *name, uint64_t sectors, const char *type,
	    const char *params);
int	dm_remove(const char *name);
int	dm_status(const char *name, int table, char *text, size_t len);
int	dm_message(const char *name, const char *message);
int	dm_has_target(const char *type);

#endif
